//! The answers `/me` gives to what waits for the visitor: an owner's add (accept or
//! decline) and their own join requests (cancel).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use guestlist_app::domain::Error;
use uuid::Uuid;

use super::invitations::CsrfForm;
use super::{Form, Visitor, form, page};
use crate::AppState;
use crate::extract::Path;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/me/memberships/{id}/accept", post(accept_add))
        .route("/me/memberships/{id}/decline", post(decline_add))
        .route("/me/join-requests/{id}/cancel", post(cancel_request))
}

async fn answer_add(
    s: AppState,
    v: Visitor,
    id: Uuid,
    f: Form<CsrfForm>,
    accept: bool,
) -> Response {
    let result = async {
        let actor = v.acting(&form(f)?.csrf)?;
        s.app.answer_membership(actor, id, accept).await?;
        let notice = if accept {
            "add_accepted"
        } else {
            "add_declined"
        };
        Ok::<_, Error>(Redirect::to(&format!("/me?notice={notice}")).into_response())
    }
    .await;
    page(&s, &v, "/me", result)
}

async fn accept_add(
    State(s): State<AppState>,
    v: Visitor,
    Path(id): Path<Uuid>,
    f: Form<CsrfForm>,
) -> Response {
    answer_add(s, v, id, f, true).await
}

async fn decline_add(
    State(s): State<AppState>,
    v: Visitor,
    Path(id): Path<Uuid>,
    f: Form<CsrfForm>,
) -> Response {
    answer_add(s, v, id, f, false).await
}

async fn cancel_request(
    State(s): State<AppState>,
    v: Visitor,
    Path(id): Path<Uuid>,
    f: Form<CsrfForm>,
) -> Response {
    let result = async {
        let actor = v.acting(&form(f)?.csrf)?;
        s.app.cancel_join_request(actor, id).await?;
        Ok::<_, Error>(Redirect::to("/me?notice=request_cancelled").into_response())
    }
    .await;
    page(&s, &v, "/me", result)
}
