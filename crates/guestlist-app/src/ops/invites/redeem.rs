//! Redeeming a link: the one way a link makes a member (or a join request).

use super::*;
use crate::limits::Surface;
use crate::ops::admission::admit;
use crate::ops::members::MembershipView;
use crate::ops::operation;
use crate::ops::requests::open_request;
use crate::scope::{Scope, require_user};
use crate::{App, Caller, Result};
use guestlist_domain::rules;
use guestlist_domain::{
    Actor, Error, InviteCode, InviteState, JoinOutcome, MembershipSource, MembershipStatus,
    Permission, RoleName, SpacePath,
};

#[derive(Debug, Clone)]
pub struct Redeemed {
    pub outcome: JoinOutcome,
    pub space: SpacePath,
    /// The space's display name (what the pages show).
    pub space_name: String,
    pub role: RoleName,
    pub membership: Option<MembershipView>,
    /// For `requested`: the join request waiting for a member manager.
    pub join_request: Option<crate::ops::requests::JoinRequestView>,
}

pub(super) struct Redeem {
    pub(super) actor: Actor,
    pub(super) hashes: CodeHashes,
    pub(super) space: Option<SpacePath>,
}

operation!(Redeem => Redeemed, |self, tx| {
    let user = require_user(&self.actor)?;
    let invite = self.hashes.first(tx, |tx, h| tx.invite_by_hash(h)).await?.ok_or(Error::NotFound("invite"))?;
    let home = Scope::load(tx, &invite.space_path).await?;
    let view = InviteView::of(invite, crate::now());
    if let Some(refusal) = view.state.refusal() {
        // A revoked code reads as unknown, except to those who manage the space.
        if view.state == InviteState::Revoked && !home.rights(tx, &self.actor).await?.has(Permission::ManageInvites) {
            return Err(Error::NotFound("invite"));
        }
        // Clicking a spent or lapsed link again, once in, is not an error: already in.
        if matches!(view.state, InviteState::Exhausted | InviteState::Expired) {
            let target = rules::redeem_target(&view.invite.space_path, view.invite.allow_narrowing, self.space.as_ref())?;
            let scope = if target == home.space.path { home } else { Scope::load(tx, &target).await? };
            if let Some(direct) = crate::ops::admission::already_holds(tx, &scope, user, &view.invite.role).await? {
                return Ok(Redeemed {
                    outcome: JoinOutcome::AlreadyMember,
                    space: scope.space.path.clone(),
                    space_name: scope.space.name.clone(),
                    role: view.invite.role.clone(),
                    membership: direct.map(|m| crate::ops::admission::view(&scope, m)),
                    join_request: None,
                });
            }
        }
        return Err(refusal);
    }
    let invite = view.invite;
    let target = rules::redeem_target(&invite.space_path, invite.allow_narrowing, self.space.as_ref())?;
    let scope = if target == home.space.path { None } else { Some(Scope::load(tx, &target).await?) };
    crate::ceiling::link_grant(&home, scope.as_ref().unwrap_or(&home), &invite)?;
    let scope = scope.unwrap_or(home);
    // An owner's pending add is an approval already: joining accepts it. (Looked up
    // only for a link that asks for approval.)
    if invite.requires_approval
        && !auto_approved(&self.actor, &invite.auto_approve_domains)
        && !scope.membership(tx, user).await?.is_some_and(|m| m.status == MembershipStatus::Pending)
    {
        let r = open_request(tx, &scope, &self.actor, user, &invite.role, None, Some(&invite)).await?;
        return Ok(Redeemed {
            outcome: r.outcome,
            space: scope.space.path.clone(),
            space_name: scope.space.name.clone(),
            role: invite.role.clone(),
            membership: r.membership,
            join_request: r.request,
        });
    }
    let admitted = admit(tx, &scope, &self.actor, user, &invite.role, MembershipSource::InviteLink, Some(&invite)).await?;
    let (outcome, membership) = admitted.split(&scope);
    Ok(Redeemed { outcome, space: scope.space.path.clone(), space_name: scope.space.name.clone(), role: invite.role.clone(), membership, join_request: None })
});

/// A verified e-mail address of one of the link's domains skips the approval.
pub(super) fn auto_approved(actor: &Actor, domains: &[String]) -> bool {
    actor
        .verified_email()
        .is_some_and(|e| domains.iter().any(|d| d == e.domain()))
}

impl App {
    /// Redeems a code, optionally into a narrower space beneath the invite's.
    pub async fn redeem_invite(
        &self,
        caller: &Caller,
        code: &str,
        space: Option<SpacePath>,
    ) -> Result<Redeemed> {
        let actor = caller
            .actor
            .clone()
            .ok_or_else(|| Error::Unauthenticated("sign in to join".into()))?;
        self.0.limits.check(Surface::Join, caller)?;
        let code = InviteCode::parse(code)?;
        let redeemed = self
            .store_ref()
            .write(Redeem {
                actor,
                hashes: self.code_hashes(&code),
                space,
            })
            .await?;
        metrics::counter!("guestlist_invite_redemptions_total", "outcome" => format!("{:?}", redeemed.outcome))
            .increment(1);
        Ok(redeemed)
    }
}
