//! A sign-up through the gate: the token verified, a seat claimed, the claim confirmed
//! as a user or released, and lapsed claims swept.

use super::*;
use crate::limits::Surface;
use crate::ops::operation;
use crate::{App, Caller, Result};
use guestlist_domain::events::{InvitationAccepted, SignupConfirmed};
use guestlist_domain::{Actor, Email, Error, InviteState, UserId};
use guestlist_store::{ClaimRow, ClaimState, NewClaim, SignupRow, Tx};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// What the public verification of a token tells.
#[derive(Debug, Clone)]
pub struct TokenCheck {
    pub valid: bool,
    /// The address the invitation is bound to, when valid.
    pub email: Option<Email>,
    /// Who sent it (a user id, or `key:<name>`), when valid.
    pub invited_by: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ClaimView {
    pub claim: ClaimRow,
}

/// Releases every claim that lapsed: its seat and its invitation's held use.
pub(super) async fn sweep(tx: &mut dyn Tx) -> Result<u32> {
    let lapsed = tx.lapse_claims(crate::now()).await?;
    for c in &lapsed {
        if let Some(id) = c.invitation_id {
            tx.settle_platform_invitation(id, false).await?;
        }
    }
    let n = lapsed.len() as u32;
    tx.free_signup_seats(n).await?;
    Ok(n)
}

pub(super) struct Verify {
    pub(super) hash: Vec<u8>,
}

operation!(Verify => TokenCheck, |self, tx| {
    let usable = tx
        .platform_invitation_by_hash(&self.hash)
        .await?
        .filter(|i| i.state(crate::now()) == InviteState::Active && i.uses + i.reserved < i.max_uses);
    Ok(match usable {
        Some(i) => TokenCheck { valid: true, email: i.email, invited_by: Some(i.invited_by) },
        None => TokenCheck { valid: false, email: None, invited_by: None },
    })
});

pub(super) struct Claim {
    pub(super) actor: Actor,
    pub(super) claim: NewClaim,
    pub(super) token_hash: Option<Vec<u8>>,
}

/// Why a token cannot be reserved right now.
pub(super) async fn unusable(tx: &mut dyn Tx, id: Uuid) -> Result<Error> {
    let i = tx
        .platform_invitation_by_id(id)
        .await?
        .ok_or(Error::NotFound("invitation"))?;
    Ok(match i.state(crate::now()) {
        InviteState::Revoked => Error::NotFound("invitation"),
        InviteState::Expired => Error::Expired,
        InviteState::Exhausted => Error::Exhausted,
        InviteState::Active => Error::TokenInUse,
    })
}

operation!(Claim => ClaimRow, |self, tx| {
    platform_admin(&self.actor)?;
    sweep(tx).await?;
    let gate = tx.gate().await?.settings.gate;
    gate.require_admission(self.token_hash.is_some())?;
    let invitation = match &self.token_hash {
        None => None,
        Some(hash) => {
            // A revoked token reads as unknown: it never opens the gate.
            let i = tx
                .platform_invitation_by_hash(hash)
                .await?
                .filter(|i| i.revoked_at.is_none())
                .ok_or(Error::NotFound("invitation"))?;
            if i.email.as_ref().is_some_and(|e| *e != self.claim.email) {
                return Err(Error::EmailMismatch);
            }
            if !tx.reserve_platform_invitation(i.id, crate::now()).await? {
                return Err(unusable(tx, i.id).await?);
            }
            Some(i)
        }
    };
    if tx.signup_of_email(&self.claim.email).await?.is_some() {
        return Err(Error::AlreadyExists("an account with this e-mail address has signed up already".into()));
    }
    let claim = NewClaim { invitation_id: invitation.as_ref().map(|i| i.id), ..self.claim.clone() };
    if !tx.insert_claim(&claim).await? {
        return Err(Error::AlreadyExists("a sign-up with this e-mail address is already in progress".into()));
    }
    if !tx.take_signup_seat().await? {
        return Err(Error::SignupClosed("sign-up is full".into()));
    }
    tx.claim_by_id(claim.id).await?.ok_or_else(|| Error::internal("claim vanished"))
});

pub(super) struct Confirm {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
    pub(super) user: UserId,
}

/// Why a claim cannot be confirmed or released (or `Ok` when it was confirmed for
/// this user already: a retry).
pub(super) fn settled(claim: &ClaimRow, user: Option<&UserId>, now: OffsetDateTime) -> Result<()> {
    match claim.state {
        ClaimState::Confirmed if user.is_some() && claim.user_id.as_ref() == user => Ok(()),
        ClaimState::Reserved if claim.expires_at <= now => Err(Error::Expired),
        ClaimState::Lapsed => Err(Error::Expired),
        _ => Err(Error::NotPending),
    }
}

operation!(Confirm => ClaimRow, |self, tx| {
    platform_admin(&self.actor)?;
    let claim = tx.claim_by_id(self.id).await?.ok_or(Error::NotFound("claim"))?;
    let now = crate::now();
    if !tx.decide_claim(self.id, ClaimState::Confirmed, Some(&self.user), now, Some(now)).await? {
        settled(&claim, Some(&self.user), now)?;
        return Ok(claim);
    }
    let invitation = match claim.invitation_id {
        Some(id) => tx.platform_invitation_by_id(id).await?,
        None => None,
    };
    let signup = SignupRow {
        user_id: self.user.clone(),
        email: claim.email.clone(),
        invited_by: invitation.as_ref().map(|i| i.invited_by.clone()),
        invitation_id: claim.invitation_id,
        created_at: now,
    };
    if !tx.insert_signup(&signup).await? {
        return Err(Error::AlreadyExists(format!("user {} has signed up already", self.user)));
    }
    if let Some(i) = &invitation {
        tx.settle_platform_invitation(i.id, true).await?;
        tx.append_event(&event(
            &self.actor,
            Some(self.user.as_str()),
            InvitationAccepted {
                invitation_id: i.id,
                user_id: self.user.as_str().to_owned(),
                email: Some(claim.email.as_str().to_owned()),
                invited_by: i.invited_by.clone(),
                role: None,
            },
        ))
        .await?;
    }
    tx.append_event(&event(
        &self.actor,
        Some(self.user.as_str()),
        SignupConfirmed {
            claim_id: self.id,
            email: claim.email.as_str().to_owned(),
            user_id: self.user.as_str().to_owned(),
            invited_by: signup.invited_by.clone(),
        },
    ))
    .await?;
    tx.claim_by_id(self.id).await?.ok_or_else(|| Error::internal("claim vanished"))
});

pub(super) struct Release {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
}

operation!(Release => ClaimRow, |self, tx| {
    platform_admin(&self.actor)?;
    let claim = tx.claim_by_id(self.id).await?.ok_or(Error::NotFound("claim"))?;
    let now = crate::now();
    if tx.decide_claim(self.id, ClaimState::Released, None, now, None).await? {
        tx.free_signup_seats(1).await?;
        if let Some(id) = claim.invitation_id {
            tx.settle_platform_invitation(id, false).await?;
        }
    } else if !matches!(claim.state, ClaimState::Released | ClaimState::Lapsed) {
        return Err(Error::NotPending);
    }
    tx.claim_by_id(self.id).await?.ok_or_else(|| Error::internal("claim vanished"))
});

pub(super) struct Sweep;

operation!(Sweep => u32, |self, tx| {
    sweep(tx).await
});

impl App {
    /// Public: is this sign-up token usable now? Unknown, revoked, used up, expired
    /// and fully reserved tokens all read `valid: false`. Rate limited.
    pub async fn verify_signup_token(&self, caller: &Caller, token: &str) -> Result<TokenCheck> {
        self.0.limits.check(Surface::Preview, caller)?;
        let Some(hash) = self.signup_token_hash(token) else {
            return Ok(TokenCheck {
                valid: false,
                email: None,
                invited_by: None,
            });
        };
        self.store_ref().read(Verify { hash }).await
    }

    /// Reserves a sign-up seat (and the token's use) for `ttl` (default from config).
    pub async fn claim_signup(
        &self,
        caller: &Caller,
        email: &str,
        token: Option<&str>,
        ttl_seconds: Option<i64>,
    ) -> Result<ClaimView> {
        let actor = caller
            .actor
            .clone()
            .ok_or_else(|| Error::Unauthenticated("a platform-admin API key is needed".into()))?;
        self.0.limits.check(Surface::Signup, caller)?;
        let email = Email::parse(email)?;
        let ttl = bounded("ttl_seconds", ttl_seconds, MAX_CLAIM_TTL_SECS)?
            .unwrap_or(self.0.config.signup.claim_ttl_secs);
        let token_hash = match token {
            None => None,
            Some(t) => Some(
                self.signup_token_hash(t)
                    .ok_or(Error::NotFound("invitation"))?,
            ),
        };
        let now = crate::now();
        let claim = self
            .store_ref()
            .write(Claim {
                actor,
                claim: NewClaim {
                    id: Uuid::now_v7(),
                    email,
                    invitation_id: None,
                    expires_at: now + Duration::seconds(ttl),
                    created_at: now,
                },
                token_hash,
            })
            .await?;
        Ok(ClaimView { claim })
    }

    /// Makes a claim final for the new account `user`, recording the referral.
    pub async fn confirm_signup(&self, actor: &Actor, id: Uuid, user: UserId) -> Result<ClaimView> {
        let claim = self
            .store_ref()
            .write(Confirm {
                actor: actor.clone(),
                id,
                user,
            })
            .await?;
        Ok(ClaimView { claim })
    }

    /// Gives a claim's seat and token back. Idempotent.
    pub async fn release_signup(&self, actor: &Actor, id: Uuid) -> Result<ClaimView> {
        let claim = self
            .store_ref()
            .write(Release {
                actor: actor.clone(),
                id,
            })
            .await?;
        Ok(ClaimView { claim })
    }

    /// Releases lapsed claims; the server calls it every few seconds.
    pub async fn sweep_signup_claims(&self) -> Result<u32> {
        self.store_ref().write(Sweep).await
    }
}
