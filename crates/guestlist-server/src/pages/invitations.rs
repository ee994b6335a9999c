//! `/invitations/accept?token=…`: the link in an invitation e-mail. Who invited whom
//! to what, then accept or decline; a visitor signed in as someone else is told so in
//! words, and the invitation stays pending. Also the answers given from `/me`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use guestlist_app::domain::{Binding, Error, InvitationStatus, JoinOutcome};
use guestlist_app::{Decision, InvitationPreview};
use minijinja::context;
use serde::Deserialize;
use uuid::Uuid;

use super::Query;
use super::invites::when;
use super::{Form, Visitor, encode, form, page};
use crate::AppState;
use crate::extract::Path;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/invitations/accept", get(show).post(accept))
        .route("/invitations/decline", post(decline))
        .route("/me/invitations/{id}/accept", post(accept_mine))
        .route("/me/invitations/{id}/decline", post(decline_mine))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenParams {
    token: String,
}

fn status_word(s: InvitationStatus) -> &'static str {
    match s {
        InvitationStatus::Pending => "pending",
        InvitationStatus::Accepted => "accepted",
        InvitationStatus::Declined => "declined",
        InvitationStatus::Revoked => "revoked",
        InvitationStatus::Expired => "expired",
    }
}

fn binding_word(b: Option<Binding>) -> &'static str {
    match b {
        None => "signed_out",
        Some(Binding::Matches) => "matches",
        Some(Binding::EmailUnverified) => "email_unverified",
        Some(Binding::Mismatch) => "mismatch",
    }
}

fn invitation_context(p: &InvitationPreview) -> minijinja::Value {
    let i = &p.invitation.invitation;
    context! {
        space => i.space_path.as_str(),
        space_name => &p.space_name,
        role => i.role.as_str(),
        inviter => &i.created_by_name,
        email => i.addressee.email.as_ref().map(|e| e.to_string()),
        username => i.addressee.username.as_ref().map(|u| u.to_string()),
        message => &i.message,
        expires => when(Some(i.expires_at)),
        status => status_word(p.invitation.status),
    }
}

async fn show(State(s): State<AppState>, v: Visitor, Query(p): Query<TokenParams>) -> Response {
    match s.app.preview_invitation(&v.caller(), &p.token).await {
        Ok(preview) => s.pages.render(
            &v,
            StatusCode::OK,
            "invitation.html",
            context! {
                invitation => invitation_context(&preview),
                binding => binding_word(preview.binding),
                next => encode(&format!("/invitations/accept?token={}", encode(&p.token))),
                token => p.token,
            },
        ),
        Err(e) => s.pages.problem(&v, e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerForm {
    csrf: String,
    token: String,
}

fn joined_word(o: Option<JoinOutcome>) -> &'static str {
    match o {
        Some(JoinOutcome::Joined) | None => "joined",
        Some(JoinOutcome::Upgraded) => "upgraded",
        Some(JoinOutcome::AlreadyMember) => "already_member",
        Some(JoinOutcome::Requested) => "requested",
    }
}

async fn answer(s: AppState, v: Visitor, f: Form<AnswerForm>, decision: Decision) -> Response {
    let mut next = "/me".to_owned();
    let result = async {
        let f = form(f)?;
        next = format!("/invitations/accept?token={}", encode(&f.token));
        v.acting(&f.csrf)?;
        let answered = s
            .app
            .respond_by_token(&v.caller(), &f.token, decision)
            .await?;
        let path = answered
            .invitation
            .invitation
            .space_path
            .as_str()
            .to_owned();
        let outcome = match decision {
            Decision::Accept => joined_word(answered.outcome),
            Decision::Decline => "declined",
        };
        Ok::<_, Error>(s.pages.render(
            &v,
            StatusCode::OK,
            "outcome.html",
            context! {
                outcome,
                role => answered.invitation.invitation.role.as_str(),
                continue_url => s.pages.after_join(&path),
                space => answered.space_name,
            },
        ))
    }
    .await;
    page(&s, &v, &next, result)
}

async fn accept(State(s): State<AppState>, v: Visitor, f: Form<AnswerForm>) -> Response {
    answer(s, v, f, Decision::Accept).await
}

async fn decline(State(s): State<AppState>, v: Visitor, f: Form<AnswerForm>) -> Response {
    answer(s, v, f, Decision::Decline).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CsrfForm {
    pub(super) csrf: String,
}

async fn answer_mine(
    s: AppState,
    v: Visitor,
    id: Uuid,
    f: Form<CsrfForm>,
    decision: Decision,
) -> Response {
    let result = async {
        let actor = v.acting(&form(f)?.csrf)?;
        s.app.respond_by_id(actor, id, decision).await?;
        let notice = match decision {
            Decision::Accept => "invitation_accepted",
            Decision::Decline => "invitation_declined",
        };
        Ok::<_, Error>(Redirect::to(&format!("/me?notice={notice}")).into_response())
    }
    .await;
    page(&s, &v, "/me", result)
}

async fn accept_mine(
    State(s): State<AppState>,
    v: Visitor,
    Path(id): Path<Uuid>,
    f: Form<CsrfForm>,
) -> Response {
    answer_mine(s, v, id, f, Decision::Accept).await
}

async fn decline_mine(
    State(s): State<AppState>,
    v: Visitor,
    Path(id): Path<Uuid>,
    f: Form<CsrfForm>,
) -> Response {
    answer_mine(s, v, id, f, Decision::Decline).await
}
