//! A member manager listing and deciding join requests, under the grant ceiling.

use super::*;
use crate::ops::admission::admit;
use crate::ops::members::MembershipView;
use crate::ops::operation;
use crate::scope::Scope;
use crate::{App, Result, paging};
use guestlist_domain::events::{JoinRequestApproved, JoinRequestDenied};
use guestlist_domain::rules;
use guestlist_domain::{
    Actor, Error, JoinOutcome, MembershipSource, Permission, RoleName, SpacePath,
};
use guestlist_store::{JoinRequestRow, JoinRequestStatus, PageKey, Tx};
use uuid::Uuid;

/// Approves a request: the request and the membership change together, within the
/// member limit; on any refusal neither does.
pub(super) async fn approve(
    tx: &mut dyn Tx,
    scope: &Scope,
    actor: &Actor,
    request: &JoinRequestRow,
    role: &RoleName,
) -> Result<(JoinOutcome, Option<MembershipView>)> {
    if !tx
        .decide_join_request(
            request.id,
            JoinRequestStatus::Approved,
            &actor.label(),
            crate::now(),
        )
        .await?
    {
        return Err(Error::NotPending);
    }
    let admitted = admit(
        tx,
        scope,
        actor,
        &request.user_id,
        role,
        MembershipSource::JoinRequest,
        None,
    )
    .await?;
    tx.append_event(&scope.event(
        actor,
        Some(request.user_id.as_str()),
        JoinRequestApproved {
            request_id: request.id,
            role: role.clone(),
        },
    ))
    .await?;
    Ok(admitted.split(scope))
}

pub(super) struct ListRequests {
    pub(super) actor: Actor,
    pub(super) path: SpacePath,
    pub(super) status: Option<JoinRequestStatus>,
    pub(super) after: Option<String>,
    pub(super) limit: u32,
}

operation!(ListRequests => JoinRequestPage, |self, tx| {
    let scope = Scope::load(tx, &self.path).await?;
    scope.require_visible(tx, &self.actor, Permission::ManageMembers).await?;
    let after = paging::decode(self.after.as_deref())?;
    let rows = tx.list_join_requests(scope.space.id, self.status, after.as_ref(), self.limit + 1).await?;
    let (rows, next) = paging::split(rows, self.limit, |r| PageKey { created_at: r.created_at, id: r.id });
    Ok(JoinRequestPage { requests: rows.into_iter().map(|request| JoinRequestView { request }).collect(), next })
});

pub(super) struct Decide {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
    pub(super) approve: bool,
}

operation!(Decide => (JoinRequestView, Option<MembershipView>), |self, tx| {
    let request = tx.join_request_by_id(self.id).await?.ok_or(Error::NotFound("join request"))?;
    let scope = Scope::load(tx, &request.space_path).await?;
    let held = scope.rights(tx, &self.actor).await?;
    if !held.has(Permission::Read) {
        return Err(Error::NotFound("join request"));
    }
    rules::require(held, Permission::ManageMembers)?;
    if request.status != JoinRequestStatus::Pending {
        return Err(Error::NotPending);
    }
    let membership = if self.approve {
        scope.check_grant(held, &request.role)?;
        approve(tx, &scope, &self.actor, &request, &request.role).await?.1
    } else {
        if !tx.decide_join_request(request.id, JoinRequestStatus::Denied, &self.actor.label(), crate::now()).await? {
            return Err(Error::NotPending);
        }
        tx.append_event(&scope.event(
            &self.actor,
            Some(request.user_id.as_str()),
            JoinRequestDenied { request_id: request.id },
        ))
        .await?;
        None
    };
    let fresh = tx.join_request_by_id(self.id).await?.ok_or(Error::NotFound("join request"))?;
    Ok((JoinRequestView { request: fresh }, membership))
});

impl App {
    pub async fn list_join_requests(
        &self,
        actor: &Actor,
        path: SpacePath,
        status: Option<JoinRequestStatus>,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<JoinRequestPage> {
        let limit = paging::page_size(limit)?;
        self.store_ref()
            .read(ListRequests {
                actor: actor.clone(),
                path,
                status,
                after,
                limit,
            })
            .await
    }

    /// Approves (within the member limit) or denies a pending request.
    pub async fn decide_join_request(
        &self,
        actor: &Actor,
        id: Uuid,
        approve: bool,
    ) -> Result<(JoinRequestView, Option<MembershipView>)> {
        self.store_ref()
            .write(Decide {
                actor: actor.clone(),
                id,
                approve,
            })
            .await
    }
}
