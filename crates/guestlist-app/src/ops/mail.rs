//! The e-mail outbox, seen from the sender: which messages are due, taking one for an
//! attempt (a lease, so two senders never send it at once and a crashed sender's
//! message comes due again), and recording how the attempt went.

use guestlist_domain::{Error, InvitationStatus, InviteState, RoleName, SpacePath};
use guestlist_store::{DeliveryOutcome, MailRow, MailSubject, Tx};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::operation;
use crate::{App, Result};

/// An invitation e-mail ready to render: everything the templates may show.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub id: Uuid,
    /// What it is about: an invitation to a space or to sign up.
    pub subject: MailSubject,
    /// Attempts so far, this one included.
    pub attempt: u32,
    pub to: String,
    pub inviter: String,
    pub expires_at: Option<OffsetDateTime>,
    /// The link with the token in it (accept, or sign up). Never log it.
    pub link: String,
    /// For an invitation to a space: which, as what, and the inviter's note.
    pub space: Option<SpaceInvitation>,
}

/// What an e-mail about an invitation to a space shows of it.
#[derive(Debug, Clone)]
pub struct SpaceInvitation {
    pub space: SpacePath,
    pub space_name: String,
    pub role: RoleName,
    pub message: Option<String>,
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

enum Claimed {
    Invitation {
        mail: MailRow,
        invitation: guestlist_store::InvitationRow,
        space_name: String,
    },
    Platform {
        mail: MailRow,
        invitation: guestlist_store::PlatformInvitationRow,
    },
}

/// What the message is about, when it is still to be sent: the latest e-mail of an
/// invitation still pending, or of a platform invitation still live.
async fn still_wanted(tx: &mut dyn Tx, mail: &MailRow) -> Result<Option<Claimed>> {
    let now = crate::now();
    match mail.subject {
        MailSubject::Invitation(id) => {
            let Some(invitation) = tx.invitation_by_id(id).await? else {
                return Ok(None);
            };
            let current = invitation.delivery.as_ref().map(|d| d.mail_id) == Some(mail.id);
            if !current || invitation.status(now) != InvitationStatus::Pending {
                return Ok(None);
            }
            let space = tx
                .space_by_path(&invitation.space_path)
                .await?
                .ok_or(Error::NotFound("space"))?;
            Ok(Some(Claimed::Invitation {
                mail: mail.clone(),
                invitation,
                space_name: space.name,
            }))
        }
        MailSubject::PlatformInvitation(id) => {
            let Some(invitation) = tx.platform_invitation_by_id(id).await? else {
                return Ok(None);
            };
            let current = invitation.delivery.as_ref().map(|d| d.mail_id) == Some(mail.id);
            if !current
                || invitation.state(now) != InviteState::Active
                || invitation.token_salt.is_none()
            {
                return Ok(None);
            }
            Ok(Some(Claimed::Platform {
                mail: mail.clone(),
                invitation,
            }))
        }
    }
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

/// How an e-mail names who sent a platform invitation: a user by their id, a key by
/// its name (`key:backend` is "backend").
fn inviter_name(invited_by: &str) -> String {
    invited_by
        .strip_prefix(guestlist_domain::actor::KEY_LABEL_PREFIX)
        .unwrap_or(invited_by)
        .to_owned()
}

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
        Ok(Some(match c {
            Claimed::Invitation {
                mail,
                invitation,
                space_name,
            } => OutgoingMail {
                id: mail.id,
                subject: mail.subject,
                attempt: mail.attempts,
                to: mail.recipient,
                link: self.accept_link(&invitation.token_salt),
                inviter: invitation.created_by_name,
                expires_at: Some(invitation.expires_at),
                space: Some(SpaceInvitation {
                    space: invitation.space_path,
                    space_name,
                    role: invitation.role,
                    message: invitation.message,
                }),
            },
            Claimed::Platform { mail, invitation } => OutgoingMail {
                id: mail.id,
                subject: mail.subject,
                attempt: mail.attempts,
                to: mail.recipient,
                link: self.signup_link(invitation.token_salt.as_deref().unwrap_or_default()),
                inviter: inviter_name(&invitation.invited_by),
                expires_at: invitation.expires_at,
                space: None,
            },
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
