//! The event log over REST: the audit log paged backwards (`before`), the forward
//! feed (`after`), and the live stream as Server-Sent Events.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use guestlist_api as api;
use guestlist_app::domain::{Error, SpacePath};
use guestlist_app::store::EventRow;
use guestlist_app::{App, FeedFilter};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Res;
use crate::AppState;
use crate::extract::{Auth, Json, Query};

/// This feature's routes, under `/api/v1`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(list_events))
        .route("/events/stream", get(stream_events))
}

/// `kinds=a,b` as a list (each a kind of the catalogue, checked by the application).
fn kinds_of(raw: Option<&str>) -> Result<Vec<String>, Error> {
    let Some(raw) = raw else { return Ok(vec![]) };
    let kinds: Vec<String> = raw.split(',').map(|s| s.trim().to_owned()).collect();
    if kinds.iter().any(String::is_empty) {
        return Err(Error::invalid("kinds", "event kinds separated by commas"));
    }
    Ok(kinds)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Only events of this space and beneath.
    #[param(value_type = Option<guestlist_app::domain::SpacePath>)]
    pub space: Option<String>,
    /// Only events of this kind, e.g. member.joined.
    pub kind: Option<String>,
    /// Only events of these kinds, separated by commas.
    pub kinds: Option<String>,
    /// Only events older than this sequence number (the previous page's next_before);
    /// with `after`, the end of the window.
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// The forward feed: events after this sequence number, oldest first, up to where
    /// the log is final (resume from `next_after` with no gap and no duplicate).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The audit log of the spaces you administer: newest first, paging back with
/// `before`; or, with `after`, the forward feed, oldest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventParams),
    responses((status = 200, body = api::EventPage), (status = 400, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_events(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<EventParams>,
) -> Res<Json<api::EventPage>> {
    let space = q.space.as_deref().map(SpacePath::parse).transpose()?;
    let mut kinds = kinds_of(q.kinds.as_deref())?;
    kinds.extend(q.kind);
    if let Some(after) = q.after {
        let page = s
            .app
            .event_feed(
                &actor,
                FeedFilter {
                    after,
                    space,
                    kinds,
                    before: q.before,
                    limit: q.limit,
                },
            )
            .await?;
        return Ok(Json(api::EventPage {
            events: page.events.into_iter().map(event).collect(),
            next_before: None,
            next_after: Some(page.next_after),
        }));
    }
    let page = s
        .app
        .list_events(
            &actor,
            guestlist_app::EventFilter {
                space,
                kinds,
                before: q.before,
                limit: q.limit,
                ..Default::default()
            },
        )
        .await?;
    Ok(Json(api::EventPage {
        events: page.events.into_iter().map(event).collect(),
        next_before: page.next,
        next_after: None,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamParams {
    /// Only events of this space and beneath.
    #[param(value_type = Option<guestlist_app::domain::SpacePath>)]
    pub space: Option<String>,
    /// Only events of these kinds, separated by commas.
    pub kinds: Option<String>,
    /// Start after this sequence number (as `Last-Event-ID` does; the header wins).
    /// Neither: from now.
    #[param(minimum = 0)]
    pub after: Option<i64>,
}

/// The live stream of the spaces you administer, as Server-Sent Events: each event's
/// `id:` is its sequence number and `event:` its kind; reconnect with `Last-Event-ID`
/// to resume with no gap. A comment line is sent as a heartbeat. A client that reads
/// too slowly is disconnected once its buffer fills, and resumes.
#[utoipa::path(get, path = "/api/v1/events/stream", tag = "events", params(StreamParams,
        ("Last-Event-ID" = Option<i64>, Header, minimum = 0, description = "the last sequence number received")),
    responses((status = 200, content_type = "text/event-stream", body = StreamedEvent,
        description = "Server-Sent Events, each `id: <seq>`, `event: <kind>`, `data: <the event as JSON>`; \
            the schema describes one event"),
        (status = 400, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn stream_events(
    State(s): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    Query(q): Query<StreamParams>,
) -> Res<Sse<impl futures::Stream<Item = Result<SseEvent, Infallible>>>> {
    let space = q.space.as_deref().map(SpacePath::parse).transpose()?;
    let last_id = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|v| *v >= 0)
                .ok_or_else(|| Error::invalid("Last-Event-ID", "a sequence number"))?,
        ),
        None => None,
    };
    let after = match last_id.or(q.after) {
        Some(a) => a,
        None => s.app.last_event_seq().await?,
    };
    let filter = FeedFilter {
        after,
        space,
        before: None,
        kinds: kinds_of(q.kinds.as_deref())?,
        limit: Some(guestlist_app::MAX_PAGE_SIZE),
    };
    // Refuses a bad filter, or a space the caller cannot see, before the stream starts.
    s.app
        .event_feed(
            &actor,
            FeedFilter {
                limit: Some(1),
                ..filter.clone()
            },
        )
        .await?;
    let credential = crate::extract::bearer_in(&headers)?
        .unwrap_or_default()
        .to_owned();
    let opts = s.options.events.clone();
    let (tx, rx) = tokio::sync::mpsc::channel(opts.stream_buffer.max(1));
    tokio::spawn(follow(
        s.app.clone(),
        credential,
        filter,
        tx,
        opts.poll(),
        opts.closes_at(),
    ));
    let stream =
        futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(opts.heartbeat_secs.max(1)))))
}

/// One event of the stream, as Server-Sent Events frame it (and as an SSE parser reads
/// it: the fields of a frame).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // described, never built: the frame is written by axum's `Sse`
pub struct StreamedEvent {
    /// The event's sequence number.
    #[schema(pattern = "^[0-9]+$")]
    id: String,
    /// The event's kind (`member.joined`, …).
    event: String,
    /// The event, as JSON: an `Event`.
    #[schema(content_media_type = "application/json")]
    data: String,
}

/// How long a stream whose buffer is full waits for its reader before dropping it.
const STALLED: Duration = Duration::from_secs(10);

/// Follows the log for one stream: reads what is final after its position, at every
/// poll interval, into the stream's buffer, for whoever its credential names then.
/// Ends when the client is gone, its buffer is full (it resumes with
/// `Last-Event-ID`), its credential ends (expired, revoked), or its lifetime does.
async fn follow(
    app: App,
    credential: String,
    mut filter: FeedFilter,
    tx: tokio::sync::mpsc::Sender<SseEvent>,
    poll: Duration,
    closes_at: Option<tokio::time::Instant>,
) {
    metrics::gauge!("guestlist_event_streams_open").increment(1.0);
    let lifetime = async {
        match closes_at {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(lifetime);
    'follow: loop {
        match app.stream_page(&credential, filter.clone()).await {
            Ok(page) => {
                let full = page.events.len() as u32 >= filter.limit.unwrap_or(1);
                for e in page.events {
                    let seq = e.seq;
                    let kind = e.kind.clone();
                    let data = serde_json::to_string(&event(e)).unwrap_or_default();
                    let item = SseEvent::default()
                        .id(seq.to_string())
                        .event(kind)
                        .data(data);
                    // A full buffer waits a moment for the reader; one that takes
                    // nothing for that long is dropped (it resumes with Last-Event-ID).
                    match tokio::time::timeout(STALLED, tx.send(item)).await {
                        Ok(Ok(())) => filter.after = seq,
                        Err(_) => {
                            tracing::info!(
                                after = filter.after,
                                "an event stream read too slowly; closing it"
                            );
                            metrics::counter!("guestlist_event_streams_dropped_total").increment(1);
                            break 'follow;
                        }
                        Ok(Err(_)) => break 'follow,
                    }
                }
                if full {
                    continue;
                }
            }
            Err(e) => {
                // The credential ended, or the database is away: the client
                // reconnects (with a credential that holds).
                tracing::info!(error = %e, "an event stream stopped");
                break;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = tx.closed() => break,
            _ = &mut lifetime => break,
        }
    }
    metrics::gauge!("guestlist_event_streams_open").decrement(1.0);
}

pub(crate) fn event(e: EventRow) -> api::Event {
    api::Event {
        seq: e.seq,
        id: e.id,
        version: guestlist_app::domain::events::event_kind(&e.kind).map_or(1, |k| k.version),
        kind: e.kind,
        space: e.space_path.map(|p| p.to_string()),
        actor: e.actor,
        subject: e.subject,
        data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
        created_at: e.created_at,
    }
}
