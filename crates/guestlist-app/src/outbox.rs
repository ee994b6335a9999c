//! A transactional outbox's delivery loop, written once: what is due is taken under a
//! lease (two workers, or two replicas, never attempt one item at once, and a worker
//! that dies mid-attempt leaves it to come due again when the lease ends), attempted,
//! and recorded as delivered, retried after an exponential backoff, or failed after
//! the last attempt. Delivery is at least once. The mail sender is one [`Outbox`];
//! webhook deliveries are meant to be another.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
pub use guestlist_store::DeliveryOutcome;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Result;

/// When to try again, how often, and for how long one attempt holds an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before an item is marked failed.
    pub max_attempts: u32,
    /// The first retry waits this long; each next one twice as long, up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long one attempt may hold an item before another worker may take it.
    pub lease: Duration,
    /// How often to look for due items when nothing wakes the worker.
    pub poll: Duration,
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`: base × 2^(attempt-1), capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// What attempt number `attempt` (counting from 1) came to.
    pub fn outcome(
        &self,
        attempt: u32,
        result: std::result::Result<(), String>,
    ) -> DeliveryOutcome {
        let now = OffsetDateTime::now_utc();
        match result {
            Ok(()) => DeliveryOutcome::Sent { at: now },
            Err(error) if attempt >= self.max_attempts => DeliveryOutcome::Failed { error },
            Err(error) => DeliveryOutcome::Retry {
                error,
                next_attempt_at: now + self.backoff(attempt),
            },
        }
    }
}

/// One outbox: where its items are kept and how one is delivered.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// What one attempt delivers.
    type Item: Send + Sync;
    /// For logs: `mail`, `webhook`.
    const NAME: &'static str;
    /// Items due now, oldest first, at most `limit`.
    async fn due(&self, limit: u32) -> Result<Vec<Uuid>>;
    /// Takes an item for one attempt, held for `lease`: its content and the attempt's
    /// number (counting from 1), or `None` when another worker has it or it is no
    /// longer wanted.
    async fn claim(&self, id: Uuid, lease: Duration) -> Result<Option<(Self::Item, u32)>>;
    /// One attempt; the error is what the item shows as its last error.
    async fn deliver(&self, item: &Self::Item) -> std::result::Result<(), String>;
    /// Records how the attempt went.
    async fn record(&self, id: Uuid, outcome: DeliveryOutcome) -> Result<()>;
}

/// Delivers everything due now; returns how many attempts were made.
pub async fn deliver_due<O: Outbox>(outbox: &O, policy: &RetryPolicy) -> Result<usize> {
    let mut attempts = 0;
    loop {
        let due = outbox.due(32).await?;
        if due.is_empty() {
            return Ok(attempts);
        }
        let mut claimed_any = false;
        for id in due {
            let Some((item, attempt)) = outbox.claim(id, policy.lease).await? else {
                continue;
            };
            claimed_any = true;
            attempts += 1;
            let delivered = outbox.deliver(&item).await;
            if let Err(e) = &delivered {
                tracing::warn!(outbox = O::NAME, %id, attempt, error = %e, "a delivery attempt failed");
            }
            outbox
                .record(id, policy.outcome(attempt, delivered))
                .await?;
        }
        if !claimed_any {
            // Everything due is held by another worker.
            return Ok(attempts);
        }
    }
}

/// Runs an outbox's worker until the task is aborted: delivers what is due whenever
/// `wake` is notified (a request queued an item), and at every poll interval.
pub fn spawn_worker<O: Outbox>(
    outbox: O,
    policy: RetryPolicy,
    wake: Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let poll = policy.poll.max(Duration::from_millis(10));
        loop {
            if let Err(e) = deliver_due(&outbox, &policy).await {
                tracing::warn!(outbox = O::NAME, error = %e, "the worker could not read its outbox; trying again");
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_the_last_attempt_fails() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
            lease: Duration::from_secs(1),
            poll: Duration::from_secs(1),
        };
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(4), Duration::from_millis(800));
        assert_eq!(p.backoff(5), Duration::from_millis(1_000));
        assert_eq!(p.backoff(60), Duration::from_millis(1_000));
        assert!(matches!(
            p.outcome(2, Err("x".into())),
            DeliveryOutcome::Retry { .. }
        ));
        assert!(matches!(
            p.outcome(3, Err("x".into())),
            DeliveryOutcome::Failed { .. }
        ));
        assert!(matches!(p.outcome(3, Ok(())), DeliveryOutcome::Sent { .. }));
    }
}
