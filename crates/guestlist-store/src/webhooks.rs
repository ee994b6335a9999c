//! Webhooks: the storage contract of the `webhooks` feature. Endpoints, the one cursor
//! that says how far the log has been fanned out into deliveries, the deliveries (an
//! outbox: `next_attempt_at` doubles as the lease) and every attempt.

use async_trait::async_trait;
use guestlist_domain::SpacePath;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

#[async_trait]
pub trait WebhooksTx: Send {
    /// Creates an endpoint that follows the log from its current end.
    async fn insert_endpoint(&mut self, e: &NewEndpoint) -> Result<EndpointRow>;
    /// An endpoint that was not deleted.
    async fn endpoint(&mut self, id: Uuid) -> Result<Option<EndpointRow>>;
    /// Endpoints that were not deleted, oldest first: platform ones only with
    /// `Visibility::All`, others when their space is visible.
    async fn endpoints(&mut self, visible: &Visibility) -> Result<Vec<EndpointRow>>;
    /// Enabled endpoints, for the dispatcher.
    async fn enabled_endpoints(&mut self) -> Result<Vec<EndpointRow>>;
    async fn update_endpoint(
        &mut self,
        id: Uuid,
        patch: &EndpointPatch,
        now: OffsetDateTime,
    ) -> Result<bool>;
    /// Marks it deleted and cancels what it still had queued.
    async fn delete_endpoint(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool>;
    /// A new signing secret; the previous one still signs until `previous_until`.
    async fn rotate_endpoint(
        &mut self,
        id: Uuid,
        previous_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool>;
    /// Records a failed attempt: when the endpoint started failing (kept if earlier).
    async fn endpoint_failing(&mut self, id: Uuid, now: OffsetDateTime) -> Result<OffsetDateTime>;
    /// Records a successful attempt: the endpoint is no longer failing.
    async fn endpoint_succeeded(&mut self, id: Uuid) -> Result<()>;
    /// Disables an enabled endpoint; `false` when it already was.
    async fn disable_endpoint(
        &mut self,
        id: Uuid,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool>;

    /// How far the log has been fanned out.
    async fn dispatch_cursor(&mut self) -> Result<i64>;
    /// Moves the cursor from `from` to `to`; `false` when another dispatcher moved it
    /// first (then nothing this transaction wrote should commit).
    async fn advance_dispatch(&mut self, from: i64, to: i64) -> Result<bool>;

    async fn insert_delivery(&mut self, d: &NewDelivery) -> Result<()>;
    /// Queued deliveries due at `now`, oldest first, none to the `busy` endpoints:
    /// (delivery, endpoint).
    async fn due_deliveries(
        &mut self,
        now: OffsetDateTime,
        limit: u32,
        busy: &[Uuid],
    ) -> Result<Vec<(Uuid, Uuid)>>;
    /// Takes a due delivery for one attempt until `lease_until` (counted); `false` when
    /// another worker took it first or it is no longer queued.
    async fn claim_delivery(
        &mut self,
        id: Uuid,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<bool>;
    async fn delivery(&mut self, id: Uuid) -> Result<Option<DeliveryRow>>;
    /// Records an attempt's result on a queued delivery.
    async fn finish_delivery(&mut self, id: Uuid, result: &DeliveryOutcome) -> Result<()>;
    async fn insert_attempt(&mut self, a: &AttemptRow) -> Result<()>;
    /// An endpoint's deliveries, newest first, older than `before`.
    async fn deliveries(
        &mut self,
        endpoint: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>>;
    /// The attempts of these deliveries, in attempt order.
    async fn attempts_of(&mut self, deliveries: &[Uuid]) -> Result<Vec<AttemptRow>>;
    /// Queues a delivery again now, whatever became of it (a manual redeliver).
    async fn requeue_delivery(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool>;
    /// Queued deliveries per endpoint (for the queue-depth gauge).
    async fn queued_per_endpoint(&mut self) -> Result<Vec<(Uuid, i64)>>;
}

#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// `None`: every kind.
    pub kinds: Option<Vec<String>>,
    /// `None`: every space (a platform endpoint).
    pub space: Option<(Uuid, SpacePath)>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub kinds: Option<Option<Vec<String>>>,
    /// Enabling also forgets that it was failing.
    pub enabled: Option<bool>,
    /// Who owns it from now on (`created_by`): whoever enables it.
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRow {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub kinds: Option<Vec<String>>,
    pub space_path: Option<SpacePath>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Which secret signs: it is derived from the id and this number.
    pub generation: i64,
    /// The previous generation's secret also signs until then.
    pub previous_until: Option<OffsetDateTime>,
    /// Events after this sequence number are for it.
    pub from_seq: i64,
    pub failing_since: Option<OffsetDateTime>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl EndpointRow {
    /// Whether the event is for this endpoint: after its start, of a kind it follows,
    /// in its subtree. A `webhook.test` event goes only to the endpoint it names.
    pub fn wants(&self, e: &EventRow) -> bool {
        if e.seq <= self.from_seq {
            return false;
        }
        if e.kind == "webhook.test" {
            return e.subject.as_deref() == Some(&self.id.to_string());
        }
        if let Some(kinds) = &self.kinds
            && !kinds.iter().any(|k| k == &e.kind)
        {
            return false;
        }
        match (&self.space_path, &e.space_path) {
            (None, _) => true,
            (Some(root), Some(p)) => p.is_within(root),
            (Some(_), None) => false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_seq: i64,
    pub created_at: OffsetDateTime,
    /// Queued already taken for its first attempt, held until then (the dispatcher
    /// hands it to its own sender); `None`: due now, for any sender to claim.
    pub leased_until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_seq: i64,
    /// queued, delivered, failed or cancelled.
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRow {
    pub delivery_id: Uuid,
    pub attempt: u32,
    pub endpoint_id: Uuid,
    pub at: OffsetDateTime,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    pub latency_ms: i64,
    /// The first bytes of the answer.
    pub response: Option<String>,
    pub error: Option<String>,
}

/// The tables of this feature, for export and import (`transfer`), in an order that
/// satisfies their foreign keys.
pub(crate) const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "webhook_endpoints",
        columns: &[
            ("id", Uuid),
            ("url", Text),
            ("description", Text),
            ("kinds", Text),
            ("space_id", Uuid),
            ("space_path", Text),
            ("enabled", Bool),
            ("disabled_reason", Text),
            ("generation", Int),
            ("previous_until", Int),
            ("from_seq", Int),
            ("failing_since", Int),
            ("created_by", Text),
            ("created_at", Int),
            ("updated_at", Int),
            ("deleted_at", Int),
        ],
        key: &["id"],
        singleton: false,
    },
    TableSpec {
        name: "webhook_dispatch",
        columns: &[("id", Int), ("cursor", Int)],
        key: &["id"],
        singleton: true,
    },
    TableSpec {
        name: "webhook_deliveries",
        columns: &[
            ("id", Uuid),
            ("endpoint_id", Uuid),
            ("event_seq", Int),
            ("state", Text),
            ("attempts", Int),
            ("next_attempt_at", Int),
            ("last_error", Text),
            ("created_at", Int),
            ("delivered_at", Int),
        ],
        key: &["id"],
        singleton: false,
    },
    TableSpec {
        name: "webhook_attempts",
        columns: &[
            ("delivery_id", Uuid),
            ("attempt", Int),
            ("endpoint_id", Uuid),
            ("at", Int),
            ("status", Int),
            ("latency_ms", Int),
            ("response", Text),
            ("error", Text),
        ],
        key: &["delivery_id", "attempt"],
        singleton: false,
    },
];
