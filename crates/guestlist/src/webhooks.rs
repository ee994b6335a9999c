//! `guestlist webhook …` and `guestlist events tail`: webhook endpoints and the live
//! event stream of a running server, through its API.

use std::time::Duration;

use clap::Subcommand;
use guestlist_client::{Client, api};
use uuid::Uuid;

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Register an endpoint and print it with its signing secret (shown this once).
    Add {
        /// Where deliveries are POSTed (http or https).
        #[arg(value_name = "URL")]
        endpoint: String,
        /// Only this space's events and its subtree's (you administer it). Left out:
        /// every event (a platform administrator's endpoint).
        #[arg(long)]
        space: Option<String>,
        /// Only these kinds, comma-separated (docs/EVENTS.md). Left out: every kind.
        #[arg(long, value_delimiter = ',')]
        kinds: Vec<String>,
        /// A note for the endpoint's managers.
        #[arg(long)]
        description: Option<String>,
    },
    /// The endpoints you manage.
    List,
    /// Send a `webhook.test` event to this endpoint alone.
    Test { id: Uuid },
    /// The delivery log: each delivery with its attempts, newest first.
    Deliveries {
        id: Uuid,
        /// How many deliveries (default 50).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Queue again every event the endpoint follows since a sequence number or time.
    Replay {
        id: Uuid,
        /// Every event after this sequence number (the feed's `seq`).
        #[arg(long, conflicts_with = "since", required_unless_present = "since")]
        since_seq: Option<i64>,
        /// An RFC 3339 time, e.g. 2026-12-01T00:00:00Z.
        #[arg(long)]
        since: Option<String>,
    },
    /// Send one delivery again now.
    Redeliver { id: Uuid, delivery: Uuid },
    /// A new signing secret (the old one keeps signing during the overlap).
    RotateSecret { id: Uuid },
    /// Enable an endpoint again (after 410, or failing too long).
    Enable { id: Uuid },
    /// Disable an endpoint: nothing is sent to it until it is enabled again.
    Disable { id: Uuid },
    /// Delete an endpoint; what it had queued is cancelled.
    Delete { id: Uuid },
}

#[derive(Subcommand)]
pub enum EventsCommand {
    /// Follow the live stream: one event per line as JSON, resuming after a dropped
    /// connection with no gap. Ctrl-C stops.
    Tail {
        /// Only events of this space and its subtree.
        #[arg(long)]
        space: Option<String>,
        /// Only these kinds, comma-separated.
        #[arg(long)]
        kinds: Option<String>,
        /// Start after this sequence number (default: from now).
        #[arg(long)]
        after: Option<i64>,
    },
}

fn e(e: guestlist_client::ClientError) -> String {
    e.to_string()
}

pub async fn webhook(client: Client, command: WebhookCommand) -> Result<(), String> {
    let toggle = |enabled| api::UpdateWebhookRequest {
        url: None,
        description: None,
        kinds: None,
        enabled: Some(enabled),
    };
    match command {
        WebhookCommand::Add {
            endpoint: url,
            space,
            kinds,
            description,
        } => {
            let req = api::CreateWebhookRequest {
                url,
                description,
                kinds: (!kinds.is_empty()).then_some(kinds),
                space,
            };
            let made = client.create_webhook(&req).await.map_err(e)?;
            crate::print(&made)?;
            eprintln!(
                "Keep the secret: it is not shown again. Verify deliveries with any Standard Webhooks library."
            );
            Ok(())
        }
        WebhookCommand::List => crate::print(&client.list_webhooks().await.map_err(e)?),
        WebhookCommand::Test { id } => crate::print(&client.test_webhook(id).await.map_err(e)?),
        WebhookCommand::Deliveries { id, limit } => crate::print(
            &client
                .webhook_deliveries(id, None, limit)
                .await
                .map_err(e)?,
        ),
        WebhookCommand::Replay {
            id,
            since_seq,
            since,
        } => {
            let since = since
                .map(|s| {
                    time::OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| format!("--since {s:?} is not an RFC 3339 time"))
                })
                .transpose()?;
            let req = api::ReplayRequest { since_seq, since };
            crate::print(&client.replay_webhook(id, &req).await.map_err(e)?)
        }
        WebhookCommand::Redeliver { id, delivery } => {
            client.redeliver_webhook(id, delivery).await.map_err(e)?;
            eprintln!("queued");
            Ok(())
        }
        WebhookCommand::RotateSecret { id } => {
            crate::print(&client.rotate_webhook_secret(id).await.map_err(e)?)
        }
        WebhookCommand::Enable { id } => {
            crate::print(&client.update_webhook(id, &toggle(true)).await.map_err(e)?)
        }
        WebhookCommand::Disable { id } => {
            crate::print(&client.update_webhook(id, &toggle(false)).await.map_err(e)?)
        }
        WebhookCommand::Delete { id } => client.delete_webhook(id).await.map_err(e),
    }
}

pub async fn events(client: Client, command: EventsCommand) -> Result<(), String> {
    let EventsCommand::Tail {
        space,
        kinds,
        after,
    } = command;
    let mut last: Option<i64> = after;
    let mut backoff = Duration::from_millis(200);
    loop {
        let mut req = client.request(reqwest::Method::GET, "/api/v1/events/stream");
        if let Some(s) = &space {
            req = req.query(&[("space", s)]);
        }
        if let Some(k) = &kinds {
            req = req.query(&[("kinds", k)]);
        }
        if let Some(l) = last {
            req = req.header("last-event-id", l.to_string());
        }
        let mut res = match req.send().await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                return Err(format!("the server answered {status}: {body}"));
            }
            Err(err) => {
                eprintln!("guestlist: the stream is unreachable ({err}); retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        backoff = Duration::from_millis(200);
        let mut buf = String::new();
        while let Ok(Some(chunk)) = res.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let frame: String = buf.drain(..end + 2).collect();
                let mut data = None;
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        last = v.trim().parse().ok().or(last);
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = Some(v.trim().to_owned());
                    }
                }
                if let Some(d) = data {
                    println!("{d}");
                }
            }
        }
        // The server closed the stream (a restart, or we read too slowly): resume.
        tokio::time::sleep(backoff).await;
    }
}
