//! Who referred whom: counts, the referral tree, and revoking a subtree.

use super::*;
use crate::ops::operation;
use crate::{App, Result};
use guestlist_domain::events::PlatformInvitationRevoked;
use guestlist_domain::{Actor, Error, InviteState};
use guestlist_store::{PlatformInvitationRow, SignupRow};

/// Most rows a referral view shows.
pub const MAX_REFERRAL_ROWS: u32 = 1_000;

/// A referral's state, per invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralState {
    Pending,
    Joined,
    Expired,
    Revoked,
}

#[derive(Debug, Clone, Default)]
pub struct ReferralCounts {
    pub invited: u32,
    pub joined: u32,
    pub pending: u32,
    pub expired: u32,
    pub revoked: u32,
}

#[derive(Debug, Clone)]
pub struct Referrals {
    pub inviter: String,
    pub counts: ReferralCounts,
    pub invitations: Vec<(PlatformInvitationView, ReferralState)>,
    pub joined: Vec<SignupRow>,
}

pub(super) fn referral_state(v: &PlatformInvitationView) -> ReferralState {
    match v.state {
        _ if v.invitation.uses > 0 => ReferralState::Joined,
        InviteState::Revoked => ReferralState::Revoked,
        InviteState::Expired => ReferralState::Expired,
        _ => ReferralState::Pending,
    }
}

pub(super) struct ReadReferrals {
    pub(super) actor: Actor,
    pub(super) inviter: Option<String>,
}

operation!(ReadReferrals => Referrals, |self, tx| {
    let inviter = match (&self.actor, &self.inviter) {
        // Yours by default: a user's, or a key's (`key:<name>`, the `invited_by` of
        // the invitations it sent).
        (actor, None) => actor.label(),
        (actor, Some(i)) if actor.is_platform_admin() => i.clone(),
        (Actor::User { id, .. }, Some(i)) if i == id.as_str() => i.clone(),
        _ => return Err(Error::forbidden("only platform admins see others' referrals")),
    };
    let now = crate::now();
    let rows = tx.list_platform_invitations(Some(&inviter), None, MAX_REFERRAL_ROWS).await?;
    let mut counts = ReferralCounts::default();
    let invitations: Vec<_> = rows
        .into_iter()
        .map(|i| {
            let v = PlatformInvitationView::of(i, now);
            let state = referral_state(&v);
            counts.invited += 1;
            match state {
                ReferralState::Pending => counts.pending += 1,
                ReferralState::Expired => counts.expired += 1,
                ReferralState::Revoked => counts.revoked += 1,
                ReferralState::Joined => {}
            }
            (v, state)
        })
        .collect();
    let joined = tx.signups_invited_by(&inviter, MAX_REFERRAL_ROWS).await?;
    counts.joined = joined.len() as u32;
    Ok(Referrals { inviter, counts, invitations, joined })
});

pub(super) struct Tree {
    pub(super) actor: Actor,
    pub(super) root: String,
}

operation!(Tree => Vec<(SignupRow, u32)>, |self, tx| {
    platform_admin(&self.actor)?;
    tx.referral_tree(&self.root, MAX_REFERRAL_ROWS).await
});

pub(super) struct RevokeSubtree {
    pub(super) actor: Actor,
    pub(super) root: String,
}

operation!(RevokeSubtree => Vec<PlatformInvitationRow>, |self, tx| {
    platform_admin(&self.actor)?;
    let revoked = tx.revoke_referral_subtree(&self.root, &self.actor.label(), crate::now()).await?;
    for i in &revoked {
        tx.append_event(&event(
            &self.actor,
            None,
            PlatformInvitationRevoked {
                invitation_id: i.id,
                invited_by: i.invited_by.clone(),
                reason: Some("referral_subtree".into()),
                root: Some(self.root.clone()),
            },
        ))
        .await?;
    }
    Ok(revoked)
});

impl App {
    /// The caller's referrals, or (platform admins) `inviter`'s.
    pub async fn referrals(&self, actor: &Actor, inviter: Option<String>) -> Result<Referrals> {
        self.store_ref()
            .read(ReadReferrals {
                actor: actor.clone(),
                inviter,
            })
            .await
    }

    /// Everyone below `root` in the referral tree (platform admins).
    /// The invite tree below `root` (platform admins; by default the caller's own).
    pub async fn referral_tree(
        &self,
        actor: &Actor,
        root: Option<String>,
    ) -> Result<(String, Vec<(SignupRow, u32)>)> {
        let root = root.unwrap_or_else(|| actor.label());
        let nodes = self
            .store_ref()
            .read(Tree {
                actor: actor.clone(),
                root: root.clone(),
            })
            .await?;
        Ok((root, nodes))
    }

    /// Revokes the live platform invitations of `root` and everyone below them.
    pub async fn revoke_referral_subtree(
        &self,
        actor: &Actor,
        root: String,
    ) -> Result<Vec<PlatformInvitationRow>> {
        self.store_ref()
            .write(RevokeSubtree {
                actor: actor.clone(),
                root,
            })
            .await
    }
}
