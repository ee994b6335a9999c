//! The e-mail outbox, seen from the sender: which messages are due, taking one for an
//! attempt (a lease, so two senders never send it at once and a crashed sender's
//! message comes due again), and recording how the attempt went.

use guestlist_domain::{Error, InvitationStatus, RoleName, SpacePath};
use guestlist_store::{DeliveryOutcome, MailRow, Tx};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::operation;
use crate::{App, Result};

/// An invitation e-mail ready to render: everything the templates may show.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub id: Uuid,
    pub invitation_id: Uuid,
    /// Attempts so far, this one included.
    pub attempt: u32,
    pub to: String,
    pub space: SpacePath,
    pub space_name: String,
    pub role: RoleName,
    pub inviter: String,
    pub message: Option<String>,
    pub expires_at: OffsetDateTime,
    /// The accept link with the token in it. Never log it.
    pub accept_link: String,
}

struct Due {
    limit: u32,
}

operation!(Due => Vec<MailRow>, |self, tx| {
    tx.due_mail(crate::now(), self.limit).await
});

/// What a claimed message is about, or `None` when it is no longer to be sent.
struct Claim {
    id: Uuid,
    lease: Duration,
}

struct Claimed {
    mail: MailRow,
    invitation: guestlist_store::InvitationRow,
    space_name: String,
}

async fn still_wanted(tx: &mut dyn Tx, mail: &MailRow) -> Result<Option<Claimed>> {
    let Some(invitation) = tx.invitation_by_id(mail.invitation_id).await? else {
        return Ok(None);
    };
    let current = invitation.delivery.as_ref().map(|d| d.mail_id) == Some(mail.id);
    if !current || invitation.status(crate::now()) != InvitationStatus::Pending {
        return Ok(None);
    }
    let space = tx
        .space_by_path(&invitation.space_path)
        .await?
        .ok_or(Error::NotFound("space"))?;
    Ok(Some(Claimed {
        mail: mail.clone(),
        invitation,
        space_name: space.name,
    }))
}

operation!(Claim => Option<Claimed>, |self, tx| {
    let now = crate::now();
    if !tx.claim_mail(self.id, now, now + self.lease).await? {
        return Ok(None);
    }
    let mail = tx.mail_by_id(self.id).await?.ok_or(Error::NotFound("mail"))?;
    let claimed = still_wanted(tx, &mail).await?;
    if claimed.is_none() {
        tx.finish_mail(self.id, &DeliveryOutcome::Cancelled).await?;
    }
    Ok(claimed)
});

struct Finish {
    id: Uuid,
    result: DeliveryOutcome,
}

operation!(Finish => (), |self, tx| {
    tx.finish_mail(self.id, &self.result).await
});

impl App {
    /// Queued messages due now, oldest first.
    pub async fn due_mail(&self, limit: u32) -> Result<Vec<MailRow>> {
        self.store_ref().read(Due { limit }).await
    }

    /// Takes a due message for one attempt, held for `lease`; `None` when another
    /// sender has it or it is no longer wanted (superseded, or the invitation was
    /// answered, revoked or expired).
    pub async fn claim_mail(
        &self,
        id: Uuid,
        lease: std::time::Duration,
    ) -> Result<Option<OutgoingMail>> {
        let lease = Duration::try_from(lease).map_err(Error::internal)?;
        let Some(c) = self.store_ref().write(Claim { id, lease }).await? else {
            return Ok(None);
        };
        Ok(Some(OutgoingMail {
            id: c.mail.id,
            invitation_id: c.invitation.id,
            attempt: c.mail.attempts,
            to: c.mail.recipient,
            accept_link: self.accept_link(&c.invitation.token_salt),
            space: c.invitation.space_path,
            space_name: c.space_name,
            role: c.invitation.role,
            inviter: c.invitation.created_by_name,
            message: c.invitation.message,
            expires_at: c.invitation.expires_at,
        }))
    }

    /// Records how an attempt went.
    pub async fn mail_attempted(&self, id: Uuid, result: DeliveryOutcome) -> Result<()> {
        self.store_ref().write(Finish { id, result }).await
    }

    /// Wakes when a request queued e-mail, so the sender need not wait for its poll.
    pub fn mail_queued(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.0.mail_queued.clone()
    }
}
