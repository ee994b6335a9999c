//! Memberships over REST: the member list and one member, the host's questions
//! (`/check`, `/me/spaces`, `/users/{id}/memberships`), provisioning, role changes,
//! removal, joining an open space and leaving.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use guestlist_api as api;
use guestlist_app::domain::{Permission, RoleName, UserId};
use guestlist_app::{CheckAnswer, CheckInput, MembershipView};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{PageParams, Res, role, user};
use crate::AppState;
use crate::extract::{Auth, Json, Path, Query, space_param};

/// This feature's routes, under `/api/v1`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/spaces/{space}/members", get(list_members))
        .route(
            "/spaces/{space}/members/{user_id}",
            get(get_member)
                .put(provision_member)
                .patch(change_role)
                .delete(remove_member),
        )
        .route("/spaces/{space}/join", post(join_space))
        .route("/spaces/{space}/leave", post(leave_space))
        .route("/check", get(check).post(check_batch))
        .route("/me/spaces", get(my_spaces))
        .route("/users/{user_id}/memberships", get(user_memberships))
}

/// The question of `GET /check`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckParams {
    /// The user asked about: required with a platform-admin key; a user may name only
    /// themselves (or leave it out).
    #[param(value_type = Option<guestlist_app::domain::UserId>)]
    pub user: Option<String>,
    /// A space path, e.g. `acme/eng/`.
    #[param(value_type = guestlist_app::domain::formats::SpaceParam)]
    pub space: String,
    pub permission: Permission,
}

fn question(user: Option<&str>, space: &str, permission: Permission) -> Res<CheckInput> {
    Ok(CheckInput {
        user: user
            .map(|u| UserId::parse(u).map_err(|e| e.in_field("user")))
            .transpose()?,
        space: space_param(space)?,
        permission,
    })
}

fn answer(a: CheckAnswer) -> api::CheckResult {
    api::CheckResult {
        user: a.user.to_string(),
        space: a.space.to_string(),
        permission: a.permission,
        allowed: a.check.allowed,
        role: a.check.role.map(|r| r.to_string()),
        granted_on: a.check.granted_on.map(|p| p.to_string()),
    }
}

/// May this user do this in this space? The call a host makes on every request of its
/// own: allowed or not, and the role that decides it (inherited down the tree). A
/// platform-admin key asks about anyone; a user about themselves.
#[utoipa::path(get, path = "/api/v1/check", tag = "members", params(CheckParams),
    responses((status = 200, body = api::CheckResult), (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn check(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<CheckParams>,
) -> Res<Json<api::CheckResult>> {
    let input = question(q.user.as_deref(), &q.space, q.permission)?;
    let mut answers = s.app.check(&actor, vec![input]).await?;
    let first = answers
        .pop()
        .ok_or_else(|| guestlist_app::domain::Error::internal("no answer"))?;
    Ok(Json(answer(first)))
}

/// Up to 100 questions at once, answered in order.
#[utoipa::path(post, path = "/api/v1/check", tag = "members", request_body = api::CheckBatchRequest,
    responses((status = 200, body = api::CheckBatchResult), (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn check_batch(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(req): Json<api::CheckBatchRequest>,
) -> Res<Json<api::CheckBatchResult>> {
    let questions = req
        .checks
        .iter()
        .map(|c| question(c.user.as_deref(), &c.space, c.permission))
        .collect::<Res<Vec<_>>>()?;
    let answers = s.app.check(&actor, questions).await?;
    Ok(Json(api::CheckBatchResult {
        results: answers.into_iter().map(answer).collect(),
    }))
}

/// One membership of a space (active or pending): yours, or anyone's where you may read.
#[utoipa::path(get, path = "/api/v1/spaces/{space}/members/{user_id}", tag = "members",
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded"), ("user_id" = guestlist_app::domain::UserId, Path)),
    responses((status = 200, body = api::Member), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_member(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path((space, user_id)): Path<(String, String)>,
) -> Res<Json<api::Member>> {
    let m = s
        .app
        .get_member(&actor, space_param(&space)?, user(&user_id)?)
        .await?;
    Ok(Json(member(m)))
}

/// Your memberships (active and pending) with their roles and sources, in join order.
#[utoipa::path(get, path = "/api/v1/me/spaces", tag = "members", params(PageParams),
    responses((status = 200, body = api::MemberPage), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn my_spaces(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Query(page): Query<PageParams>,
) -> Res<Json<api::MemberPage>> {
    let p = s
        .app
        .memberships_of(&actor, None, page.after, page.limit)
        .await?;
    Ok(Json(member_page(p)))
}

/// A user's memberships (platform-admin keys), in join order.
#[utoipa::path(get, path = "/api/v1/users/{user_id}/memberships", tag = "members",
    params(("user_id" = guestlist_app::domain::UserId, Path), PageParams),
    responses((status = 200, body = api::MemberPage), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn user_memberships(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(user_id): Path<String>,
    Query(page): Query<PageParams>,
) -> Res<Json<api::MemberPage>> {
    let p = s
        .app
        .memberships_of(&actor, Some(user(&user_id)?), page.after, page.limit)
        .await?;
    Ok(Json(member_page(p)))
}

fn member_page(p: guestlist_app::MemberPage) -> api::MemberPage {
    api::MemberPage {
        members: p.members.into_iter().map(member).collect(),
        next: p.next,
    }
}

/// List a space's members in join order.
#[utoipa::path(get, path = "/api/v1/spaces/{space}/members", tag = "members",
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded"), PageParams),
    responses((status = 200, body = api::MemberPage), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_members(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(space): Path<String>,
    Query(page): Query<PageParams>,
) -> Res<Json<api::MemberPage>> {
    let p = s
        .app
        .list_members(&actor, space_param(&space)?, page.after, page.limit)
        .await?;
    Ok(Json(member_page(p)))
}

/// Add a member directly (platform-admin keys: how the first admins arrive).
#[utoipa::path(put, path = "/api/v1/spaces/{space}/members/{user_id}", tag = "members", request_body = api::RoleRequest,
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded"), ("user_id" = guestlist_app::domain::UserId, Path)),
    responses((status = 200, body = api::JoinResult), (status = 403, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn provision_member(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path((space, user_id)): Path<(String, String)>,
    Json(req): Json<api::RoleRequest>,
) -> Res<Json<api::JoinResult>> {
    let role = role(&req.role)?;
    let space = space_param(&space)?;
    let (outcome, m) = s
        .app
        .provision_member(&actor, space.clone(), user(&user_id)?, role.clone())
        .await?;
    Ok(Json(join_result(outcome, &space, &role, m)))
}

/// Change a member's role (manage_members; never above your own rights; a space keeps an admin).
#[utoipa::path(patch, path = "/api/v1/spaces/{space}/members/{user_id}", tag = "members", request_body = api::RoleRequest,
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded"), ("user_id" = guestlist_app::domain::UserId, Path)),
    responses((status = 200, body = api::Member), (status = 403, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_role(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path((space, user_id)): Path<(String, String)>,
    Json(req): Json<api::RoleRequest>,
) -> Res<Json<api::Member>> {
    let m = s
        .app
        .change_role(
            &actor,
            space_param(&space)?,
            user(&user_id)?,
            role(&req.role)?,
        )
        .await?;
    Ok(Json(member(m)))
}

/// Remove a member (manage_members), or leave when `user_id` is you.
#[utoipa::path(delete, path = "/api/v1/spaces/{space}/members/{user_id}", tag = "members",
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded"), ("user_id" = guestlist_app::domain::UserId, Path)),
    responses((status = 204), (status = 403, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_member(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path((space, user_id)): Path<(String, String)>,
) -> Res<StatusCode> {
    s.app
        .remove_member(&actor, space_param(&space)?, user(&user_id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Join an `open` space directly.
#[utoipa::path(post, path = "/api/v1/spaces/{space}/join", tag = "members",
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded")),
    responses((status = 200, body = api::JoinResult), (status = 403, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn join_space(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(space): Path<String>,
) -> Res<Json<api::JoinResult>> {
    let space = space_param(&space)?;
    let (outcome, m) = s.app.join_space(&actor, space.clone()).await?;
    Ok(Json(join_result(outcome, &space, &RoleName::member(), m)))
}

/// Leave a space.
#[utoipa::path(post, path = "/api/v1/spaces/{space}/leave", tag = "members",
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded")),
    responses((status = 204), (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn leave_space(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(space): Path<String>,
) -> Res<StatusCode> {
    s.app.leave_space(&actor, space_param(&space)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) fn member(v: MembershipView) -> api::Member {
    let m = v.membership;
    api::Member {
        id: m.id,
        user_id: m.user_id.to_string(),
        space: v.space.to_string(),
        role: m.role.to_string(),
        status: m.status,
        source: m.source,
        invite_id: m.invite_id,
        joined_at: m.created_at,
    }
}

/// A join's answer: its outcome, the space and role, and the membership if any.
pub(crate) fn join_result(
    outcome: guestlist_app::JoinOutcome,
    space: &guestlist_app::domain::SpacePath,
    role: &guestlist_app::domain::RoleName,
    m: Option<guestlist_app::MembershipView>,
) -> api::JoinResult {
    let membership = m.map(member);
    api::JoinResult {
        outcome,
        space: space.to_string(),
        role: membership
            .as_ref()
            .map(|m| m.role.clone())
            .unwrap_or_else(|| role.to_string()),
        membership,
        join_request: None,
    }
}
