//! Invite links: the wire types of the `invites` feature.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"space": "acme/", "role": "member", "max_uses": 5, "expires_in_seconds": 86400, "description": "Launch week"}))]
pub struct CreateInviteRequest {
    #[schema(value_type = guestlist_domain::SpacePath)]
    pub space: String,
    /// Defaults to `member`. You cannot grant more than you hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::RoleName>)]
    pub role: Option<String>,
    /// Omit for unlimited uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_uses: Option<u32>,
    /// Omit for a link that never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 31536000)]
    pub expires_in_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    /// Lets a redeemer ask for a space beneath the invite's.
    #[serde(default)]
    pub allow_narrowing: bool,
    /// Redeeming creates a join request for a member manager instead of a membership.
    #[serde(default)]
    pub requires_approval: bool,
    /// With `requires_approval`: verified e-mail addresses of these domains join at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<guestlist_domain::formats::Domain>, max_items = 50)]
    pub auto_approve_domains: Vec<String>,
    /// A code of your choosing (a vanity code): 8 to 32 letters and digits, at least
    /// 4 different characters, not a run such as `12345678` nor a common word, and not
    /// reading like another chosen code (`0`/`O`, `1`/`l`/`I` … are folded together).
    /// Generated when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9]{8,32}$")]
    pub code: Option<String>,
}

/// A link as another system has it, mirrored while both systems run: created the
/// first time, updated after. The same body twice changes nothing.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"space": "acme/", "role": "member", "max_uses": 10, "uses": 3, "code": "Leg4cyCode7", "expires_at": "2027-01-31T00:00:00Z"}))]
pub struct MirrorInviteRequest {
    /// The space it grants; with the external id, it names the link (another space's
    /// link of the same external id is another link).
    #[schema(value_type = guestlist_domain::SpacePath)]
    pub space: String,
    /// Defaults to `member`; it cannot change later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::RoleName>)]
    pub role: Option<String>,
    /// Omit for unlimited uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_uses: Option<u32>,
    /// Its uses as the other system counts them. The link's uses are raised to it,
    /// never lowered, so a use made here is not lost.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000)]
    pub uses: u32,
    /// Omit for a link that never expires.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    /// Its live code in the other system (6 to 64 letters, digits, `-` and `_`), so
    /// that links already shared keep working here. Generated when omitted. It cannot
    /// change. Refused when any link has it (in any form), or when a guesser would try
    /// it first (fewer than 4 different characters, a run, a denied word).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9_-]{6,64}$")]
    pub code: Option<String>,
    /// Instead of `code`, where the other system kept only a digest of its codes:
    /// `sha256:<hex>` or `sha512:<hex>` of the code. The code people hold keeps
    /// working here; it is never shown (it was never known). It cannot change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(sha256:[0-9A-Fa-f]{64}|sha512:[0-9A-Fa-f]{128})$")]
    pub code_hash: Option<String>,
    /// Revoked in the other system. A revoked link stays revoked.
    #[serde(default)]
    pub revoked: bool,
}

/// What a mirror did.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MirrorOutcome {
    Created,
    Updated,
    Unchanged,
}

/// The mirrored link; its code and link only when it was created by this request
/// (and not from a digest of its code).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct MirrorInviteResponse {
    pub outcome: MirrorOutcome,
    pub invite: Invite,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// An invite link as managers see it in lists: never its code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Invite {
    pub id: Uuid,
    pub space: String,
    pub role: String,
    pub state: InviteState,
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub uses_left: Option<u32>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    pub description: Option<String>,
    pub allow_narrowing: bool,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    pub requires_approval: bool,
    pub auto_approve_domains: Vec<String>,
    /// The id another system knows it by, when it is mirrored from one.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A new invite, or a live one shown again: the only bodies that carry a code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct InviteWithLink {
    pub code: String,
    /// Built from the configured template (an https page or an app deep link).
    pub link: String,
    pub invite: Invite,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct InvitePage {
    pub invites: Vec<Invite>,
    pub next: Option<String>,
}

/// The public preview of an invite: no secret, no member list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct InvitePreview {
    pub space: String,
    pub space_name: String,
    pub join_mode: JoinMode,
    pub member_count: u32,
    pub role: String,
    pub inviter: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    pub max_uses: Option<u32>,
    pub uses_left: Option<u32>,
    pub allow_narrowing: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"space": "acme/eng/"}))]
pub struct RedeemRequest {
    /// A space beneath the invite's, when the invite allows narrowing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::SpacePath>)]
    pub space: Option<String>,
}
