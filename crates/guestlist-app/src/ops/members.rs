use guestlist_domain::{
    Actor, Error, JoinMode, MembershipSource, MembershipStatus, Permission, Permissions, RoleName,
    SpacePath, UserId,
};
use guestlist_store::{MembershipRow, Tx};
use serde_json::json;

pub use super::admission::MembershipView;
use super::admission::admit;
pub(crate) use super::admission::view;
use super::operation;
use crate::scope::{Scope, require_user};
use crate::{App, Result, paging};
use guestlist_domain::JoinOutcome;

#[derive(Debug, Clone)]
pub struct MemberPage {
    pub members: Vec<MembershipView>,
    pub next: Option<String>,
}

struct JoinOpen {
    actor: Actor,
    path: SpacePath,
}

operation!(JoinOpen => (JoinOutcome, Option<MembershipView>), |self, tx| {
    let user = require_user(&self.actor)?;
    let scope = Scope::load(tx, &self.path).await?;
    match scope.space.join_mode {
        JoinMode::Open => {}
        JoinMode::InviteOnly => {
            // Members can ask for what they already have; outsiders need an invite.
            if scope.user_rights(tx, user).await?.is_empty() {
                return Err(Error::InviteRequired);
            }
        }
        JoinMode::Request => {
            if scope.user_rights(tx, user).await?.is_empty() {
                return Err(Error::ApprovalRequired);
            }
        }
    }
    let admitted = admit(tx, &scope, &self.actor, user, &RoleName::member(), MembershipSource::OpenJoin, None).await?;
    Ok(admitted.split(&scope))
});

struct Provision {
    actor: Actor,
    path: SpacePath,
    user: UserId,
    role: RoleName,
}

operation!(Provision => (JoinOutcome, Option<MembershipView>), |self, tx| {
    if !self.actor.is_platform_admin() {
        return Err(Error::forbidden("only a platform-admin API key can provision members directly"));
    }
    let scope = Scope::load(tx, &self.path).await?;
    let admitted = admit(tx, &scope, &self.actor, &self.user, &self.role, MembershipSource::Provisioned, None).await?;
    Ok(admitted.split(&scope))
});

struct ListMembers {
    actor: Actor,
    path: SpacePath,
    after: Option<String>,
    limit: u32,
}

operation!(ListMembers => MemberPage, |self, tx| {
    let scope = Scope::load(tx, &self.path).await?;
    scope.require_visible(tx, &self.actor, Permission::Read).await?;
    let after = paging::decode(self.after.as_deref())?;
    let rows = tx.list_memberships(scope.space.id, after.as_ref(), self.limit + 1).await?;
    let (rows, next) = paging::split(rows, self.limit, |m| guestlist_store::PageKey {
        created_at: m.created_at,
        id: m.id,
    });
    Ok(MemberPage { members: rows.into_iter().map(|m| view(&scope, m)).collect(), next })
});

/// Loads the target's membership and checks the actor may act on it: they hold
/// `manage_members` and at least every right the target holds here.
async fn managed_target(
    tx: &mut dyn Tx,
    scope: &Scope,
    actor: &Actor,
    user: &UserId,
) -> Result<(Permissions, MembershipRow)> {
    let held = scope
        .require_visible(tx, actor, Permission::ManageMembers)
        .await?;
    let target = scope
        .membership(tx, user)
        .await?
        .ok_or(Error::NotFound("member"))?;
    let target_perms = scope.role_permissions(&target.role).unwrap_or_default();
    if !held.covers(target_perms) {
        return Err(Error::forbidden(
            "you cannot manage a member who holds rights you do not",
        ));
    }
    Ok((held, target))
}

struct ChangeRole {
    actor: Actor,
    path: SpacePath,
    user: UserId,
    role: RoleName,
}

operation!(ChangeRole => MembershipView, |self, tx| {
    let scope = Scope::load(tx, &self.path).await?;
    let (held, target) = managed_target(tx, &scope, &self.actor, &self.user).await?;
    let granted = scope.check_grant(held, &self.role)?;
    if target.role == self.role {
        return Ok(view(&scope, target));
    }
    if !granted.has(Permission::Admin) {
        scope.keep_an_admin(tx, &target).await?;
    }
    let now = crate::now();
    tx.set_membership_role(target.id, &self.role, now).await?;
    tx.append_event(&scope.event(
        "member.role_changed",
        &self.actor,
        Some(self.user.as_str()),
        json!({ "from": target.role, "to": self.role, "reason": "changed" }),
    ))
    .await?;
    // A sponsor whose rights shrank takes along what they handed out beyond them.
    let before = scope.role_permissions(&target.role).unwrap_or_default();
    if !granted.covers(before) {
        crate::ceiling::revoke_beyond(tx, &self.actor, &self.user, Some(&scope.space.path), "sponsor_demoted").await?;
    }
    Ok(view(&scope, MembershipRow { role: self.role.clone(), updated_at: now, ..target }))
});

struct RemoveMember {
    actor: Actor,
    path: SpacePath,
    user: UserId,
}

operation!(RemoveMember => (), |self, tx| {
    let scope = Scope::load(tx, &self.path).await?;
    let leaving = self.actor.user_id() == Some(&self.user);
    let target = if leaving {
        scope.membership(tx, &self.user).await?.ok_or(Error::NotFound("membership"))?
    } else {
        managed_target(tx, &scope, &self.actor, &self.user).await?.1
    };
    scope.keep_an_admin(tx, &target).await?;
    tx.delete_membership(target.id).await?;
    if target.status == MembershipStatus::Active {
        tx.free_seat(scope.space.id).await?;
    }
    // A sponsor takes along the live invites they can no longer hand out.
    let reason = if leaving { "sponsor_left" } else { "sponsor_removed" };
    crate::ceiling::revoke_beyond(tx, &self.actor, &self.user, Some(&scope.space.path), reason).await?;
    let kind = if leaving { "member.left" } else { "member.removed" };
    tx.append_event(&scope.event(kind, &self.actor, Some(self.user.as_str()), json!({ "role": target.role })))
        .await?;
    Ok(())
});

impl App {
    /// Joins an `open` space directly.
    pub async fn join_space(
        &self,
        actor: &Actor,
        path: SpacePath,
    ) -> Result<(JoinOutcome, Option<MembershipView>)> {
        self.store_ref()
            .write(JoinOpen {
                actor: actor.clone(),
                path,
            })
            .await
    }

    /// Adds a member directly, on a platform-admin key's word (the first admins).
    pub async fn provision_member(
        &self,
        actor: &Actor,
        path: SpacePath,
        user: UserId,
        role: RoleName,
    ) -> Result<(JoinOutcome, Option<MembershipView>)> {
        self.store_ref()
            .write(Provision {
                actor: actor.clone(),
                path,
                user,
                role,
            })
            .await
    }

    pub async fn list_members(
        &self,
        actor: &Actor,
        path: SpacePath,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<MemberPage> {
        let limit = paging::page_size(limit)?;
        self.store_ref()
            .read(ListMembers {
                actor: actor.clone(),
                path,
                after,
                limit,
            })
            .await
    }

    pub async fn change_role(
        &self,
        actor: &Actor,
        path: SpacePath,
        user: UserId,
        role: RoleName,
    ) -> Result<MembershipView> {
        self.store_ref()
            .write(ChangeRole {
                actor: actor.clone(),
                path,
                user,
                role,
            })
            .await
    }

    /// The caller leaves a space. Only a person holds memberships: an API key is a
    /// member of nothing.
    pub async fn leave_space(&self, actor: &Actor, path: SpacePath) -> Result<()> {
        let me = actor
            .user_id()
            .cloned()
            .ok_or_else(|| Error::forbidden("an API key is not a member of anything"))?;
        self.remove_member(actor, path, me).await
    }

    /// Removes a member, or leaves when `user` is the caller.
    pub async fn remove_member(&self, actor: &Actor, path: SpacePath, user: UserId) -> Result<()> {
        self.store_ref()
            .write(RemoveMember {
                actor: actor.clone(),
                path,
                user,
            })
            .await
    }
}
