//! Admission: the one way into a space, used by every path in (invite links, addressed
//! invitations, join requests and owner adds, open joins, provisioning). A membership
//! row, the ticket's use, the member seat and the event are written together or not
//! at all. The grant ceiling (`ceiling.rs`) has been checked before anything gets
//! here.

use guestlist_domain::JoinOutcome;
use guestlist_domain::events::{MemberJoined, MemberRoleChanged};
use guestlist_domain::rules::{self, Admission};
use guestlist_domain::{
    Actor, Email, Error, MembershipSource, MembershipStatus, RoleName, SpacePath, UserId, Username,
};
use guestlist_store::{InviteRow, MembershipRow, NewMembership, Tx};
use uuid::Uuid;

use crate::Result;
use crate::scope::Scope;

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
/// Whether `user` already holds what `role` would give here: their direct membership
/// (if any) when they do. A redemption of a spent link by someone it already admitted
/// answers `already_member`, not the link's exhaustion.
pub(crate) async fn already_holds(
    tx: &mut dyn Tx,
    scope: &Scope,
    user: &UserId,
    role: &RoleName,
) -> Result<Option<Option<MembershipRow>>> {
    let offered = scope.require_role(role)?;
    let (direct, effective) = scope.standing(tx, user).await?;
    if direct
        .as_ref()
        .is_some_and(|m| m.status == MembershipStatus::Pending)
    {
        return Ok(None);
    }
    let direct_perms = direct
        .as_ref()
        .map(|m| scope.role_permissions(&m.role).unwrap_or_default());
    Ok(matches!(
        rules::admission(direct_perms, effective, offered),
        Admission::AlreadyMember
    )
    .then_some(direct))
}

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
                actor,
                Some(user.as_str()),
                MemberRoleChanged {
                    from: current.role.clone(),
                    to: role.clone(),
                    reason: source.as_str().to_owned(),
                    invite_id,
                },
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
                added_by: None,
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
                MemberJoined {
                    role: role.clone(),
                    source,
                    invite_id,
                    added_as: None,
                },
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
    data: MemberJoined,
) -> Result<()> {
    if let Some(invite) = invite {
        claim_use(tx, invite).await?;
    }
    if !tx.take_seat(scope.space.id).await? {
        return Err(Error::MemberLimitReached);
    }
    tx.append_event(&scope.event(actor, Some(user.as_str()), data))
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
    let data = MemberJoined {
        role: role.clone(),
        source,
        invite_id: invite.map(|i| i.id),
        added_as: Some(pending.source),
    };
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

impl Admitted {
    pub(crate) fn split(self, scope: &Scope) -> (JoinOutcome, Option<MembershipView>) {
        match self {
            Admitted::Joined(m) => (JoinOutcome::Joined, Some(view(scope, m))),
            Admitted::Upgraded(m) => (JoinOutcome::Upgraded, Some(view(scope, m))),
            Admitted::AlreadyMember(m) => (JoinOutcome::AlreadyMember, m.map(|m| view(scope, m))),
        }
    }
}

/// A membership with the path of its space.
#[derive(Debug, Clone)]
pub struct MembershipView {
    pub membership: MembershipRow,
    pub space: SpacePath,
}

impl MembershipView {
    /// The opaque cursor that pages past this row (Relay connections, `after`).
    pub fn cursor(&self) -> String {
        crate::paging::encode(&guestlist_store::PageKey {
            created_at: self.membership.created_at,
            id: self.membership.id,
        })
    }
}

pub(crate) fn view(scope: &Scope, m: MembershipRow) -> MembershipView {
    MembershipView {
        membership: m,
        space: scope.space.path.clone(),
    }
}
