//! The platform's sign-up gate: its mode and cap, platform invitations (referrals),
//! and two-phase sign-up claims. The host application owns accounts; this decides
//! whether a sign-up may happen and remembers who invited whom. The cap is one
//! conditional write on a counter of live reservations and confirmed sign-ups, so it
//! is never overshot under any concurrency.

use guestlist_domain::events::{
    self, EventData, InvitationAccepted, PlatformInvitationResent, PlatformInvitationRevoked,
    SignupConfirmed, SignupGateChanged,
};
use guestlist_domain::{Actor, Email, Error, Gate, InviteState, UserId};
use guestlist_store::{
    ClaimRow, ClaimState, GateRow, GateSettings, MailSubject, NewClaim, NewEvent, NewMail,
    NewPlatformInvitation, PageKey, PlatformInvitationRow, SignupRow, Tx,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::operation;
use crate::limits::Surface;
use crate::secrets::TOKEN_LEN;
use crate::{App, Caller, Result, paging};

/// Longest a claim may hold its seat.
pub const MAX_CLAIM_TTL_SECS: i64 = 24 * 3600;
/// The largest sign-up cap.
pub const MAX_GATE_CAP: u32 = 1_000_000_000;
/// The most platform invitations a user's quota may allow.
pub const MAX_USER_QUOTA: u32 = 1_000_000;
/// The longest quota period, in days (ten years).
pub const MAX_QUOTA_PERIOD_DAYS: i64 = 3650;
pub const MAX_PLATFORM_INVITATION_USES: u32 = 10_000;
pub const MAX_PLATFORM_INVITATION_LIFETIME_SECS: i64 = 365 * 24 * 3600;
/// Most rows a referral view shows.
pub const MAX_REFERRAL_ROWS: u32 = 1_000;

/// How sign-up behaves; the binary fills it from its configuration.
#[derive(Debug, Clone)]
pub struct SignupConfig {
    /// The sign-up link a platform invitation returns, with `{token}` in it.
    pub url_template: String,
    /// How long a claim holds its seat when the caller names no time.
    pub claim_ttl_secs: i64,
}

impl Default for SignupConfig {
    fn default() -> Self {
        SignupConfig {
            url_template: "http://127.0.0.1:7700/signup?invitation={token}".into(),
            claim_ttl_secs: 15 * 60,
        }
    }
}

/// The gate as anyone may see it.
#[derive(Debug, Clone)]
pub struct GateView {
    pub gate: Gate,
    /// Seats left under the cap (`None`: no cap).
    pub remaining: Option<u32>,
    pub settings: GateSettings,
}

impl From<GateRow> for GateView {
    fn from(g: GateRow) -> Self {
        GateView {
            gate: g.settings.gate,
            remaining: g.settings.gate.remaining(g.seats_taken),
            settings: g.settings,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct PlatformInvitationInput {
    pub email: Option<String>,
    /// Default 1.
    pub max_uses: Option<u32>,
    pub expires_in_seconds: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct PlatformInvitationView {
    pub invitation: PlatformInvitationRow,
    pub state: InviteState,
}

impl PlatformInvitationView {
    fn of(invitation: PlatformInvitationRow, now: OffsetDateTime) -> Self {
        let state = invitation.state(now);
        PlatformInvitationView { invitation, state }
    }
}

/// A new platform invitation: the only answer that carries its token.
#[derive(Debug, Clone)]
pub struct PlatformInvitationCreated {
    pub invitation: PlatformInvitationView,
    pub token: String,
    pub link: String,
}

#[derive(Debug, Clone)]
pub struct PlatformInvitationPage {
    pub invitations: Vec<PlatformInvitationView>,
    pub next: Option<String>,
}

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

fn referral_state(v: &PlatformInvitationView) -> ReferralState {
    match v.state {
        _ if v.invitation.uses > 0 => ReferralState::Joined,
        InviteState::Revoked => ReferralState::Revoked,
        InviteState::Expired => ReferralState::Expired,
        _ => ReferralState::Pending,
    }
}

fn platform_admin(actor: &Actor) -> Result<()> {
    if actor.is_platform_admin() {
        Ok(())
    } else {
        Err(Error::forbidden(
            "only a platform administrator can do this",
        ))
    }
}

fn event(actor: &Actor, subject: Option<&str>, data: impl Into<EventData>) -> NewEvent {
    crate::scope::event_on(None, actor, subject, data)
}

/// Releases every claim that lapsed: its seat and its invitation's held use.
async fn sweep(tx: &mut dyn Tx) -> Result<u32> {
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

struct ReadGate;

operation!(ReadGate => GateView, |self, tx| {
    Ok(tx.gate().await?.into())
});

struct SetGate {
    actor: Actor,
    settings: GateSettings,
}

operation!(SetGate => GateView, |self, tx| {
    platform_admin(&self.actor)?;
    let row = tx.set_gate(&self.settings, crate::now()).await?;
    tx.append_event(&event(
        &self.actor,
        None,
        SignupGateChanged {
            mode: self.settings.gate.mode().to_owned(),
            cap: self.settings.gate.cap,
            user_invitations: self.settings.user_invitations,
            user_quota: self.settings.user_quota,
            quota_period_secs: self.settings.quota_period_secs,
        },
    ))
    .await?;
    Ok(row.into())
});

struct CreatePlatformInvitation {
    actor: Actor,
    new: NewPlatformInvitation,
}

operation!(CreatePlatformInvitation => PlatformInvitationRow, |self, tx| {
    match &self.actor {
        actor if actor.is_platform_admin() => {}
        Actor::ApiKey { .. } => return Err(Error::forbidden("an API key needs platform_admin to invite to the platform")),
        Actor::User { id, .. } => {
            let gate = tx.gate().await?.settings;
            if !gate.user_invitations {
                return Err(Error::forbidden("users cannot send platform invitations here"));
            }
            if let Some(quota) = gate.user_quota
                && !tx.take_inviter_quota(id.as_str(), quota, gate.quota_period_secs, crate::now()).await?
            {
                return Err(Error::forbidden(format!(
                    "you have sent all {quota} invitations your quota allows{}",
                    if gate.quota_period_secs.is_some() { " for now" } else { "" }
                )));
            }
        }
    }
    if !tx.insert_platform_invitation(&self.new).await? {
        return Err(Error::Contention("a platform invitation token collided".into()));
    }
    if let (Some(mail_id), Some(email)) = (self.new.mail_id, &self.new.email) {
        tx.insert_mail(&NewMail {
            id: mail_id,
            subject: MailSubject::PlatformInvitation(self.new.id),
            recipient: email.clone(),
            created_at: self.new.created_at,
        })
        .await?;
    }
    tx.append_event(&event(
        &self.actor,
        None,
        events::PlatformInvitationCreated {
            invitation_id: self.new.id,
            email: self.new.email.as_ref().map(|e| e.as_str().to_owned()),
            max_uses: self.new.max_uses,
            invited_by: self.new.invited_by.clone(),
        },
    ))
    .await?;
    tx.platform_invitation_by_id(self.new.id).await?.ok_or_else(|| Error::internal("invitation vanished"))
});

/// A new token for a platform invitation, and the e-mail that carries it.
struct TokenIssue {
    salt: Vec<u8>,
    mail_id: Uuid,
}

impl TokenIssue {
    fn new() -> Self {
        TokenIssue {
            salt: crate::secrets::Keys::token_salt(),
            mail_id: Uuid::now_v7(),
        }
    }
}

struct ResendPlatformInvitation {
    actor: Actor,
    id: Uuid,
    /// Its new token, and what storage keeps of it.
    issue: TokenIssue,
    token_hash: Vec<u8>,
    interval_secs: i64,
}

operation!(ResendPlatformInvitation => PlatformInvitationRow, |self, tx| {
    let now = crate::now();
    let current = tx.platform_invitation_by_id(self.id).await?.ok_or(Error::NotFound("platform invitation"))?;
    if !self.actor.is_platform_admin() && current.invited_by != self.actor.label() {
        return Err(Error::NotFound("platform invitation"));
    }
    if let Some(refusal) = current.state(now).refusal() {
        return Err(refusal);
    }
    if let Some(last) = current.last_sent_at {
        let wait = self.interval_secs - (now - last).whole_seconds();
        if wait > 0 {
            return Err(Error::RateLimited { retry_after_secs: wait as u64 });
        }
    }
    let mail_id = current.email.as_ref().map(|_| self.issue.mail_id);
    if !tx.reissue_platform_invitation(self.id, &self.token_hash, &self.issue.salt, mail_id, now).await? {
        return Err(Error::Contention("the platform invitation changed while it was re-sent".into()));
    }
    if let Some(email) = &current.email {
        tx.cancel_mail_of(MailSubject::PlatformInvitation(self.id)).await?;
        tx.insert_mail(&NewMail {
            id: self.issue.mail_id,
            subject: MailSubject::PlatformInvitation(self.id),
            recipient: email.clone(),
            created_at: now,
        })
        .await?;
    }
    tx.append_event(&event(
        &self.actor,
        None,
        PlatformInvitationResent { invitation_id: self.id, sends: current.sends + 1 },
    ))
    .await?;
    tx.platform_invitation_by_id(self.id).await?.ok_or_else(|| Error::internal("invitation vanished"))
});

struct ListPlatformInvitations {
    actor: Actor,
    inviter: Option<String>,
    after: Option<String>,
    limit: u32,
}

operation!(ListPlatformInvitations => PlatformInvitationPage, |self, tx| {
    let inviter = match &self.actor {
        actor if actor.is_platform_admin() => self.inviter.clone(),
        Actor::User { id, .. } if tx.gate().await?.settings.user_invitations => Some(id.to_string()),
        _ => return Err(Error::forbidden("only platform admins list platform invitations here")),
    };
    let now = crate::now();
    let after = paging::decode(self.after.as_deref())?;
    let rows = tx.list_platform_invitations(inviter.as_deref(), after.as_ref(), self.limit + 1).await?;
    let (rows, next) = paging::split(rows, self.limit, |i| PageKey { created_at: i.created_at, id: i.id });
    Ok(PlatformInvitationPage {
        invitations: rows.into_iter().map(|i| PlatformInvitationView::of(i, now)).collect(),
        next,
    })
});

struct RevokePlatformInvitation {
    actor: Actor,
    id: Uuid,
}

operation!(RevokePlatformInvitation => PlatformInvitationView, |self, tx| {
    let found = tx.platform_invitation_by_id(self.id).await?.ok_or(Error::NotFound("invitation"))?;
    let own = self.actor.user_id().is_some_and(|u| u.as_str() == found.invited_by);
    if !own && !self.actor.is_platform_admin() {
        return Err(Error::NotFound("invitation"));
    }
    let now = crate::now();
    if tx.revoke_platform_invitation(self.id, &self.actor.label(), now).await? {
        tx.append_event(&event(
            &self.actor,
            None,
            PlatformInvitationRevoked { invitation_id: self.id, invited_by: found.invited_by.clone(), reason: None, root: None },
        ))
        .await?;
    }
    let fresh = tx.platform_invitation_by_id(self.id).await?.ok_or(Error::NotFound("invitation"))?;
    Ok(PlatformInvitationView::of(fresh, now))
});

struct Verify {
    hash: Vec<u8>,
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

struct Claim {
    actor: Actor,
    claim: NewClaim,
    token_hash: Option<Vec<u8>>,
}

/// Why a token cannot be reserved right now.
async fn unusable(tx: &mut dyn Tx, id: Uuid) -> Result<Error> {
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

struct Confirm {
    actor: Actor,
    id: Uuid,
    user: UserId,
}

/// Why a claim cannot be confirmed or released (or `Ok` when it was confirmed for
/// this user already: a retry).
fn settled(claim: &ClaimRow, user: Option<&UserId>, now: OffsetDateTime) -> Result<()> {
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

struct Release {
    actor: Actor,
    id: Uuid,
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

struct Sweep;

operation!(Sweep => u32, |self, tx| {
    sweep(tx).await
});

struct ReadReferrals {
    actor: Actor,
    inviter: Option<String>,
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

struct Tree {
    actor: Actor,
    root: String,
}

operation!(Tree => Vec<(SignupRow, u32)>, |self, tx| {
    platform_admin(&self.actor)?;
    tx.referral_tree(&self.root, MAX_REFERRAL_ROWS).await
});

struct RevokeSubtree {
    actor: Actor,
    root: String,
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

fn bounded(field: &str, v: Option<i64>, max: i64) -> Result<Option<i64>> {
    match v {
        None => Ok(None),
        Some(s) if (1..=max).contains(&s) => Ok(Some(s)),
        Some(_) => Err(Error::invalid(field, format!("1 to {max} seconds"))),
    }
}

impl App {
    fn signup_token_hash(&self, token: &str) -> Option<Vec<u8>> {
        let token = token.trim();
        (token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| self.0.keys.hash_token(token))
    }

    /// The gate as anyone may see it.
    pub async fn gate(&self) -> Result<GateView> {
        self.store_ref().read(ReadGate).await
    }

    /// Refuses anyone but a platform administrator (a platform-admin key, or a user
    /// named in `platform_admins` or by their provider's claim): for the console's
    /// platform pages, which show what only they may change.
    pub fn require_platform_admin(&self, actor: &Actor) -> Result<()> {
        platform_admin(actor)
    }

    /// Sets the gate (platform admins).
    pub async fn set_gate(&self, actor: &Actor, settings: GateSettings) -> Result<GateView> {
        if settings.gate.cap.is_some_and(|c| c > MAX_GATE_CAP) {
            return Err(Error::invalid("cap", format!("at most {MAX_GATE_CAP}")));
        }
        if settings.user_quota.is_some_and(|q| q > MAX_USER_QUOTA) {
            return Err(Error::invalid(
                "user_quota",
                format!("at most {MAX_USER_QUOTA}"),
            ));
        }
        if settings
            .quota_period_secs
            .is_some_and(|s| !(1..=MAX_QUOTA_PERIOD_DAYS * 86_400).contains(&s))
        {
            return Err(Error::invalid(
                "quota_period_days",
                format!("1 to {MAX_QUOTA_PERIOD_DAYS} days"),
            ));
        }
        self.store_ref()
            .write(SetGate {
                actor: actor.clone(),
                settings,
            })
            .await
    }

    /// Invites someone to the platform; `invited_by` is the caller.
    pub async fn create_platform_invitation(
        &self,
        actor: &Actor,
        input: PlatformInvitationInput,
    ) -> Result<PlatformInvitationCreated> {
        let max_uses = input.max_uses.unwrap_or(1);
        if !(1..=MAX_PLATFORM_INVITATION_USES).contains(&max_uses) {
            return Err(Error::invalid(
                "max_uses",
                format!("1 to {MAX_PLATFORM_INVITATION_USES}"),
            ));
        }
        let lifetime = bounded(
            "expires_in",
            input.expires_in_seconds,
            MAX_PLATFORM_INVITATION_LIFETIME_SECS,
        )?;
        let now = crate::now();
        let email = input.email.as_deref().map(Email::parse).transpose()?;
        // One bound to an address is e-mailed: its token is derived from a salt when
        // the message is sent (as a space invitation's), so no row holds it.
        let issue = email.as_ref().map(|_| TokenIssue::new());
        let token = match &issue {
            Some(i) => self.0.keys.token_for(&i.salt),
            None => crate::secrets::random_token(),
        };
        let new = NewPlatformInvitation {
            id: Uuid::now_v7(),
            token_hash: self.0.keys.hash_token(&token),
            token_salt: issue.as_ref().map(|i| i.salt.clone()),
            mail_id: issue.as_ref().map(|i| i.mail_id),
            email,
            max_uses,
            expires_at: lifetime.map(|s| now + Duration::seconds(s)),
            invited_by: actor.label(),
            created_at: now,
        };
        let row = self
            .store_ref()
            .write(CreatePlatformInvitation {
                actor: actor.clone(),
                new,
            })
            .await?;
        if issue.is_some() {
            self.0.mail_queued.notify_one();
        }
        Ok(PlatformInvitationCreated {
            link: self.0.config.signup.url_template.replace("{token}", &token),
            token,
            invitation: PlatformInvitationView::of(row, now),
        })
    }

    /// A new token for a live platform invitation (its inviter or a platform admin),
    /// the old one refused from now on; one bound to an address is e-mailed again. At
    /// most once per `invitation_resend_interval_secs` (429).
    pub async fn resend_platform_invitation(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<PlatformInvitationCreated> {
        let issue = TokenIssue::new();
        let token = self.0.keys.token_for(&issue.salt);
        let row = self
            .store_ref()
            .write(ResendPlatformInvitation {
                actor: actor.clone(),
                id,
                token_hash: self.0.keys.hash_token(&token),
                issue,
                interval_secs: self.0.config.invitations.resend_interval_secs,
            })
            .await?;
        if row.email.is_some() {
            self.0.mail_queued.notify_one();
        }
        Ok(PlatformInvitationCreated {
            link: self.0.config.signup.url_template.replace("{token}", &token),
            token,
            invitation: PlatformInvitationView::of(row, crate::now()),
        })
    }

    pub async fn list_platform_invitations(
        &self,
        actor: &Actor,
        inviter: Option<String>,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<PlatformInvitationPage> {
        let limit = paging::page_size(limit)?;
        self.store_ref()
            .read(ListPlatformInvitations {
                actor: actor.clone(),
                inviter,
                after,
                limit,
            })
            .await
    }

    /// Soft-revokes a platform invitation (its inviter or a platform admin).
    pub async fn revoke_platform_invitation(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<PlatformInvitationView> {
        self.store_ref()
            .write(RevokePlatformInvitation {
                actor: actor.clone(),
                id,
            })
            .await
    }

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
