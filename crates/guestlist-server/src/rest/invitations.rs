//! REST handlers for invitations addressed to one person. Thin: parse, call one
//! application function, render.

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use guestlist_api as api;
use guestlist_app::domain::{Error, InvitationStatus, SpacePath};
use guestlist_app::{
    BulkResult, InvitationOutcome, InvitationResponse, InvitationResult, InvitationView,
};
use guestlist_app::{Decision, InvitationFilter, InvitationInput, InviteeInput};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Auth, ClientIp, Json, Path, Query, caller};
use crate::rest::PageParams;
use guestlist_app::domain::parse_id;

type Res<T> = Result<T, ApiError>;

/// This feature's routes, under `/api/v1`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/invitations", post(create).get(list))
        .route(
            "/invitations/bulk",
            // 1,000 rows need more than the default body limit.
            post(bulk).layer(DefaultBodyLimit::max(crate::BULK_BODY_BYTES)),
        )
        .route("/invitations/accept", post(accept))
        .route("/invitations/decline", post(decline))
        .route("/invitations/{id}", get(get_one).delete(revoke))
        .route("/invitations/{id}/resend", post(resend))
        .route("/me/invitations", get(mine))
        .route("/me/invitations/{id}/accept", post(accept_mine))
        .route("/me/invitations/{id}/decline", post(decline_mine))
}

/// The `Idempotency-Key` header, if sent.
fn idempotency_key(headers: &HeaderMap) -> Res<Option<String>> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| Error::invalid("Idempotency-Key", "printable ASCII only").into())
        })
        .transpose()
}

/// Invite one person to a space (manage_invites). `invited` answers 201; the
/// idempotent `already_invited` and `already_member` answer 200.
#[utoipa::path(post, operation_id = "create_invitation", path = "/api/v1/invitations", tag = "invitations", request_body = api::CreateInvitationRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "Makes a retry within 24 hours return the first answer; 1-255 printable ASCII characters")),
    responses((status = 201, body = api::InvitationResult), (status = 200, body = api::InvitationResult),
        (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody), (status = 429, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(s): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    Json(req): Json<api::CreateInvitationRequest>,
) -> Res<impl IntoResponse> {
    let input = InvitationInput {
        space: req.space,
        role: req.role,
        expires_in_seconds: req.expires_in_seconds,
        message: req.message,
        dry_run: false,
        rows: vec![InviteeInput {
            email: req.email,
            username: req.username,
            user_id: req.user_id,
            role: None,
        }],
    };
    let r = s
        .app
        .invite_one(&actor, input, idempotency_key(&headers)?.as_deref())
        .await?;
    let status = match r.outcome {
        InvitationOutcome::Invited => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok((status, Json(invitation_result(r))))
}

/// Invite up to 1,000 people to one space; each row gets its own outcome or error.
/// `dry_run` decides every row and changes nothing.
#[utoipa::path(post, operation_id = "bulk_invite", path = "/api/v1/invitations/bulk", tag = "invitations", request_body = api::BulkInvitationRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "Makes a retry within 24 hours return the first answer; 1-255 printable ASCII characters")),
    responses((status = 200, body = api::BulkInvitationResult), (status = 400, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody), (status = 422, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn bulk(
    State(s): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    Json(req): Json<api::BulkInvitationRequest>,
) -> Res<Json<api::BulkInvitationResult>> {
    let input = InvitationInput {
        space: req.space,
        role: req.role,
        expires_in_seconds: req.expires_in_seconds,
        message: req.message,
        dry_run: req.dry_run,
        rows: req
            .rows
            .into_iter()
            .map(|r| InviteeInput {
                email: r.email,
                username: r.username,
                user_id: r.user_id,
                role: r.role,
            })
            .collect(),
    };
    let r = s
        .app
        .invite(&actor, input, idempotency_key(&headers)?.as_deref())
        .await?;
    Ok(Json(bulk_result(r)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only invitations to this space and beneath.
    #[param(value_type = Option<guestlist_app::domain::SpacePath>)]
    pub space: Option<String>,
    pub status: Option<InvitationStatus>,
    /// Only invitations to this address (case-insensitive).
    #[param(value_type = Option<guestlist_app::domain::Email>)]
    pub email: Option<String>,
    #[param(value_type = Option<guestlist_app::domain::formats::Cursor>)]
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The invitations of the spaces you manage invites for, newest first. Never tokens.
#[utoipa::path(get, operation_id = "list_invitations", path = "/api/v1/invitations", tag = "invitations", params(ListParams),
    responses((status = 200, body = api::InvitationPage), (status = 400, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<ListParams>,
) -> Res<Json<api::InvitationPage>> {
    let filter = InvitationFilter {
        space: q.space.as_deref().map(SpacePath::parse).transpose()?,
        status: q.status,
        email: q.email,
        after: q.after,
        limit: q.limit,
    };
    let page = s.app.list_invitations(&actor, filter).await?;
    Ok(Json(page_of(page)))
}

fn page_of(page: guestlist_app::InvitationPage) -> api::InvitationPage {
    api::InvitationPage {
        invitations: page.invitations.into_iter().map(invitation).collect(),
        next: page.next,
    }
}

/// One invitation (manage_invites on its space).
#[utoipa::path(get, operation_id = "get_invitation", path = "/api/v1/invitations/{id}", tag = "invitations", params(("id" = Uuid, Path)),
    responses((status = 200, body = api::Invitation), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_one(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Res<Json<api::Invitation>> {
    let v = s
        .app
        .get_invitation(&actor, parse_id(&id, "invitation")?)
        .await?;
    Ok(Json(invitation(v)))
}

/// Revoke a pending invitation (soft; `409 not_pending` otherwise). Its token stops
/// working and an unsent e-mail is cancelled.
#[utoipa::path(delete, operation_id = "revoke_invitation", path = "/api/v1/invitations/{id}", tag = "invitations", params(("id" = Uuid, Path)),
    responses((status = 200, body = api::Invitation), (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Res<Json<api::Invitation>> {
    let v = s
        .app
        .revoke_invitation(&actor, parse_id(&id, "invitation")?)
        .await?;
    Ok(Json(invitation(v)))
}

/// Send a pending or expired invitation again: a new token and expiry, the old token
/// refused from now on. A pending one at most once per configured interval (429).
#[utoipa::path(post, operation_id = "resend_invitation", path = "/api/v1/invitations/{id}/resend", tag = "invitations", params(("id" = Uuid, Path)),
    responses((status = 200, body = api::Invitation), (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 429, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn resend(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Res<Json<api::Invitation>> {
    let v = s
        .app
        .resend_invitation(&actor, parse_id(&id, "invitation")?)
        .await?;
    Ok(Json(invitation(v)))
}

async fn answer_by_token(
    s: AppState,
    actor: Auth,
    ip: ClientIp,
    token: &str,
    decision: Decision,
) -> Res<Json<api::InvitationAnswer>> {
    let r = s
        .app
        .respond_by_token(&caller(Some(actor), ip), token, decision)
        .await?;
    Ok(Json(invitation_answer(r)))
}

/// Accept with the token from the e-mail. The caller must be the addressee: the same
/// user id or username, or the same e-mail verified by the host application.
#[utoipa::path(post, operation_id = "accept_invitation", path = "/api/v1/invitations/accept", tag = "invitations", request_body = api::TokenRequest,
    responses((status = 200, body = api::InvitationAnswer), (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody), (status = 410, body = api::ErrorBody),
        (status = 429, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn accept(
    State(s): State<AppState>,
    actor: Auth,
    ip: ClientIp,
    Json(req): Json<api::TokenRequest>,
) -> Res<Json<api::InvitationAnswer>> {
    answer_by_token(s, actor, ip, &req.token, Decision::Accept).await
}

/// Decline with the token from the e-mail (the addressee only).
#[utoipa::path(post, operation_id = "decline_invitation", path = "/api/v1/invitations/decline", tag = "invitations", request_body = api::TokenRequest,
    responses((status = 200, body = api::InvitationAnswer), (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody), (status = 410, body = api::ErrorBody),
        (status = 429, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn decline(
    State(s): State<AppState>,
    actor: Auth,
    ip: ClientIp,
    Json(req): Json<api::TokenRequest>,
) -> Res<Json<api::InvitationAnswer>> {
    answer_by_token(s, actor, ip, &req.token, Decision::Decline).await
}

/// Your pending invitations: to your user id, your username, or your verified e-mail.
#[utoipa::path(get, operation_id = "my_invitations", path = "/api/v1/me/invitations", tag = "invitations", params(PageParams),
    responses((status = 200, body = api::InvitationPage), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn mine(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<PageParams>,
) -> Res<Json<api::InvitationPage>> {
    let page = s.app.my_invitations(&actor, q.after, q.limit).await?;
    Ok(Json(page_of(page)))
}

async fn answer_by_id(
    s: AppState,
    actor: Auth,
    id: &str,
    decision: Decision,
) -> Res<Json<api::InvitationAnswer>> {
    let r = s
        .app
        .respond_by_id(&actor.0, parse_id(id, "invitation")?, decision)
        .await?;
    Ok(Json(invitation_answer(r)))
}

/// Accept one of your pending invitations.
#[utoipa::path(post, path = "/api/v1/me/invitations/{id}/accept", tag = "invitations", params(("id" = Uuid, Path)),
    responses((status = 200, body = api::InvitationAnswer), (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 410, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn accept_mine(
    State(s): State<AppState>,
    actor: Auth,
    Path(id): Path<String>,
) -> Res<Json<api::InvitationAnswer>> {
    answer_by_id(s, actor, &id, Decision::Accept).await
}

/// Decline one of your pending invitations.
#[utoipa::path(post, path = "/api/v1/me/invitations/{id}/decline", tag = "invitations", params(("id" = Uuid, Path)),
    responses((status = 200, body = api::InvitationAnswer), (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 410, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn decline_mine(
    State(s): State<AppState>,
    actor: Auth,
    Path(id): Path<String>,
) -> Res<Json<api::InvitationAnswer>> {
    answer_by_id(s, actor, &id, Decision::Decline).await
}

pub(crate) fn invitation(v: InvitationView) -> api::Invitation {
    let i = v.invitation;
    api::Invitation {
        id: i.id,
        space: i.space_path.to_string(),
        role: i.role.to_string(),
        email: i.addressee.email.map(|e| e.to_string()),
        username: i.addressee.username.map(|u| u.to_string()),
        user_id: i.addressee.user_id.map(|u| u.to_string()),
        message: i.message,
        status: v.status,
        expires_at: i.expires_at,
        sends: i.sends,
        delivery: i.delivery.map(delivery),
        invited_by: i.created_by,
        created_at: i.created_at,
        decided_by: i.decided_by,
        decided_at: i.decided_at,
    }
}

pub(crate) fn invitation_result(r: InvitationResult) -> api::InvitationResult {
    api::InvitationResult {
        outcome: r.outcome,
        invitation: r.invitation.map(invitation),
        membership: r.membership.map(super::members::member),
    }
}

pub(crate) fn bulk_result(r: BulkResult) -> api::BulkInvitationResult {
    let mut summary = api::BulkSummary::default();
    let rows = r
        .rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| match row {
            Ok(ok) => {
                match ok.outcome {
                    InvitationOutcome::Invited => summary.invited += 1,
                    InvitationOutcome::AlreadyInvited => summary.already_invited += 1,
                    InvitationOutcome::AlreadyMember => summary.already_member += 1,
                }
                let ok = invitation_result(ok);
                api::BulkRow {
                    index,
                    outcome: Some(ok.outcome),
                    invitation: ok.invitation,
                    membership: ok.membership,
                    error: None,
                }
            }
            Err(e) => {
                summary.failed += 1;
                api::BulkRow {
                    index,
                    outcome: None,
                    invitation: None,
                    membership: None,
                    error: Some(crate::error::detail(&e)),
                }
            }
        })
        .collect();
    api::BulkInvitationResult {
        dry_run: r.dry_run,
        summary,
        rows,
    }
}

pub(crate) fn invitation_answer(r: InvitationResponse) -> api::InvitationAnswer {
    api::InvitationAnswer {
        invitation: invitation(r.invitation),
        outcome: r.outcome,
        membership: r.membership.map(super::members::member),
    }
}

/// Where the latest e-mail of an invitation (to a space or to sign up) is.
pub(crate) fn delivery(d: guestlist_app::store::Delivery) -> api::Delivery {
    api::Delivery {
        state: d.state,
        attempts: d.attempts,
        last_error: d.last_error,
        sent_at: d.sent_at,
    }
}
