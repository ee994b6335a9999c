//! The e-mail outbox: the storage contract of the `mail` feature.

use async_trait::async_trait;
use guestlist_domain::{DeliveryState, Email};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

/// The e-mail outbox.
#[async_trait]
pub trait MailTx: Send {
    async fn insert_mail(&mut self, m: &NewMail) -> Result<()>;
    /// Cancels the queued e-mail about this (superseded or revoked).
    async fn cancel_mail_of(&mut self, subject: MailSubject) -> Result<()>;
    /// Queued messages due at `now`, oldest first.
    async fn due_mail(&mut self, now: OffsetDateTime, limit: u32) -> Result<Vec<MailRow>>;
    /// Takes a due message for one attempt until `lease_until` (counted); `false` when
    /// another sender took it first or it is no longer queued.
    async fn claim_mail(
        &mut self,
        id: Uuid,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<bool>;
    /// Records an attempt's result on a queued message.
    async fn finish_mail(&mut self, id: Uuid, result: &DeliveryOutcome) -> Result<()>;
    async fn mail_by_id(&mut self, id: Uuid) -> Result<Option<MailRow>>;
}

/// What a message is about: an invitation to a space, or a platform (sign-up)
/// invitation. Both go through the one outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailSubject {
    Invitation(Uuid),
    PlatformInvitation(Uuid),
}

#[derive(Debug, Clone)]
pub struct NewMail {
    pub id: Uuid,
    pub subject: MailSubject,
    pub recipient: Email,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MailRow {
    pub id: Uuid,
    pub subject: MailSubject,
    pub recipient: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

/// What one delivery attempt of an outbox item came to (an e-mail now; the generic
/// worker, `guestlist_app::outbox`, records it for any outbox).
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    Sent {
        at: OffsetDateTime,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        error: String,
        next_attempt_at: OffsetDateTime,
    },
    /// Give up.
    Failed {
        error: String,
    },
    /// Nothing to send any more (for mail: the invitation is no longer pending).
    Cancelled,
}

/// The tables of this feature, for export and import (`transfer`), in an order that
/// satisfies their foreign keys.
pub(crate) const TABLES: &[TableSpec] = &[TableSpec {
    name: "mail_outbox",
    columns: &[
        ("id", Uuid),
        ("invitation_id", Uuid),
        ("platform_invitation_id", Uuid),
        ("recipient", Text),
        ("state", Text),
        ("attempts", Int),
        ("next_attempt_at", Int),
        ("last_error", Text),
        ("created_at", Int),
        ("sent_at", Int),
    ],
    key: &["id"],
    singleton: false,
}];
