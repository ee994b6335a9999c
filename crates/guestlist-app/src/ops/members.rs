use guestlist_domain::rules::{self, Admission};
use guestlist_domain::{
    Actor, Email, Error, JoinMode, MembershipSource, MembershipStatus, Permission, Permissions,
    RoleName, SpacePath, UserId, Username,
};
use guestlist_store::{InviteRow, MembershipRow, NewMembership, Tx};
use serde_json::json;
use uuid::Uuid;

use super::operation;
use crate::scope::{Scope, require_user};
use crate::{App, Result, paging};

/// A membership with the path of its space.
#[derive(Debug, Clone)]
pub struct MembershipView {
    pub membership: MembershipRow,
    pub space: SpacePath,
}

#[derive(Debug, Clone)]
pub struct MemberPage {
    pub members: Vec<MembershipView>,
    pub next: Option<String>,
}

/// What admitting someone to a space did.
#[derive(Debug, Clone)]
pub(crate) enum Admitted {
    Joined(MembershipRow),
    Upgraded(MembershipRow),
    /// Already held at least the offered rights; `None` when they come only from an
    /// ancestor space.
    AlreadyMember(Option<MembershipRow>),
}

/// Counts one use of the invite or says why it cannot be used.
pub(crate) async fn claim_use(tx: &mut dyn Tx, invite: &InviteRow) -> Result<()> {
    let now = crate::now();
    if tx.claim_invite_use(invite.id, now).await? {
        return Ok(());
    }
    let fresh = tx
        .invite_by_id(invite.id)
        .await?
        .ok_or(Error::NotFound("invite"))?;
    let state = fresh.state(now);
    Err(state.refusal().unwrap_or(Error::Exhausted))
}

/// The one way into a space. Every path in (invite link, open join, provisioning)
/// goes through here: a membership row (unique per user and space), the invite's use,
/// the member seat and the event are written together or not at all; an error rolls
/// back every write before it.
pub(crate) async fn admit(
    tx: &mut dyn Tx,
    scope: &Scope,
    actor: &Actor,
    user: &UserId,
    role: &RoleName,
    source: MembershipSource,
    invite: Option<&InviteRow>,
) -> Result<Admitted> {
    let offered = scope.require_role(role)?;
    let (direct, effective) = scope.standing(tx, user).await?;
    let direct = match direct {
        Some(pending) if pending.status == MembershipStatus::Pending => {
            return activate(tx, scope, actor, pending, role, source, invite).await;
        }
        other => other,
    };
    let direct_perms = direct
        .as_ref()
        .map(|m| scope.role_permissions(&m.role).unwrap_or_default());
    let invite_id = invite.map(|i| i.id);
    let identity = identity_of(actor, user);
    match rules::admission(direct_perms, effective, offered) {
        Admission::AlreadyMember => Ok(Admitted::AlreadyMember(direct)),
        Admission::Upgrade => {
            let current =
                direct.ok_or_else(|| Error::internal("an upgrade without a membership"))?;
            if let Some(invite) = invite {
                claim_use(tx, invite).await?;
            }
            let now = crate::now();
            tx.set_membership_role(current.id, role, now).await?;
            tx.append_event(&scope.event(
                "member.role_changed",
                actor,
                Some(user.as_str()),
                json!({ "from": current.role, "to": role, "invite_id": invite_id, "reason": source }),
            ))
            .await?;
            Ok(Admitted::Upgraded(MembershipRow {
                role: role.clone(),
                updated_at: now,
                ..current
            }))
        }
        Admission::Join => {
            let new = NewMembership {
                id: Uuid::now_v7(),
                space_id: scope.space.id,
                user_id: user.clone(),
                role: role.clone(),
                status: MembershipStatus::Active,
                source,
                invite_id,
                created_at: crate::now(),
                email: identity.0,
                username: identity.1,
            };
            // The unique (space, user) key settles a race between two joins of one user.
            let Some(row) = tx.insert_membership(&new).await? else {
                return Ok(Admitted::AlreadyMember(scope.membership(tx, user).await?));
            };
            seat(
                tx,
                scope,
                actor,
                user,
                invite,
                json!({ "role": role, "source": source, "invite_id": invite_id }),
            )
            .await?;
            Ok(Admitted::Joined(row))
        }
    }
}

/// The end of every way in: the invite's use is counted, a seat taken within the
/// member limit, and the join announced; any refusal rolls back what came before.
async fn seat(
    tx: &mut dyn Tx,
    scope: &Scope,
    actor: &Actor,
    user: &UserId,
    invite: Option<&InviteRow>,
    data: serde_json::Value,
) -> Result<()> {
    if let Some(invite) = invite {
        claim_use(tx, invite).await?;
    }
    if !tx.take_seat(scope.space.id).await? {
        return Err(Error::MemberLimitReached);
    }
    tx.append_event(&scope.event("member.joined", actor, Some(user.as_str()), data))
        .await
}

/// A pending membership (an owner's add) becomes active: the person consents by
/// accepting it, or by joining another way. It keeps the role that grants more.
pub(crate) async fn activate(
    tx: &mut dyn Tx,
    scope: &Scope,
    actor: &Actor,
    pending: MembershipRow,
    role: &RoleName,
    source: MembershipSource,
    invite: Option<&InviteRow>,
) -> Result<Admitted> {
    let offered = scope.require_role(role)?;
    let added = scope.role_permissions(&pending.role).unwrap_or_default();
    let role = if added.covers(offered) {
        pending.role.clone()
    } else {
        role.clone()
    };
    let now = crate::now();
    if !tx.activate_membership(pending.id, &role, now).await? {
        return Err(Error::NotPending);
    }
    let data = json!({ "role": role, "source": source, "added_as": pending.source, "invite_id": invite.map(|i| i.id) });
    seat(tx, scope, actor, &pending.user_id, invite, data).await?;
    Ok(Admitted::Joined(MembershipRow {
        role,
        status: MembershipStatus::Active,
        updated_at: now,
        ..pending
    }))
}

/// The e-mail and username a user joins with: from their own token, when they are
/// the one joining (a provisioning key vouches for no address), and the e-mail only
/// when the host application verified it.
pub(crate) fn identity_of(actor: &Actor, user: &UserId) -> (Option<Email>, Option<Username>) {
    if actor.user_id() == Some(user) {
        (actor.verified_email(), actor.username())
    } else {
        (None, None)
    }
}

pub(crate) fn view(scope: &Scope, m: MembershipRow) -> MembershipView {
    MembershipView {
        membership: m,
        space: scope.space.path.clone(),
    }
}

/// The outcome of admitting someone, for the front doors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmitOutcome {
    Joined,
    Upgraded,
    AlreadyMember,
    /// A join request waits for a member manager (a link that needs approval).
    Requested,
}

impl Admitted {
    pub(crate) fn split(self, scope: &Scope) -> (AdmitOutcome, Option<MembershipView>) {
        match self {
            Admitted::Joined(m) => (AdmitOutcome::Joined, Some(view(scope, m))),
            Admitted::Upgraded(m) => (AdmitOutcome::Upgraded, Some(view(scope, m))),
            Admitted::AlreadyMember(m) => (AdmitOutcome::AlreadyMember, m.map(|m| view(scope, m))),
        }
    }
}

struct JoinOpen {
    actor: Actor,
    path: SpacePath,
}

operation!(JoinOpen => (AdmitOutcome, Option<MembershipView>), |self, tx| {
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

operation!(Provision => (AdmitOutcome, Option<MembershipView>), |self, tx| {
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
        crate::ceiling::revoke_beyond(tx, &self.actor, &self.user, &scope.space.path, "sponsor_demoted").await?;
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
    crate::ceiling::revoke_beyond(tx, &self.actor, &self.user, &scope.space.path, reason).await?;
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
    ) -> Result<(AdmitOutcome, Option<MembershipView>)> {
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
    ) -> Result<(AdmitOutcome, Option<MembershipView>)> {
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
