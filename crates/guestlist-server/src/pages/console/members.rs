//! The console's members: the list with role, source and who brought them; change a
//! role; remove (the last-admin rule says why when it refuses); add an existing
//! account (an owner's add, which waits for their consent), pending adds shown.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use guestlist_app::Account;
use guestlist_app::domain::{Email, Error, MembershipStatus, RoleName, UserId};
use minijinja::context;
use serde::Deserialize;

use super::super::Query;
use super::super::invites::when;
use super::super::{Visitor, encode, page};
use super::spaces::Fields;
use super::{Confirm, confirm, here, render, space, user, word};
use crate::AppState;
use crate::extract::Path;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/spaces/{space}/members", get(list).post(add))
        .route(
            "/admin/spaces/{space}/members/{user}/role",
            post(change_role),
        )
        .route(
            "/admin/spaces/{space}/members/{user}/remove",
            get(confirm_remove).post(remove),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
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
        let listed = s
            .app
            .list_members(actor, path.clone(), p.after.clone(), Some(50))
            .await?;
        let roles = s.app.list_roles(actor, path.clone()).await?;
        let brought = s
            .app
            .who_brought(
                actor,
                path.clone(),
                listed.members.iter().map(|m| m.membership.id).collect(),
            )
            .await?;
        let (active, pending): (Vec<_>, Vec<_>) = listed
            .members
            .iter()
            .partition(|m| m.membership.status == MembershipStatus::Active);
        let show = |m: &&guestlist_app::MembershipView| {
            context! {
                user => m.membership.user_id.as_str(),
                user_q => encode(m.membership.user_id.as_str()),
                role => m.membership.role.as_str(),
                source => word(&m.membership.source),
                since => when(Some(m.membership.created_at)),
                by_link => m.membership.invite_id.map(|i| i.to_string()),
                brought_by => brought.iter().find(|(id, _)| *id == m.membership.id).map(|(_, by)| by.clone()),
            }
        };
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/members.html",
            Some((&path, "members")),
            context! {
                members => active.iter().map(show).collect::<Vec<_>>(),
                pending => pending.iter().map(show).collect::<Vec<_>>(),
                next => listed.next.map(|n| format!("after={}", encode(&n))),
                roles => roles.iter().map(|(r, _)| r.as_str().to_owned()).collect::<Vec<_>>(),
            },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

fn back(path: &str, notice: &str) -> Response {
    Redirect::to(&format!(
        "/admin/spaces/{}/members?notice={notice}",
        encode(path)
    ))
    .into_response()
}

async fn add(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf", "account", "role"])?;
        let actor = v.acting(f.csrf())?;
        let path = space(&raw)?;
        let who = f
            .get("account")
            .ok_or_else(|| Error::invalid("account", "a user id or an e-mail address"))?;
        let account = if who.contains('@') {
            Account::Email(Email::parse(who).map_err(|e| e.in_field("account"))?)
        } else {
            Account::Id(UserId::parse(who).map_err(|e| e.in_field("account"))?)
        };
        let role = f
            .get("role")
            .map(RoleName::parse)
            .transpose()
            .map_err(|e| e.in_field("role"))?;
        let (outcome, _) = s.app.add_member(actor, path.clone(), account, role).await?;
        Ok::<_, Error>(back(path.as_str(), &word(&outcome)))
    }
    .await;
    page(&s, &v, "/admin", result)
}

async fn change_role(
    State(s): State<AppState>,
    v: Visitor,
    Path((raw, member)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf", "role"])?;
        let actor = v.acting(f.csrf())?;
        let path = space(&raw)?;
        let role = RoleName::parse(f.get("role").unwrap_or("")).map_err(|e| e.in_field("role"))?;
        let member = UserId::parse(&member)?;
        s.app.change_role(actor, path.clone(), member, role).await?;
        Ok::<_, Error>(back(path.as_str(), "role_changed"))
    }
    .await;
    page(&s, &v, "/admin", result)
}

async fn confirm_remove(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Path((raw, member)): Path<(String, String)>,
) -> Response {
    let result = async {
        user(&v)?;
        let path = space(&raw)?;
        let member = UserId::parse(&member)?;
        let q = encode(path.as_str());
        Ok::<_, Error>(confirm(
            &s,
            &v,
            &uri,
            Some((&path, "members")),
            Confirm {
                what: "remove_member",
                action: format!(
                    "/admin/spaces/{q}/members/{}/remove",
                    encode(member.as_str())
                ),
                back: format!("/admin/spaces/{q}/members"),
                subject: member.as_str(),
                hidden: None,
            },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

async fn remove(
    State(s): State<AppState>,
    v: Visitor,
    Path((raw, member)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf"])?;
        let actor = v.acting(f.csrf())?;
        let path = space(&raw)?;
        s.app
            .remove_member(actor, path.clone(), UserId::parse(&member)?)
            .await?;
        Ok::<_, Error>(back(path.as_str(), "removed"))
    }
    .await;
    page(&s, &v, "/admin", result)
}
