//! `Idempotency-Key`: an invitation request retried answers as it first did.

use super::*;
use crate::ops::members::view as member_view;
use crate::ops::operation;
use crate::scope::Scope;
use crate::{App, Result};
use guestlist_domain::{Actor, Error, InvitationStatus, RoleName};
use guestlist_store::Tx;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// How long a retry with the same Idempotency-Key gets the first answer.
pub const IDEMPOTENCY_KEY_TTL_HOURS: i64 = 24;

/// An invitation's fields that change after it is created, as first answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct InvitationAsAnswered {
    pub(super) status: InvitationStatus,
    pub(super) stored_status: InvitationStatus,
    pub(super) expires_at: OffsetDateTime,
    pub(super) lifetime_secs: i64,
    pub(super) sends: u32,
    pub(super) last_sent_at: OffsetDateTime,
    pub(super) decided_by: Option<String>,
    pub(super) decided_at: Option<OffsetDateTime>,
    pub(super) delivery: Option<DeliveryAsAnswered>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct DeliveryAsAnswered {
    pub(super) mail_id: Uuid,
    pub(super) state: guestlist_domain::DeliveryState,
    pub(super) attempts: u32,
    pub(super) last_error: Option<String>,
    pub(super) sent_at: Option<OffsetDateTime>,
}

/// A membership's fields that change, as first answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct MembershipAsAnswered {
    pub(super) role: RoleName,
    pub(super) status: guestlist_domain::MembershipStatus,
    pub(super) updated_at: OffsetDateTime,
}

impl InvitationAsAnswered {
    pub(super) fn of(v: &InvitationView) -> Self {
        let i = &v.invitation;
        InvitationAsAnswered {
            status: v.status,
            stored_status: i.stored_status,
            expires_at: i.expires_at,
            lifetime_secs: i.lifetime_secs,
            sends: i.sends,
            last_sent_at: i.last_sent_at,
            decided_by: i.decided_by.clone(),
            decided_at: i.decided_at,
            delivery: i.delivery.as_ref().map(|d| DeliveryAsAnswered {
                mail_id: d.mail_id,
                state: d.state,
                attempts: d.attempts,
                last_error: d.last_error.clone(),
                sent_at: d.sent_at,
            }),
        }
    }

    pub(super) fn restore(self, mut v: InvitationView) -> InvitationView {
        let i = &mut v.invitation;
        v.status = self.status;
        i.stored_status = self.stored_status;
        i.expires_at = self.expires_at;
        i.lifetime_secs = self.lifetime_secs;
        i.sends = self.sends;
        i.last_sent_at = self.last_sent_at;
        i.decided_by = self.decided_by;
        i.decided_at = self.decided_at;
        i.delivery = self.delivery.map(|d| guestlist_store::Delivery {
            mail_id: d.mail_id,
            state: d.state,
            attempts: d.attempts,
            last_error: d.last_error,
            sent_at: d.sent_at,
        });
        v
    }
}

#[derive(Debug, Clone)]
pub(super) struct Idempotency {
    pub(super) owner: String,
    pub(super) key: String,
    pub(super) request_hash: Vec<u8>,
}

/// Answers a retried request from its idempotency record: each row that succeeded
/// exactly as it was first answered (the outcome, and the invitation or membership
/// as they were then). Rows that failed changed nothing and are tried again.
pub(super) async fn replay(
    tx: &mut dyn Tx,
    scope: &Scope,
    op: &Create,
    held: guestlist_domain::Permissions,
    stored: Vec<StoredRow>,
) -> Result<Vec<Result<InvitationResult>>> {
    let now = crate::now();
    let mut out = Vec::with_capacity(op.rows.len());
    let mut seen = HashMap::new();
    for (row, s) in op.rows.iter().zip(stored) {
        let Some(outcome) = s.outcome else {
            out.push(match row {
                Ok(p) => invite_one(tx, scope, op, held, p, &mut seen).await,
                Err(e) => Err(e.clone()),
            });
            continue;
        };
        let invitation = match s.invitation_id {
            Some(id) => tx.invitation_by_id(id).await?.map(|i| {
                let now_view = InvitationView::of(i, now);
                match s.invitation {
                    Some(answered) => answered.restore(now_view),
                    None => now_view,
                }
            }),
            None => None,
        };
        let membership = match s.membership_id {
            Some(id) => tx.membership_by_id(id).await?.map(|mut m| {
                if let Some(answered) = s.membership {
                    m.role = answered.role;
                    m.status = answered.status;
                    m.updated_at = answered.updated_at;
                }
                member_view(scope, m)
            }),
            None => None,
        };
        out.push(Ok(InvitationResult {
            outcome,
            invitation,
            membership,
        }));
    }
    Ok(out)
}

/// An idempotency key: 1-255 printable ASCII characters.
pub(super) fn idempotency(
    actor: &Actor,
    key: Option<&str>,
    input: &InvitationInput,
) -> Result<Option<Idempotency>> {
    let Some(key) = key else { return Ok(None) };
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            "Idempotency-Key",
            "1-255 printable ASCII characters",
        ));
    }
    let request = serde_json::to_vec(input).map_err(Error::internal)?;
    Ok(Some(Idempotency {
        owner: actor.label(),
        key: key.to_owned(),
        request_hash: Sha256::digest(&request).to_vec(),
    }))
}

pub(super) struct ExpireKeys;

operation!(ExpireKeys => u64, |self, tx| {
    tx.expire_idempotency_keys(crate::now() - Duration::hours(IDEMPOTENCY_KEY_TTL_HOURS)).await
});

impl App {
    /// Forgets idempotency keys older than a day; the server calls it now and then.
    pub async fn expire_idempotency_keys(&self) -> Result<u64> {
        self.store_ref().write(ExpireKeys).await
    }
}
