//! REST handlers under `/api/v1`: each parses, calls one application function and
//! renders. No rule lives here.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use guestlist_api as api;
use guestlist_app::domain::{
    Error, InviteState, Permission, Permissions, RoleName, SpacePath, UserId,
};
use guestlist_app::{CreateInvite, InviteFilter, NewSpaceInput, SpacePatchInput};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::{Auth, ClientIp, Json, OptionalJson, Path, Query, caller, space_param};
use crate::{AppState, render};

type Res<T> = Result<T, ApiError>;

fn role(name: &str) -> Result<RoleName, ApiError> {
    Ok(RoleName::parse(name)?)
}

fn user(id: &str) -> Result<UserId, ApiError> {
    Ok(UserId::parse(id)?)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PageParams {
    /// The cursor from the previous page's `next`.
    pub after: Option<String>,
    /// Rows per page, 1-100 (default 50).
    pub limit: Option<u32>,
}

/// Create a space.
#[utoipa::path(post, path = "/api/v1/spaces", tag = "spaces", request_body = api::CreateSpaceRequest,
    responses((status = 201, body = api::Space), (status = 400, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_space(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(req): Json<api::CreateSpaceRequest>,
) -> Res<impl IntoResponse> {
    let input = NewSpaceInput {
        path: SpacePath::parse(&req.path)?,
        name: req.name,
        join_mode: render::join_mode_in(req.join_mode),
        member_limit: req.member_limit,
    };
    let view = s.app.create_space(&actor, input).await?;
    Ok((StatusCode::CREATED, Json(render::space(view))))
}

/// Read a space (members of it or of an ancestor).
#[utoipa::path(get, path = "/api/v1/spaces/{space}", tag = "spaces",
    params(("space" = String, Path, description = "The space path, percent-encoded: acme%2Feng%2F")),
    responses((status = 200, body = api::Space), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_space(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(space): Path<String>,
) -> Res<Json<api::Space>> {
    let view = s.app.get_space(&actor, space_param(&space)?).await?;
    Ok(Json(render::space(view)))
}

/// Change a space's name, join mode or member limit (admins).
#[utoipa::path(patch, path = "/api/v1/spaces/{space}", tag = "spaces", request_body = api::UpdateSpaceRequest,
    params(("space" = String, Path, description = "The space path, percent-encoded")),
    responses((status = 200, body = api::Space), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_space(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(space): Path<String>,
    Json(req): Json<api::UpdateSpaceRequest>,
) -> Res<Json<api::Space>> {
    let patch = SpacePatchInput {
        name: req.name,
        join_mode: req.join_mode.map(render::join_mode_in),
        member_limit: req.member_limit,
    };
    let view = s
        .app
        .update_space(&actor, space_param(&space)?, patch)
        .await?;
    Ok(Json(render::space(view)))
}

/// The roles valid on a space: the built-ins and custom roles along its path.
#[utoipa::path(get, path = "/api/v1/spaces/{space}/roles", tag = "spaces",
    params(("space" = String, Path, description = "The space path, percent-encoded")),
    responses((status = 200, body = api::RoleList), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_roles(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(space): Path<String>,
) -> Res<Json<api::RoleList>> {
    let roles = s.app.list_roles(&actor, space_param(&space)?).await?;
    Ok(Json(api::RoleList {
        roles: roles
            .into_iter()
            .map(|(name, p)| api::Role {
                name: name.to_string(),
                permissions: render::permissions(p),
            })
            .collect(),
    }))
}

/// Define a custom role on a space (admins); it applies to the space and beneath.
#[utoipa::path(post, path = "/api/v1/spaces/{space}/roles", tag = "spaces", request_body = api::Role,
    params(("space" = String, Path, description = "The space path, percent-encoded")),
    responses((status = 201, body = api::Role), (status = 400, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_role(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(space): Path<String>,
    Json(req): Json<api::Role>,
) -> Res<impl IntoResponse> {
    let perms = req
        .permissions
        .iter()
        .map(|p| Permission::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    let row = s
        .app
        .create_role(
            &actor,
            space_param(&space)?,
            role(&req.name)?,
            Permissions::of(&perms),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(api::Role {
            name: row.name.to_string(),
            permissions: render::permissions(row.permissions),
        }),
    ))
}

/// List a space's members in join order.
#[utoipa::path(get, path = "/api/v1/spaces/{space}/members", tag = "members",
    params(("space" = String, Path, description = "The space path, percent-encoded"), PageParams),
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
    Ok(Json(api::MemberPage {
        members: p.members.into_iter().map(render::member).collect(),
        next: p.next,
    }))
}

/// Add a member directly (platform-admin keys: how the first admins arrive).
#[utoipa::path(put, path = "/api/v1/spaces/{space}/members/{user_id}", tag = "members", request_body = api::RoleRequest,
    params(("space" = String, Path, description = "The space path, percent-encoded"), ("user_id" = String, Path)),
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

pub(crate) fn join_result(
    outcome: guestlist_app::AdmitOutcome,
    space: &SpacePath,
    role: &RoleName,
    m: Option<guestlist_app::MembershipView>,
) -> api::JoinResult {
    let membership = m.map(render::member);
    api::JoinResult {
        outcome: render::outcome(outcome),
        space: space.to_string(),
        role: membership
            .as_ref()
            .map(|m| m.role.clone())
            .unwrap_or_else(|| role.to_string()),
        membership,
        join_request: None,
    }
}

/// Change a member's role (manage_members; never above your own rights; a space keeps an admin).
#[utoipa::path(patch, path = "/api/v1/spaces/{space}/members/{user_id}", tag = "members", request_body = api::RoleRequest,
    params(("space" = String, Path, description = "The space path, percent-encoded"), ("user_id" = String, Path)),
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
    Ok(Json(render::member(m)))
}

/// Remove a member (manage_members), or leave when `user_id` is you.
#[utoipa::path(delete, path = "/api/v1/spaces/{space}/members/{user_id}", tag = "members",
    params(("space" = String, Path, description = "The space path, percent-encoded"), ("user_id" = String, Path)),
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
    params(("space" = String, Path, description = "The space path, percent-encoded")),
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
    params(("space" = String, Path, description = "The space path, percent-encoded")),
    responses((status = 204), (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn leave_space(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(space): Path<String>,
) -> Res<StatusCode> {
    let me = actor
        .user_id()
        .cloned()
        .ok_or_else(|| Error::forbidden("an API key is not a member of anything"))?;
    s.app
        .remove_member(&actor, space_param(&space)?, me)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an invite link (manage_invites; never granting more than you hold).
#[utoipa::path(post, path = "/api/v1/invites", tag = "invites", request_body = api::CreateInviteRequest,
    responses((status = 201, body = api::InviteWithLink), (status = 400, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_invite(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(req): Json<api::CreateInviteRequest>,
) -> Res<impl IntoResponse> {
    let input = CreateInvite {
        space: SpacePath::parse(&req.space)?,
        role: req.role.as_deref().map(role).transpose()?,
        max_uses: req.max_uses,
        expires_in_seconds: req.expires_in_seconds,
        description: req.description,
        allow_narrowing: req.allow_narrowing,
        requires_approval: req.requires_approval,
        auto_approve_domains: req.auto_approve_domains,
    };
    let created = s.app.create_invite(&actor, input).await?;
    Ok((StatusCode::CREATED, Json(render::invite_with_link(created))))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct InviteListParams {
    /// Only invites to this space and the spaces beneath it.
    pub space: Option<String>,
    /// active, revoked, expired or exhausted.
    pub state: Option<String>,
    /// Only invites created by this user id (or `key:<name>`).
    pub created_by: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// List the invites of the spaces you manage invites for, newest first. Never codes.
#[utoipa::path(get, path = "/api/v1/invites", tag = "invites", params(InviteListParams),
    responses((status = 200, body = api::InvitePage), (status = 400, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_invites(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<InviteListParams>,
) -> Res<Json<api::InvitePage>> {
    let filter = InviteFilter {
        spaces_in: None,
        revoked: None,
        subtrees: q
            .space
            .as_deref()
            .map(SpacePath::parse)
            .transpose()?
            .into_iter()
            .collect(),
        states: q
            .state
            .as_deref()
            .map(InviteState::parse)
            .transpose()?
            .map(|s| vec![s]),
        created_by: q.created_by,
        after: q.after,
        limit: q.limit,
    };
    let page = s.app.list_invites(&actor, filter).await?;
    Ok(Json(api::InvitePage {
        invites: page.invites.into_iter().map(render::invite).collect(),
        next: page.next,
    }))
}

/// Public preview of an invite. Rate limited per client and per user.
#[utoipa::path(get, path = "/api/v1/invites/{code}", tag = "invites",
    params(("code" = String, Path)),
    responses((status = 200, body = api::InvitePreview), (status = 404, body = api::ErrorBody),
        (status = 410, body = api::ErrorBody), (status = 429, body = api::ErrorBody)))]
pub async fn preview_invite(
    State(s): State<AppState>,
    actor: Option<Auth>,
    ip: ClientIp,
    Path(code): Path<String>,
) -> Res<Json<api::InvitePreview>> {
    let p = s.app.preview_invite(&caller(actor, ip), &code).await?;
    Ok(Json(api::InvitePreview {
        space: p.space.to_string(),
        space_name: p.space_name,
        join_mode: render::join_mode(p.join_mode),
        member_count: p.member_count,
        role: p.role.to_string(),
        inviter: p.inviter,
        expires_at: p.expires_at,
        max_uses: p.max_uses,
        uses_left: p.uses_left,
        allow_narrowing: p.allow_narrowing,
    }))
}

/// Revoke an invite (soft: kept for audit). `code` may be the code or the invite id.
#[utoipa::path(delete, path = "/api/v1/invites/{code}", tag = "invites",
    params(("code" = String, Path, description = "The invite code, or its id")),
    responses((status = 200, body = api::Invite), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_invite(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
) -> Res<Json<api::Invite>> {
    Ok(Json(render::invite(
        s.app.revoke_invite(&actor, &code).await?,
    )))
}

/// Show a live invite's code and link again (managers). `code` may be the invite id.
#[utoipa::path(get, path = "/api/v1/invites/{code}/link", tag = "invites",
    params(("code" = String, Path, description = "The invite id (or code)")),
    responses((status = 200, body = api::InviteWithLink), (status = 404, body = api::ErrorBody), (status = 410, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn show_invite_link(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
) -> Res<Json<api::InviteWithLink>> {
    Ok(Json(render::invite_with_link(
        s.app.show_invite_link(&actor, &code).await?,
    )))
}

/// Join through an invite, optionally into a narrower space beneath the invite's.
#[utoipa::path(post, path = "/api/v1/invites/{code}/join", tag = "invites", request_body(content = Option<api::RedeemRequest>),
    params(("code" = String, Path)),
    responses((status = 200, body = api::JoinResult), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 410, body = api::ErrorBody), (status = 429, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn redeem_invite(
    State(s): State<AppState>,
    Auth(actor): Auth,
    ip: ClientIp,
    Path(code): Path<String>,
    OptionalJson(body): OptionalJson<api::RedeemRequest>,
) -> Res<Json<api::JoinResult>> {
    let requested = body
        .and_then(|b| b.space)
        .map(|p| SpacePath::parse(&p))
        .transpose()?;
    let r = s
        .app
        .redeem_invite(&caller(Some(Auth(actor)), ip), &code, requested)
        .await?;
    metrics::counter!("guestlist_invite_redemptions_total", "outcome" => format!("{:?}", r.outcome)).increment(1);
    let mut result = join_result(r.outcome, &r.space, &r.role, r.membership);
    result.join_request = r.join_request.map(render::join_request);
    Ok(Json(result))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EventParams {
    /// Only events of this space and beneath.
    pub space: Option<String>,
    /// Only events of this kind, e.g. member.joined.
    pub kind: Option<String>,
    /// Only events older than this sequence number (the previous page's next_before).
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

/// The audit log of the spaces you administer, newest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventParams),
    responses((status = 200, body = api::EventPage), (status = 400, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_events(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<EventParams>,
) -> Res<Json<api::EventPage>> {
    let space = q.space.as_deref().map(SpacePath::parse).transpose()?;
    let page = s
        .app
        .list_events(&actor, space, q.kind, q.before, q.limit)
        .await?;
    Ok(Json(api::EventPage {
        events: page.events.into_iter().map(render::event).collect(),
        next_before: page.next,
    }))
}
