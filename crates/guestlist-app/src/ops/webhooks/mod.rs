//! Webhooks. Endpoints belong to a space's admins (the space and its subtree) or to
//! platform administrators (every event). The dispatcher fans the committed log out
//! into deliveries, one per event and endpoint, moving one shared cursor in the same
//! transaction, so an event is queued once however many replicas dispatch and none
//! is skipped. The sender takes deliveries through the generic outbox
//! ([`crate::outbox`]): under a lease, at least once, on the configured schedule.

mod deliveries;
mod dispatch;
mod endpoints;
mod expiry;

pub use deliveries::*;
pub use dispatch::*;

use crate::outbox::{Backoff, RetryPolicy};
use crate::scope::{Scope, event_on, system_event_on};
use crate::targets::{Cidr, TargetRule};
use crate::{App, Result};
use guestlist_domain::events::EventData;
use guestlist_domain::{Actor, Error, Permission, SpacePath};
use guestlist_store::{EndpointRow, NewEvent, Tx};
use std::time::Duration;
use uuid::Uuid;

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

impl App {
    fn webhook_config(&self) -> &WebhookConfig {
        &self.0.config.webhooks
    }

    fn secret_of(&self, ep: &EndpointRow) -> String {
        self.0.keys.webhook_secret(ep.id, ep.generation)
    }

    /// The webhook settings this process runs with.
    pub fn webhook_settings(&self) -> &WebhookConfig {
        self.webhook_config()
    }
}
