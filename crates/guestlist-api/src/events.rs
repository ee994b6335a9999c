//! The audit log: the wire types of the `events` feature.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

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
