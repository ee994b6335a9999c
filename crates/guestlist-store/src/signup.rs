//! The sign-up gate, platform invitations, claims and referrals: the storage contract of the `signup` feature.

use async_trait::async_trait;
use guestlist_domain::{Email, SpacePath, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

/// The sign-up gate, platform invitations, claims and sign-ups.
#[async_trait]
pub trait SignupTx: Send {
    async fn gate(&mut self) -> Result<GateRow>;
    async fn set_gate(&mut self, g: &GateSettings, at: OffsetDateTime) -> Result<GateRow>;
    /// Takes one sign-up seat if the cap allows: `false` when full.
    async fn take_signup_seat(&mut self) -> Result<bool>;
    async fn free_signup_seats(&mut self, n: u32) -> Result<()>;
    /// Counts one platform invitation against the inviter's quota (a new period
    /// starts it again); `false` when the quota is spent.
    async fn take_inviter_quota(
        &mut self,
        inviter: &str,
        quota: u32,
        period_secs: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<bool>;
    async fn insert_platform_invitation(&mut self, i: &NewPlatformInvitation) -> Result<bool>;
    async fn platform_invitation_by_hash(
        &mut self,
        token_hash: &[u8],
    ) -> Result<Option<PlatformInvitationRow>>;
    async fn platform_invitation_by_id(
        &mut self,
        id: Uuid,
    ) -> Result<Option<PlatformInvitationRow>>;
    /// Holds one use for a claim if the invitation is live with a use free: the
    /// atomic claim. `false` otherwise.
    async fn reserve_platform_invitation(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool>;
    /// Gives back a held use, counting it as used when `used`.
    async fn settle_platform_invitation(&mut self, id: Uuid, used: bool) -> Result<()>;
    /// A new token (hash and salt) and e-mail (when it has an address) for a live
    /// platform invitation, the old token refused from now on; `false` when it is not
    /// live.
    async fn reissue_platform_invitation(
        &mut self,
        id: Uuid,
        token_hash: &[u8],
        token_salt: &[u8],
        mail_id: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<bool>;
    async fn revoke_platform_invitation(
        &mut self,
        id: Uuid,
        by: &str,
        at: OffsetDateTime,
    ) -> Result<bool>;
    /// Newest first; only those sent by `inviter` when given.
    async fn list_platform_invitations(
        &mut self,
        inviter: Option<&str>,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<Vec<PlatformInvitationRow>>;
    /// Revokes every live invitation sent by `root` or anyone below them in the
    /// referral tree; returns the revoked ones.
    async fn revoke_referral_subtree(
        &mut self,
        root: &str,
        by: &str,
        at: OffsetDateTime,
    ) -> Result<Vec<PlatformInvitationRow>>;
    /// Inserts unless the e-mail has a live claim or sign-up already; `false` then.
    async fn insert_claim(&mut self, c: &NewClaim) -> Result<bool>;
    async fn claim_by_id(&mut self, id: Uuid) -> Result<Option<ClaimRow>>;
    /// Moves a reserved claim to `to`; with `live_at`, only if it has not lapsed by
    /// then. `false` when it was not reserved (or had lapsed).
    async fn decide_claim(
        &mut self,
        id: Uuid,
        to: ClaimState,
        user: Option<&UserId>,
        at: OffsetDateTime,
        live_at: Option<OffsetDateTime>,
    ) -> Result<bool>;
    /// Marks every reserved claim past its expiry lapsed; returns them.
    async fn lapse_claims(&mut self, now: OffsetDateTime) -> Result<Vec<ClaimRow>>;
    /// Inserts unless the user or the e-mail signed up already; `false` then.
    async fn insert_signup(&mut self, s: &SignupRow) -> Result<bool>;
    async fn signup_of_email(&mut self, email: &Email) -> Result<Option<SignupRow>>;
    /// Who `inviter` brought in, oldest first.
    async fn signups_invited_by(&mut self, inviter: &str, limit: u32) -> Result<Vec<SignupRow>>;
    /// Everyone below `root` in the referral tree, with their depth (1: invited by
    /// root), breadth first.
    async fn referral_tree(&mut self, root: &str, limit: u32) -> Result<Vec<(SignupRow, u32)>>;
    /// The users who joined any space with this (verified) e-mail address (an owner's
    /// add by address is no evidence: it only repeats what named them), or whom the
    /// host or a verified token made it known for, or a SCIM key whose subtree holds
    /// `within` (`UsersTx`).
    async fn users_with_email(&mut self, email: &Email, within: &SpacePath) -> Result<Vec<UserId>>;
    async fn space_path_of(&mut self, id: Uuid) -> Result<Option<SpacePath>>;
}

/// What an admin sets on the gate.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSettings {
    pub gate: guestlist_domain::Gate,
    pub user_invitations: bool,
    pub user_quota: Option<u32>,
    pub quota_period_secs: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GateRow {
    pub settings: GateSettings,
    pub seats_taken: u32,
}

#[derive(Debug, Clone)]
pub struct NewPlatformInvitation {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    /// For one bound to an address: what its token is derived from at send time.
    pub token_salt: Option<Vec<u8>>,
    /// Its e-mail in the outbox, inserted in the same transaction.
    pub mail_id: Option<Uuid>,
    pub email: Option<Email>,
    pub max_uses: u32,
    pub expires_at: Option<OffsetDateTime>,
    pub invited_by: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlatformInvitationRow {
    pub id: Uuid,
    pub email: Option<Email>,
    pub max_uses: u32,
    pub uses: u32,
    pub reserved: u32,
    pub expires_at: Option<OffsetDateTime>,
    pub invited_by: String,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by: Option<String>,
    /// Set for one delivered by e-mail (the token is derived from it; never shown).
    pub token_salt: Option<Vec<u8>>,
    /// How many times it was sent (1, plus each resend).
    pub sends: u32,
    pub last_sent_at: Option<OffsetDateTime>,
    /// Where its latest e-mail is.
    pub delivery: Option<crate::Delivery>,
}

impl PlatformInvitationRow {
    /// Revoked, then expired, then used up (`exhausted`), else active.
    pub fn state(&self, now: OffsetDateTime) -> guestlist_domain::InviteState {
        guestlist_domain::InviteState::of(
            self.revoked_at.is_some(),
            self.expires_at,
            Some(self.max_uses),
            self.uses,
            now,
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimState {
    Reserved,
    Confirmed,
    Released,
    Lapsed,
}

impl ClaimState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimState::Reserved => "reserved",
            ClaimState::Confirmed => "confirmed",
            ClaimState::Released => "released",
            ClaimState::Lapsed => "lapsed",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "reserved" => Ok(ClaimState::Reserved),
            "confirmed" => Ok(ClaimState::Confirmed),
            "released" => Ok(ClaimState::Released),
            "lapsed" => Ok(ClaimState::Lapsed),
            other => Err(Error::internal(format!("unknown claim state {other:?}"))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewClaim {
    pub id: Uuid,
    pub email: Email,
    pub invitation_id: Option<Uuid>,
    pub expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRow {
    pub id: Uuid,
    pub email: Email,
    pub invitation_id: Option<Uuid>,
    pub state: ClaimState,
    pub expires_at: OffsetDateTime,
    pub user_id: Option<UserId>,
    pub created_at: OffsetDateTime,
}

/// An account that came through the gate, and who invited it.
#[derive(Debug, Clone, PartialEq)]
pub struct SignupRow {
    pub user_id: UserId,
    pub email: Email,
    pub invited_by: Option<String>,
    pub invitation_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

/// The tables of this feature, for export and import (`transfer`), in an order that
/// satisfies their foreign keys.
pub(crate) const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "signup_gate",
        columns: &[
            ("id", Int),
            ("invite_only", Bool),
            ("cap", Int),
            ("seats_taken", Int),
            ("user_invitations", Bool),
            ("user_quota", Int),
            ("quota_period_secs", Int),
            ("updated_at", Int),
        ],
        key: &["id"],
        singleton: true,
    },
    TableSpec {
        name: "platform_invitations",
        columns: &[
            ("id", Uuid),
            ("token_hash", Bytes),
            ("email", Text),
            ("max_uses", Int),
            ("uses", Int),
            ("reserved", Int),
            ("expires_at", Int),
            ("invited_by", Text),
            ("created_at", Int),
            ("revoked_at", Int),
            ("revoked_by", Text),
            ("token_salt", Bytes),
            ("mail_id", Uuid),
            ("sends", Int),
            ("last_sent_at", Int),
        ],
        key: &["id"],
        singleton: false,
    },
    TableSpec {
        name: "inviter_quotas",
        columns: &[("inviter", Text), ("period_start", Int), ("sent", Int)],
        key: &["inviter"],
        singleton: false,
    },
    TableSpec {
        name: "signup_claims",
        columns: &[
            ("id", Uuid),
            ("email", Text),
            ("invitation_id", Uuid),
            ("state", Text),
            ("expires_at", Int),
            ("user_id", Text),
            ("created_at", Int),
            ("decided_at", Int),
        ],
        key: &["id"],
        singleton: false,
    },
    TableSpec {
        name: "signups",
        columns: &[
            ("user_id", Text),
            ("email", Text),
            ("invited_by", Text),
            ("invitation_id", Uuid),
            ("created_at", Int),
        ],
        key: &["user_id"],
        singleton: false,
    },
];
