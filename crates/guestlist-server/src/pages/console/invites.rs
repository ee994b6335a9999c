//! The console's invite links: the create form, the list (state, uses / max, creator,
//! expiry; filters by state and creator; paged), the link shown again, and revoking
//! with a confirmation.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use guestlist_app::domain::{Error, InviteState, RoleName};
use guestlist_app::{CreateInvite, InviteFilter, InviteView};
use minijinja::context;
use serde::Deserialize;
use uuid::Uuid;

use super::super::Query;
use super::super::invites::when;
use super::super::{Visitor, encode, page};
use super::spaces::Fields;
use super::{Confirm, confirm, here, render, space, user, wire};
use crate::AppState;
use crate::extract::Path;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/spaces/{space}/invites", get(list).post(create))
        .route("/admin/invites/{id}/link", get(show_link))
        .route(
            "/admin/invites/{id}/revoke",
            get(confirm_revoke).post(revoke),
        )
}

pub(super) fn state_word(s: InviteState) -> &'static str {
    match s {
        InviteState::Active => "active",
        InviteState::Revoked => "revoked",
        InviteState::Expired => "expired",
        InviteState::Exhausted => "exhausted",
    }
}

fn row(v: &InviteView) -> minijinja::Value {
    let i = &v.invite;
    context! {
        id => i.id.to_string(),
        space => i.space_path.as_str(),
        role => i.role.as_str(),
        state => state_word(v.state),
        uses => i.uses,
        max_uses => i.max_uses,
        creator => &i.created_by,
        expires => when(i.expires_at),
        description => &i.description,
        requires_approval => i.requires_approval,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    state: Option<String>,
    created_by: Option<String>,
    after: Option<String>,
    /// Shown by `render`, which reads it from the URL.
    #[serde(rename = "notice")]
    _notice: Option<String>,
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
        let state: Option<InviteState> = p
            .state
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| wire("state", s, "active, revoked, expired or exhausted"))
            .transpose()?;
        let created_by = p.created_by.clone().filter(|c| !c.is_empty());
        let listed = s
            .app
            .list_invites(
                actor,
                InviteFilter {
                    subtrees: vec![path.clone()],
                    states: state.map(|s| vec![s]),
                    created_by: created_by.clone(),
                    after: p.after.clone(),
                    limit: Some(25),
                    with_funnels: true,
                    ..InviteFilter::default()
                },
            )
            .await?;
        let roles = s.app.list_roles(actor, path.clone()).await?;
        let invites: Vec<_> = listed
            .invites
            .iter()
            .map(|i| {
                let f = listed
                    .funnels
                    .iter()
                    .find(|f| f.invite_id == i.invite.id)
                    .copied()
                    .unwrap_or_default();
                context! {
                    funnel => context! { views => f.views, sign_ins => f.sign_ins, joins => f.joins, requests => f.requests },
                    ..row(i)
                }
            })
            .collect();
        let next = listed.next.map(|n| {
            let mut q = format!("after={}", encode(&n));
            if let Some(st) = state {
                q.push_str(&format!("&state={}", state_word(st)));
            }
            if let Some(c) = &created_by {
                q.push_str(&format!("&created_by={}", encode(c)));
            }
            q
        });
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/invites.html",
            Some((&path, "invites")),
            context! {
                invites,
                next,
                filter => context! { state => state.map(state_word), created_by },
                roles => roles.iter().map(|(r, _)| r.as_str().to_owned()).collect::<Vec<_>>(),
                states => ["active", "revoked", "expired", "exhausted"],
            },
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
        let f = Fields::parse(
            &body,
            &[
                "csrf",
                "role",
                "max_uses",
                "expires_in_hours",
                "description",
                "allow_narrowing",
                "requires_approval",
                "auto_approve_domains",
                "code",
            ],
        )?;
        let actor = v.acting(f.csrf())?;
        let path = space(&raw)?;
        let hours: Option<i64> = f.number("expires_in_hours")?;
        let created = s
            .app
            .create_invite(
                actor,
                CreateInvite {
                    space: path.clone(),
                    role: f
                        .get("role")
                        .map(RoleName::parse)
                        .transpose()
                        .map_err(|e| e.in_field("role"))?,
                    max_uses: f.number("max_uses")?,
                    expires_in_seconds: hours.map(|h| h.saturating_mul(3600)),
                    description: f.get("description").map(str::to_owned),
                    allow_narrowing: f.checked("allow_narrowing"),
                    requires_approval: f.checked("requires_approval"),
                    auto_approve_domains: f
                        .get("auto_approve_domains")
                        .unwrap_or("")
                        .split([',', ' '])
                        .filter(|d| !d.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    code: f.get("code").filter(|c| !c.is_empty()).map(str::to_owned),
                },
            )
            .await?;
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/invite_link.html",
            Some((&path, "invites")),
            context! { link => created.link, invite => row(&created.invite), created => true },
        ))
    }
    .await;
    page(&s, &v, "/admin", result)
}

async fn show_link(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<Uuid>,
) -> Response {
    let result = async {
        let actor = user(&v)?;
        let shown = s.app.show_invite_link(actor, &id.to_string()).await?;
        let path = shown.invite.invite.space_path.clone();
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/invite_link.html",
            Some((&path, "invites")),
            context! { link => shown.link, invite => row(&shown.invite), created => false },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

async fn confirm_revoke(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<Uuid>,
) -> Response {
    let result = async {
        user(&v)?;
        Ok::<_, Error>(confirm(
            &s,
            &v,
            &uri,
            None,
            Confirm {
                what: "revoke_invite",
                action: format!("/admin/invites/{id}/revoke"),
                back: "/admin".into(),
                subject: &id.to_string(),
                hidden: None,
            },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

async fn revoke(
    State(s): State<AppState>,
    v: Visitor,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf"])?;
        let actor = v.acting(f.csrf())?;
        let revoked = s.app.revoke_invite(actor, &id.to_string()).await?;
        Ok::<_, Error>(
            Redirect::to(&format!(
                "/admin/spaces/{}/invites?notice=revoked",
                encode(revoked.invite.space_path.as_str())
            ))
            .into_response(),
        )
    }
    .await;
    page(&s, &v, "/admin", result)
}
