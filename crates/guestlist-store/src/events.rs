//! The audit log: the storage contract of the `events` feature.

use async_trait::async_trait;
use guestlist_domain::SpacePath;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

/// The event log, written in the same transaction as the change it records.
#[async_trait]
pub trait EventsTx: Send {
    async fn append_event(&mut self, e: &NewEvent) -> Result<()>;
    /// Newest first, before the cursor.
    async fn list_events(&mut self, q: &EventQuery) -> Result<Vec<EventRow>>;
    /// Oldest first, after the cursor, and only up to where the log is final: no
    /// event with a smaller sequence number than one returned can commit later.
    async fn events_after(&mut self, q: &FeedQuery) -> Result<Vec<EventRow>>;
    /// The event with this sequence number.
    async fn event_by_seq(&mut self, seq: i64) -> Result<Option<EventRow>>;
    /// The largest sequence number committed, or 0.
    async fn last_event_seq(&mut self) -> Result<i64>;
    /// The first sequence number at or after `at`, or the next one to come.
    async fn first_seq_since(&mut self, at: OffsetDateTime) -> Result<i64>;
}

/// The forward feed: what follows `after`, in sequence order.
#[derive(Debug, Clone)]
pub struct FeedQuery {
    pub visible: Visibility,
    pub subtree: Option<SpacePath>,
    /// Only these kinds (empty: every kind).
    pub kinds: Vec<String>,
    pub after: i64,
    /// Only events with a smaller sequence number.
    pub before: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: Uuid,
    pub kind: &'static str,
    pub space_id: Option<Uuid>,
    pub space_path: Option<SpacePath>,
    pub actor: String,
    pub subject: Option<String>,
    /// JSON object text. Never holds a secret.
    pub data: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub seq: i64,
    pub id: Uuid,
    pub kind: String,
    pub space_path: Option<SpacePath>,
    pub actor: String,
    pub subject: Option<String>,
    pub data: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct EventQuery {
    pub visible: Visibility,
    pub subtree: Option<SpacePath>,
    /// Only events of these kinds (empty: every kind).
    pub kinds: Vec<String>,
    /// Only events by this actor (a user id, or `key:<name>`).
    pub actor: Option<String>,
    /// Only events at or after / before these moments.
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Only events with a smaller sequence number.
    pub before_seq: Option<i64>,
    pub limit: u32,
}

/// The tables of this feature, for export and import (`transfer`), in an order that
/// satisfies their foreign keys.
pub(crate) const TABLES: &[TableSpec] = &[TableSpec {
    name: "events",
    columns: &[
        ("seq", Int),
        ("id", Uuid),
        ("kind", Text),
        ("space_id", Uuid),
        ("space_path", Text),
        ("actor", Text),
        ("subject", Text),
        ("data", Text),
        ("created_at", Int),
    ],
    key: &["seq"],
    singleton: false,
}];
