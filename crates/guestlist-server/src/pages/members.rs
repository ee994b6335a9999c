//! Leaving a space from `/me`: a page that asks, then the leave.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use guestlist_app::domain::{Error, SpacePath};
use minijinja::context;
use serde::Deserialize;

use super::Query;
use super::{Form, Visitor, encode, form, page};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/me/leave", get(confirm).post(leave))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpaceParams {
    space: String,
}

async fn confirm(State(s): State<AppState>, v: Visitor, Query(p): Query<SpaceParams>) -> Response {
    let next = format!("/me/leave?space={}", encode(&p.space));
    let result = async {
        v.actor()?;
        let space = SpacePath::parse(&p.space)?;
        Ok::<_, Error>(s.pages.render(
            &v,
            StatusCode::OK,
            "leave.html",
            context! { space => space.as_str() },
        ))
    }
    .await;
    page(&s, &v, &next, result)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaveForm {
    csrf: String,
    space: String,
}

async fn leave(State(s): State<AppState>, v: Visitor, f: Form<LeaveForm>) -> Response {
    let result = async {
        let f = form(f)?;
        let actor = v.acting(&f.csrf)?;
        let space = SpacePath::parse(&f.space).map_err(|e| e.in_field("space"))?;
        s.app.leave_space(actor, space).await?;
        Ok::<_, Error>(Redirect::to("/me?notice=left").into_response())
    }
    .await;
    page(&s, &v, "/me", result)
}
