//! Webhook endpoints over REST: register, list, change, delete, rotate the secret,
//! send a test event, read the delivery log, redeliver and replay.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use guestlist_api as api;
use guestlist_app::domain::parse_id;
use guestlist_app::store::EndpointRow;
use guestlist_app::{DeliveryView, EndpointInput, EndpointSecret, EndpointUpdate, ReplayFrom};
use guestlist_domain::Error;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::Res;
use crate::AppState;
use crate::extract::{Auth, Json, Path, Query, space_param};

/// This feature's routes, under `/api/v1`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", post(create_webhook).get(list_webhooks))
        .route(
            "/webhooks/{id}",
            get(get_webhook)
                .patch(update_webhook)
                .delete(delete_webhook),
        )
        .route("/webhooks/{id}/rotate-secret", post(rotate_secret))
        .route("/webhooks/{id}/test", post(test_webhook))
        .route("/webhooks/{id}/deliveries", get(list_deliveries))
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post(redeliver),
        )
        .route("/webhooks/{id}/replay", post(replay))
}

fn id(raw: &str) -> Res<Uuid> {
    Ok(parse_id(raw, "webhook")?)
}

/// Register an endpoint (a space's admins for its subtree; platform administrators
/// for everything). The answer holds the signing secret, shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = api::CreateWebhookRequest,
    responses((status = 201, body = api::WebhookWithSecret), (status = 400, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_webhook(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(req): Json<api::CreateWebhookRequest>,
) -> Res<(StatusCode, Json<api::WebhookWithSecret>)> {
    let space = req.space.as_deref().map(space_param).transpose()?;
    let created = s
        .app
        .create_webhook(
            &actor,
            EndpointInput {
                url: req.url,
                description: req.description,
                kinds: req.kinds,
                space,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(with_secret(created))))
}

/// The endpoints you manage, oldest first.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = api::WebhookList)),
    security(("bearer" = [])))]
pub async fn list_webhooks(
    State(s): State<AppState>,
    Auth(actor): Auth,
) -> Res<Json<api::WebhookList>> {
    let webhooks = s.app.list_webhooks(&actor).await?;
    Ok(Json(api::WebhookList {
        webhooks: webhooks.into_iter().map(webhook).collect(),
    }))
}

/// One endpoint.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = api::Webhook), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_webhook(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(raw): Path<String>,
) -> Res<Json<api::Webhook>> {
    Ok(Json(webhook(s.app.get_webhook(&actor, id(&raw)?).await?)))
}

/// Change an endpoint's URL, description, kinds, or enable it again.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    request_body = api::UpdateWebhookRequest,
    responses((status = 200, body = api::Webhook), (status = 400, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_webhook(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(raw): Path<String>,
    Json(req): Json<api::UpdateWebhookRequest>,
) -> Res<Json<api::Webhook>> {
    let updated = s
        .app
        .update_webhook(
            &actor,
            id(&raw)?,
            EndpointUpdate {
                url: req.url,
                description: req.description,
                kinds: req.kinds,
                enabled: req.enabled,
            },
        )
        .await?;
    Ok(Json(webhook(updated)))
}

/// Delete an endpoint; what it had queued is cancelled.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_webhook(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(raw): Path<String>,
) -> Res<StatusCode> {
    s.app.delete_webhook(&actor, id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown this once. The previous one keeps signing (a second
/// signature in `webhook-signature`) for `[webhooks] rotation_overlap_secs`.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = api::WebhookWithSecret), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(raw): Path<String>,
) -> Res<Json<api::WebhookWithSecret>> {
    let rotated = s.app.rotate_webhook_secret(&actor, id(&raw)?).await?;
    Ok(Json(with_secret(rotated)))
}

/// Send a `webhook.test` event to this endpoint alone.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 202, body = api::WebhookTest), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn test_webhook(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(raw): Path<String>,
) -> Res<(StatusCode, Json<api::WebhookTest>)> {
    let event_id = s.app.test_webhook(&actor, id(&raw)?).await?;
    Ok((StatusCode::ACCEPTED, Json(api::WebhookTest { event_id })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    /// Older than this delivery (the previous page's next_before).
    pub before: Option<Uuid>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The delivery log: each delivery, newest first, with every attempt (status,
/// latency, the answer's first bytes) and when the next one is due.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path), DeliveryParams),
    responses((status = 200, body = api::WebhookDeliveryPage), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_deliveries(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(raw): Path<String>,
    Query(q): Query<DeliveryParams>,
) -> Res<Json<api::WebhookDeliveryPage>> {
    let page = s
        .app
        .webhook_deliveries(&actor, id(&raw)?, q.before, q.limit)
        .await?;
    Ok(Json(api::WebhookDeliveryPage {
        deliveries: page.deliveries.into_iter().map(delivery).collect(),
        next_before: page.next,
    }))
}

/// Queue a delivery again now, whatever became of it.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses((status = 202), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn redeliver(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path((raw, delivery)): Path<(String, String)>,
) -> Res<StatusCode> {
    s.app
        .redeliver_webhook(&actor, id(&raw)?, parse_id(&delivery, "delivery")?)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Queue again every event this endpoint follows since a sequence number or a time
/// (at most 10,000 per call; `resume_from_seq` says where to go on).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/replay", tag = "webhooks", params(("id" = Uuid, Path)),
    request_body = api::ReplayRequest,
    responses((status = 202, body = api::ReplayResult), (status = 400, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn replay(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(raw): Path<String>,
    Json(req): Json<api::ReplayRequest>,
) -> Res<(StatusCode, Json<api::ReplayResult>)> {
    let from = match (req.since_seq, req.since) {
        (Some(seq), None) => ReplayFrom::Seq(seq),
        (None, Some(t)) => ReplayFrom::Time(t),
        _ => {
            return Err(
                Error::invalid("since_seq", "give exactly one of since_seq and since").into(),
            );
        }
    };
    let r = s.app.replay_webhook(&actor, id(&raw)?, from).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(api::ReplayResult {
            queued: r.queued,
            resume_from_seq: r.resume_from,
        }),
    ))
}

pub(crate) fn webhook(e: EndpointRow) -> api::Webhook {
    api::Webhook {
        id: e.id,
        url: e.url,
        description: e.description,
        kinds: e.kinds,
        space: e.space_path.map(|p| p.to_string()),
        enabled: e.enabled,
        disabled_reason: e.disabled_reason,
        from_seq: e.from_seq,
        failing_since: e.failing_since,
        previous_secret_until: e
            .previous_until
            .filter(|t| *t > time::OffsetDateTime::now_utc()),
        created_by: e.created_by,
        created_at: e.created_at,
    }
}

fn with_secret(s: EndpointSecret) -> api::WebhookWithSecret {
    api::WebhookWithSecret {
        webhook: webhook(s.endpoint),
        secret: s.secret,
    }
}

pub(crate) fn delivery(v: DeliveryView) -> api::WebhookDelivery {
    let d = v.delivery;
    api::WebhookDelivery {
        id: d.id,
        event_seq: d.event_seq,
        event_id: v.event_id,
        event_kind: v.event_kind,
        next_attempt_at: (d.state == "queued").then_some(d.next_attempt_at),
        state: d.state,
        attempts: v
            .attempts
            .into_iter()
            .map(|a| api::WebhookAttempt {
                attempt: a.attempt,
                at: a.at,
                status: a.status,
                latency_ms: a.latency_ms,
                response: a.response,
                error: a.error,
            })
            .collect(),
        last_error: d.last_error,
        created_at: d.created_at,
        delivered_at: d.delivered_at,
    }
}
