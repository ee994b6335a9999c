//! What an invitation's holder sees and does: preview, accept, decline.

use super::*;
use crate::limits::Surface;
use crate::ops::admission::admit;
use crate::ops::members::view as member_view;
use crate::ops::operation;
use crate::scope::{Scope, require_user};
use crate::{App, Caller, Result};
use guestlist_domain::events::{EventData, InvitationAccepted, InvitationDeclined};
use guestlist_domain::{Actor, Error, InvitationStatus, JoinOutcome, MembershipSource, UserId};
use guestlist_store::{InvitationRow, MailSubject, MembershipRow, Tx};
use time::OffsetDateTime;
use uuid::Uuid;

/// How the addressee names an invitation: the token from the e-mail, or (signed in,
/// from their list of pending invitations) its id.
#[derive(Debug, Clone)]
pub(super) enum Target {
    Token(Vec<u8>),
    Id(Uuid),
}

/// An invitation as its addressee sees it before answering.
#[derive(Debug, Clone)]
pub struct InvitationPreview {
    pub invitation: InvitationView,
    pub space_name: String,
    /// How the signed-in caller stands to the addressee (`None`: signed out).
    pub binding: Option<guestlist_domain::Binding>,
}

pub(super) struct PreviewByToken {
    pub(super) hash: Vec<u8>,
    pub(super) actor: Option<Actor>,
}

operation!(PreviewByToken => InvitationPreview, |self, tx| {
    let invitation = tx.invitation_by_token(&self.hash).await?.ok_or(Error::NotFound("invitation"))?;
    let now = crate::now();
    match invitation.status(now) {
        InvitationStatus::Revoked => return Err(Error::NotFound("invitation")),
        InvitationStatus::Expired => return Err(Error::Expired),
        _ => {}
    }
    let scope = Scope::load(tx, &invitation.space_path).await?;
    let binding = self.actor.as_ref().map(|a| invitation.addressee.binding(a));
    Ok(InvitationPreview {
        space_name: scope.space.name.clone(),
        invitation: InvitationView::of(invitation, now),
        binding,
    })
});

pub(super) struct Respond {
    pub(super) actor: Actor,
    pub(super) target: Target,
    pub(super) decision: Decision,
}

/// The membership a repeated accept answers with.
pub(super) async fn accepted_again(
    tx: &mut dyn Tx,
    invitation: InvitationRow,
    user: &UserId,
    now: OffsetDateTime,
) -> Result<Response> {
    let scope = Scope::load(tx, &invitation.space_path).await?;
    let membership: Option<MembershipRow> = scope.membership(tx, user).await?;
    Ok(Response {
        invitation: InvitationView::of(invitation, now),
        space_name: scope.space.name.clone(),
        outcome: Some(JoinOutcome::AlreadyMember),
        membership: membership.map(|m| member_view(&scope, m)),
    })
}

operation!(Respond => Response, |self, tx| {
    let user = require_user(&self.actor)?;
    let found = match &self.target {
        Target::Token(hash) => tx.invitation_by_token(hash).await?,
        Target::Id(id) => tx.invitation_by_id(*id).await?,
    };
    let invitation = found.ok_or(Error::NotFound("invitation"))?;
    let binding = invitation.addressee.binding(&self.actor);
    // Named by id, an invitation exists only for its addressee.
    if matches!(self.target, Target::Id(_)) && binding != guestlist_domain::Binding::Matches {
        return Err(Error::NotFound("invitation"));
    }
    let now = crate::now();
    match invitation.status(now) {
        InvitationStatus::Pending => {}
        // A revoked token reads as unknown.
        InvitationStatus::Revoked => return Err(Error::NotFound("invitation")),
        InvitationStatus::Expired => return Err(Error::Expired),
        InvitationStatus::Accepted
            if self.decision == Decision::Accept && invitation.decided_by.as_deref() == Some(user.as_str()) =>
        {
            return accepted_again(tx, invitation, user, now).await;
        }
        InvitationStatus::Accepted | InvitationStatus::Declined => return Err(Error::NotPending),
    }
    binding.require()?;
    let to = match self.decision {
        Decision::Accept => InvitationStatus::Accepted,
        Decision::Decline => InvitationStatus::Declined,
    };
    // The atomic claim: of two concurrent answers, one moves it out of pending.
    if !tx.decide_invitation(invitation.id, to, user.as_str(), now, Some(now)).await? {
        let fresh = tx.invitation_by_id(invitation.id).await?.ok_or(Error::NotFound("invitation"))?;
        return match fresh.status(now) {
            InvitationStatus::Accepted
                if self.decision == Decision::Accept && fresh.decided_by.as_deref() == Some(user.as_str()) =>
            {
                accepted_again(tx, fresh, user, now).await
            }
            InvitationStatus::Expired => Err(Error::Expired),
            InvitationStatus::Revoked => Err(Error::NotFound("invitation")),
            _ => Err(Error::NotPending),
        };
    }
    tx.cancel_mail_of(MailSubject::Invitation(invitation.id)).await?;
    let scope = Scope::load(tx, &invitation.space_path).await?;
    let (outcome, membership) = match self.decision {
        Decision::Accept => {
            let admitted = admit(tx, &scope, &self.actor, user, &invitation.role, MembershipSource::Invitation, None).await?;
            let (outcome, membership) = admitted.split(&scope);
            (Some(outcome), membership)
        }
        Decision::Decline => (None, None),
    };
    let (invitation_id, role, user_id) = (invitation.id, invitation.role.clone(), user.as_str().to_owned());
    let email = invitation.addressee.email.as_ref().map(|e| e.as_str().to_owned());
    let invited_by = invitation.created_by.clone();
    let event: EventData = match self.decision {
        Decision::Accept => {
            InvitationAccepted { invitation_id, user_id, email, invited_by, role: Some(role) }.into()
        }
        Decision::Decline => InvitationDeclined { invitation_id, user_id, email, invited_by, role }.into(),
    };
    tx.append_event(&scope.event(&self.actor, Some(user.as_str()), event)).await?;
    let fresh = tx.invitation_by_id(invitation.id).await?.ok_or(Error::NotFound("invitation"))?;
    Ok(Response { invitation: InvitationView::of(fresh, now), space_name: scope.space.name.clone(), outcome, membership })
});

impl App {
    /// What the e-mail's token names, for the page that asks its addressee to answer:
    /// the invitation, its space's name, and how `caller` stands to it (`None`
    /// signed out). A revoked or unknown token is `not_found` alike; an expired one
    /// `expired`; one already answered is shown with its status. Rate limited like
    /// previews.
    pub async fn preview_invitation(
        &self,
        caller: &Caller,
        token: &str,
    ) -> Result<InvitationPreview> {
        self.0.limits.check(Surface::Preview, caller)?;
        let hash = self.token_hash(token)?;
        self.store_ref()
            .read(PreviewByToken {
                hash,
                actor: caller.actor.clone(),
            })
            .await
    }

    /// Accepts or declines with the token from the e-mail. Rate limited like joins.
    pub async fn respond_by_token(
        &self,
        caller: &Caller,
        token: &str,
        decision: Decision,
    ) -> Result<Response> {
        let actor = caller
            .actor
            .clone()
            .ok_or_else(|| Error::Unauthenticated("sign in to answer an invitation".into()))?;
        self.0.limits.check(Surface::Join, caller)?;
        let hash = self.token_hash(token)?;
        self.store_ref()
            .write(Respond {
                actor,
                target: Target::Token(hash),
                decision,
            })
            .await
    }

    /// Accepts or declines one of the caller's own pending invitations by id.
    pub async fn respond_by_id(
        &self,
        actor: &Actor,
        id: Uuid,
        decision: Decision,
    ) -> Result<Response> {
        self.store_ref()
            .write(Respond {
                actor: actor.clone(),
                target: Target::Id(id),
                decision,
            })
            .await
    }
}
