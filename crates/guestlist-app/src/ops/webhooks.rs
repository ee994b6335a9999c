//! Webhooks. Endpoints belong to a space's admins (the space and its subtree) or to
//! platform administrators (every event). The dispatcher fans the committed log out
//! into deliveries, one per event and endpoint, moving one shared cursor in the same
//! transaction, so an event is queued once however many replicas dispatch and none
//! is skipped. The sender takes deliveries through the generic outbox
//! ([`crate::outbox`]): under a lease, at least once, on the configured schedule.

use std::time::Duration;

use guestlist_domain::events::{
    EventData, InvitationExpired, WebhookEndpointCreated, WebhookEndpointDeleted,
    WebhookEndpointDisabled, WebhookEndpointUpdated, WebhookSecretRotated, WebhookTest,
};
use guestlist_domain::{Actor, Error, Permission, SpacePath};
use guestlist_store::{
    AttemptRow, DeliveryOutcome, DeliveryRow, EndpointPatch, EndpointRow, EventRow, FeedQuery,
    NewDelivery, NewEndpoint, NewEvent, Tx, Visibility,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{operation, text};
use crate::outbox::{Backoff, RetryPolicy};
use crate::scope::{Scope, event_on, subtrees_with, system_event_on};
use crate::targets::{Cidr, TargetRule};
use crate::{App, Result, paging};

/// The most events one replay queues.
pub const MAX_REPLAY: usize = 10_000;

/// Events fanned out per dispatcher transaction.
const DISPATCH_BATCH: u32 = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Whether this process dispatches and sends (the API manages endpoints either way).
    pub enabled: bool,
    /// The wait after each failed attempt in turn; attempts = waits + 1.
    pub retry_schedule: Vec<Duration>,
    pub jitter_percent: u32,
    /// One attempt's limit, connection to last byte.
    pub timeout: Duration,
    /// An endpoint failing without a success for this long is disabled.
    pub disable_after: Duration,
    /// After a rotation, the previous secret also signs for this long.
    pub rotation_overlap: Duration,
    /// Internal addresses webhooks may reach anyway.
    pub allow_targets: Vec<Cidr>,
    /// How long one attempt holds a delivery; longer than `timeout`.
    pub lease: Duration,
    /// How often the dispatcher and the sender look for work.
    pub poll: Duration,
    pub concurrency: usize,
    pub per_endpoint: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        let m = |n: u64| Duration::from_secs(60 * n);
        WebhookConfig {
            enabled: true,
            // The Standard Webhooks recommendation: immediately, then 5 s, 5 min,
            // 30 min, 2 h, 5 h, 10 h, 10 h.
            retry_schedule: vec![
                Duration::from_secs(5),
                m(5),
                m(30),
                m(120),
                m(300),
                m(600),
                m(600),
            ],
            jitter_percent: 10,
            timeout: Duration::from_secs(15),
            disable_after: Duration::from_secs(5 * 24 * 3600),
            rotation_overlap: Duration::from_secs(24 * 3600),
            allow_targets: vec![],
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(250),
            concurrency: 64,
            per_endpoint: 8,
        }
    }
}

impl WebhookConfig {
    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.retry_schedule.len() as u32 + 1,
            backoff: Backoff::Schedule(self.retry_schedule.clone()),
            jitter_percent: self.jitter_percent,
            lease: self.lease,
            poll: self.poll,
            concurrency: self.concurrency,
            per_group: self.per_endpoint,
        }
    }

    pub fn rule(&self) -> TargetRule {
        TargetRule {
            allow: self.allow_targets.clone(),
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(60) {
            return Err(Error::invalid("webhooks.timeout_secs", "1 to 60 seconds"));
        }
        if self.lease <= self.timeout {
            return Err(Error::invalid(
                "webhooks.lease_secs",
                "longer than the timeout, so an attempt keeps its delivery to the end",
            ));
        }
        if self.concurrency == 0 || self.per_endpoint == 0 {
            return Err(Error::invalid(
                "webhooks.concurrency",
                "at least one attempt at a time",
            ));
        }
        if self.jitter_percent > 100 {
            return Err(Error::invalid("webhooks.jitter_percent", "0 to 100"));
        }
        Ok(())
    }
}

/// A new endpoint. `space`: its subtree (a space admin's); `None`: every event
/// (a platform administrator's).
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: String,
    pub description: Option<String>,
    /// `None`: every kind.
    pub kinds: Option<Vec<String>>,
    pub space: Option<SpacePath>,
}

#[derive(Debug, Clone, Default)]
pub struct EndpointUpdate {
    pub url: Option<String>,
    pub description: Option<String>,
    /// `Some(None)`: every kind again.
    pub kinds: Option<Option<Vec<String>>>,
    pub enabled: Option<bool>,
}

/// An endpoint with its signing secret: answered only at creation and rotation.
#[derive(Debug, Clone)]
pub struct EndpointSecret {
    pub endpoint: EndpointRow,
    pub secret: String,
}

#[derive(Debug, Clone)]
pub struct DeliveryView {
    pub delivery: DeliveryRow,
    /// The event delivered.
    pub event_id: Option<Uuid>,
    pub event_kind: Option<String>,
    pub attempts: Vec<AttemptRow>,
}

#[derive(Debug, Clone)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `before` for older deliveries.
    pub next: Option<Uuid>,
}

/// Where a replay starts.
#[derive(Debug, Clone, Copy)]
pub enum ReplayFrom {
    Seq(i64),
    Time(OffsetDateTime),
}

#[derive(Debug, Clone)]
pub struct Replayed {
    pub queued: usize,
    /// When the replay stopped at [`MAX_REPLAY`]: replay again from here.
    pub resume_from: Option<i64>,
}

/// A delivery taken for one attempt: where, what, and the secrets that sign it (the
/// current one, and the previous one during a rotation's overlap). Never log it.
#[derive(Debug, Clone)]
pub struct OutgoingWebhook {
    pub delivery_id: Uuid,
    pub endpoint_id: Uuid,
    pub url: String,
    pub event: EventRow,
    pub secrets: Vec<String>,
    pub attempt: u32,
}

/// What the receiver answered to one attempt.
#[derive(Debug, Clone, Default)]
pub struct AttemptReport {
    pub status: Option<u16>,
    pub latency_ms: i64,
    /// The first bytes of the answer.
    pub response: Option<String>,
    pub error: Option<String>,
}

/// The one rule of who manages an endpoint: the space's admins for a space's, platform
/// administrators for a platform one. Anyone else learns nothing of it.
async fn require_owner(tx: &mut dyn Tx, actor: &Actor, space: Option<&SpacePath>) -> Result<()> {
    match space {
        None if actor.is_platform_admin() => Ok(()),
        None => Err(Error::forbidden(
            "only a platform administrator manages endpoints for every space; name a space you administer",
        )),
        Some(path) => {
            let scope = Scope::load(tx, path).await?;
            scope.require_visible(tx, actor, Permission::Admin).await?;
            Ok(())
        }
    }
}

/// An endpoint the actor manages. Outsiders learn nothing: a platform endpoint is
/// not found for anyone but a platform administrator, and a space's answers as its
/// space does (not found to strangers, forbidden to members who are not admins).
async fn owned(tx: &mut dyn Tx, actor: &Actor, id: Uuid) -> Result<EndpointRow> {
    let ep = tx.endpoint(id).await?.ok_or(Error::NotFound("webhook"))?;
    match (
        require_owner(tx, actor, ep.space_path.as_ref()).await,
        &ep.space_path,
    ) {
        (Ok(()), _) => Ok(ep),
        (Err(_), None) => Err(Error::NotFound("webhook")),
        (Err(e), Some(_)) => Err(e),
    }
}

fn kinds_of(kinds: Option<Vec<String>>) -> Result<Option<Vec<String>>> {
    let Some(kinds) = kinds else { return Ok(None) };
    if kinds.is_empty() {
        return Err(Error::invalid(
            "kinds",
            "name at least one kind, or leave kinds out for every kind",
        ));
    }
    super::events::known_kinds("kinds", &kinds)?;
    let mut out: Vec<String> = Vec::new();
    for k in kinds {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(Some(out))
}

/// The event recorded about an endpoint, on its space (or the platform).
pub(crate) async fn endpoint_event(
    tx: &mut dyn Tx,
    ep: &EndpointRow,
    actor: Option<&Actor>,
    data: impl Into<EventData>,
) -> Result<NewEvent> {
    let space = match &ep.space_path {
        Some(p) => Some(Scope::load(tx, p).await?.space),
        None => None,
    };
    let id = ep.id.to_string();
    let on = space.as_ref().map(|s| (s.id, &s.path));
    Ok(match actor {
        Some(a) => event_on(on, a, Some(&id), data),
        None => system_event_on(on, Some(&id), data),
    })
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

struct CreateEndpoint {
    actor: Actor,
    input: EndpointInput,
}

operation!(CreateEndpoint => EndpointRow, |self, tx| {
    require_owner(tx, &self.actor, self.input.space.as_ref()).await?;
    let space = match &self.input.space {
        Some(p) => {
            let s = Scope::load(tx, p).await?.space;
            Some((s.id, s.path))
        }
        None => None,
    };
    let ep = tx
        .insert_endpoint(&NewEndpoint {
            id: Uuid::now_v7(),
            url: self.input.url.clone(),
            description: self.input.description.clone().unwrap_or_default(),
            kinds: self.input.kinds.clone(),
            space,
            created_by: self.actor.label(),
            created_at: crate::now(),
        })
        .await?;
    let e = endpoint_event(tx, &ep, Some(&self.actor), WebhookEndpointCreated { host: host_of(&ep.url) }).await?;
    tx.append_event(&e).await?;
    Ok(ep)
});

struct ListEndpoints {
    actor: Actor,
}

operation!(ListEndpoints => Vec<EndpointRow>, |self, tx| {
    let visible = match subtrees_with(tx, &self.actor, Permission::Admin).await? {
        None => Visibility::All,
        Some(roots) => Visibility::Subtrees(roots),
    };
    tx.endpoints(&visible).await
});

struct GetEndpoint {
    actor: Actor,
    id: Uuid,
}

operation!(GetEndpoint => EndpointRow, |self, tx| { owned(tx, &self.actor, self.id).await });

struct UpdateEndpoint {
    actor: Actor,
    id: Uuid,
    patch: EndpointPatch,
}

operation!(UpdateEndpoint => EndpointRow, |self, tx| {
    owned(tx, &self.actor, self.id).await?;
    // Whoever enables an endpoint owns it from then on: its standing ends with their
    // rights (`ceiling::disable_endpoints_beyond`). So another admin takes over one
    // that was disabled when its owner lost the right to manage it.
    let mut patch = self.patch.clone();
    if patch.enabled == Some(true) {
        patch.owner = Some(self.actor.label());
    }
    tx.update_endpoint(self.id, &patch, crate::now()).await?;
    let ep = tx.endpoint(self.id).await?.ok_or(Error::NotFound("webhook"))?;
    let e = endpoint_event(tx, &ep, Some(&self.actor), WebhookEndpointUpdated { enabled: ep.enabled }).await?;
    tx.append_event(&e).await?;
    Ok(ep)
});

struct DeleteEndpoint {
    actor: Actor,
    id: Uuid,
}

operation!(DeleteEndpoint => (), |self, tx| {
    let ep = owned(tx, &self.actor, self.id).await?;
    tx.delete_endpoint(self.id, crate::now()).await?;
    let e = endpoint_event(tx, &ep, Some(&self.actor), WebhookEndpointDeleted {}).await?;
    tx.append_event(&e).await
});

struct RotateSecret {
    actor: Actor,
    id: Uuid,
    overlap: Duration,
}

operation!(RotateSecret => EndpointRow, |self, tx| {
    owned(tx, &self.actor, self.id).await?;
    let now = crate::now();
    let until = now + self.overlap;
    tx.rotate_endpoint(self.id, until, now).await?;
    let ep = tx.endpoint(self.id).await?.ok_or(Error::NotFound("webhook"))?;
    let e = endpoint_event(tx, &ep, Some(&self.actor), WebhookSecretRotated { previous_until: until.unix_timestamp() }).await?;
    tx.append_event(&e).await?;
    Ok(ep)
});

struct TestEndpoint {
    actor: Actor,
    id: Uuid,
}

operation!(TestEndpoint => Uuid, |self, tx| {
    let ep = owned(tx, &self.actor, self.id).await?;
    let e = endpoint_event(tx, &ep, Some(&self.actor), WebhookTest {}).await?;
    tx.append_event(&e).await?;
    Ok(e.id)
});

struct ListDeliveries {
    actor: Actor,
    id: Uuid,
    before: Option<Uuid>,
    limit: u32,
}

operation!(ListDeliveries => DeliveryPage, |self, tx| {
    owned(tx, &self.actor, self.id).await?;
    let mut rows = tx.deliveries(self.id, self.before, self.limit + 1).await?;
    let next = if rows.len() > self.limit as usize {
        rows.truncate(self.limit as usize);
        rows.last().map(|d| d.id)
    } else {
        None
    };
    let ids: Vec<Uuid> = rows.iter().map(|d| d.id).collect();
    let mut attempts = tx.attempts_of(&ids).await?;
    let mut deliveries = Vec::with_capacity(rows.len());
    for d in rows {
        let event = tx.event_by_seq(d.event_seq).await?;
        let (mine, rest): (Vec<_>, Vec<_>) = attempts.into_iter().partition(|a| a.delivery_id == d.id);
        attempts = rest;
        deliveries.push(DeliveryView {
            event_id: event.as_ref().map(|e| e.id),
            event_kind: event.map(|e| e.kind),
            delivery: d,
            attempts: mine,
        });
    }
    Ok(DeliveryPage { deliveries, next })
});

struct Redeliver {
    actor: Actor,
    endpoint: Uuid,
    delivery: Uuid,
}

operation!(Redeliver => (), |self, tx| {
    let ep = owned(tx, &self.actor, self.endpoint).await?;
    if !ep.enabled {
        return Err(Error::invalid("enabled", "the endpoint is disabled; enable it first"));
    }
    let d = tx.delivery(self.delivery).await?;
    if d.as_ref().is_none_or(|d| d.endpoint_id != self.endpoint) {
        return Err(Error::NotFound("delivery"));
    }
    tx.requeue_delivery(self.delivery, crate::now()).await?;
    Ok(())
});

struct Replay {
    actor: Actor,
    id: Uuid,
    from: ReplayFrom,
}

operation!(Replay => Replayed, |self, tx| {
    let ep = owned(tx, &self.actor, self.id).await?;
    if !ep.enabled {
        return Err(Error::invalid("enabled", "the endpoint is disabled; enable it first"));
    }
    let first = match self.from {
        ReplayFrom::Seq(s) => s,
        ReplayFrom::Time(t) => tx.first_seq_since(t).await?,
    };
    // Everything the endpoint follows since then, even from before it existed.
    let follows = EndpointRow { from_seq: 0, ..ep.clone() };
    let now = crate::now();
    let mut after = first - 1;
    let mut queued = 0;
    loop {
        let events = tx
            .events_after(&FeedQuery {
                visible: Visibility::All,
                subtree: ep.space_path.clone(),
                kinds: ep.kinds.clone().unwrap_or_default(),
                after,
                before: None,
                limit: DISPATCH_BATCH,
            })
            .await?;
        let Some(last) = events.last().map(|e| e.seq) else { break };
        for e in &events {
            if e.kind == "webhook.test" || !follows.wants(e) {
                continue;
            }
            if queued == MAX_REPLAY {
                return Ok(Replayed { queued, resume_from: Some(e.seq) });
            }
            tx.insert_delivery(&NewDelivery { id: Uuid::now_v7(), endpoint_id: ep.id, event_seq: e.seq, created_at: now, leased_until: None }).await?;
            queued += 1;
        }
        after = last;
    }
    Ok(Replayed { queued, resume_from: None })
});

struct Dispatch {
    /// How many of the new deliveries to take for this replica's sender at once.
    hand: usize,
    lease: time::Duration,
}

/// What one dispatch did: events read, deliveries queued, and those of them taken
/// for this replica's sender (first attempts that need no claim).
#[derive(Debug)]
pub struct Dispatched<T> {
    pub read: usize,
    pub queued: usize,
    pub handed: Vec<T>,
}

impl<T> Default for Dispatched<T> {
    fn default() -> Self {
        Dispatched {
            read: 0,
            queued: 0,
            handed: vec![],
        }
    }
}

operation!(Dispatch => Dispatched<(DeliveryRow, EndpointRow, EventRow)>, |self, tx| {
    let cursor = tx.dispatch_cursor().await?;
    let events = tx
        .events_after(&FeedQuery {
            visible: Visibility::All,
            subtree: None,
            kinds: vec![],
            after: cursor,
            before: None,
            limit: DISPATCH_BATCH,
        })
        .await?;
    let Some(last) = events.last().map(|e| e.seq) else { return Ok(Dispatched::default()) };
    // Taking the cursor first: a second dispatcher waits here, then finds it moved
    // and writes nothing.
    if !tx.advance_dispatch(cursor, last).await? {
        return Ok(Dispatched::default());
    }
    let endpoints = tx.enabled_endpoints().await?;
    let now = crate::now();
    let mut done = Dispatched { read: events.len(), ..Default::default() };
    for e in events {
        for ep in endpoints.iter().filter(|ep| ep.wants(&e)) {
            let hand = done.handed.len() < self.hand;
            let d = NewDelivery {
                id: Uuid::now_v7(),
                endpoint_id: ep.id,
                event_seq: e.seq,
                created_at: now,
                leased_until: hand.then(|| now + self.lease),
            };
            tx.insert_delivery(&d).await?;
            done.queued += 1;
            if hand {
                let row = DeliveryRow {
                    id: d.id,
                    endpoint_id: ep.id,
                    event_seq: e.seq,
                    state: "queued".into(),
                    attempts: 1,
                    next_attempt_at: now + self.lease,
                    last_error: None,
                    created_at: now,
                    delivered_at: None,
                };
                done.handed.push((row, ep.clone(), e.clone()));
            }
        }
    }
    Ok(done)
});

struct DueDeliveries {
    limit: u32,
    busy: Vec<Uuid>,
}

operation!(DueDeliveries => Vec<(Uuid, Uuid)>, |self, tx| {
    tx.due_deliveries(crate::now(), self.limit, &self.busy).await
});

struct ClaimDelivery {
    id: Uuid,
    lease: time::Duration,
}

operation!(ClaimDelivery => Option<(DeliveryRow, EndpointRow, EventRow)>, |self, tx| {
    let now = crate::now();
    if !tx.claim_delivery(self.id, now, now + self.lease).await? {
        return Ok(None);
    }
    let d = tx.delivery(self.id).await?.ok_or(Error::NotFound("delivery"))?;
    let ep = tx.endpoint(d.endpoint_id).await?;
    let event = tx.event_by_seq(d.event_seq).await?;
    match (ep, event) {
        (Some(ep), Some(event)) if ep.enabled => Ok(Some((d, ep, event))),
        _ => {
            tx.finish_delivery(self.id, &DeliveryOutcome::Cancelled).await?;
            Ok(None)
        }
    }
});

/// One attempt's record.
#[derive(Debug)]
pub struct Attempted {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub attempt: u32,
    pub outcome: DeliveryOutcome,
    pub report: AttemptReport,
}

/// Attempts recorded together, in one transaction.
struct AttemptsMade {
    attempts: Vec<Attempted>,
    disable_after: Duration,
}

operation!(AttemptsMade => (), |self, tx| {
    // An endpoint that delivered is marked as succeeding once per batch, not per
    // attempt; but before a later failure of its own, so that the failure starts
    // its failing period.
    let mut succeeded: Vec<Uuid> = vec![];
    for a in &self.attempts {
        let sent = matches!(a.outcome, DeliveryOutcome::Sent { .. });
        if !sent && let Some(i) = succeeded.iter().position(|e| *e == a.endpoint_id) {
            tx.endpoint_succeeded(succeeded.swap_remove(i)).await?;
        }
        if record_attempt(tx, a, self.disable_after).await? && !succeeded.contains(&a.endpoint_id) {
            succeeded.push(a.endpoint_id);
        }
    }
    for endpoint in succeeded {
        tx.endpoint_succeeded(endpoint).await?;
    }
    Ok(())
});

/// Records an attempt: the delivery's outcome, the receiver's answer, and what it
/// means for the endpoint (410, or failing too long, disables it); whether it
/// delivered (the caller marks the endpoint as succeeding).
async fn record_attempt(tx: &mut dyn Tx, a: &Attempted, disable_after: Duration) -> Result<bool> {
    let now = crate::now();
    let endpoint_id = a.endpoint_id;
    tx.insert_attempt(&AttemptRow {
        delivery_id: a.id,
        attempt: a.attempt,
        endpoint_id,
        at: now,
        status: a.report.status,
        latency_ms: a.report.latency_ms,
        response: a.report.response.clone(),
        error: a.report.error.clone(),
    })
    .await?;
    tx.finish_delivery(a.id, &a.outcome).await?;
    let reason = match &a.outcome {
        DeliveryOutcome::Sent { .. } => return Ok(true),
        DeliveryOutcome::Cancelled => None,
        _ if a.report.status == Some(410) => Some("gone"),
        _ => {
            let since = tx.endpoint_failing(endpoint_id, now).await?;
            (now - since >= disable_after).then_some("failing")
        }
    };
    if let Some(reason) = reason {
        let message = match reason {
            "gone" => "the receiver answered 410 Gone",
            _ => "the receiver failed continuously for the configured period",
        };
        if tx.disable_endpoint(endpoint_id, message, now).await?
            && let Some(ep) = tx.endpoint(endpoint_id).await?
        {
            let e = endpoint_event(
                tx,
                &ep,
                None,
                WebhookEndpointDisabled {
                    reason: reason.to_owned(),
                    owner: None,
                },
            )
            .await?;
            tx.append_event(&e).await?;
        }
    }
    Ok(false)
}

struct QueueDepths;

operation!(QueueDepths => Vec<(Uuid, i64)>, |self, tx| { tx.queued_per_endpoint().await });

struct SweepExpired {
    limit: u32,
}

operation!(SweepExpired => u32, |self, tx| {
    let now = crate::now();
    let mut told = 0;
    for i in tx.untold_expired_invitations(now, self.limit).await? {
        if !tx.tell_invitation_expired(i.id, now).await? {
            continue;
        }
        let e = system_event_on(
            Some((i.space_id, &i.space_path)),
            i.addressee.user_id.as_ref().map(|u| u.as_str()),
            InvitationExpired { invitation_id: i.id, role: i.role.clone(), expires_at: i.expires_at.unix_timestamp() },
        );
        tx.append_event(&e).await?;
        told += 1;
    }
    Ok(told)
});

impl App {
    fn webhook_config(&self) -> &WebhookConfig {
        &self.0.config.webhooks
    }

    fn secret_of(&self, ep: &EndpointRow) -> String {
        self.0.keys.webhook_secret(ep.id, ep.generation)
    }

    /// Registers an endpoint; the answer holds its signing secret, shown this once.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        input: EndpointInput,
    ) -> Result<EndpointSecret> {
        let url = self
            .webhook_config()
            .rule()
            .check("url", input.url.trim())
            .await?;
        let input = EndpointInput {
            url: url.to_string(),
            description: text("description", input.description.as_deref(), 500)?,
            kinds: kinds_of(input.kinds)?,
            space: input.space,
        };
        let endpoint = self
            .store_ref()
            .write(CreateEndpoint {
                actor: actor.clone(),
                input,
            })
            .await?;
        Ok(EndpointSecret {
            secret: self.secret_of(&endpoint),
            endpoint,
        })
    }

    /// The endpoints the actor manages, oldest first.
    pub async fn list_webhooks(&self, actor: &Actor) -> Result<Vec<EndpointRow>> {
        self.store_ref()
            .read(ListEndpoints {
                actor: actor.clone(),
            })
            .await
    }

    pub async fn get_webhook(&self, actor: &Actor, id: Uuid) -> Result<EndpointRow> {
        self.store_ref()
            .read(GetEndpoint {
                actor: actor.clone(),
                id,
            })
            .await
    }

    pub async fn update_webhook(
        &self,
        actor: &Actor,
        id: Uuid,
        update: EndpointUpdate,
    ) -> Result<EndpointRow> {
        let url = match &update.url {
            Some(u) => Some(
                self.webhook_config()
                    .rule()
                    .check("url", u.trim())
                    .await?
                    .to_string(),
            ),
            None => None,
        };
        let patch = EndpointPatch {
            url,
            description: match &update.description {
                Some(d) => Some(text("description", Some(d), 500)?.unwrap_or_default()),
                None => None,
            },
            kinds: match update.kinds {
                Some(k) => Some(kinds_of(k)?),
                None => None,
            },
            enabled: update.enabled,
            owner: None,
        };
        self.store_ref()
            .write(UpdateEndpoint {
                actor: actor.clone(),
                id,
                patch,
            })
            .await
    }

    pub async fn delete_webhook(&self, actor: &Actor, id: Uuid) -> Result<()> {
        self.store_ref()
            .write(DeleteEndpoint {
                actor: actor.clone(),
                id,
            })
            .await
    }

    /// A new signing secret, shown this once; the previous one also signs for the
    /// configured overlap.
    pub async fn rotate_webhook_secret(&self, actor: &Actor, id: Uuid) -> Result<EndpointSecret> {
        let endpoint = self
            .store_ref()
            .write(RotateSecret {
                actor: actor.clone(),
                id,
                overlap: self.webhook_config().rotation_overlap,
            })
            .await?;
        Ok(EndpointSecret {
            secret: self.secret_of(&endpoint),
            endpoint,
        })
    }

    /// Records a `webhook.test` event for this endpoint alone; its id.
    pub async fn test_webhook(&self, actor: &Actor, id: Uuid) -> Result<Uuid> {
        self.store_ref()
            .write(TestEndpoint {
                actor: actor.clone(),
                id,
            })
            .await
    }

    /// An endpoint's deliveries, newest first, each with its attempts.
    pub async fn webhook_deliveries(
        &self,
        actor: &Actor,
        id: Uuid,
        before: Option<Uuid>,
        limit: Option<u32>,
    ) -> Result<DeliveryPage> {
        let limit = paging::page_size(limit)?;
        self.store_ref()
            .read(ListDeliveries {
                actor: actor.clone(),
                id,
                before,
                limit,
            })
            .await
    }

    /// Queues a delivery again now.
    pub async fn redeliver_webhook(
        &self,
        actor: &Actor,
        endpoint: Uuid,
        delivery: Uuid,
    ) -> Result<()> {
        self.store_ref()
            .write(Redeliver {
                actor: actor.clone(),
                endpoint,
                delivery,
            })
            .await
    }

    /// Queues every event the endpoint follows since a sequence number or a time.
    pub async fn replay_webhook(
        &self,
        actor: &Actor,
        id: Uuid,
        from: ReplayFrom,
    ) -> Result<Replayed> {
        if let ReplayFrom::Seq(s) = from
            && s < 1
        {
            return Err(Error::invalid(
                "since_seq",
                "a positive event sequence number",
            ));
        }
        self.store_ref()
            .write(Replay {
                actor: actor.clone(),
                id,
                from,
            })
            .await
    }

    /// Fans out what the log gained since the last call, taking up to `hand` of the
    /// new deliveries for the caller's sender, leased for `lease` (their first
    /// attempt needs no claim). Any number of replicas may call it at once.
    pub async fn dispatch_webhooks(
        &self,
        hand: usize,
        lease: Duration,
    ) -> Result<Dispatched<OutgoingWebhook>> {
        let lease = time::Duration::try_from(lease).map_err(Error::internal)?;
        let done = self.store_ref().write(Dispatch { hand, lease }).await?;
        Ok(Dispatched {
            read: done.read,
            queued: done.queued,
            handed: done
                .handed
                .into_iter()
                .map(|(d, ep, event)| self.outgoing(d, ep, event))
                .collect(),
        })
    }

    /// Deliveries due now, with their endpoints, none of the `busy` endpoints.
    pub async fn due_webhooks(&self, limit: u32, busy: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>> {
        self.store_ref()
            .read(DueDeliveries {
                limit,
                busy: busy.to_vec(),
            })
            .await
    }

    /// Takes a due delivery for one attempt, held for `lease`; `None` when another
    /// sender has it or it is no longer wanted (the endpoint was disabled or deleted).
    pub async fn claim_webhook(
        &self,
        id: Uuid,
        lease: Duration,
    ) -> Result<Option<OutgoingWebhook>> {
        let lease = time::Duration::try_from(lease).map_err(Error::internal)?;
        Ok(self
            .store_ref()
            .write(ClaimDelivery { id, lease })
            .await?
            .map(|(d, ep, event)| self.outgoing(d, ep, event)))
    }

    /// What an attempt sends: the delivery with its endpoint's URL and live secrets.
    fn outgoing(&self, d: DeliveryRow, ep: EndpointRow, event: EventRow) -> OutgoingWebhook {
        let mut secrets = vec![self.secret_of(&ep)];
        if ep.previous_until.is_some_and(|t| t > crate::now()) {
            secrets.push(self.0.keys.webhook_secret(ep.id, ep.generation - 1));
        }
        OutgoingWebhook {
            delivery_id: d.id,
            endpoint_id: ep.id,
            url: ep.url,
            event,
            secrets,
            attempt: d.attempts,
        }
    }

    /// Records attempts, together in one transaction.
    pub async fn webhooks_attempted(&self, attempts: Vec<Attempted>) -> Result<()> {
        let disable_after = self.webhook_config().disable_after;
        self.store_ref()
            .write(AttemptsMade {
                attempts,
                disable_after,
            })
            .await
    }

    /// Queued deliveries per endpoint.
    pub async fn webhook_queue_depths(&self) -> Result<Vec<(Uuid, i64)>> {
        self.store_ref().read(QueueDepths).await
    }

    /// Tells each invitation that lapsed unanswered, once (`invitation.expired`).
    pub async fn sweep_expired_invitations(&self) -> Result<u32> {
        self.store_ref().write(SweepExpired { limit: 500 }).await
    }

    /// The webhook settings this process runs with.
    pub fn webhook_settings(&self) -> &WebhookConfig {
        self.webhook_config()
    }
}
