//! `/i/{code}`: where an invite link lands. The preview, one button, and the outcome.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use guestlist_app::InvitePreview;
use guestlist_app::domain::{Error, JoinOutcome};
use minijinja::context;
use serde::Deserialize;
use time::OffsetDateTime;

use super::{Form, Visitor, form, page};
use crate::AppState;
use crate::extract::Path;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/i/{code}", get(landing))
        .route("/i/{code}/join", post(join))
        .route("/i/{code}/sign-in", get(sign_in))
}

/// A moment as pages show it: `2026-12-09 10:00 UTC`.
pub(super) fn when(t: Option<OffsetDateTime>) -> Option<String> {
    let t = t?;
    Some(format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    ))
}

fn preview_context(p: &InvitePreview) -> minijinja::Value {
    context! {
        space => p.space.as_str(),
        space_name => &p.space_name,
        inviter => &p.inviter,
        member_count => p.member_count,
        role => p.role.as_str(),
        expires => when(p.expires_at),
        uses_left => p.uses_left,
    }
}

async fn landing(State(s): State<AppState>, v: Visitor, Path(code): Path<String>) -> Response {
    match s.app.landing(&v.caller(), &code).await {
        Ok(p) => s.pages.render(
            &v,
            StatusCode::OK,
            "landing.html",
            context! { invite => preview_context(&p), code },
        ),
        Err(e) => s.pages.problem(&v, e),
    }
}

/// "Sign in to join": counted in the link's funnel, then the sign-in, coming back.
async fn sign_in(State(s): State<AppState>, v: Visitor, Path(code): Path<String>) -> Response {
    match s.app.landing_sign_in(&v.caller(), &code).await {
        Ok(()) => super::sign_in_first(&format!("/i/{code}")),
        Err(e) => s.pages.problem(&v, e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JoinForm {
    csrf: String,
}

async fn join(
    State(s): State<AppState>,
    v: Visitor,
    Path(code): Path<String>,
    f: Form<JoinForm>,
) -> Response {
    let next = format!("/i/{code}");
    let result = async {
        let f = form(f)?;
        v.acting(&f.csrf)?;
        let redeemed = s.app.redeem_invite(&v.caller(), &code, None).await?;
        let outcome = match redeemed.outcome {
            JoinOutcome::Joined => "joined",
            JoinOutcome::Upgraded => "upgraded",
            JoinOutcome::AlreadyMember => "already_member",
            JoinOutcome::Requested => "requested",
        };
        Ok::<_, Error>(s.pages.render(
            &v,
            StatusCode::OK,
            "outcome.html",
            context! {
                outcome,
                space => &redeemed.space_name,
                role => redeemed.role.as_str(),
                continue_url => s.pages.after_join(redeemed.space.as_str()),
            },
        ))
    }
    .await;
    page(&s, &v, &next, result)
}
