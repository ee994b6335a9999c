use std::collections::HashMap;

use guestlist_domain::events::{EventData, MemberLeft, MemberRemoved, MemberRoleChanged};
use guestlist_domain::{
    Actor, Error, JoinMode, JoinOutcome, MembershipSource, MembershipStatus, Permission,
    Permissions, RoleName, SpacePath, UserId,
};
use guestlist_store::{MembershipRow, Tx};
use uuid::Uuid;

pub use super::admission::MembershipView;
use super::admission::admit;
pub(crate) use super::admission::view;
use super::operation;
use crate::scope::{Check, Scope, asked_about, require_user};
use crate::{App, Result, paging};

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

pub(crate) struct Provision {
    pub(crate) actor: Actor,
    pub(crate) path: SpacePath,
    pub(crate) user: UserId,
    pub(crate) role: RoleName,
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

struct BroughtBy {
    actor: Actor,
    path: SpacePath,
    ids: Vec<Uuid>,
}

operation!(BroughtBy => Vec<(Uuid, String)>, |self, tx| {
    // Who invited whom is for those who manage the members, not for every member.
    let scope = Scope::load(tx, &self.path).await?;
    scope.require_visible(tx, &self.actor, Permission::ManageMembers).await?;
    tx.brought_by(&self.ids).await
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
        &self.actor,
        Some(self.user.as_str()),
        MemberRoleChanged { from: target.role.clone(), to: self.role.clone(), reason: "changed".into(), invite_id: None },
    ))
    .await?;
    // A sponsor whose rights shrank takes along what they handed out beyond them.
    let before = scope.role_permissions(&target.role).unwrap_or_default();
    if !granted.covers(before) {
        crate::ceiling::revoke_beyond(tx, &self.actor, &self.user, Some(&scope.space.path), "sponsor_demoted").await?;
    }
    Ok(view(&scope, MembershipRow { role: self.role.clone(), updated_at: now, ..target }))
});

pub(crate) struct RemoveMember {
    pub(crate) actor: Actor,
    pub(crate) path: SpacePath,
    pub(crate) user: UserId,
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
    let role = target.role;
    let event: EventData = if leaving { MemberLeft { role }.into() } else { MemberRemoved { role, reason: None }.into() };
    tx.append_event(&scope.event(&self.actor, Some(self.user.as_str()), event)).await?;
    Ok(())
});

/// How many questions one `check` call may ask.
pub const MAX_CHECKS: usize = 100;

/// One question for `check`: may `user` (the caller when `None`) do `permission` in
/// `space`?
#[derive(Debug, Clone)]
pub struct CheckInput {
    pub user: Option<UserId>,
    pub space: SpacePath,
    pub permission: Permission,
}

/// A check's answer, with the question it answers.
#[derive(Debug, Clone)]
pub struct CheckAnswer {
    pub user: UserId,
    pub space: SpacePath,
    pub permission: Permission,
    pub check: Check,
}

struct CheckMany {
    actor: Actor,
    checks: Vec<CheckInput>,
}

#[async_trait::async_trait]
impl guestlist_store::Operation for CheckMany {
    type Output = Vec<CheckAnswer>;

    async fn run(&self, tx: &mut dyn Tx) -> Result<Vec<CheckAnswer>> {
        // A space's lineage is read once, with the first user's grants (one statement);
        // each other user's grants on it are one statement more.
        let mut scopes: HashMap<SpacePath, Option<Scope>> = HashMap::new();
        let mut grants: HashMap<(UserId, SpacePath), Vec<MembershipRow>> = HashMap::new();
        let mut answers = Vec::with_capacity(self.checks.len());
        for c in &self.checks {
            let key = (asked_about(&self.actor, c.user.as_ref())?, c.space.clone());
            if !scopes.contains_key(&key.1) {
                let found = Scope::try_load_for(tx, &key.1, &key.0).await?;
                let (scope, theirs) = found.map_or((None, vec![]), |(s, g)| (Some(s), g));
                scopes.insert(key.1.clone(), scope);
                grants.insert(key.clone(), theirs);
            }
            let check = match &scopes[&key.1] {
                None => Check::DENIED,
                Some(scope) => {
                    if !grants.contains_key(&key) {
                        let theirs = tx.memberships_on(&key.0, &scope.lineage_ids()).await?;
                        grants.insert(key.clone(), theirs);
                    }
                    scope.decide(&grants[&key], c.permission)
                }
            };
            let (user, space) = key;
            answers.push(CheckAnswer {
                user,
                space,
                permission: c.permission,
                check,
            });
        }
        Ok(answers)
    }

    /// One question is one statement: no transaction needed.
    fn single_statement(&self) -> bool {
        self.checks.len() == 1
    }
}

struct GetMember {
    actor: Actor,
    path: SpacePath,
    user: UserId,
}

operation!(GetMember => MembershipView, |self, tx| {
    let scope = Scope::load(tx, &self.path).await?;
    // Your own membership (pending too) is yours to see; anyone else's needs `read`.
    if self.actor.user_id() == Some(&self.user)
        && let Some(m) = scope.membership(tx, &self.user).await?
    {
        return Ok(view(&scope, m));
    }
    scope.require_visible(tx, &self.actor, Permission::Read).await?;
    let m = scope.membership(tx, &self.user).await?.ok_or(Error::NotFound("membership"))?;
    Ok(view(&scope, m))
});

struct MembershipsOf {
    user: UserId,
    after: Option<String>,
    limit: u32,
}

operation!(MembershipsOf => MemberPage, |self, tx| {
    let after = paging::decode(self.after.as_deref())?;
    let rows = tx.list_memberships_of(&self.user, after.as_ref(), self.limit + 1).await?;
    let (rows, next) = paging::split(rows, self.limit, |(m, _)| guestlist_store::PageKey {
        created_at: m.created_at,
        id: m.id,
    });
    let members = rows.into_iter().map(|(membership, space)| MembershipView { membership, space }).collect();
    Ok(MemberPage { members, next })
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

    /// May this user do this here? Answers each question (at most [`MAX_CHECKS`]) with
    /// the deciding role, inheritance down the tree included. A platform-admin key may
    /// ask about anyone, a user about themselves; a space that does not exist is a
    /// "no".
    pub async fn check(&self, actor: &Actor, checks: Vec<CheckInput>) -> Result<Vec<CheckAnswer>> {
        if checks.is_empty() || checks.len() > MAX_CHECKS {
            return Err(Error::invalid(
                "checks",
                format!("1 to {MAX_CHECKS} questions"),
            ));
        }
        self.store_ref()
            .read(CheckMany {
                actor: actor.clone(),
                checks,
            })
            .await
    }

    /// One membership of a space, or `not_found`: yours, or anyone's where you may read.
    pub async fn get_member(
        &self,
        actor: &Actor,
        path: SpacePath,
        user: UserId,
    ) -> Result<MembershipView> {
        self.store_ref()
            .read(GetMember {
                actor: actor.clone(),
                path,
                user,
            })
            .await
    }

    /// A user's memberships (active and pending), in join order: your own, or anyone's
    /// for a platform-admin key (`user` named).
    pub async fn memberships_of(
        &self,
        actor: &Actor,
        user: Option<UserId>,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<MemberPage> {
        // `/me/…` asks for the caller's own: an API key has none.
        let user = match user {
            None => require_user(actor)?.clone(),
            Some(user) => asked_about(actor, Some(&user))?,
        };
        let limit = paging::page_size(limit)?;
        self.store_ref()
            .read(MembershipsOf { user, after, limit })
            .await
    }

    /// Who brought each of these memberships of `path` in (member managers only).
    pub async fn who_brought(
        &self,
        actor: &Actor,
        path: SpacePath,
        membership_ids: Vec<Uuid>,
    ) -> Result<Vec<(Uuid, String)>> {
        self.store_ref()
            .read(BroughtBy {
                actor: actor.clone(),
                path,
                ids: membership_ids,
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
