//! Members, roles and joins: the wire types of the `members` feature.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::*;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Member {
    pub id: Uuid,
    pub user_id: String,
    pub space: String,
    pub role: String,
    /// active, or pending (waiting for the user's consent).
    pub status: guestlist_domain::MembershipStatus,
    /// How they came in.
    pub source: guestlist_domain::MembershipSource,
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
#[schema(example = json!({"role": "admin"}))]
pub struct RoleRequest {
    #[schema(value_type = guestlist_domain::RoleName)]
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

/// One question: may `user` do `permission` in `space`?
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CheckQuestion {
    /// The user asked about: required with a platform-admin key; a user may name only
    /// themselves (or leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::UserId>)]
    pub user: Option<String>,
    /// A space path (`acme/eng/`).
    #[schema(value_type = guestlist_domain::formats::SpaceParam)]
    pub space: String,
    pub permission: Permission,
}

/// Up to 100 questions, answered in order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"checks": [{"user": "alice", "space": "acme/eng/", "permission": "manage_members"}]}))]
pub struct CheckBatchRequest {
    #[schema(min_items = 1, max_items = 100)]
    #[serde(deserialize_with = "crate::objects::checks")]
    pub checks: Vec<CheckQuestion>,
}

/// An answer: allowed or not, and the grant that decides it (inherited from an
/// ancestor when `granted_on` is one). A space that does not exist is a "no".
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CheckResult {
    pub user: String,
    pub space: String,
    pub permission: Permission,
    pub allowed: bool,
    /// The role of the deciding grant.
    pub role: Option<String>,
    /// The space the deciding grant is on: `space` itself or an ancestor.
    pub granted_on: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CheckBatchResult {
    pub results: Vec<CheckResult>,
}
