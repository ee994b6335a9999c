//! The admin console, `/admin`: the pages for the people who run spaces, on the same
//! sign-in, sessions, templates and protections as the people-facing pages. One file
//! per feature, as everywhere: `spaces.rs`, `invites.rs`, `invitations.rs`,
//! `requests.rs`, `members.rs`, `events.rs`, `webhooks.rs`, `signup.rs` (the platform). Each handler
//! calls the same application function as its REST twin, as the signed-in user: who
//! may see and do what is decided there (the grant ceiling, the last-admin rule,
//! visibility), and a refusal is the same page as anywhere else.

mod events;
mod invitations;
mod invites;
mod members;
mod requests;
mod signup;
mod spaces;
mod webhooks;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use guestlist_app::domain::{Actor, Error, SpacePath};
use minijinja::{Value, context};

use super::{Visitor, encode};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .merge(spaces::router())
        .merge(invites::router())
        .merge(invitations::router())
        .merge(requests::router())
        .merge(members::router())
        .merge(events::router())
        .merge(signup::router())
        .merge(webhooks::router())
}

/// A space named in a console URL (`/admin/spaces/acme%2Feng%2F/…`; the trailing
/// slash may be left out, as in the API).
fn space(raw: &str) -> Result<SpacePath, Error> {
    crate::extract::space_param(raw).map_err(|e| e.0)
}

/// The signed-in person, for the console: a user (sessions hold no API keys).
fn user(v: &Visitor) -> Result<&Actor, Error> {
    v.actor()
}

/// The space, if the visitor runs it (`SpaceView::manages`); else refused as the
/// application refuses it (`not_found` for a space they cannot see at all).
async fn managed(
    s: &AppState,
    actor: &Actor,
    path: &SpacePath,
) -> Result<guestlist_app::SpaceView, Error> {
    let sv = s.app.get_space(actor, path.clone()).await?;
    if sv.manages() {
        Ok(sv)
    } else {
        Err(Error::Forbidden("you do not run this space".into()))
    }
}

/// What every page of a space shows above its content: the space and its tabs.
fn space_nav(path: &SpacePath, tab: &str) -> Value {
    context! {
        path => path.as_str(),
        q => encode(path.as_str()),
        tab,
    }
}

/// Renders a console page of `space` (or of none), with the notice the action that
/// led here left in the URL (`?notice=key`; only the catalogue's keys are shown).
fn render(
    s: &AppState,
    v: &Visitor,
    uri: &Uri,
    template: &str,
    space: Option<(&SpacePath, &str)>,
    ctx: Value,
) -> Response {
    let nav = space.map(|(p, tab)| space_nav(p, tab));
    let platform = v.actor.as_ref().is_some_and(Actor::is_platform_admin);
    let notice = uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "notice")
            .map(|(_, v)| v.into_owned())
    });
    s.pages.render(
        v,
        StatusCode::OK,
        template,
        context! { nav, platform, notice, ..ctx },
    )
}

/// The question asked before a destructive action: `what` names its words in the
/// catalogue (`console.confirm.<what>`); the form posts to `action`, with one hidden
/// field when the action needs it.
struct Confirm<'a> {
    what: &'static str,
    action: String,
    back: String,
    subject: &'a str,
    hidden: Option<(&'static str, &'a str)>,
}

fn confirm(
    s: &AppState,
    v: &Visitor,
    uri: &Uri,
    space: Option<(&SpacePath, &str)>,
    c: Confirm<'_>,
) -> Response {
    render(
        s,
        v,
        uri,
        "console/confirm.html",
        space,
        context! {
            what => c.what,
            action => c.action,
            back => c.back,
            subject => c.subject,
            hidden => c.hidden.map(|(name, value)| context! { name, value }),
        },
    )
}

/// Where to come back to after signing in: the page asked for.
fn here(uri: &Uri) -> String {
    uri.path_and_query()
        .map_or("/admin".to_owned(), |p| p.as_str().to_owned())
}

/// An enum's wire name (`already_member`, `queued`, …), as the API writes it.
fn word<T: serde::Serialize>(t: &T) -> String {
    match serde_json::to_value(t) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// An enum given by its wire name (a form's or a filter's value), or `field` refused
/// with what it may be.
fn wire<T: serde::de::DeserializeOwned>(field: &str, v: &str, expected: &str) -> Result<T, Error> {
    serde_json::from_value(serde_json::Value::String(v.to_owned()))
        .map_err(|_| Error::invalid(field, expected))
}
