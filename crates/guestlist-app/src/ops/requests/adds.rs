//! An owner adding an existing account (a pending membership) and the person accepting
//! or declining it.

use super::*;
use crate::ops::admission::activate;
use crate::ops::members::{MembershipView, view as member_view};
use crate::ops::operation;
use crate::scope::{Scope, require_user};
use crate::{App, Result};
use guestlist_domain::events::{MemberAdded, MemberDeclined};
use guestlist_domain::{
    Actor, AddOutcome, Error, JoinOutcome, MembershipSource, MembershipStatus, Permission,
    RoleName, SpacePath,
};
use guestlist_store::NewMembership;
use uuid::Uuid;

pub(super) struct OwnerAdd {
    pub(super) actor: Actor,
    pub(super) path: SpacePath,
    pub(super) account: Account,
    pub(super) role: RoleName,
}

operation!(OwnerAdd => (AddOutcome, Option<MembershipView>), |self, tx| {
    let scope = Scope::load(tx, &self.path).await?;
    let granted = scope.require_can_grant(tx, &self.actor, Permission::ManageMembers, &self.role).await?;
    let user = account_of(tx, &self.account, &scope.space.path).await?;
    if let Some(m) = scope.membership(tx, &user).await? {
        let outcome = match m.status {
            MembershipStatus::Pending => AddOutcome::AlreadyPending,
            MembershipStatus::Active => AddOutcome::AlreadyMember,
        };
        return Ok((outcome, Some(member_view(&scope, m))));
    }
    // They asked to join: adding them approves the request.
    if let Some(request) = tx.pending_join_request(scope.space.id, &user).await? {
        let (outcome, m) = approve(tx, &scope, &self.actor, &request, &self.role).await?;
        let outcome = if outcome == JoinOutcome::AlreadyMember { AddOutcome::AlreadyMember } else { AddOutcome::Joined };
        return Ok((outcome, m));
    }
    // Rights from a parent space: a member already, with no membership here.
    if scope.user_rights(tx, &user).await?.covers(granted) {
        return Ok((AddOutcome::AlreadyMember, None));
    }
    let new = NewMembership {
        id: Uuid::now_v7(),
        space_id: scope.space.id,
        user_id: user.clone(),
        role: self.role.clone(),
        status: MembershipStatus::Pending,
        source: MembershipSource::OwnerAdd,
        invite_id: None,
        created_at: crate::now(),
        email: match &self.account { Account::Email(e) => Some(e.clone()), Account::Id(_) => None },
        username: None,
        added_by: Some(self.actor.label()),
    };
    let Some(row) = tx.insert_membership(&new).await? else {
        return Err(Error::Contention("a membership was added concurrently".into()));
    };
    tx.append_event(&scope.event(
        &self.actor,
        Some(user.as_str()),
        MemberAdded {
            role: self.role.clone(),
            status: MembershipStatus::Pending,
            source: MembershipSource::OwnerAdd,
            membership_id: row.id,
        },
    ))
    .await?;
    Ok((AddOutcome::Pending, Some(member_view(&scope, row))))
});

pub(super) struct AnswerAdd {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
    pub(super) accept: bool,
}

operation!(AnswerAdd => Option<MembershipView>, |self, tx| {
    let user = require_user(&self.actor)?;
    let m = tx
        .membership_by_id(self.id)
        .await?
        .filter(|m| &m.user_id == user)
        .ok_or(Error::NotFound("membership"))?;
    if m.status != MembershipStatus::Pending {
        return Err(Error::NotPending);
    }
    let path = space_of(tx, m.space_id).await?;
    let scope = Scope::load(tx, &path).await?;
    if self.accept {
        let role = m.role.clone();
        let admitted = activate(tx, &scope, &self.actor, m, &role, MembershipSource::OwnerAdd, None).await?;
        return Ok(admitted.split(&scope).1);
    }
    tx.delete_membership(m.id).await?;
    tx.append_event(&scope.event(&self.actor, Some(user.as_str()), MemberDeclined { role: m.role }))
        .await?;
    Ok(None)
});

impl App {
    /// Adds an existing account to a space's roster as a pending membership that only
    /// that user can accept (manage_members; never above your own rights).
    pub async fn add_member(
        &self,
        actor: &Actor,
        path: SpacePath,
        account: Account,
        role: Option<RoleName>,
    ) -> Result<(AddOutcome, Option<MembershipView>)> {
        self.store_ref()
            .write(OwnerAdd {
                actor: actor.clone(),
                path,
                account,
                role: role.unwrap_or_else(RoleName::member),
            })
            .await
    }

    /// The addressee accepts or declines an owner's add.
    pub async fn answer_membership(
        &self,
        actor: &Actor,
        id: Uuid,
        accept: bool,
    ) -> Result<Option<MembershipView>> {
        self.store_ref()
            .write(AnswerAdd {
                actor: actor.clone(),
                id,
                accept,
            })
            .await
    }
}
