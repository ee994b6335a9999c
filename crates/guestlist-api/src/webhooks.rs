//! Webhooks: the wire types of the `webhooks` feature.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::present;

/// Register an endpoint. With `space`, it receives that space's events and its
/// subtree's (you administer it); without, every event (platform administrators).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// An absolute http(s) URL on a public address (see `[webhooks] allow_targets`),
    /// without credentials or a `#fragment`.
    #[schema(
        max_length = 2000,
        format = "uri",
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\s]+(?:[/?][^#\s]*)?$"
    )]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Only these event kinds (docs/EVENTS.md); left out, every kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1)]
    pub kinds: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<guestlist_domain::formats::SpaceParam>)]
    pub space: Option<String>,
}

/// Change an endpoint; fields left out stay as they are. `enabled: true` re-enables
/// an endpoint that was disabled (410, failing too long, or its owner lost the right
/// to manage it); whoever enables an endpoint owns it from then on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    /// As when it was registered: an absolute http(s) URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        max_length = 2000,
        format = "uri",
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\s]+(?:[/?][^#\s]*)?$"
    )]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// `null`: every kind again.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Vec<String>>)]
    pub kinds: Option<Option<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// Absent: every kind.
    pub kinds: Option<Vec<String>>,
    /// Absent: every space (a platform endpoint).
    pub space: Option<String>,
    pub enabled: bool,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
    /// It receives events after this sequence number.
    pub from_seq: i64,
    /// Failing without a success since then.
    #[serde(with = "time::serde::rfc3339::option")]
    pub failing_since: Option<OffsetDateTime>,
    /// The previous secret also signs until then (after a rotation).
    #[serde(with = "time::serde::rfc3339::option")]
    pub previous_secret_until: Option<OffsetDateTime>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// An endpoint and its signing secret (`whsec_…`), answered only when it is created
/// or rotated: keep it, it is not shown again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WebhookWithSecret {
    pub webhook: Webhook,
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WebhookTest {
    /// The `webhook.test` event's id: the `webhook-id` of its delivery.
    pub event_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WebhookAttempt {
    pub attempt: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    pub latency_ms: i64,
    /// The answer's first bytes.
    pub response: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub event_seq: i64,
    pub event_id: Option<Uuid>,
    pub event_kind: Option<String>,
    /// queued, delivered, failed or cancelled.
    pub state: String,
    pub attempts: Vec<WebhookAttempt>,
    /// When a queued delivery is tried next.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WebhookDeliveryPage {
    pub deliveries: Vec<WebhookDelivery>,
    /// Pass as `before` for older deliveries; absent on the last page.
    pub next_before: Option<Uuid>,
}

/// Queue again every event the endpoint follows since a sequence number or a time
/// (exactly one of them).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub since_seq: Option<i64>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub since: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReplayResult {
    pub queued: usize,
    /// Set when the replay stopped at its cap: replay again from this sequence number.
    pub resume_from_seq: Option<i64>,
}
