//! The audit log over REST.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use guestlist_api as api;
use guestlist_app::domain::SpacePath;
use guestlist_app::store::EventRow;
use serde::Deserialize;
use utoipa::IntoParams;

use super::Res;
use crate::AppState;
use crate::extract::{Auth, Json, Query};

/// This feature's routes, under `/api/v1`.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/events", get(list_events))
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
    /// Only events older than this sequence number (the previous page's next_before).
    #[param(minimum = 1)]
    pub before: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The audit log of the spaces you administer, newest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventParams),
    responses((status = 200, body = api::EventPage), (status = 400, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_events(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<EventParams>,
) -> Res<Json<api::EventPage>> {
    let space = q.space.as_deref().map(SpacePath::parse).transpose()?;
    let page = s
        .app
        .list_events(
            &actor,
            guestlist_app::EventFilter {
                space,
                kind: q.kind,
                before: q.before,
                limit: q.limit,
                ..Default::default()
            },
        )
        .await?;
    Ok(Json(api::EventPage {
        events: page.events.into_iter().map(event).collect(),
        next_before: page.next,
    }))
}

pub(crate) fn event(e: EventRow) -> api::Event {
    api::Event {
        seq: e.seq,
        id: e.id,
        kind: e.kind,
        space: e.space_path.map(|p| p.to_string()),
        actor: e.actor,
        subject: e.subject,
        data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
        created_at: e.created_at,
    }
}
