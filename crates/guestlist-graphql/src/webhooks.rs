//! GraphQL — Webhook endpoints, and the live event stream as a subscription.
//! Resolvers parse, call one application function and render.

use std::time::Duration;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject, Subscription};
use futures::Stream;
use guestlist_app::domain::Error;
use guestlist_app::store::EndpointRow;
use guestlist_app::{
    DeliveryView, EndpointInput, EndpointSecret, EndpointUpdate, FeedFilter, ReplayFrom,
};

use crate::args::*;
use crate::events::Event;
use crate::types::ts;
use crate::{actor, app, gql};

#[derive(Default)]
pub struct WebhooksQuery;

#[Object]
impl WebhooksQuery {
    /// The webhook endpoints the caller manages, oldest first.
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        let list = app(ctx)?.list_webhooks(actor(ctx)?).await.map_err(gql)?;
        Ok(list.into_iter().map(Webhook::from).collect())
    }

    async fn webhook(&self, ctx: &Context<'_>, id: ID) -> Result<Webhook> {
        let w = app(ctx)?
            .get_webhook(actor(ctx)?, id_arg(&id, "webhook")?)
            .await
            .map_err(gql)?;
        Ok(w.into())
    }

    /// An endpoint's delivery log, newest first, each delivery with its attempts.
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        id: ID,
        first: Option<i32>,
        before: Option<ID>,
    ) -> Result<Vec<WebhookDelivery>> {
        let before = before.map(|b| id_arg(&b, "delivery")).transpose()?;
        let page = app(ctx)?
            .webhook_deliveries(
                actor(ctx)?,
                id_arg(&id, "webhook")?,
                before,
                first_arg(first),
            )
            .await
            .map_err(gql)?;
        Ok(page
            .deliveries
            .into_iter()
            .map(WebhookDelivery::from)
            .collect())
    }
}

#[derive(InputObject, Debug)]
pub struct CreateWebhookInput {
    pub url: String,
    pub description: Option<String>,
    /// Only these event kinds; left out, every kind.
    pub kinds: Option<Vec<String>>,
    /// Its subtree (you administer it); left out, every event (platform administrators).
    pub space: Option<String>,
}

#[derive(InputObject, Debug)]
pub struct UpdateWebhookInput {
    pub url: Option<String>,
    pub description: Option<String>,
    pub kinds: Option<Vec<String>>,
    /// Every kind again.
    #[graphql(default)]
    pub all_kinds: bool,
    pub enabled: Option<bool>,
}

#[derive(Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Registers an endpoint; the answer holds its signing secret, shown this once.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
    ) -> Result<WebhookWithSecret> {
        let space = input
            .space
            .as_deref()
            .map(|s| path("input.space", s))
            .transpose()?;
        let made = app(ctx)?
            .create_webhook(
                actor(ctx)?,
                EndpointInput {
                    url: input.url,
                    description: input.description,
                    kinds: input.kinds,
                    space,
                },
            )
            .await
            .map_err(gql)?;
        Ok(made.into())
    }

    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookInput,
    ) -> Result<Webhook> {
        if input.all_kinds && input.kinds.is_some() {
            return Err(gql(Error::invalid(
                "kinds",
                "give kinds or allKinds, not both",
            )));
        }
        let kinds = if input.all_kinds {
            Some(None)
        } else {
            input.kinds.map(Some)
        };
        let w = app(ctx)?
            .update_webhook(
                actor(ctx)?,
                id_arg(&id, "webhook")?,
                EndpointUpdate {
                    url: input.url,
                    description: input.description,
                    kinds,
                    enabled: input.enabled,
                },
            )
            .await
            .map_err(gql)?;
        Ok(w.into())
    }

    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        app(ctx)?
            .delete_webhook(actor(ctx)?, id_arg(&id, "webhook")?)
            .await
            .map_err(gql)?;
        Ok(true)
    }

    /// A new signing secret, shown this once; the previous one keeps signing for the
    /// configured overlap.
    async fn rotate_webhook_secret(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookWithSecret> {
        let r = app(ctx)?
            .rotate_webhook_secret(actor(ctx)?, id_arg(&id, "webhook")?)
            .await
            .map_err(gql)?;
        Ok(r.into())
    }

    /// Sends a `webhook.test` event to this endpoint alone: its id.
    async fn test_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let e = app(ctx)?
            .test_webhook(actor(ctx)?, id_arg(&id, "webhook")?)
            .await
            .map_err(gql)?;
        Ok(ID(e.to_string()))
    }

    async fn redeliver_webhook(&self, ctx: &Context<'_>, id: ID, delivery: ID) -> Result<bool> {
        app(ctx)?
            .redeliver_webhook(
                actor(ctx)?,
                id_arg(&id, "webhook")?,
                id_arg(&delivery, "delivery")?,
            )
            .await
            .map_err(gql)?;
        Ok(true)
    }

    /// Queues again every event the endpoint follows since a sequence number or an
    /// RFC 3339 time (exactly one): how many.
    async fn replay_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        since_seq: Option<i64>,
        since: Option<String>,
    ) -> Result<i32> {
        let from = match (since_seq, since) {
            (Some(s), None) => ReplayFrom::Seq(s),
            (None, Some(t)) => ReplayFrom::Time(
                time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| gql(Error::invalid("since", "an RFC 3339 time")))?,
            ),
            _ => {
                return Err(gql(Error::invalid(
                    "sinceSeq",
                    "give exactly one of sinceSeq and since",
                )));
            }
        };
        let r = app(ctx)?
            .replay_webhook(actor(ctx)?, id_arg(&id, "webhook")?, from)
            .await
            .map_err(gql)?;
        Ok(r.queued as i32)
    }
}

#[derive(SimpleObject, Debug)]
pub struct Webhook {
    pub id: ID,
    pub url: String,
    pub description: String,
    pub kinds: Option<Vec<String>>,
    pub space: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub from_seq: i64,
    pub failing_since: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

impl From<EndpointRow> for Webhook {
    fn from(e: EndpointRow) -> Self {
        Webhook {
            id: ID(e.id.to_string()),
            url: e.url,
            description: e.description,
            kinds: e.kinds,
            space: e.space_path.map(|p| p.to_string()),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            from_seq: e.from_seq,
            failing_since: e.failing_since.map(ts),
            created_by: e.created_by,
            created_at: ts(e.created_at),
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct WebhookWithSecret {
    pub webhook: Webhook,
    /// `whsec_…`: keep it, it is not shown again.
    pub secret: String,
}

impl From<EndpointSecret> for WebhookWithSecret {
    fn from(s: EndpointSecret) -> Self {
        WebhookWithSecret {
            webhook: s.endpoint.into(),
            secret: s.secret,
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct WebhookAttempt {
    pub attempt: i32,
    pub at: String,
    pub status: Option<i32>,
    pub latency_ms: i64,
    pub response: Option<String>,
    pub error: Option<String>,
}

#[derive(SimpleObject, Debug)]
pub struct WebhookDelivery {
    pub id: ID,
    pub event_seq: i64,
    pub event_kind: Option<String>,
    /// queued, delivered, failed or cancelled.
    pub state: String,
    pub attempts: Vec<WebhookAttempt>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

impl From<DeliveryView> for WebhookDelivery {
    fn from(v: DeliveryView) -> Self {
        let d = v.delivery;
        WebhookDelivery {
            id: ID(d.id.to_string()),
            event_seq: d.event_seq,
            event_kind: v.event_kind,
            state: d.state,
            attempts: v
                .attempts
                .into_iter()
                .map(|a| WebhookAttempt {
                    attempt: a.attempt as i32,
                    at: ts(a.at),
                    status: a.status.map(i32::from),
                    latency_ms: a.latency_ms,
                    response: a.response,
                    error: a.error,
                })
                .collect(),
            last_error: d.last_error,
            created_at: ts(d.created_at),
            delivered_at: d.delivered_at.map(ts),
        }
    }
}

#[derive(InputObject, Debug, Default)]
pub struct EventStreamFilter {
    /// This space and beneath.
    pub space: Option<String>,
    /// Only these kinds.
    pub kinds: Option<Vec<String>>,
    /// Start after this sequence number; left out, from now.
    pub after: Option<i64>,
}

/// How often a subscription looks for new events.
const POLL: Duration = Duration::from_millis(250);

#[derive(Default)]
pub struct EventsSubscription;

#[Subscription]
impl EventsSubscription {
    /// The live event log of the spaces the caller administers, in sequence order,
    /// with no gap: it follows the log in the database, so an event committed by any
    /// replica arrives. Resume with `after` set to the last `seq` received.
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EventStreamFilter>,
    ) -> Result<impl Stream<Item = Result<Event>> + use<>> {
        let filter = filter.unwrap_or_default();
        let app = app(ctx)?.clone();
        let actor = actor(ctx)?.clone();
        let space = filter
            .space
            .as_deref()
            .map(|s| path("filter.space", s))
            .transpose()?;
        let after = match filter.after {
            Some(a) => a,
            None => app.last_event_seq().await.map_err(gql)?,
        };
        let feed = FeedFilter {
            after,
            before: None,
            space,
            kinds: filter.kinds.unwrap_or_default(),
            limit: Some(guestlist_app::MAX_PAGE_SIZE),
        };
        // A bad filter, or a space the caller cannot see, is refused at once.
        app.event_feed(
            &actor,
            FeedFilter {
                limit: Some(1),
                ..feed.clone()
            },
        )
        .await
        .map_err(gql)?;
        // Each page is read for whoever the connection's credential names then: the
        // subscription ends with it.
        let credential = ctx
            .data::<guestlist_app::Credential>()
            .map_err(|_| {
                gql(guestlist_app::domain::Error::Unauthenticated(
                    "sign in first".into(),
                ))
            })?
            .0
            .clone();
        let state = (
            app,
            credential,
            feed,
            std::collections::VecDeque::<Event>::new(),
            false,
        );
        Ok(futures::stream::unfold(
            state,
            |(app, credential, mut feed, mut buf, mut done)| async move {
                loop {
                    if done {
                        return None;
                    }
                    if let Some(e) = buf.pop_front() {
                        return Some((Ok(e), (app, credential, feed, buf, done)));
                    }
                    match app.stream_page(&credential, feed.clone()).await {
                        Ok(page) => {
                            feed.after = page.next_after;
                            if page.events.is_empty() {
                                tokio::time::sleep(POLL).await;
                            }
                            buf.extend(page.events.into_iter().map(Event::from));
                        }
                        Err(e) => {
                            // Rights lost meanwhile, or the database away: say so and end.
                            done = true;
                            return Some((Err(gql(e)), (app, credential, feed, buf, done)));
                        }
                    }
                }
            },
        ))
    }
}
