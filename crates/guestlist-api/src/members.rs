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
