//! Deprovisioning a user everywhere or within a SCIM key's subtree.

use crate::ops::operation;
use crate::scope::{Scope, event_on};
use crate::{App, Result};
use guestlist_domain::events::{MemberRemoved, UserDeprovisioned};
use guestlist_domain::{Actor, Error, MembershipStatus, SpacePath, UserId};
use guestlist_store::{JoinRequestStatus, Tx};

pub(super) struct Deprovision {
    pub(super) actor: Actor,
    pub(super) user: UserId,
}

/// What deprovisioning a user undid.
#[derive(Debug, Clone, Default)]
pub struct Deprovisioned {
    pub memberships_removed: usize,
    pub invites_revoked: usize,
    pub platform_invitations_revoked: usize,
    pub join_requests_cancelled: usize,
}

operation!(Deprovision => Deprovisioned, |self, tx| {
    if !self.actor.is_platform_admin() {
        return Err(Error::forbidden("only a platform-admin API key can deprovision a user"));
    }
    deprovision(tx, &self.actor, &self.user, None, "deprovisioned").await
});

/// Ends `user`'s memberships within `root` (everywhere: `None`), revokes what they
/// sponsored there that they can no longer hand out (every link, invitation and
/// pending add, each with its event), cancels their join requests there (and, only
/// everywhere, their platform invitations), and records `user.deprovisioned`: the
/// platform key's deprovisioning and SCIM's (a deactivated or deleted user) alike.
pub(crate) async fn deprovision(
    tx: &mut dyn Tx,
    actor: &Actor,
    user: &UserId,
    root: Option<&SpacePath>,
    reason: &str,
) -> Result<Deprovisioned> {
    let within = |p: &SpacePath| root.is_none_or(|r| p.is_within(r));
    let mut done = Deprovisioned::default();
    for (m, path) in tx.memberships_of(user).await? {
        if !within(&path) {
            continue;
        }
        tx.delete_membership(m.id).await?;
        if m.status == MembershipStatus::Active {
            tx.free_seat(m.space_id).await?;
        }
        let scope = Scope::load(tx, &path).await?;
        tx.append_event(&scope.event(
            actor,
            Some(user.as_str()),
            MemberRemoved {
                role: m.role.clone(),
                reason: Some(reason.to_owned()),
            },
        ))
        .await?;
        done.memberships_removed += 1;
    }
    // Holding nothing there now, they can hand out nothing there: every link,
    // invitation and pending add they made goes, each with its event.
    done.invites_revoked =
        crate::ceiling::revoke_beyond(tx, actor, user, root, "sponsor_deprovisioned").await?;
    let now = crate::now();
    if root.is_none() {
        let platform = tx
            .revoke_platform_invitations_of(user.as_str(), &actor.label(), now)
            .await?;
        done.platform_invitations_revoked = platform.len();
        // What stood for them ends too: their pages' sessions, and the identities
        // that named them (a new invitation or add by their address finds no one).
        tx.delete_sessions_of(user.as_str()).await?;
        tx.forget_identities(user).await?;
    }
    for r in tx.pending_join_requests_of(user).await? {
        if within(&r.space_path) {
            tx.decide_join_request(r.id, JoinRequestStatus::Cancelled, &actor.label(), now)
                .await?;
            done.join_requests_cancelled += 1;
        }
    }
    let data = UserDeprovisioned {
        memberships_removed: done.memberships_removed,
        invites_revoked: done.invites_revoked,
        platform_invitations_revoked: done.platform_invitations_revoked,
        join_requests_cancelled: done.join_requests_cancelled,
        reason: reason.to_owned(),
    };
    let event = match root {
        Some(root) => Scope::load(tx, root)
            .await?
            .event(actor, Some(user.as_str()), data),
        None => event_on(None, actor, Some(user.as_str()), data),
    };
    tx.append_event(&event).await?;
    Ok(done)
}

impl App {
    /// Removes a user everywhere and revokes what they sponsored (platform admins).
    pub async fn deprovision_user(&self, actor: &Actor, user: UserId) -> Result<Deprovisioned> {
        let done = self
            .store_ref()
            .write(Deprovision {
                actor: actor.clone(),
                user: user.clone(),
            })
            .await?;
        // Their identities were forgotten: a token of theirs seen again records them
        // again (on this replica at once; on another, when its memory of them changes).
        self.forget_seen(&user);
        Ok(done)
    }
}
