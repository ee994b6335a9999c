//! Webhooks leave here: the settings, the dispatcher loop that fans the log out into
//! deliveries, and the sender, the generic outbox worker over the deliveries. Each
//! attempt is a POST in the Standard Webhooks format (`webhook-id` = the event's id on
//! every attempt, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`,
//! one signature per live secret during a rotation), signed by the `standardwebhooks`
//! crate, through a client that follows no redirect, uses no proxy, gives up after the
//! timeout and connects only where the target rule allows after resolution.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use guestlist_app::domain::SettingError;
use guestlist_app::outbox::{self, DeliveryOutcome, Due, Failure, Handed, Made, Outbox};
use guestlist_app::targets::{Cidr, GuardedResolver};
use guestlist_app::{App, AttemptReport, Attempted, OutgoingWebhook, WebhookConfig};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// `[webhooks]` in the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Dispatch and send from this process.
    pub enabled: bool,
    /// The wait after each failed attempt in turn (seconds; fractions allowed).
    pub retry_schedule_secs: Vec<f64>,
    /// Up to this percentage of each wait is added at random.
    pub jitter_percent: u32,
    pub timeout_secs: u64,
    /// An endpoint failing without a success this long is disabled.
    pub disable_after_secs: u64,
    /// After a rotation the previous secret also signs this long.
    pub rotation_overlap_secs: u64,
    /// Internal addresses (CIDR blocks) webhooks may reach anyway.
    pub allow_targets: Vec<String>,
    pub lease_secs: u64,
    pub poll_interval_ms: u64,
    pub concurrency: usize,
    pub per_endpoint: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        let d = WebhookConfig::default();
        WebhookSettings {
            enabled: d.enabled,
            retry_schedule_secs: d.retry_schedule.iter().map(Duration::as_secs_f64).collect(),
            jitter_percent: d.jitter_percent,
            timeout_secs: d.timeout.as_secs(),
            disable_after_secs: d.disable_after.as_secs(),
            rotation_overlap_secs: d.rotation_overlap.as_secs(),
            allow_targets: vec![],
            lease_secs: d.lease.as_secs(),
            poll_interval_ms: d.poll.as_millis() as u64,
            concurrency: d.concurrency,
            per_endpoint: d.per_endpoint,
        }
    }
}

impl WebhookSettings {
    pub fn to_config(&self) -> Result<WebhookConfig, SettingError> {
        let mut schedule = Vec::with_capacity(self.retry_schedule_secs.len());
        for s in &self.retry_schedule_secs {
            schedule.push(Duration::try_from_secs_f64(*s).map_err(|_| {
                SettingError::new("webhooks.retry_schedule_secs", format!("{s} is not a wait"))
            })?);
        }
        let allow_targets = self
            .allow_targets
            .iter()
            .map(|t| {
                t.parse::<Cidr>()
                    .map_err(|e| SettingError::new("webhooks.allow_targets", e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let config = WebhookConfig {
            enabled: self.enabled,
            retry_schedule: schedule,
            jitter_percent: self.jitter_percent,
            timeout: Duration::from_secs(self.timeout_secs),
            disable_after: Duration::from_secs(self.disable_after_secs),
            rotation_overlap: Duration::from_secs(self.rotation_overlap_secs),
            allow_targets,
            lease: Duration::from_secs(self.lease_secs),
            poll: Duration::from_millis(self.poll_interval_ms),
            concurrency: self.concurrency,
            per_endpoint: self.per_endpoint,
        };
        config
            .validate()
            .map_err(|e| SettingError::of("webhooks", e))?;
        Ok(config)
    }
}

/// An event as the front doors show it (the feed's JSON), given by the server: the
/// one wire form the feed, the stream and webhooks share.
pub type WireEvent = fn(guestlist_app::store::EventRow) -> serde_json::Value;

/// The body of a delivery: the Standard Webhooks envelope around the event as the
/// feed shows it.
pub fn payload(event: guestlist_app::store::EventRow, wire: WireEvent) -> serde_json::Value {
    let kind = event.kind.clone();
    let timestamp = event
        .created_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    serde_json::json!({
        "type": kind,
        "timestamp": timestamp,
        "data": wire(event),
    })
}

/// The answer's first bytes kept in the delivery log.
const RESPONSE_KEPT: usize = 512;

struct WebhookOutbox {
    app: App,
    wire: WireEvent,
    client: reqwest::Client,
    /// Checked again at each attempt: the resolver guards names, this guards an
    /// address written in the URL (the allow list may have changed since it was saved).
    rule: guestlist_app::targets::TargetRule,
}

/// What `Retry-After` asks for: seconds (an HTTP date is taken as a minute), at most
/// a day.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs = v.trim().parse::<u64>().unwrap_or(60);
    Some(Duration::from_secs(secs.min(24 * 3600)))
}

impl WebhookOutbox {
    async fn post(&self, w: &OutgoingWebhook) -> (Result<(), Failure>, AttemptReport) {
        if let Err(e) = self.rule.check_form("url", &w.url) {
            let error = e.public_message();
            return (
                Err(Failure {
                    error: error.clone(),
                    retry_after: None,
                    permanent: true,
                }),
                AttemptReport {
                    error: Some(error),
                    ..Default::default()
                },
            );
        }
        let body = payload(w.event.clone(), self.wire).to_string();
        let msg_id = w.event.id.to_string();
        let ts = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut signatures = Vec::with_capacity(w.secrets.len());
        for secret in &w.secrets {
            match standardwebhooks::Webhook::new(secret)
                .and_then(|h| h.sign(&msg_id, ts, body.as_bytes()))
            {
                Ok(s) => signatures.push(s),
                Err(e) => {
                    let error = format!("signing failed: {e}");
                    return (
                        Err(error.clone().into()),
                        AttemptReport {
                            error: Some(error),
                            ..Default::default()
                        },
                    );
                }
            }
        }
        let started = Instant::now();
        let sent = self
            .client
            .post(&w.url)
            .header("content-type", "application/json")
            .header(standardwebhooks::HEADER_WEBHOOK_ID, &msg_id)
            .header(standardwebhooks::HEADER_WEBHOOK_TIMESTAMP, ts.to_string())
            .header(
                standardwebhooks::HEADER_WEBHOOK_SIGNATURE,
                signatures.join(" "),
            )
            .body(body)
            .send()
            .await;
        let mut report = AttemptReport::default();
        let result = match sent {
            Err(e) => {
                // Without the URL: it may carry a token of the receiver's.
                let e = e.without_url();
                let error = if e.is_timeout() {
                    "the receiver did not answer in time".to_owned()
                } else if e.is_connect() {
                    format!("could not connect: {e}")
                } else {
                    e.to_string()
                };
                report.error = Some(error.clone());
                Err(error.into())
            }
            Ok(mut res) => {
                let status = res.status();
                report.status = Some(status.as_u16());
                let wait = retry_after(res.headers());
                let mut kept: Vec<u8> = Vec::new();
                while kept.len() < RESPONSE_KEPT {
                    match res.chunk().await {
                        Ok(Some(c)) => kept.extend_from_slice(&c),
                        _ => break,
                    }
                }
                kept.truncate(RESPONSE_KEPT);
                report.response = Some(String::from_utf8_lossy(&kept).into_owned());
                if status.is_success() {
                    Ok(())
                } else {
                    let error = if status.is_redirection() {
                        format!("HTTP {status}: redirects are not followed")
                    } else {
                        format!("HTTP {status}")
                    };
                    report.error = Some(error.clone());
                    Err(Failure {
                        error,
                        retry_after: match status.as_u16() {
                            429 | 503 => wait,
                            _ => None,
                        },
                        permanent: status.as_u16() == 410,
                    })
                }
            }
        };
        report.latency_ms = started.elapsed().as_millis() as i64;
        (result, report)
    }
}

#[async_trait]
impl Outbox for WebhookOutbox {
    type Item = OutgoingWebhook;
    /// The attempt's number, the endpoint, and what the receiver answered.
    type Report = (u32, Uuid, AttemptReport);
    const NAME: &'static str = "webhook";

    async fn due(&self, limit: u32, busy: &[Uuid]) -> guestlist_app::Result<Vec<Due>> {
        Ok(self
            .app
            .due_webhooks(limit, busy)
            .await?
            .into_iter()
            .map(|(id, endpoint)| Due {
                id,
                group: Some(endpoint),
            })
            .collect())
    }

    async fn claim(
        &self,
        id: Uuid,
        lease: Duration,
    ) -> guestlist_app::Result<Option<(OutgoingWebhook, u32)>> {
        Ok(self.app.claim_webhook(id, lease).await?.map(|w| {
            let attempt = w.attempt;
            (w, attempt)
        }))
    }

    async fn deliver(
        &self,
        w: &OutgoingWebhook,
    ) -> (Result<(), Failure>, (u32, Uuid, AttemptReport)) {
        let (result, report) = self.post(w).await;
        if result.is_ok() {
            let lag = time::OffsetDateTime::now_utc() - w.event.created_at;
            metrics::histogram!("guestlist_webhook_delivery_lag_seconds")
                .record(lag.as_seconds_f64().max(0.0));
        }
        (result, (w.attempt, w.endpoint_id, report))
    }

    async fn record(
        &self,
        id: Uuid,
        outcome: DeliveryOutcome,
        report: (u32, Uuid, AttemptReport),
    ) -> guestlist_app::Result<()> {
        self.record_many(vec![Made {
            id,
            outcome,
            report,
        }])
        .await
    }

    async fn record_many(
        &self,
        made: Vec<Made<(u32, Uuid, AttemptReport)>>,
    ) -> guestlist_app::Result<()> {
        let attempts = made
            .into_iter()
            .map(|m| {
                let label = match &m.outcome {
                    DeliveryOutcome::Sent { .. } => "delivered",
                    DeliveryOutcome::Retry { .. } => "retry",
                    DeliveryOutcome::Failed { .. } => "failed",
                    DeliveryOutcome::Cancelled => "cancelled",
                };
                metrics::counter!("guestlist_webhook_attempts_total", "outcome" => label)
                    .increment(1);
                let (attempt, endpoint_id, report) = m.report;
                Attempted {
                    id: m.id,
                    endpoint_id,
                    attempt,
                    outcome: m.outcome,
                    report,
                }
            })
            .collect();
        self.app.webhooks_attempted(attempts).await
    }
}

/// The client every attempt goes through.
pub fn client(config: &WebhookConfig) -> Result<reqwest::Client, SettingError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(Duration::from_secs(10)))
        .dns_resolver(Arc::new(GuardedResolver {
            rule: Arc::new(config.rule()),
        }))
        .user_agent(concat!("Guestlist-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SettingError::new("webhooks", format!("building the webhook client: {e}")))
}

/// Starts the dispatcher and the sender: the dispatcher moves what the log gained
/// into deliveries and wakes the sender; the sender keeps up to `concurrency`
/// attempts in flight, `per_endpoint` to one endpoint.
pub fn spawn(app: App, wire: WireEvent) -> Result<Vec<JoinHandle<()>>, SettingError> {
    let config = app.webhook_settings().clone();
    if !config.enabled {
        return Ok(vec![]);
    }
    let client = client(&config)?;
    let wake = Arc::new(tokio::sync::Notify::new());
    let policy = config.policy();
    // New deliveries go to this replica's sender already taken, as many as it has
    // room for; the rest wait in the outbox for any replica's sender.
    let (hand, handed) = tokio::sync::mpsc::channel(policy.concurrency.max(1) * 4);
    let sender = outbox::spawn_worker(
        WebhookOutbox {
            app: app.clone(),
            wire,
            client,
            rule: config.rule(),
        },
        policy,
        wake.clone(),
        Some(handed),
    );
    let poll = config.poll.max(Duration::from_millis(10));
    let lease = config.lease;
    let dispatcher = tokio::spawn(async move {
        let mut last_depths = Instant::now();
        let mut reported: std::collections::HashSet<Uuid> = Default::default();
        loop {
            match app.dispatch_webhooks(hand.capacity(), lease).await {
                Ok(done) => {
                    // Those not handed over wait in the outbox.
                    if done.queued > done.handed.len() {
                        wake.notify_one();
                    }
                    for w in done.handed {
                        let h = Handed {
                            due: Due {
                                id: w.delivery_id,
                                group: Some(w.endpoint_id),
                            },
                            attempt: w.attempt,
                            item: w,
                        };
                        // Room was reserved by the capacity read; should the sender be
                        // gone, the lease lapses and the delivery comes due again.
                        let _ = hand.try_send(h);
                    }
                    if done.read > 0 {
                        // More may be waiting behind a full batch.
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not dispatch webhook deliveries; trying again")
                }
            }
            if last_depths.elapsed() >= Duration::from_secs(5) {
                last_depths = Instant::now();
                if let Ok(depths) = app.webhook_queue_depths().await {
                    let now: std::collections::HashSet<Uuid> =
                        depths.iter().map(|(e, _)| *e).collect();
                    // An endpoint whose queue emptied reads 0, not its last depth.
                    for gone in reported.difference(&now) {
                        metrics::gauge!("guestlist_webhook_queue_depth", "endpoint" => gone.to_string())
                            .set(0.0);
                    }
                    for (endpoint, n) in depths {
                        metrics::gauge!("guestlist_webhook_queue_depth", "endpoint" => endpoint.to_string())
                            .set(n as f64);
                    }
                    reported = now;
                }
            }
            tokio::time::sleep(poll).await;
        }
    });
    Ok(vec![sender, dispatcher])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_setting_is_named_by_its_path_once() {
        let settings = WebhookSettings {
            timeout_secs: 0,
            ..WebhookSettings::default()
        };
        let e = settings.to_config().unwrap_err();
        assert_eq!(e.setting, "webhooks.timeout_secs", "{e}");
        let settings = WebhookSettings {
            allow_targets: vec!["10.0.0.0/33".into()],
            ..WebhookSettings::default()
        };
        let e = settings.to_config().unwrap_err();
        assert_eq!(e.setting, "webhooks.allow_targets", "{e}");
        assert!(e.reason.contains("prefix length"), "{e}");
    }
}
