//! Spaces and custom roles: the wire types of the `spaces` feature.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::*;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"path": "acme/", "name": "Acme", "join_mode": "invite_only"}))]
pub struct CreateSpaceRequest {
    /// A path ending in '/': `acme/` (top level: platform-admin keys only) or
    /// `acme/eng/` (admins of the parent).
    #[schema(value_type = guestlist_domain::SpacePath)]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    #[serde(default = "default_join_mode")]
    pub join_mode: JoinMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 10000000)]
    pub member_limit: Option<u32>,
}

fn default_join_mode() -> JoinMode {
    JoinMode::InviteOnly
}

/// Present fields change; `member_limit: null` removes the limit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"join_mode": "request", "member_limit": 500}))]
pub struct UpdateSpaceRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_mode: Option<JoinMode>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<u32>, maximum = 10000000)]
    pub member_limit: Option<Option<u32>>,
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
#[schema(example = json!({"name": "moderator", "permissions": ["read", "write", "manage_members"]}))]
pub struct Role {
    #[schema(value_type = guestlist_domain::RoleName)]
    pub name: String,
    /// Of read, write, manage_invites, manage_members, admin.
    #[schema(value_type = Vec<guestlist_domain::Permission>, min_items = 1)]
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RoleList {
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SpacePage {
    pub spaces: Vec<Space>,
    /// The cursor of the next page; absent on the last.
    pub next: Option<String>,
}
