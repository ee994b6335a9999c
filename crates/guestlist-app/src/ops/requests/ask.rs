//! Asking to join (a request-mode space, or a link that needs approval) and withdrawing
//! the request.

use super::*;
use crate::ops::admission::{admit, claim_use, identity_of};
use crate::ops::members::view as member_view;
use crate::ops::{operation, text};
use crate::scope::{Scope, require_user};
use crate::{App, Result};
use guestlist_domain::events::{JoinRequestCancelled, JoinRequestCreated};
use guestlist_domain::{
    Actor, Error, JoinMode, JoinOutcome, MembershipSource, MembershipStatus, RoleName, SpacePath,
    UserId,
};
use guestlist_store::{InviteRow, JoinRequestRow, JoinRequestStatus, NewJoinRequest, Tx};
use uuid::Uuid;

/// Opens a join request (or finds the one waiting). `invite` is the link that asked
/// for approval: its use is counted when the request is made.
pub(crate) async fn open_request(
    tx: &mut dyn Tx,
    scope: &Scope,
    actor: &Actor,
    user: &UserId,
    role: &RoleName,
    message: Option<String>,
    invite: Option<&InviteRow>,
) -> Result<RequestResult> {
    let offered = scope.require_role(role)?;
    if scope.user_rights(tx, user).await?.covers(offered) {
        let direct = scope.membership(tx, user).await?;
        return Ok(RequestResult {
            outcome: JoinOutcome::AlreadyMember,
            request: None,
            membership: direct.map(|m| member_view(scope, m)),
        });
    }
    if let Some(m) = scope.membership(tx, user).await?
        && m.status == MembershipStatus::Pending
    {
        return Err(Error::PendingConsent(format!(
            "you have been added to {} already: accept it (membership {}) instead of asking",
            scope.space.path, m.id
        )));
    }
    if let Some(waiting) = tx.pending_join_request(scope.space.id, user).await? {
        return Ok(requested(waiting));
    }
    if let Some(invite) = invite {
        claim_use(tx, invite).await?;
    }
    let (email, username) = identity_of(actor, user);
    let new = NewJoinRequest {
        id: Uuid::now_v7(),
        space_id: scope.space.id,
        space_path: scope.space.path.clone(),
        user_id: user.clone(),
        email,
        username,
        role: role.clone(),
        message,
        invite_id: invite.map(|i| i.id),
        created_at: crate::now(),
    };
    if !tx.insert_join_request(&new).await? {
        // A concurrent request of the same user won the unique key.
        let waiting = tx
            .pending_join_request(scope.space.id, user)
            .await?
            .ok_or_else(|| Error::Contention("a join request vanished".into()))?;
        return Err(Error::Contention(format!(
            "join request {} raced",
            waiting.id
        )));
    }
    tx.append_event(&scope.event(
        actor,
        Some(user.as_str()),
        JoinRequestCreated {
            request_id: new.id,
            role: role.clone(),
            invite_id: new.invite_id,
        },
    ))
    .await?;
    let row = tx
        .join_request_by_id(new.id)
        .await?
        .ok_or_else(|| Error::internal("join request vanished"))?;
    Ok(requested(row))
}

pub(super) fn requested(request: JoinRequestRow) -> RequestResult {
    RequestResult {
        outcome: JoinOutcome::Requested,
        request: Some(JoinRequestView { request }),
        membership: None,
    }
}

pub(super) struct AskToJoin {
    pub(super) actor: Actor,
    pub(super) path: SpacePath,
    pub(super) message: Option<String>,
}

operation!(AskToJoin => RequestResult, |self, tx| {
    let user = require_user(&self.actor)?;
    let scope = Scope::load(tx, &self.path).await?;
    match scope.space.join_mode {
        JoinMode::Request => {}
        JoinMode::Open => {
            let admitted = admit(tx, &scope, &self.actor, user, &RoleName::member(), MembershipSource::OpenJoin, None).await?;
            let (outcome, membership) = admitted.split(&scope);
            return Ok(RequestResult { outcome, request: None, membership });
        }
        JoinMode::InviteOnly => {
            if scope.user_rights(tx, user).await?.is_empty() {
                return Err(Error::InviteRequired);
            }
        }
    }
    open_request(tx, &scope, &self.actor, user, &RoleName::member(), self.message.clone(), None).await
});

pub(super) struct Cancel {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
}

operation!(Cancel => JoinRequestView, |self, tx| {
    let user = require_user(&self.actor)?;
    let request = tx
        .join_request_by_id(self.id)
        .await?
        .filter(|r| &r.user_id == user)
        .ok_or(Error::NotFound("join request"))?;
    if !tx.decide_join_request(request.id, JoinRequestStatus::Cancelled, user.as_str(), crate::now()).await? {
        return Err(Error::NotPending);
    }
    let scope = Scope::load(tx, &request.space_path).await?;
    tx.append_event(&scope.event(&self.actor, Some(user.as_str()), JoinRequestCancelled { request_id: request.id }))
        .await?;
    let fresh = tx.join_request_by_id(self.id).await?.ok_or(Error::NotFound("join request"))?;
    Ok(JoinRequestView { request: fresh })
});

impl App {
    /// Asks to join a `request`-mode space (an `open` one is joined at once).
    pub async fn ask_to_join(
        &self,
        actor: &Actor,
        path: SpacePath,
        message: Option<String>,
    ) -> Result<RequestResult> {
        let message = text("message", message.as_deref(), 1000)?;
        self.store_ref()
            .write(AskToJoin {
                actor: actor.clone(),
                path,
                message,
            })
            .await
    }

    /// The requester withdraws a pending request.
    pub async fn cancel_join_request(&self, actor: &Actor, id: Uuid) -> Result<JoinRequestView> {
        self.store_ref()
            .write(Cancel {
                actor: actor.clone(),
                id,
            })
            .await
    }
}
