//! The audit log: the wire types of the `events` feature.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Event {
    /// Increases with every event: page back with `before`, follow with `after`.
    pub seq: i64,
    /// Stable; the `webhook-id` of every delivery of this event.
    pub id: Uuid,
    /// One of the kinds in docs/EVENTS.md: member.joined, invitation.accepted, …
    pub kind: String,
    /// The version of the kind's payload (docs/EVENTS.md).
    pub version: u32,
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
    /// Pass as `before` for older events; absent on the last page (and with `after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
    /// With `after`: pass as `after` next time (the last event's number, or `after`
    /// again when nothing new was final yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}
