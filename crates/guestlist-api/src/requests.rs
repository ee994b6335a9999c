//! Join requests, owner adds and deprovisioning: the wire types of the `requests` feature.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::*;

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
    pub status: guestlist_domain::JoinRequestStatus,
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
#[schema(example = json!({"message": "I work on the data team"}))]
pub struct AskToJoinRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 1000, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
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
#[schema(example = json!({"email": "carol@example.com", "role": "member"}))]
pub struct AddMemberRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::UserId>)]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::Email>)]
    pub email: Option<String>,
    /// Defaults to `member`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::RoleName>)]
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
