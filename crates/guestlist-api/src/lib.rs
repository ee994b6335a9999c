//! Guestlist's wire types: what goes over HTTP. Shared by the server (which documents
//! them in OpenAPI), the typed client, the CLI and the tests, so none can drift.

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// The enums and outcomes of the model, as they are on the wire.
pub use guestlist_domain::{
    AddOutcome, DeliveryState, InvitationOutcome, InvitationStatus, InviteState, JoinMode,
    JoinOutcome,
};

/// Every error: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ErrorDetail {
    /// A stable machine code: not_found, expired, exhausted, revoked, out_of_scope,
    /// member_limit_reached, forbidden, unauthenticated, invalid_input, rate_limited,
    /// already_exists, last_admin, invite_required, approval_required,
    /// payload_too_large, request_timeout, method_not_allowed, unavailable, internal,
    /// email_unverified, email_mismatch, not_pending, signup_closed, token_in_use,
    /// pending_consent.
    pub code: String,
    pub message: String,
    /// For `invalid_input`: the field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreateSpaceRequest {
    /// A path ending in '/': `acme/` (top level: platform-admin keys only) or
    /// `acme/eng/` (admins of the parent).
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default = "default_join_mode")]
    pub join_mode: JoinMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_limit: Option<u32>,
}

fn default_join_mode() -> JoinMode {
    JoinMode::InviteOnly
}

/// Present fields change; `member_limit: null` removes the limit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpaceRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_mode: Option<JoinMode>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<u32>)]
    pub member_limit: Option<Option<u32>>,
}

/// Tells a field given as `null` (Some(None)) from one left out (None).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Space {
    pub path: String,
    pub name: String,
    pub join_mode: JoinMode,
    pub member_limit: Option<u32>,
    pub member_count: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The caller's effective permissions here (inherited down the tree).
    pub your_permissions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub name: String,
    /// Of read, write, manage_invites, manage_members, admin.
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RoleList {
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Member {
    pub id: Uuid,
    pub user_id: String,
    pub space: String,
    pub role: String,
    /// active, or pending (waiting for the user's consent).
    pub status: String,
    /// invite_link, invitation, owner_add, join_request, open_join, provisioned.
    pub source: String,
    /// The invite that brought this member.
    pub invite_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct MemberPage {
    pub members: Vec<Member>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct JoinResult {
    pub outcome: JoinOutcome,
    pub space: String,
    pub role: String,
    /// The membership on `space`; absent when the rights come from an ancestor.
    pub membership: Option<Member>,
    /// For `requested`: the join request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_request: Option<JoinRequest>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreateInviteRequest {
    pub space: String,
    /// Defaults to `member`. You cannot grant more than you hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Omit for unlimited uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    /// Omit for a link that never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Lets a redeemer ask for a space beneath the invite's.
    #[serde(default)]
    pub allow_narrowing: bool,
    /// Redeeming creates a join request for a member manager instead of a membership.
    #[serde(default)]
    pub requires_approval: bool,
    /// With `requires_approval`: verified e-mail addresses of these domains join at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auto_approve_domains: Vec<String>,
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
pub struct RedeemRequest {
    /// A space beneath the invite's, when the invite allows narrowing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Event {
    /// Increases with every event; page with `before`.
    pub seq: i64,
    pub id: Uuid,
    /// space.created, member.joined, member.role_changed, member.removed, member.left,
    /// member.add_withdrawn, invite.created, invite.revoked, role.created, space.updated,
    /// invitation.created, invitation.resent, invitation.revoked, invitation.accepted,
    /// invitation.declined.
    pub kind: String,
    pub space: Option<String>,
    pub actor: String,
    pub subject: Option<String>,
    pub data: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Pass as `before` for older events; absent on the last page.
    pub next_before: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Health {
    pub status: String,
    pub engine: String,
}

/// Who to invite: an e-mail address, a username or a user id (one or more).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Invitee {
    /// Trimmed and compared case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The host application's username (`preferred_username`), case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The host application's user id (`sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// This row's role (bulk only; overrides the request's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitationRequest {
    pub space: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Defaults to `member`. You cannot grant more than you hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Default 7 days; at most 30 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<i64>,
    /// A personal note for the e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BulkInvitationRequest {
    pub space: String,
    /// The role of rows that name none; defaults to `member`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Decide every row's outcome and change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// 1 to 1,000 people.
    pub rows: Vec<Invitee>,
}

/// Where the invitation's latest e-mail is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Delivery {
    pub state: DeliveryState,
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
}

/// An invitation. Never carries its token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Invitation {
    pub id: Uuid,
    pub space: String,
    pub role: String,
    pub email: Option<String>,
    pub username: Option<String>,
    pub user_id: Option<String>,
    pub message: Option<String>,
    pub status: InvitationStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// How many times it was sent (1 + re-sends).
    pub sends: u32,
    /// Absent for an invitation without an e-mail address.
    pub delivery: Option<Delivery>,
    pub invited_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Who accepted, declined or revoked it.
    pub decided_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct InvitationResult {
    pub outcome: InvitationOutcome,
    /// The new or pending invitation (absent for members, and in a dry run's `invited`).
    pub invitation: Option<Invitation>,
    /// For `already_member`: the membership, when held on this space directly.
    pub membership: Option<Member>,
}

/// One row of a bulk answer: its outcome, or its error.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BulkRow {
    /// The row's position in the request, from 0.
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<InvitationOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation: Option<Invitation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<Member>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BulkSummary {
    pub invited: usize,
    pub already_invited: usize,
    pub already_member: usize,
    pub failed: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BulkInvitationResult {
    pub dry_run: bool,
    pub summary: BulkSummary,
    pub rows: Vec<BulkRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct InvitationPage {
    pub invitations: Vec<Invitation>,
    pub next: Option<String>,
}

/// The token from the invitation e-mail.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub token: String,
}

/// What accepting or declining did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct InvitationAnswer {
    pub invitation: Invitation,
    /// For an accept: joined, upgraded, or already_member (a repeated accept too).
    pub outcome: Option<JoinOutcome>,
    pub membership: Option<Member>,
}

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
pub struct GateSettings {
    /// open, invite_only or capped.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<u32>,
    /// May signed-in users send platform invitations (referrals)?
    #[serde(default)]
    pub user_invitations: bool,
    /// How many each user may send (in all, or per period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_quota: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
pub struct CreatePlatformInvitationRequest {
    /// Only this address may sign up with it (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    /// Seconds until it expires; omit for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
pub struct ClaimRequest {
    pub email: String,
    /// A platform invitation's token (required when the gate is invite-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// How long the seat is held (default 15 minutes, at most a day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
pub struct ConfirmRequest {
    /// The new account's id in the host application.
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

/// A request to join a space, waiting for (or decided by) a member manager.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct JoinRequest {
    pub id: Uuid,
    pub space: String,
    pub user_id: String,
    pub email: Option<String>,
    pub role: String,
    pub message: Option<String>,
    /// The link that asked for approval, if any.
    pub invite_id: Option<Uuid>,
    /// pending, approved, denied or cancelled.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub decided_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct JoinRequestPage {
    pub requests: Vec<JoinRequest>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AskToJoinRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What deciding a join request did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct JoinRequestDecision {
    pub request: JoinRequest,
    /// For an approval: the membership.
    pub membership: Option<Member>,
}

/// Add an existing account to the roster: by user id, or the e-mail of a known account.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Defaults to `member`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AddMemberResult {
    pub outcome: AddOutcome,
    /// The membership here; absent when the rights come from a parent space.
    pub membership: Option<Member>,
}

/// What accepting or declining an owner's add did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct MembershipAnswer {
    /// The now active membership; absent after a decline.
    pub membership: Option<Member>,
}

/// Everything waiting for the caller.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PendingItems {
    pub invitations: Vec<Invitation>,
    /// Owners' adds waiting for your consent.
    pub memberships: Vec<Member>,
    pub join_requests: Vec<JoinRequest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Deprovisioned {
    pub memberships_removed: usize,
    /// Invite links and invitations the user had sent.
    pub invites_revoked: usize,
    pub platform_invitations_revoked: usize,
    pub join_requests_cancelled: usize,
}
