//! A transactional outbox's delivery loop, written once: what is due is taken under a
//! lease (two workers, or two replicas, never attempt one item at once, and a worker
//! that dies mid-attempt leaves it to come due again when the lease ends), attempted,
//! and recorded as delivered, retried after an exponential backoff, or failed after
//! the last attempt. Delivery is at least once. The mail sender is one [`Outbox`];
//! webhook deliveries are meant to be another.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
pub use guestlist_store::DeliveryOutcome;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Result;

/// How long to wait after each failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backoff {
    /// `base` × 2^(attempt-1), up to `max`.
    Exponential { base: Duration, max: Duration },
    /// The wait after the first failed attempt, the second, …; past its end, the
    /// last wait again.
    Schedule(Vec<Duration>),
}

/// When to try again, how often, how many at once, and for how long one attempt
/// holds an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before an item is marked failed.
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// Up to this percentage of each wait is added at random, so that items that
    /// failed together do not all come back together.
    pub jitter_percent: u32,
    /// How long one attempt may hold an item before another worker may take it.
    pub lease: Duration,
    /// How often to look for due items when nothing wakes the worker.
    pub poll: Duration,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// Attempts in flight at once for one group (one receiver), so that a receiver
    /// that hangs holds no more than this many of the worker's slots.
    pub per_group: usize,
}

/// Why an attempt did not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What the item shows as its last error.
    pub error: String,
    /// The receiver asked to be left alone this long (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// Trying again cannot help: the item fails now.
    pub permanent: bool,
}

impl From<String> for Failure {
    fn from(error: String) -> Self {
        Failure {
            error,
            retry_after: None,
            permanent: false,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`, without jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        match &self.backoff {
            Backoff::Exponential { base, max } => {
                let factor = 1u32 << attempt.saturating_sub(1).min(20);
                base.checked_mul(factor).unwrap_or(*max).min(*max)
            }
            Backoff::Schedule(waits) => {
                let i = (attempt.max(1) as usize - 1).min(waits.len().saturating_sub(1));
                waits.get(i).copied().unwrap_or_default()
            }
        }
    }

    /// The wait with its random share added.
    fn jittered(&self, wait: Duration) -> Duration {
        if self.jitter_percent == 0 || wait.is_zero() {
            return wait;
        }
        let mut b = [0u8; 4];
        let r = match getrandom::fill(&mut b) {
            Ok(()) => u32::from_le_bytes(b),
            Err(_) => 0,
        };
        let share = f64::from(r) / f64::from(u32::MAX) * f64::from(self.jitter_percent) / 100.0;
        wait + wait.mul_f64(share)
    }

    /// What attempt number `attempt` (counting from 1) came to.
    pub fn outcome(
        &self,
        attempt: u32,
        result: std::result::Result<(), Failure>,
    ) -> DeliveryOutcome {
        let now = OffsetDateTime::now_utc();
        match result {
            Ok(()) => DeliveryOutcome::Sent { at: now },
            Err(f) if f.permanent || attempt >= self.max_attempts => {
                DeliveryOutcome::Failed { error: f.error }
            }
            Err(f) => {
                let wait = self
                    .jittered(self.backoff(attempt))
                    .max(f.retry_after.unwrap_or_default());
                DeliveryOutcome::Retry {
                    error: f.error,
                    next_attempt_at: now + wait,
                }
            }
        }
    }
}

/// An item due for an attempt, and the group (receiver) it goes to, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub id: Uuid,
    pub group: Option<Uuid>,
}

/// One outbox: where its items are kept and how one is delivered.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// What one attempt delivers.
    type Item: Send + Sync;
    /// What an attempt tells the outbox besides its outcome (a receiver's answer).
    type Report: Send;
    /// For logs: `mail`, `webhook`.
    const NAME: &'static str;
    /// Items due now, oldest first, at most `limit`, none of the `busy` groups.
    async fn due(&self, limit: u32, busy: &[Uuid]) -> Result<Vec<Due>>;
    /// Takes an item for one attempt, held for `lease`: its content and the attempt's
    /// number (counting from 1), or `None` when another worker has it or it is no
    /// longer wanted.
    async fn claim(&self, id: Uuid, lease: Duration) -> Result<Option<(Self::Item, u32)>>;
    /// One attempt.
    async fn deliver(&self, item: &Self::Item) -> (std::result::Result<(), Failure>, Self::Report);
    /// Records how the attempt went.
    async fn record(&self, id: Uuid, outcome: DeliveryOutcome, report: Self::Report) -> Result<()>;
    /// Records how several attempts went; an outbox whose store can do it in one
    /// transaction says so here.
    async fn record_many(&self, made: Vec<Made<Self::Report>>) -> Result<()> {
        for m in made {
            self.record(m.id, m.outcome, m.report).await?;
        }
        Ok(())
    }
}

/// An attempt made, to be recorded.
#[derive(Debug)]
pub struct Made<R> {
    pub id: Uuid,
    pub outcome: DeliveryOutcome,
    pub report: R,
}

/// An item already taken for this worker (queued leased, as a dispatcher does for
/// first attempts): it is attempted without a claim.
#[derive(Debug)]
pub struct Handed<I> {
    pub due: Due,
    pub item: I,
    pub attempt: u32,
}

/// Attempts recorded in one call at most.
const RECORD_BATCH: usize = 64;

/// Attempts an item taken already.
async fn attempt<O: Outbox>(
    outbox: &O,
    policy: &RetryPolicy,
    id: Uuid,
    item: O::Item,
    attempt: u32,
) -> Made<O::Report> {
    let (delivered, report) = outbox.deliver(&item).await;
    if let Err(f) = &delivered {
        tracing::warn!(outbox = O::NAME, %id, attempt, error = %f.error, "a delivery attempt failed");
    }
    Made {
        id,
        outcome: policy.outcome(attempt, delivered),
        report,
    }
}

/// Claims, attempts and records one item; whether it was claimed.
async fn attempt_one<O: Outbox>(outbox: &O, policy: &RetryPolicy, id: Uuid) -> Result<bool> {
    let Some((item, n)) = outbox.claim(id, policy.lease).await? else {
        return Ok(false);
    };
    let m = attempt(outbox, policy, id, item, n).await;
    outbox.record(m.id, m.outcome, m.report).await?;
    Ok(true)
}

/// Delivers everything due now, one at a time; returns how many attempts were made.
pub async fn deliver_due<O: Outbox>(outbox: &O, policy: &RetryPolicy) -> Result<usize> {
    let mut attempts = 0;
    loop {
        let due = outbox.due(32, &[]).await?;
        if due.is_empty() {
            return Ok(attempts);
        }
        let mut claimed_any = false;
        for d in due {
            if attempt_one(outbox, policy, d.id).await? {
                claimed_any = true;
                attempts += 1;
            }
        }
        if !claimed_any {
            // Everything due is held by another worker.
            return Ok(attempts);
        }
    }
}

/// Items waiting to start, one lane per group (receiver), each oldest first: the
/// next to start is the oldest head among the lanes whose group has room, found by
/// looking at each lane once, not at every item (a receiver at its cap may have a
/// long lane, and the worker looks for something to start after every attempt).
struct Lanes<T> {
    lanes: HashMap<Option<Uuid>, VecDeque<(u64, T)>>,
    /// Arrival numbers: what "oldest" compares.
    next: u64,
    len: usize,
}

impl<T> Lanes<T> {
    fn new() -> Self {
        Lanes {
            lanes: HashMap::new(),
            next: 0,
            len: 0,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, group: Option<Uuid>, item: T) {
        self.lanes
            .entry(group)
            .or_default()
            .push_back((self.next, item));
        self.next += 1;
        self.len += 1;
    }

    /// Takes the oldest item whose group is not `full`.
    fn pop(&mut self, full: impl Fn(Uuid) -> bool) -> Option<T> {
        let group = self
            .lanes
            .iter()
            .filter(|(g, lane)| !lane.is_empty() && !g.is_some_and(&full))
            .min_by_key(|(_, lane)| lane.front().map(|(n, _)| *n))
            .map(|(g, _)| *g)?;
        let lane = self.lanes.get_mut(&group)?;
        let (_, item) = lane.pop_front()?;
        if lane.is_empty() {
            self.lanes.remove(&group);
        }
        self.len -= 1;
        Some(item)
    }

    fn clear(&mut self) {
        self.lanes.clear();
        self.len = 0;
    }
}

/// Runs an outbox's worker until the task is aborted: keeps up to
/// `policy.concurrency` attempts in flight (`per_group` per receiver). Items `handed`
/// to it already taken start first; what else is due is read in batches into a local
/// queue and started as slots and groups free up, after its claim (an item another
/// worker took meanwhile is skipped there). The outbox is read again when that queue
/// has nothing it may start (and at least at every poll interval, or when `wake` is
/// notified: a request queued an item). Outcomes are recorded in batches by a task of
/// their own, so that a busy store pays one transaction for many attempts; until an
/// outcome is recorded the item's lease holds it, and if the process dies first the
/// lease lapses and the item is attempted again (at least once).
pub fn spawn_worker<O: Outbox>(
    outbox: O,
    policy: RetryPolicy,
    wake: Arc<tokio::sync::Notify>,
    mut handed: Option<tokio::sync::mpsc::Receiver<Handed<O::Item>>>,
) -> tokio::task::JoinHandle<()> {
    let outbox = Arc::new(outbox);
    let policy = Arc::new(policy);
    let slots = policy.concurrency.max(1);
    let (made_tx, made_rx) = tokio::sync::mpsc::channel::<Made<O::Report>>(slots * 2);
    tokio::spawn(record_made(outbox.clone(), made_rx));
    tokio::spawn(async move {
        let poll = policy.poll.max(Duration::from_millis(10));
        let cap = policy.per_group.max(1);
        let mut running = tokio::task::JoinSet::new();
        let mut in_flight: HashMap<Uuid, Option<Uuid>> = HashMap::new();
        let mut per_group: HashMap<Uuid, usize> = HashMap::new();
        let mut ready: Lanes<Handed<O::Item>> = Lanes::new();
        let mut queue: Lanes<Due> = Lanes::new();
        let mut queued: HashSet<Uuid> = HashSet::new();
        let mut may_read = true;
        // Whether the last read found as many as it asked for, and the groups it
        // passed over as busy: a completion reads again only then, so that a backlog
        // of busy receivers is not scanned after every attempt.
        let mut last_full = false;
        let mut passed_over: HashSet<Uuid> = HashSet::new();
        // A timer of its own, so that a steady stream of completions does not keep
        // postponing it.
        let mut tick = tokio::time::interval(poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let full = |per_group: &HashMap<Uuid, usize>, g: Uuid| {
            per_group.get(&g).copied().unwrap_or(0) >= cap
        };
        loop {
            // Start what was handed over, then what the queue holds, oldest first,
            // within the caps.
            while in_flight.len() < slots {
                let Some(h) = ready.pop(|g| full(&per_group, g)) else {
                    break;
                };
                in_flight.insert(h.due.id, h.due.group);
                if let Some(g) = h.due.group {
                    *per_group.entry(g).or_default() += 1;
                }
                let (outbox, policy, made) = (outbox.clone(), policy.clone(), made_tx.clone());
                running.spawn(async move {
                    let m = attempt(&*outbox, &policy, h.due.id, h.item, h.attempt).await;
                    let _ = made.send(m).await;
                    (h.due.id, Ok(()))
                });
            }
            while in_flight.len() < slots {
                let Some(d) = queue.pop(|g| full(&per_group, g)) else {
                    break;
                };
                queued.remove(&d.id);
                in_flight.insert(d.id, d.group);
                if let Some(g) = d.group {
                    *per_group.entry(g).or_default() += 1;
                }
                let (outbox, policy, made) = (outbox.clone(), policy.clone(), made_tx.clone());
                running.spawn(async move {
                    let r = match outbox.claim(d.id, policy.lease).await {
                        Ok(Some((item, n))) => {
                            let m = attempt(&*outbox, &policy, d.id, item, n).await;
                            let _ = made.send(m).await;
                            Ok(())
                        }
                        Ok(None) => Ok(()),
                        Err(e) => Err(e),
                    };
                    (d.id, r)
                });
            }
            // Nothing here may start and a slot is free: read what is due.
            if may_read && in_flight.len() < slots {
                let busy: Vec<Uuid> = per_group
                    .iter()
                    .filter(|(_, n)| **n >= cap)
                    .map(|(g, _)| *g)
                    .collect();
                let limit = (slots * 4) as u32;
                passed_over = busy.iter().copied().collect();
                match outbox.due(limit, &busy).await {
                    Ok(due) => {
                        last_full = due.len() as u32 >= limit;
                        let before = queue.len();
                        for d in due {
                            if !in_flight.contains_key(&d.id) && queued.insert(d.id) {
                                queue.push(d.group, d);
                            }
                        }
                        if queue.len() > before {
                            continue;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(outbox = O::NAME, error = %e, "the worker could not read its outbox; trying again");
                    }
                }
                may_read = false;
            }
            tokio::select! {
                Some(done) = running.join_next(), if !running.is_empty() => {
                    match done {
                        Ok((id, r)) => {
                            if let Err(e) = r {
                                tracing::warn!(outbox = O::NAME, error = %e, "the worker could not claim an item");
                            }
                            if let Some(Some(g)) = in_flight.remove(&id)
                                && let Some(n) = per_group.get_mut(&g)
                            {
                                *n -= 1;
                                if *n == 0 {
                                    per_group.remove(&g);
                                }
                                // The last read passed this group over as busy: what
                                // it has due may start now.
                                if passed_over.remove(&g) {
                                    may_read = true;
                                }
                            }
                            // The queue ran dry after a full read: more may be due.
                            if queue.is_empty() && last_full {
                                may_read = true;
                            }
                        }
                        Err(e) => {
                            // A panicked attempt: its lease lapses and it comes due again.
                            tracing::error!(outbox = O::NAME, error = %e, "a delivery attempt panicked");
                            in_flight.clear();
                            per_group.clear();
                            running.abort_all();
                            may_read = true;
                        }
                    }
                }
                // Taken only while few wait, so that a dispatcher that finds the
                // channel full leaves the rest in the outbox for any worker.
                Some(h) = async { handed.as_mut()?.recv().await }, if ready.len() < slots => {
                    ready.push(h.due.group, h);
                }
                _ = wake.notified() => may_read = true,
                _ = tick.tick() => {
                    // Forget what the queue held (another worker may have taken it) and
                    // read afresh.
                    queue.clear();
                    queued.clear();
                    may_read = true;
                }
            }
        }
    })
}

/// Records attempts as they are made, as many together as have arrived (up to
/// [`RECORD_BATCH`]); ends when the worker and its attempts are gone and all is
/// recorded.
async fn record_made<O: Outbox>(
    outbox: Arc<O>,
    mut made: tokio::sync::mpsc::Receiver<Made<O::Report>>,
) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while made.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        let n = batch.len();
        if let Err(e) = outbox.record_many(std::mem::take(&mut batch)).await {
            // Their leases lapse and they are attempted again.
            tracing::warn!(outbox = O::NAME, error = %e, attempts = n, "the worker could not record attempts");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_the_last_attempt_fails() {
        let p = RetryPolicy {
            max_attempts: 3,
            backoff: Backoff::Exponential {
                base: Duration::from_millis(100),
                max: Duration::from_millis(1_000),
            },
            jitter_percent: 0,
            lease: Duration::from_secs(1),
            poll: Duration::from_secs(1),
            concurrency: 1,
            per_group: 1,
        };
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(4), Duration::from_millis(800));
        assert_eq!(p.backoff(5), Duration::from_millis(1_000));
        assert_eq!(p.backoff(60), Duration::from_millis(1_000));
        assert!(matches!(
            p.outcome(2, Err(String::from("x").into())),
            DeliveryOutcome::Retry { .. }
        ));
        assert!(matches!(
            p.outcome(3, Err(String::from("x").into())),
            DeliveryOutcome::Failed { .. }
        ));
        assert!(matches!(p.outcome(3, Ok(())), DeliveryOutcome::Sent { .. }));
    }

    #[test]
    fn lanes_start_the_oldest_item_whose_receiver_has_room() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut lanes = Lanes::new();
        lanes.push(Some(a), "a1");
        lanes.push(Some(b), "b1");
        lanes.push(Some(a), "a2");
        lanes.push(None, "n1");
        lanes.push(Some(b), "b2");
        assert_eq!(lanes.len(), 5);
        assert_eq!(lanes.pop(|_| false), Some("a1"));
        // a is at its cap: b's and the ungrouped items pass a2 by, oldest first.
        assert_eq!(lanes.pop(|g| g == a), Some("b1"));
        assert_eq!(lanes.pop(|g| g == a), Some("n1"));
        assert_eq!(lanes.pop(|g| g == a), Some("b2"));
        assert_eq!(lanes.pop(|g| g == a), None);
        assert_eq!(lanes.len(), 1);
        assert_eq!(lanes.pop(|_| false), Some("a2"));
        assert!(lanes.is_empty());
        lanes.push(Some(a), "a3");
        lanes.clear();
        assert!(lanes.is_empty() && lanes.pop(|_| false).is_none());
    }

    fn schedule(ms: &[u64], jitter_percent: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts: ms.len() as u32 + 1,
            backoff: Backoff::Schedule(ms.iter().map(|m| Duration::from_millis(*m)).collect()),
            jitter_percent,
            lease: Duration::from_secs(1),
            poll: Duration::from_secs(1),
            concurrency: 4,
            per_group: 2,
        }
    }

    #[test]
    fn a_schedule_is_followed_with_its_jitter_and_retry_after_and_a_permanent_failure_ends_it() {
        let p = schedule(&[5_000, 300_000, 1_800_000], 10);
        assert_eq!(p.backoff(1), Duration::from_secs(5));
        assert_eq!(p.backoff(3), Duration::from_secs(1_800));
        assert_eq!(p.backoff(9), Duration::from_secs(1_800));
        for _ in 0..50 {
            let j = p.jittered(Duration::from_secs(100));
            assert!(
                j >= Duration::from_secs(100) && j <= Duration::from_secs(110),
                "{j:?}"
            );
        }
        let before = OffsetDateTime::now_utc();
        let slow = Failure {
            error: "429".into(),
            retry_after: Some(Duration::from_secs(600)),
            permanent: false,
        };
        match p.outcome(1, Err(slow)) {
            DeliveryOutcome::Retry {
                next_attempt_at, ..
            } => {
                assert!(next_attempt_at - before >= time::Duration::seconds(600))
            }
            other => panic!("{other:?}"),
        }
        let gone = Failure {
            error: "410".into(),
            retry_after: None,
            permanent: true,
        };
        assert!(matches!(
            p.outcome(1, Err(gone)),
            DeliveryOutcome::Failed { .. }
        ));
        assert!(matches!(
            p.outcome(4, Err(String::from("x").into())),
            DeliveryOutcome::Failed { .. }
        ));
    }
}
