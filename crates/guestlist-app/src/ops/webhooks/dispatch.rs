//! From the committed log to deliveries: the dispatcher, the sender's claims, and
//! recording attempts.

use super::*;
use crate::ops::operation;
use crate::{App, Result};
use guestlist_domain::Error;
use guestlist_domain::events::WebhookEndpointDisabled;
use guestlist_store::{
    AttemptRow, DeliveryOutcome, DeliveryRow, EndpointRow, EventRow, FeedQuery, NewDelivery, Tx,
    Visibility,
};
use std::time::Duration;
use uuid::Uuid;

/// Events fanned out per dispatcher transaction.
pub(super) const DISPATCH_BATCH: u32 = 500;

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

pub(super) struct Dispatch {
    /// How many of the new deliveries to take for this replica's sender at once.
    pub(super) hand: usize,
    pub(super) lease: time::Duration,
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

pub(super) struct DueDeliveries {
    pub(super) limit: u32,
    pub(super) busy: Vec<Uuid>,
}

operation!(DueDeliveries => Vec<(Uuid, Uuid)>, |self, tx| {
    tx.due_deliveries(crate::now(), self.limit, &self.busy).await
});

pub(super) struct ClaimDelivery {
    pub(super) id: Uuid,
    pub(super) lease: time::Duration,
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
pub(super) struct AttemptsMade {
    pub(super) attempts: Vec<Attempted>,
    pub(super) disable_after: Duration,
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
pub(super) async fn record_attempt(
    tx: &mut dyn Tx,
    a: &Attempted,
    disable_after: Duration,
) -> Result<bool> {
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

pub(super) struct QueueDepths;

operation!(QueueDepths => Vec<(Uuid, i64)>, |self, tx| { tx.queued_per_endpoint().await });

impl App {
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
    pub(super) fn outgoing(
        &self,
        d: DeliveryRow,
        ep: EndpointRow,
        event: EventRow,
    ) -> OutgoingWebhook {
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
}
