//! REST handlers for rosters with consent, join requests, the caller's pending items
//! and deprovisioning. Thin: parse, call one application function, render.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use guestlist_api as api;
use guestlist_app::domain::{Email, Error, RoleName, UserId};
use guestlist_app::store::JoinRequestStatus;
use guestlist_app::{Account, AddOutcome};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Auth, Json, OptionalJson, Path, Query, space_param};
use guestlist_app::domain::parse_id;

type Res<T> = Result<T, ApiError>;

/// This feature's routes, under `/api/v1`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/spaces/{space}/members", post(add_member))
        .route("/spaces/{space}/join-requests", get(list).post(ask))
        .route("/join-requests/{id}/approve", post(approve))
        .route("/join-requests/{id}/deny", post(deny))
        .route("/me/join-requests/{id}", axum::routing::delete(cancel))
        .route("/me/memberships/{id}/accept", post(accept_membership))
        .route("/me/memberships/{id}/decline", post(decline_membership))
        .route("/me/pending", get(pending))
        .route("/users/{user_id}", axum::routing::delete(deprovision))
}

/// Add an existing account (by user id, or the e-mail of a known account) as a
/// pending member: only that user can accept it (manage_members; never above your
/// own rights). Someone who asked to join is approved at once.
#[utoipa::path(post, path = "/api/v1/spaces/{space}/members", tag = "members", request_body = api::AddMemberRequest,
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded")),
    responses((status = 201, body = api::AddMemberResult), (status = 200, body = api::AddMemberResult),
        (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_member(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(space): Path<String>,
    Json(req): Json<api::AddMemberRequest>,
) -> Res<impl IntoResponse> {
    let account = match (req.user_id, req.email) {
        (Some(id), None) => Account::Id(UserId::parse(&id)?),
        (None, Some(email)) => Account::Email(Email::parse(&email)?),
        _ => return Err(Error::invalid("user_id", "give a user_id or an email, not both").into()),
    };
    let role = req.role.as_deref().map(RoleName::parse).transpose()?;
    let (outcome, m) = s
        .app
        .add_member(&actor, space_param(&space)?, account, role)
        .await?;
    let status = match outcome {
        AddOutcome::Pending => StatusCode::CREATED,
        AddOutcome::AlreadyPending | AddOutcome::AlreadyMember | AddOutcome::Joined => {
            StatusCode::OK
        }
    };
    Ok((
        status,
        Json(api::AddMemberResult {
            outcome,
            membership: m.map(super::members::member),
        }),
    ))
}

async fn answer(
    s: AppState,
    actor: Auth,
    id: &str,
    accept: bool,
) -> Res<Json<api::MembershipAnswer>> {
    let m = s
        .app
        .answer_membership(&actor.0, parse_id(id, "membership")?, accept)
        .await?;
    Ok(Json(api::MembershipAnswer {
        membership: m.map(super::members::member),
    }))
}

/// Accept an owner's add (only its user): the membership becomes active, within the
/// member limit.
#[utoipa::path(post, path = "/api/v1/me/memberships/{id}/accept", tag = "members", params(("id" = Uuid, Path)),
    responses((status = 200, body = api::MembershipAnswer), (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn accept_membership(
    State(s): State<AppState>,
    actor: Auth,
    Path(id): Path<String>,
) -> Res<Json<api::MembershipAnswer>> {
    answer(s, actor, &id, true).await
}

/// Decline an owner's add (only its user): the pending membership is removed.
#[utoipa::path(post, path = "/api/v1/me/memberships/{id}/decline", tag = "members", params(("id" = Uuid, Path)),
    responses((status = 200, body = api::MembershipAnswer), (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn decline_membership(
    State(s): State<AppState>,
    actor: Auth,
    Path(id): Path<String>,
) -> Res<Json<api::MembershipAnswer>> {
    answer(s, actor, &id, false).await
}

/// Ask to join a `request`-mode space (an `open` space is joined at once). One pending
/// request per user and space; asking again returns it.
#[utoipa::path(post, operation_id = "ask_to_join", path = "/api/v1/spaces/{space}/join-requests", tag = "members",
    request_body(content = Option<api::AskToJoinRequest>),
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded")),
    responses((status = 200, body = api::JoinResult), (status = 403, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn ask(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(space): Path<String>,
    OptionalJson(body): OptionalJson<api::AskToJoinRequest>,
) -> Res<Json<api::JoinResult>> {
    let space = space_param(&space)?;
    let r = s
        .app
        .ask_to_join(&actor, space.clone(), body.and_then(|b| b.message))
        .await?;
    let mut result =
        super::members::join_result(r.outcome, &space, &RoleName::member(), r.membership);
    result.join_request = r.request.map(join_request);
    Ok(Json(result))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// pending, approved, denied or cancelled.
    #[param(pattern = "^(pending|approved|denied|cancelled)$")]
    pub status: Option<String>,
    #[param(value_type = Option<guestlist_app::domain::formats::Cursor>)]
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// A space's join requests in the order they came (manage_members).
#[utoipa::path(get, operation_id = "list_join_requests", path = "/api/v1/spaces/{space}/join-requests", tag = "members",
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded"), ListParams),
    responses((status = 200, body = api::JoinRequestPage), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(space): Path<String>,
    Query(q): Query<ListParams>,
) -> Res<Json<api::JoinRequestPage>> {
    let status = q
        .status
        .as_deref()
        .map(JoinRequestStatus::parse)
        .transpose()?;
    let page = s
        .app
        .list_join_requests(&actor, space_param(&space)?, status, q.after, q.limit)
        .await?;
    Ok(Json(api::JoinRequestPage {
        requests: page.requests.into_iter().map(join_request).collect(),
        next: page.next,
    }))
}

async fn decide(
    s: AppState,
    actor: Auth,
    id: &str,
    approve: bool,
) -> Res<Json<api::JoinRequestDecision>> {
    let (request, m) = s
        .app
        .decide_join_request(&actor.0, parse_id(id, "join request")?, approve)
        .await?;
    Ok(Json(api::JoinRequestDecision {
        request: join_request(request),
        membership: m.map(super::members::member),
    }))
}

/// Approve a pending request: the membership and the decision are written together,
/// within the member limit (`member_limit_reached` leaves the request pending).
#[utoipa::path(post, operation_id = "approve_join_request", path = "/api/v1/join-requests/{id}/approve", tag = "members", params(("id" = Uuid, Path)),
    responses((status = 200, body = api::JoinRequestDecision), (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve(
    State(s): State<AppState>,
    actor: Auth,
    Path(id): Path<String>,
) -> Res<Json<api::JoinRequestDecision>> {
    decide(s, actor, &id, true).await
}

/// Deny a pending request.
#[utoipa::path(post, operation_id = "deny_join_request", path = "/api/v1/join-requests/{id}/deny", tag = "members", params(("id" = Uuid, Path)),
    responses((status = 200, body = api::JoinRequestDecision), (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn deny(
    State(s): State<AppState>,
    actor: Auth,
    Path(id): Path<String>,
) -> Res<Json<api::JoinRequestDecision>> {
    decide(s, actor, &id, false).await
}

/// Withdraw your pending join request.
#[utoipa::path(delete, operation_id = "cancel_join_request", path = "/api/v1/me/join-requests/{id}", tag = "members", params(("id" = Uuid, Path)),
    responses((status = 200, body = api::JoinRequest), (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Res<Json<api::JoinRequest>> {
    let r = s
        .app
        .cancel_join_request(&actor, parse_id(&id, "join request")?)
        .await?;
    Ok(Json(join_request(r)))
}

/// Everything waiting for you: invitations, owners' adds and your join requests.
#[utoipa::path(get, operation_id = "my_pending", path = "/api/v1/me/pending", tag = "members",
    responses((status = 200, body = api::PendingItems), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn pending(State(s): State<AppState>, Auth(actor): Auth) -> Res<Json<api::PendingItems>> {
    let p = s.app.my_pending(&actor).await?;
    Ok(Json(api::PendingItems {
        invitations: p
            .invitations
            .into_iter()
            .map(super::invitations::invitation)
            .collect(),
        memberships: p
            .memberships
            .into_iter()
            .map(super::members::member)
            .collect(),
        join_requests: p.join_requests.into_iter().map(join_request).collect(),
    }))
}

/// Remove a user everywhere (platform-admin keys): every membership, and every live
/// invite link, invitation and platform invitation they sent, in one transaction.
#[utoipa::path(delete, path = "/api/v1/users/{user_id}", tag = "members", params(("user_id" = guestlist_app::domain::UserId, Path)),
    responses((status = 200, body = api::Deprovisioned), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn deprovision(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(user_id): Path<String>,
) -> Res<Json<api::Deprovisioned>> {
    let d = s
        .app
        .deprovision_user(&actor, UserId::parse(&user_id)?)
        .await?;
    Ok(Json(api::Deprovisioned {
        memberships_removed: d.memberships_removed,
        invites_revoked: d.invites_revoked,
        platform_invitations_revoked: d.platform_invitations_revoked,
        join_requests_cancelled: d.join_requests_cancelled,
    }))
}

pub(crate) fn join_request(v: guestlist_app::JoinRequestView) -> api::JoinRequest {
    let r = v.request;
    api::JoinRequest {
        id: r.id,
        space: r.space_path.to_string(),
        user_id: r.user_id.to_string(),
        email: r.email.map(|e| e.to_string()),
        role: r.role.to_string(),
        message: r.message,
        invite_id: r.invite_id,
        status: r.status,
        created_at: r.created_at,
        decided_by: r.decided_by,
        decided_at: r.decided_at,
    }
}
