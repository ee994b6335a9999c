//! The console's invitations: send one (e-mail, username or user id, and a role);
//! bulk from a CSV upload, with a per-row dry run before anything is written, then the
//! per-row outcomes; the list with status and delivery (queued / sent / failed, the
//! last error, attempts); resend; revoke.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, OriginalUri, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use guestlist_app::domain::{Error, InvitationStatus};
use guestlist_app::{
    InvitationFilter, InvitationInput, InvitationView, InviteeInput, invitees_from_csv,
};
use minijinja::context;
use serde::Deserialize;
use uuid::Uuid;

use super::super::Query;
use super::super::invites::when;
use super::super::{Visitor, encode, page};
use super::spaces::Fields;
use super::{Confirm, confirm, here, render, space, user, wire, word};
use crate::AppState;
use crate::extract::Path;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/spaces/{space}/invitations", get(list).post(send))
        .route(
            "/admin/spaces/{space}/invitations/bulk",
            post(bulk).layer(axum::extract::DefaultBodyLimit::max(crate::BULK_BODY_BYTES)),
        )
        .route("/admin/invitations/{id}/resend", post(resend))
        .route(
            "/admin/invitations/{id}/revoke",
            get(confirm_revoke).post(revoke),
        )
}

fn row(v: &InvitationView) -> minijinja::Value {
    let i = &v.invitation;
    let d = i.delivery.as_ref();
    context! {
        id => i.id.to_string(),
        space => i.space_path.as_str(),
        whom => i.addressee.email.as_ref().map(|e| e.to_string())
            .or_else(|| i.addressee.username.as_ref().map(|u| u.to_string()))
            .or_else(|| i.addressee.user_id.as_ref().map(|u| u.to_string())),
        role => i.role.as_str(),
        status => word(&v.status),
        pending => v.status == InvitationStatus::Pending,
        delivery => d.map(|d| word(&d.state)),
        attempts => d.map(|d| d.attempts),
        last_error => d.and_then(|d| d.last_error.clone()),
        sends => i.sends,
        expires => when(Some(i.expires_at)),
        inviter => &i.created_by,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    status: Option<String>,
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
        let status: Option<InvitationStatus> = p
            .status
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                wire(
                    "status",
                    s,
                    "pending, accepted, declined, revoked or expired",
                )
            })
            .transpose()?;
        let listed = s
            .app
            .list_invitations(
                actor,
                InvitationFilter {
                    space: Some(path.clone()),
                    status,
                    after: p.after.clone(),
                    limit: Some(25),
                    ..InvitationFilter::default()
                },
            )
            .await?;
        let roles = s.app.list_roles(actor, path.clone()).await?;
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/invitations.html",
            Some((&path, "invitations")),
            context! {
                invitations => listed.invitations.iter().map(row).collect::<Vec<_>>(),
                next => listed.next.map(|n| format!("after={}{}", encode(&n),
                    status.map(|s| format!("&status={}", word(&s))).unwrap_or_default())),
                status => status.map(|s| word(&s)),
                statuses => ["pending", "accepted", "declined", "revoked", "expired"],
                roles => roles.iter().map(|(r, _)| r.as_str().to_owned()).collect::<Vec<_>>(),
            },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

async fn send(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf", "to", "role"])?;
        let actor = v.acting(f.csrf())?;
        let path = space(&raw)?;
        let to = f
            .get("to")
            .ok_or_else(|| Error::invalid("to", "an e-mail address, a username or a user id"))?;
        // An address has an @; a user id is what the host names users by (`id:…`
        // spells one out); anything else is a username.
        let invitee = if to.contains('@') {
            InviteeInput {
                email: Some(to.to_owned()),
                ..InviteeInput::default()
            }
        } else if let Some(id) = to.strip_prefix("id:") {
            InviteeInput {
                user_id: Some(id.to_owned()),
                ..InviteeInput::default()
            }
        } else {
            InviteeInput {
                username: Some(to.to_owned()),
                ..InviteeInput::default()
            }
        };
        let done = s
            .app
            .invite_one(
                actor,
                InvitationInput {
                    space: path.as_str().to_owned(),
                    role: f.get("role").map(str::to_owned),
                    rows: vec![invitee],
                    ..InvitationInput::default()
                },
                None,
            )
            .await?;
        Ok::<_, Error>(
            Redirect::to(&format!(
                "/admin/spaces/{}/invitations?notice={}",
                encode(path.as_str()),
                word(&done.outcome)
            ))
            .into_response(),
        )
    }
    .await;
    page(&s, &v, "/admin", result)
}

/// A CSV upload (multipart: `csrf`, `role`, `file`) is a dry run; its preview posts
/// the same rows back (urlencoded: `csrf`, `role`, `csv`, `confirm`) to run them.
async fn bulk(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Path(raw): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let result = async {
        let path = space(&raw)?;
        let multipart = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("multipart/form-data"));
        let (csrf, role, csv, confirm) = if multipart {
            let mut m = Multipart::from_request(req, &s)
                .await
                .map_err(|e| Error::invalid("file", e.body_text()))?;
            let (mut csrf, mut role, mut csv) = (String::new(), None, None);
            while let Some(field) = m
                .next_field()
                .await
                .map_err(|e| Error::invalid("file", e.body_text()))?
            {
                let name = field.name().unwrap_or("").to_owned();
                let text = field
                    .text()
                    .await
                    .map_err(|e| Error::invalid("file", e.body_text()))?;
                match name.as_str() {
                    "csrf" => csrf = text,
                    "role" => role = Some(text).filter(|r| !r.trim().is_empty()),
                    "file" => csv = Some(text),
                    other => return Err(Error::invalid(other, "this form has no such field")),
                }
            }
            (csrf, role, csv.ok_or_else(|| Error::invalid("file", "choose a CSV file"))?, false)
        } else {
            let body = axum::body::to_bytes(req.into_body(), crate::BULK_BODY_BYTES)
                .await
                .map_err(|_| Error::PayloadTooLarge)?;
            let f = Fields::parse(&body, &["csrf", "role", "csv", "confirm"])?;
            (
                f.csrf().to_owned(),
                f.get("role").map(str::to_owned),
                f.get("csv").unwrap_or("").to_owned(),
                f.checked("confirm"),
            )
        };
        let actor = v.acting(&csrf)?;
        let rows = invitees_from_csv(&csv)?;
        let shown: Vec<_> = rows
            .iter()
            .map(|r| r.email.clone().or_else(|| r.username.clone()).or_else(|| r.user_id.clone()).unwrap_or_default())
            .collect();
        let done = s
            .app
            .invite(
                actor,
                InvitationInput {
                    space: path.as_str().to_owned(),
                    role: role.clone(),
                    rows,
                    dry_run: !confirm,
                    ..InvitationInput::default()
                },
                None,
            )
            .await?;
        let outcomes: Vec<_> = done
            .rows
            .iter()
            .zip(&shown)
            .enumerate()
            .map(|(n, (r, who))| match r {
                Ok(ok) => context! { row => n + 2, who, ok => true, outcome => word(&ok.outcome) },
                Err(e) => context! { row => n + 2, who, ok => false, outcome => e.code().as_str(), error => e.public_message() },
            })
            .collect();
        let (ok, failed) = done.rows.iter().fold((0, 0), |(o, f), r| if r.is_ok() { (o + 1, f) } else { (o, f + 1) });
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/bulk.html",
            Some((&path, "invitations")),
            context! { dry_run => done.dry_run, outcomes, ok, failed, csv => &csv, role },
        ))
    }
    .await;
    page(&s, &v, "/admin", result)
}

async fn after_action(
    s: &AppState,
    v: &Visitor,
    id: Uuid,
    body: Bytes,
    resend: bool,
) -> Result<Response, Error> {
    let f = Fields::parse(&body, &["csrf"])?;
    let actor = v.acting(f.csrf())?;
    let done = if resend {
        s.app.resend_invitation(actor, id).await?
    } else {
        s.app.revoke_invitation(actor, id).await?
    };
    Ok(Redirect::to(&format!(
        "/admin/spaces/{}/invitations?notice={}",
        encode(done.invitation.space_path.as_str()),
        if resend { "resent" } else { "revoked" }
    ))
    .into_response())
}

async fn resend(
    State(s): State<AppState>,
    v: Visitor,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Response {
    let result = after_action(&s, &v, id, body, true).await;
    page(&s, &v, "/admin", result)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhoParams {
    who: Option<String>,
}

/// Revoking asks first.
async fn confirm_revoke(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<Uuid>,
    Query(p): Query<WhoParams>,
) -> Response {
    let result = async {
        user(&v)?;
        let who = p.who.unwrap_or_else(|| id.to_string());
        Ok::<_, Error>(confirm(
            &s,
            &v,
            &uri,
            None,
            Confirm {
                what: "revoke_invitation",
                action: format!("/admin/invitations/{id}/revoke"),
                back: "/admin".into(),
                subject: &who,
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
    let result = after_action(&s, &v, id, body, false).await;
    page(&s, &v, "/admin", result)
}
