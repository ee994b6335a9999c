//! Resending and revoking an invitation, under the grant ceiling.

use super::*;
use crate::ops::operation;
use crate::{App, Result};
use guestlist_domain::events::InvitationRevoked;
use guestlist_domain::{Actor, Error, InvitationStatus, Permission, UserId};
use guestlist_store::MailSubject;
use time::Duration;
use uuid::Uuid;

pub(super) struct Resend {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
    pub(super) issue: Issue,
    pub(super) interval_secs: i64,
}

operation!(Resend => InvitationView, |self, tx| {
    let (scope, invitation) = managed(tx, &self.actor, self.id).await?;
    // A resend is a reissue (which holds the ceiling): said before anything else.
    scope.require_can_grant(tx, &self.actor, Permission::ManageInvites, &invitation.role).await?;
    let now = crate::now();
    match invitation.status(now) {
        InvitationStatus::Pending => {
            let wait = (invitation.last_sent_at + Duration::seconds(self.interval_secs) - now).whole_seconds();
            if wait > 0 {
                return Err(Error::RateLimited { retry_after_secs: wait as u64 });
            }
        }
        InvitationStatus::Expired => {}
        _ => return Err(Error::NotPending),
    }
    reissue(tx, &scope, &self.actor, &invitation, &self.issue, invitation.lifetime_secs).await
});

pub(super) struct Revoke {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
}

operation!(Revoke => InvitationView, |self, tx| {
    let (scope, invitation) = managed(tx, &self.actor, self.id).await?;
    // Revoking an invitation is deciding a grant: only someone who could have made it
    // (an inviter cannot revoke an admin's admin invitation), as for links.
    scope.require_can_grant(tx, &self.actor, Permission::ManageInvites, &invitation.role).await?;
    let now = crate::now();
    if invitation.status(now) != InvitationStatus::Pending
        || !tx.decide_invitation(invitation.id, InvitationStatus::Revoked, &self.actor.label(), now, Some(now)).await?
    {
        return Err(Error::NotPending);
    }
    tx.cancel_mail_of(MailSubject::Invitation(invitation.id)).await?;
    tx.append_event(&scope.event(
        &self.actor,
        invitation.addressee.user_id.as_ref().map(UserId::as_str),
        InvitationRevoked { invitation_id: invitation.id, reason: None, sponsor: None, role: None },
    ))
    .await?;
    let fresh = tx.invitation_by_id(invitation.id).await?.ok_or(Error::NotFound("invitation"))?;
    Ok(InvitationView::of(fresh, now))
});

impl App {
    /// Sends a pending or expired invitation again: a new token and expiry; the old
    /// token stops working.
    pub async fn resend_invitation(&self, actor: &Actor, id: Uuid) -> Result<InvitationView> {
        let view = self
            .store_ref()
            .write(Resend {
                actor: actor.clone(),
                id,
                issue: Issue::new(&self.0.keys),
                interval_secs: self.0.config.invitations.resend_interval_secs,
            })
            .await?;
        self.0.mail_queued.notify_one();
        Ok(view)
    }

    /// Soft-revokes a pending invitation (`not_pending` otherwise).
    pub async fn revoke_invitation(&self, actor: &Actor, id: Uuid) -> Result<InvitationView> {
        self.store_ref()
            .write(Revoke {
                actor: actor.clone(),
                id,
            })
            .await
    }
}
