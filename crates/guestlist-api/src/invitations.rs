//! Invitations addressed to one person, one at a time or in bulk: the wire types of the `invitations` feature.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::*;

/// Who to invite: an e-mail address, a username or a user id (one or more).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Invitee {
    /// Trimmed and compared case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::Email>)]
    pub email: Option<String>,
    /// The host application's username (`preferred_username`), case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::Username>)]
    pub username: Option<String>,
    /// The host application's user id (`sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::UserId>)]
    pub user_id: Option<String>,
    /// This row's role (bulk only; overrides the request's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::RoleName>)]
    pub role: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"space": "acme/", "email": "ada@example.com", "role": "member", "message": "Welcome aboard"}))]
pub struct CreateInvitationRequest {
    #[schema(value_type = guestlist_domain::SpacePath)]
    pub space: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::Email>)]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::Username>)]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::UserId>)]
    pub user_id: Option<String>,
    /// Defaults to `member`. You cannot grant more than you hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::RoleName>)]
    pub role: Option<String>,
    /// Default 7 days; at most 30 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 2592000)]
    pub expires_in_seconds: Option<i64>,
    /// A personal note for the e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"space": "acme/", "role": "member", "dry_run": true, "rows": [{"email": "dora@example.com"}, {"username": "eve", "role": "viewer"}]}))]
pub struct BulkInvitationRequest {
    #[schema(value_type = guestlist_domain::SpacePath)]
    pub space: String,
    /// The role of rows that name none; defaults to `member`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::RoleName>)]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 2592000)]
    pub expires_in_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
    pub message: Option<String>,
    /// Decide every row's outcome and change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// 1 to 1,000 people.
    #[schema(min_items = 1, max_items = 1000)]
    #[serde(deserialize_with = "crate::objects::rows")]
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
#[schema(example = json!({"token": "Js2X4At6LlxpOuxJ3C5tzVWEConv3wCf"}))]
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
