//! The sign-in handoff. Guestlist keeps no passwords: a page that needs a signed-in
//! visitor sends them to `/auth/sign-in`, which sends them on to the host's
//! `login_url` with `{return_to}` = `{public_url}/auth/callback?state=…`. The host
//! signs them in its own way and sends them back with a form POST of `token` (a user
//! token Guestlist verifies like every front door). The state travels in the URL and
//! in a short-lived cookie, and the two must match: another site cannot sign a
//! visitor in as someone else. `serve --dev` signs in with a form instead.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use guestlist_app::domain::Error;
use guestlist_app::{Secret, SignedIn};
use minijinja::context;
use serde::Deserialize;

use super::Query;
use super::{Form, SESSION_COOKIE, SIGN_IN_COOKIE, Visitor, cookie_value, encode, form};
use crate::AppState;

pub(super) const SIGN_IN: &str = "/auth/sign-in";
pub(super) const CALLBACK: &str = "/auth/callback";
/// How long a visitor has to sign in at the host and come back.
const SIGN_IN_WINDOW_SECS: i64 = 600;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(SIGN_IN, get(sign_in))
        .route(CALLBACK, post(callback))
        .route("/auth/dev", post(dev_sign_in))
        .route("/auth/sign-out", post(sign_out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInParams {
    next: Option<String>,
}

/// Where to come back to: a path of this service, nothing else (no open redirect).
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= 512
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-._~%?=&+:@!$'()*".contains(&b)) =>
        {
            n.to_owned()
        }
        _ => "/me".to_owned(),
    }
}

/// Starts a sign-in: remembers where to come back to, then hands over to the host
/// (or shows the development form).
async fn sign_in(State(s): State<AppState>, v: Visitor, Query(p): Query<SignInParams>) -> Response {
    let next = local_path(p.next.as_deref());
    let state = Secret::generate();
    let cookie = s.pages.cookie(
        SIGN_IN_COOKIE,
        &format!("{}:{next}", state.expose()),
        SIGN_IN_WINDOW_SECS,
        "/auth",
        true,
    );
    let mut res = match (&s.pages.config.login_url, s.pages.config.dev_sign_in) {
        (Some(login), _) => {
            let return_to = format!("{}{CALLBACK}?state={}", s.pages.public_url, state.expose());
            Redirect::to(&login.replace("{return_to}", &encode(&return_to))).into_response()
        }
        (None, true) => s.pages.render(
            &v,
            StatusCode::OK,
            "sign_in.html",
            context! { state => state.expose(), error => None::<String>, user => "", email => "" },
        ),
        (None, false) => {
            return s.pages.problem(
                &v,
                Error::Unavailable("sign-in is not configured (pages.login_url)".into()),
            );
        }
    };
    res.headers_mut().append(header::SET_COOKIE, cookie);
    res
}

/// The state cookie's `next`, if `given` is its state.
fn pending_sign_in(headers: &HeaderMap, given: &str) -> Option<String> {
    let (state, next) = cookie_value(headers, SIGN_IN_COOKIE)?.split_once(':')?;
    guestlist_app::constant_time_eq(state.as_bytes(), given.as_bytes())
        .then(|| local_path(Some(next)))
}

/// Signed in: a new session (the old one, if any, ends: the session is rotated), and
/// back to where the visitor was.
fn signed_in(s: &AppState, signed: SignedIn, next: &str) -> Response {
    let mut res = Redirect::to(next).into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        s.pages.cookie(
            SESSION_COOKIE,
            signed.token.expose(),
            s.pages.config.session_lifetime_secs,
            "/",
            false,
        ),
    );
    h.append(
        header::SET_COOKIE,
        s.pages.cookie(SIGN_IN_COOKIE, "", 0, "/auth", true),
    );
    res
}

async fn end_old_session(s: &AppState, headers: &HeaderMap) {
    if let Some(old) = cookie_value(headers, SESSION_COOKIE)
        && let Err(e) = s.app.sign_out(old).await
    {
        tracing::warn!(error = %e, "could not end the replaced session");
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackParams {
    state: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackForm {
    token: String,
}

/// The host sends the visitor back here with a form POST of their token.
async fn callback(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    Query(p): Query<CallbackParams>,
    f: Form<CallbackForm>,
) -> Response {
    let result = async {
        let f = form(f)?;
        let next = pending_sign_in(&headers, &p.state).ok_or_else(|| {
            Error::Unauthenticated("this sign-in has expired or was started elsewhere".into())
        })?;
        let signed = s.app.sign_in(f.token.trim()).await?;
        end_old_session(&s, &headers).await;
        Ok::<_, Error>(signed_in(&s, signed, &next))
    }
    .await;
    result.unwrap_or_else(|e| s.pages.problem(&v, e))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DevForm {
    state: String,
    user: String,
    #[serde(default)]
    email: String,
}

/// `serve --dev`: signs in as whoever the visitor types.
async fn dev_sign_in(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    f: Form<DevForm>,
) -> Response {
    let f = match form(f) {
        Ok(f) => f,
        Err(e) => return s.pages.problem(&v, e),
    };
    let Some(next) = pending_sign_in(&headers, &f.state) else {
        return s.pages.problem(
            &v,
            Error::Unauthenticated("this sign-in has expired: start again".into()),
        );
    };
    match s.app.dev_sign_in(&f.user, Some(&f.email)).await {
        Ok(signed) => {
            end_old_session(&s, &headers).await;
            signed_in(&s, signed, &next)
        }
        Err(e @ Error::InvalidInput { .. }) => s.pages.render(
            &v,
            StatusCode::BAD_REQUEST,
            "sign_in.html",
            context! { state => f.state, error => e.public_message(), user => f.user, email => f.email },
        ),
        Err(e) => s.pages.problem(&v, e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignOutForm {
    csrf: String,
}

async fn sign_out(State(s): State<AppState>, v: Visitor, f: Form<SignOutForm>) -> Response {
    let result = async {
        let f = form(f)?;
        v.acting(&f.csrf)?;
        if let Some(token) = &v.token {
            s.app.sign_out(token.expose()).await?;
        }
        Ok::<_, Error>(())
    }
    .await;
    match result {
        Ok(()) => {
            let signed_out = Visitor::anonymous(v.ip);
            let mut res =
                s.pages
                    .render(&signed_out, StatusCode::OK, "signed_out.html", context! {});
            res.headers_mut().append(
                header::SET_COOKIE,
                s.pages.cookie(SESSION_COOKIE, "", 0, "/", false),
            );
            res
        }
        Err(e) => s.pages.problem(&v, e),
    }
}
