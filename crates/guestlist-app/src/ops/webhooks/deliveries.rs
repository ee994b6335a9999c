//! What an endpoint was sent: its deliveries, redelivering one, replaying a range.

use super::*;
use crate::ops::operation;
use crate::{App, Result, paging};
use guestlist_domain::{Actor, Error};
use guestlist_store::{AttemptRow, DeliveryRow, EndpointRow, FeedQuery, NewDelivery, Visibility};
use time::OffsetDateTime;
use uuid::Uuid;

/// The most events one replay queues.
pub const MAX_REPLAY: usize = 10_000;

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

pub(super) struct ListDeliveries {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
    pub(super) before: Option<Uuid>,
    pub(super) limit: u32,
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

pub(super) struct Redeliver {
    pub(super) actor: Actor,
    pub(super) endpoint: Uuid,
    pub(super) delivery: Uuid,
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

pub(super) struct Replay {
    pub(super) actor: Actor,
    pub(super) id: Uuid,
    pub(super) from: ReplayFrom,
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

impl App {
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
}
