//! The sign-up gate, platform invitations, claims and referrals: the wire types of the `signup` feature.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::*;

/// The sign-up gate as anyone may see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SignupConfig {
    /// open, invite_only or capped (open with a cap); invite_only may have a cap too.
    pub mode: String,
    pub cap: Option<u32>,
    /// Seats left under the cap; absent without a cap.
    pub remaining: Option<u32>,
}

/// The gate's settings (platform admins).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mode": "invite_only", "cap": 1000, "user_invitations": true, "user_quota": 5}))]
pub struct GateSettings {
    /// open, invite_only or capped.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 1000000000)]
    pub cap: Option<u32>,
    /// May signed-in users send platform invitations (referrals)?
    #[serde(default)]
    pub user_invitations: bool,
    /// How many each user may send (in all, or per period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 1000000)]
    pub user_quota: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3650)]
    pub quota_period_days: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct GateView {
    #[serde(flatten)]
    pub config: SignupConfig,
    pub user_invitations: bool,
    pub user_quota: Option<u32>,
    pub quota_period_days: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "nia@example.com", "expires_in": 604800}))]
pub struct CreatePlatformInvitationRequest {
    /// Only this address may sign up with it (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::Email>)]
    pub email: Option<String>,
    /// Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 10000)]
    pub max_uses: Option<u32>,
    /// Seconds until it expires; omit for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 31536000)]
    pub expires_in: Option<i64>,
}

/// A platform invitation. Never carries its token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PlatformInvitation {
    pub id: Uuid,
    pub email: Option<String>,
    pub state: InviteState,
    pub max_uses: u32,
    pub uses: u32,
    /// Uses held by sign-ups in progress.
    pub reserved: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    pub invited_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// How many times it was sent: 1, plus each resend (a new token each time).
    pub sends: u32,
    /// Where its latest e-mail is (one bound to an address is e-mailed).
    pub delivery: Option<crate::Delivery>,
}

/// A new platform invitation: the only answer with its token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PlatformInvitationWithToken {
    pub token: String,
    pub link: String,
    pub invitation: PlatformInvitation,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PlatformInvitationPage {
    pub invitations: Vec<PlatformInvitation>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TokenCheck {
    pub valid: bool,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "carol@example.com", "token": "pH3va7rbuRG9hrX2irfD8bQXKkgkvTS5"}))]
pub struct ClaimRequest {
    #[schema(value_type = guestlist_domain::Email)]
    pub email: String,
    /// A platform invitation's token (required when the gate is invite-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// How long the seat is held (default 15 minutes, at most a day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 86400)]
    pub ttl_seconds: Option<i64>,
}

/// A sign-up in progress (`reserved`), or how it ended.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Claim {
    pub id: Uuid,
    pub email: String,
    /// reserved, confirmed, released or lapsed.
    pub state: String,
    pub invitation_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"user_id": "carol"}))]
pub struct ConfirmRequest {
    /// The new account's id in the host application.
    #[schema(value_type = guestlist_domain::UserId)]
    pub user_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReferralCounts {
    pub invited: u32,
    pub joined: u32,
    pub pending: u32,
    pub expired: u32,
    pub revoked: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Referral {
    pub invitation: PlatformInvitation,
    /// pending, joined, expired or revoked.
    pub state: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Signup {
    pub user_id: String,
    pub email: String,
    pub invited_by: Option<String>,
    pub invitation_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub signed_up_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Referrals {
    pub inviter: String,
    pub counts: ReferralCounts,
    pub invitations: Vec<Referral>,
    /// Who signed up through the inviter's invitations.
    pub joined: Vec<Signup>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TreeNode {
    #[serde(flatten)]
    pub signup: Signup,
    /// 1: invited by the root; 2: by someone the root invited; …
    pub depth: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReferralTree {
    pub root: String,
    pub nodes: Vec<TreeNode>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RevokedInvitations {
    pub revoked: usize,
    pub invitations: Vec<PlatformInvitation>,
}
