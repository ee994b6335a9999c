//! A manager revoking a link or showing its code again, under the grant ceiling.

use super::*;
use crate::ops::operation;
use crate::scope::Scope;
use crate::{App, Result};
use guestlist_domain::events::InviteRevoked;
use guestlist_domain::{Actor, Error, InviteState, Permission};
use guestlist_store::{InviteRow, Tx};

/// Loads an invite a manager names and checks they manage its space: anyone else
/// learns nothing, the invite answers as missing. Its code is a grant in itself, so
/// seeing it or revoking the link obeys the grant ceiling, as creating it did: only
/// for links whose role means no more than the manager holds there.
pub(super) async fn managed_invite(
    tx: &mut dyn Tx,
    actor: &Actor,
    r: &InviteRef,
) -> Result<(Scope, InviteRow)> {
    let invite = find(tx, r).await?.ok_or(Error::NotFound("invite"))?;
    let scope = Scope::load(tx, &invite.space_path).await?;
    let held = scope.rights(tx, actor).await?;
    if !held.has(Permission::ManageInvites) {
        return Err(Error::NotFound("invite"));
    }
    scope.check_grant(held, &invite.role)?;
    Ok((scope, invite))
}

pub(super) struct Revoke {
    pub(super) actor: Actor,
    pub(super) target: InviteRef,
}

operation!(Revoke => InviteView, |self, tx| {
    let (scope, invite) = managed_invite(tx, &self.actor, &self.target).await?;
    let now = crate::now();
    if tx.revoke_invite(invite.id, &self.actor.label(), now).await? {
        tx.append_event(&scope.event(&self.actor, None, InviteRevoked::by_hand(invite.id)))
            .await?;
    }
    let fresh = tx.invite_by_id(invite.id).await?.ok_or(Error::NotFound("invite"))?;
    Ok(InviteView::of(fresh, now))
});

pub(super) struct ShowLink {
    pub(super) actor: Actor,
    pub(super) target: InviteRef,
}

operation!(ShowLink => InviteView, |self, tx| {
    let (_, invite) = managed_invite(tx, &self.actor, &self.target).await?;
    let view = InviteView::of(invite, crate::now());
    if view.state == InviteState::Revoked {
        return Err(Error::Revoked);
    }
    Ok(view)
});

impl App {
    /// Soft-revokes an invite named by code or id. Idempotent.
    pub async fn revoke_invite(&self, actor: &Actor, code_or_id: &str) -> Result<InviteView> {
        let target = self.invite_ref(code_or_id)?;
        self.store_ref()
            .write(Revoke {
                actor: actor.clone(),
                target,
            })
            .await
    }

    /// Shows a live invite's code and link again, to those who manage its space.
    pub async fn show_invite_link(&self, actor: &Actor, code_or_id: &str) -> Result<InviteCreated> {
        let target = self.invite_ref(code_or_id)?;
        let view = self
            .store_ref()
            .read(ShowLink {
                actor: actor.clone(),
                target,
            })
            .await?;
        let code = self.code_of(&view.invite)?;
        Ok(InviteCreated {
            link: self.invite_link(&code),
            code,
            invite: view,
        })
    }
}
