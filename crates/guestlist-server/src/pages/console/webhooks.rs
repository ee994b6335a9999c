//! The console's webhooks: a space's endpoints (register one and see its secret once;
//! enable, disable, send a test, rotate the secret, delete with a confirmation) and
//! each endpoint's delivery log, with a redeliver button. Every action is the API's
//! application function, as the signed-in admin.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use guestlist_app::domain::Error;
use guestlist_app::store::EndpointRow;
use guestlist_app::{EndpointInput, EndpointUpdate};
use minijinja::context;
use uuid::Uuid;

use super::super::invites::when;
use super::super::{Visitor, encode, page};
use super::spaces::Fields;
use super::{Confirm, confirm, here, render, space, user};
use crate::AppState;
use crate::extract::Path;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/spaces/{space}/webhooks", get(list).post(create))
        .route("/admin/webhooks/{id}", get(show))
        .route(
            "/admin/webhooks/{id}/delete",
            get(confirm_delete).post(delete),
        )
        .route("/admin/webhooks/{id}/{action}", post(act))
        .route(
            "/admin/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(redeliver),
        )
}

fn row(e: &EndpointRow) -> minijinja::Value {
    context! {
        id => e.id.to_string(),
        url => &e.url,
        description => &e.description,
        kinds => e.kinds.as_ref().map(|k| k.join(", ")),
        enabled => e.enabled,
        disabled_reason => &e.disabled_reason,
        failing_since => e.failing_since.map(|t| when(Some(t))),
    }
}

fn kinds() -> Vec<&'static str> {
    guestlist_app::domain::events::CATALOGUE
        .iter()
        .map(|k| k.name)
        .collect()
}

async fn list(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Path(raw): Path<String>,
) -> Response {
    let result = async {
        let actor = user(&v)?;
        let path = space(&raw)?;
        super::managed(&s, actor, &path).await?;
        let webhooks: Vec<_> = s
            .app
            .list_webhooks(actor)
            .await?
            .iter()
            .filter(|e| e.space_path.as_ref() == Some(&path))
            .map(row)
            .collect();
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/webhooks.html",
            Some((&path, "webhooks")),
            context! { webhooks, kinds => kinds() },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

async fn create(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf", "url", "description", "kinds"])?;
        let actor = v.acting(f.csrf())?;
        let path = space(&raw)?;
        let chosen: Vec<String> = f.all("kinds").into_iter().map(str::to_owned).collect();
        let made = s
            .app
            .create_webhook(
                actor,
                EndpointInput {
                    url: f.get("url").unwrap_or_default().to_owned(),
                    description: f.get("description").map(str::to_owned),
                    kinds: (!chosen.is_empty()).then_some(chosen),
                    space: Some(path.clone()),
                },
            )
            .await?;
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/webhook_secret.html",
            Some((&path, "webhooks")),
            context! { webhook => row(&made.endpoint), secret => made.secret, created => true },
        ))
    }
    .await;
    page(&s, &v, "/admin", result)
}

async fn show(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<Uuid>,
) -> Response {
    let result = async {
        let actor = user(&v)?;
        let e = s.app.get_webhook(actor, id).await?;
        let log = s.app.webhook_deliveries(actor, id, None, Some(50)).await?;
        let deliveries: Vec<_> = log
            .deliveries
            .iter()
            .map(|d| {
                context! {
                    id => d.delivery.id.to_string(),
                    seq => d.delivery.event_seq,
                    kind => &d.event_kind,
                    state => &d.delivery.state,
                    created => when(Some(d.delivery.created_at)),
                    next => (d.delivery.state == "queued").then(|| when(Some(d.delivery.next_attempt_at))),
                    attempts => d.attempts.iter().map(|a| context! {
                        attempt => a.attempt,
                        status => a.status,
                        latency_ms => a.latency_ms,
                        error => &a.error,
                        response => &a.response,
                    }).collect::<Vec<_>>(),
                }
            })
            .collect();
        let path = e.space_path.clone();
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/webhook.html",
            path.as_ref().map(|p| (p, "webhooks")),
            context! { webhook => row(&e), deliveries },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

/// test, enable, disable or rotate; back to the endpoint (a rotation shows the new
/// secret once).
async fn act(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Path((id, action)): Path<(Uuid, String)>,
    body: Bytes,
) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf"])?;
        let actor = v.acting(f.csrf())?;
        let toggle = |enabled| EndpointUpdate {
            enabled: Some(enabled),
            ..Default::default()
        };
        let notice = match action.as_str() {
            "test" => {
                s.app.test_webhook(actor, id).await?;
                "test_sent"
            }
            "enable" => {
                s.app.update_webhook(actor, id, toggle(true)).await?;
                "saved"
            }
            "disable" => {
                s.app.update_webhook(actor, id, toggle(false)).await?;
                "saved"
            }
            "rotate" => {
                let r = s.app.rotate_webhook_secret(actor, id).await?;
                let path = r.endpoint.space_path.clone();
                return Ok(render(
                    &s,
                    &v,
                    &uri,
                    "console/webhook_secret.html",
                    path.as_ref().map(|p| (p, "webhooks")),
                    context! { webhook => row(&r.endpoint), secret => r.secret, created => false },
                ));
            }
            _ => return Err(Error::NotFound("page")),
        };
        Ok::<_, Error>(
            Redirect::to(&format!("/admin/webhooks/{id}?notice={notice}")).into_response(),
        )
    }
    .await;
    page(&s, &v, "/admin", result)
}

async fn redeliver(
    State(s): State<AppState>,
    v: Visitor,
    Path((id, delivery)): Path<(Uuid, Uuid)>,
    body: Bytes,
) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf"])?;
        let actor = v.acting(f.csrf())?;
        s.app.redeliver_webhook(actor, id, delivery).await?;
        Ok::<_, Error>(
            Redirect::to(&format!("/admin/webhooks/{id}?notice=redelivered")).into_response(),
        )
    }
    .await;
    page(&s, &v, "/admin", result)
}

async fn confirm_delete(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<Uuid>,
) -> Response {
    let result = async {
        let actor = user(&v)?;
        let e = s.app.get_webhook(actor, id).await?;
        let back = format!("/admin/webhooks/{id}");
        Ok::<_, Error>(confirm(
            &s,
            &v,
            &uri,
            None,
            Confirm {
                what: "delete_webhook",
                action: format!("/admin/webhooks/{id}/delete"),
                back,
                subject: &e.url,
                hidden: None,
            },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

async fn delete(
    State(s): State<AppState>,
    v: Visitor,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf"])?;
        let actor = v.acting(f.csrf())?;
        let e = s.app.get_webhook(actor, id).await?;
        s.app.delete_webhook(actor, id).await?;
        let to = match e.space_path {
            Some(p) => format!(
                "/admin/spaces/{}/webhooks?notice=removed",
                encode(p.as_str())
            ),
            None => "/admin".to_owned(),
        };
        Ok::<_, Error>(Redirect::to(&to).into_response())
    }
    .await;
    page(&s, &v, "/admin", result)
}
