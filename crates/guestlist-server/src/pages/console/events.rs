//! The console's audit log: the events of a space and beneath it, newest first,
//! filtered by kind, actor and days, paged, each linked to its subject.

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::response::Response;
use axum::routing::get;
use guestlist_app::EventFilter;
use guestlist_app::domain::Error;
use minijinja::context;
use serde::Deserialize;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

use super::super::Query;
use super::super::invites::when;
use super::super::{Visitor, encode, page};
use super::{here, render, space, user};
use crate::AppState;
use crate::extract::Path;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/admin/spaces/{space}/events", get(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    kind: Option<String>,
    actor: Option<String>,
    /// Days, `2026-12-01`: from the start of `since` to the end of `until` (UTC).
    since: Option<String>,
    until: Option<String>,
    before: Option<i64>,
}

/// A day as the date input sends it, at its first moment (UTC).
fn day(field: &str, v: Option<&str>) -> Result<Option<OffsetDateTime>, Error> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let date = Date::parse(v, format_description!("[year]-[month]-[day]"))
        .map_err(|_| Error::invalid(field, "a day: 2026-12-01"))?;
    Ok(Some(date.midnight().assume_utc()))
}

async fn list(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Path(raw): Path<String>,
    Query(p): Query<ListParams>,
) -> Response {
    let result = async {
        let actor = user(&v)?;
        let path = space(&raw)?;
        // The log shows only what the visitor may see; a space they do not run is
        // refused outright, not shown empty.
        super::managed(&s, actor, &path).await?;
        let kind = p.kind.clone().filter(|k| !k.is_empty());
        let by = p.actor.clone().filter(|a| !a.is_empty());
        let since = day("since", p.since.as_deref())?;
        let until = day("until", p.until.as_deref())?.map(|d| d + Duration::days(1));
        let listed = s
            .app
            .list_events(
                actor,
                EventFilter {
                    space: Some(path.clone()),
                    kinds: kind.clone().into_iter().collect(),
                    actor: by.clone(),
                    since,
                    until,
                    before: p.before,
                    limit: Some(50),
                },
            )
            .await?;
        let events: Vec<_> = listed
            .events
            .iter()
            .map(|e| {
                let space = e.space_path.as_ref().map(|p| p.as_str().to_owned());
                // The subject's page: a member's row, or the space itself.
                let link = match (&space, &e.subject) {
                    (Some(sp), Some(_)) if e.kind.starts_with("member.") => {
                        Some(format!("/admin/spaces/{}/members", encode(sp)))
                    }
                    (Some(sp), _) if e.kind.starts_with("invite.") => {
                        Some(format!("/admin/spaces/{}/invites", encode(sp)))
                    }
                    (Some(sp), _) if e.kind.starts_with("invitation.") => {
                        Some(format!("/admin/spaces/{}/invitations", encode(sp)))
                    }
                    (Some(sp), _) if e.kind.starts_with("join_request.") => {
                        Some(format!("/admin/spaces/{}/requests", encode(sp)))
                    }
                    (Some(sp), _) => Some(format!("/admin/spaces/{}", encode(sp))),
                    _ => None,
                };
                context! {
                    seq => e.seq,
                    kind => &e.kind,
                    actor => &e.actor,
                    subject => &e.subject,
                    space,
                    link,
                    at => when(Some(e.created_at)),
                }
            })
            .collect();
        let next = listed.next.map(|n| {
            format!(
                "before={n}{}",
                kind.as_ref()
                    .map(|k| format!("&kind={}", encode(k)))
                    .unwrap_or_default()
            )
        });
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/events.html",
            Some((&path, "events")),
            context! { events, next, kind, by, since => p.since.clone(), until => p.until.clone() },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}
