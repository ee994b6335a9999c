//! The console's join requests: the pending ones of a space, approved or denied one
//! at a time or several at once.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use guestlist_app::domain::Error;
use guestlist_app::store::JoinRequestStatus;
use minijinja::context;
use uuid::Uuid;

use super::super::invites::when;
use super::super::{Visitor, encode, page};
use super::spaces::Fields;
use super::{here, render, space, user};
use crate::AppState;
use crate::extract::Path;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/admin/spaces/{space}/requests", get(list).post(decide))
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
        let pending = s
            .app
            .list_join_requests(
                actor,
                path.clone(),
                Some(JoinRequestStatus::Pending),
                None,
                Some(100),
            )
            .await?;
        let requests: Vec<_> = pending
            .requests
            .iter()
            .map(|r| {
                let r = &r.request;
                context! {
                    id => r.id.to_string(),
                    user => r.user_id.as_str(),
                    email => r.email.as_ref().map(|e| e.to_string()),
                    role => r.role.as_str(),
                    message => &r.message,
                    since => when(Some(r.created_at)),
                    by_link => r.invite_id.is_some(),
                }
            })
            .collect();
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/requests.html",
            Some((&path, "requests")),
            context! { requests, more => pending.next.is_some() },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

/// `decision` is approve or deny; `id` is repeated, one per ticked request. Each is
/// decided on its own: one that another manager decided first does not stop the rest.
async fn decide(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf", "id", "decision"])?;
        let actor = v.acting(f.csrf())?;
        let path = space(&raw)?;
        let approve = match f.get("decision") {
            Some("approve") => true,
            Some("deny") => false,
            _ => return Err(Error::invalid("decision", "approve or deny")),
        };
        let ids = f
            .all("id")
            .into_iter()
            .map(|id| Uuid::parse_str(id).map_err(|_| Error::invalid("id", "a request id")))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            return Err(Error::invalid("id", "tick at least one request"));
        }
        let mut done = 0;
        let mut first_refusal = None;
        for id in ids {
            match s.app.decide_join_request(actor, id, approve).await {
                Ok(_) => done += 1,
                Err(e) => {
                    first_refusal.get_or_insert(e);
                }
            }
        }
        if done == 0
            && let Some(e) = first_refusal
        {
            return Err(e);
        }
        let notice = if approve { "approved" } else { "denied" };
        Ok::<_, Error>(
            Redirect::to(&format!(
                "/admin/spaces/{}/requests?notice={notice}",
                encode(path.as_str())
            ))
            .into_response(),
        )
    }
    .await;
    page(&s, &v, "/admin", result)
}
