//! What anyone holding a code sees (the preview, the landing page) and the funnel it
//! counts.

use super::*;
use crate::limits::Surface;
use crate::ops::operation;
use crate::{App, Caller, Result};
use guestlist_domain::{Error, InviteCode, InviteState, JoinMode, RoleName, SpacePath};
use guestlist_store::Tx;
use time::OffsetDateTime;
use uuid::Uuid;

/// What anyone holding a code may see: no secret, no member list.
#[derive(Debug, Clone)]
pub struct InvitePreview {
    /// The link's id (the funnel counts by it; never shown to a visitor).
    pub invite_id: Uuid,
    pub space: SpacePath,
    pub space_name: String,
    pub join_mode: JoinMode,
    pub member_count: u32,
    pub role: RoleName,
    pub inviter: String,
    pub expires_at: Option<OffsetDateTime>,
    pub max_uses: Option<u32>,
    pub uses_left: Option<u32>,
    pub allow_narrowing: bool,
}

pub(super) struct AddToFunnels(Vec<(Uuid, u64, u64)>);

operation!(AddToFunnels => (), |self, tx| { tx.add_to_funnels(&self.0).await });

/// What the landing pages counted and not yet written: views and sign-ins per link.
#[derive(Default)]
pub(crate) struct Funnels(std::sync::Mutex<std::collections::HashMap<Uuid, (u64, u64)>>);

impl Funnels {
    pub(super) fn count(&self, id: Uuid, view: u64, sign_in: u64) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.entry(id).or_default();
        e.0 += view;
        e.1 += sign_in;
    }
}

pub(super) struct Preview {
    pub(super) hashes: CodeHashes,
}

#[async_trait::async_trait]
impl guestlist_store::Operation for Preview {
    type Output = InvitePreview;

    async fn run(&self, tx: &mut dyn Tx) -> Result<InvitePreview> {
        let found = self
            .hashes
            .first(tx, |tx, h| tx.invite_preview(h))
            .await?
            .ok_or(Error::NotFound("invite"))?;
        let invite = found.invite;
        match invite.state(crate::now()) {
            InviteState::Active => {}
            InviteState::Revoked => return Err(Error::NotFound("invite")),
            other => return Err(other.refusal().unwrap_or(Error::NotFound("invite"))),
        }
        Ok(InvitePreview {
            invite_id: invite.id,
            uses_left: invite.max_uses.map(|m| m.saturating_sub(invite.uses)),
            space: invite.space_path,
            space_name: found.space_name,
            join_mode: found.join_mode,
            member_count: found.member_count,
            role: invite.role,
            inviter: invite.created_by_name,
            expires_at: invite.expires_at,
            max_uses: invite.max_uses,
            allow_narrowing: invite.allow_narrowing,
        })
    }

    fn single_statement(&self) -> bool {
        true
    }
}

impl App {
    /// The landing page of a code: its preview, counted as a view in the link's
    /// funnel.
    pub async fn landing(&self, caller: &Caller, code: &str) -> Result<InvitePreview> {
        let preview = self.preview_invite(caller, code).await?;
        self.0.funnels.count(preview.invite_id, 1, 0);
        Ok(preview)
    }

    /// A visitor sets off from a link's landing page to sign in: counted in its
    /// funnel (the link must still be usable).
    pub async fn landing_sign_in(&self, caller: &Caller, code: &str) -> Result<()> {
        let preview = self.preview_invite(caller, code).await?;
        self.0.funnels.count(preview.invite_id, 0, 1);
        Ok(())
    }

    /// Writes what the landing pages counted since the last call; the server calls it
    /// every few seconds. Counts that fail to be written are kept for the next call.
    pub async fn flush_funnels(&self) -> Result<usize> {
        let counts: Vec<_> = {
            let mut m = self.0.funnels.0.lock().unwrap_or_else(|e| e.into_inner());
            m.drain().map(|(id, (v, s))| (id, v, s)).collect()
        };
        if counts.is_empty() {
            return Ok(0);
        }
        let n = counts.len();
        if let Err(e) = self.store_ref().write(AddToFunnels(counts.clone())).await {
            for (id, v, s) in counts {
                self.0.funnels.count(id, v, s);
            }
            return Err(e);
        }
        Ok(n)
    }

    /// The public preview of a code. Rate limited per client and per user.
    pub async fn preview_invite(&self, caller: &Caller, code: &str) -> Result<InvitePreview> {
        self.0.limits.check(Surface::Preview, caller)?;
        let code = InviteCode::parse(code)?;
        self.store_ref()
            .read(Preview {
                hashes: self.code_hashes(&code),
            })
            .await
    }
}
