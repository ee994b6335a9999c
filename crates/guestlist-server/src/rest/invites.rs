//! Invite links over REST: create, list, preview, revoke, show again, redeem.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use guestlist_api as api;
use guestlist_app::domain::{InviteState, SpacePath};
use guestlist_app::{CreateInvite, InviteFilter, MirrorInvite, Mirrored};
use guestlist_app::{InviteCreated, InviteView};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Res, role};
use crate::AppState;
use crate::extract::{Auth, ClientIp, Json, OptionalJson, Path, Query, caller};

/// This feature's routes, under `/api/v1`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/invites", post(create_invite).get(list_invites))
        .route("/invites/{code}", get(preview_invite).delete(revoke_invite))
        .route("/invites/{code}/join", post(redeem_invite))
        .route("/invites/{code}/link", get(show_invite_link))
        .route("/invites/by-external-id/{external_id}", put(mirror_invite))
}

/// Create or update the link another system knows by this id (manage_invites on its
/// space): a legacy invite system mirrors its links here while both run. Created:
/// 201 with its code and link, this once; updated or unchanged: 200. Its space, role
/// and code cannot change; its uses are raised to `uses`, never lowered.
#[utoipa::path(put, path = "/api/v1/invites/by-external-id/{external_id}", tag = "invites",
    request_body = api::MirrorInviteRequest,
    params(("external_id" = String, Path, description = "the other system's id of the link (1 to 200 characters)")),
    responses((status = 201, body = api::MirrorInviteResponse), (status = 200, body = api::MirrorInviteResponse),
        (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn mirror_invite(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(external_id): Path<String>,
    Json(req): Json<api::MirrorInviteRequest>,
) -> Res<impl IntoResponse> {
    let input = MirrorInvite {
        space: SpacePath::parse(&req.space)?,
        role: req.role.as_deref().map(role).transpose()?,
        max_uses: req.max_uses,
        uses: req.uses,
        expires_at: req.expires_at,
        description: req.description,
        code: req.code,
        code_hash: req.code_hash,
        revoked: req.revoked,
        created_by: None,
    };
    let (status, body) = match s.app.mirror_invite(&actor, &external_id, input).await? {
        Mirrored::Created(c) => (
            StatusCode::CREATED,
            api::MirrorInviteResponse {
                outcome: api::MirrorOutcome::Created,
                code: Some(c.code),
                link: Some(c.link),
                invite: invite(c.invite),
            },
        ),
        Mirrored::CreatedHashed(v) => (
            StatusCode::CREATED,
            api::MirrorInviteResponse {
                outcome: api::MirrorOutcome::Created,
                invite: invite(v),
                code: None,
                link: None,
            },
        ),
        Mirrored::Updated(v) => (
            StatusCode::OK,
            api::MirrorInviteResponse {
                outcome: api::MirrorOutcome::Updated,
                invite: invite(v),
                code: None,
                link: None,
            },
        ),
        Mirrored::Unchanged(v) => (
            StatusCode::OK,
            api::MirrorInviteResponse {
                outcome: api::MirrorOutcome::Unchanged,
                invite: invite(v),
                code: None,
                link: None,
            },
        ),
    };
    Ok((status, Json(body)))
}

/// Create an invite link (manage_invites; never granting more than you hold).
#[utoipa::path(post, path = "/api/v1/invites", tag = "invites", request_body = api::CreateInviteRequest,
    responses((status = 201, body = api::InviteWithLink), (status = 400, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody, description = "the chosen code is taken, or reads too like one that is")),
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
        code: req.code,
    };
    let created = s.app.create_invite(&actor, input).await?;
    Ok((StatusCode::CREATED, Json(invite_with_link(created))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InviteListParams {
    /// Only invites to this space and the spaces beneath it.
    #[param(value_type = Option<guestlist_app::domain::SpacePath>)]
    pub space: Option<String>,
    pub state: Option<InviteState>,
    /// Only invites created by this user id (or `key:<name>`).
    pub created_by: Option<String>,
    #[param(value_type = Option<guestlist_app::domain::formats::Cursor>)]
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 100)]
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
        states: q.state.map(|s| vec![s]),
        created_by: q.created_by,
        after: q.after,
        limit: q.limit,
        ..InviteFilter::default()
    };
    let page = s.app.list_invites(&actor, filter).await?;
    Ok(Json(api::InvitePage {
        invites: page.invites.into_iter().map(invite).collect(),
        next: page.next,
    }))
}

/// Public preview of an invite. Rate limited per client and per user.
#[utoipa::path(get, path = "/api/v1/invites/{code}", tag = "invites",
    params(("code" = guestlist_app::domain::InviteCode, Path)),
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
        join_mode: p.join_mode,
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
    Ok(Json(invite(s.app.revoke_invite(&actor, &code).await?)))
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
    Ok(Json(invite_with_link(
        s.app.show_invite_link(&actor, &code).await?,
    )))
}

/// Join through an invite, optionally into a narrower space beneath the invite's.
#[utoipa::path(post, path = "/api/v1/invites/{code}/join", tag = "invites", request_body(content = Option<api::RedeemRequest>),
    params(("code" = guestlist_app::domain::InviteCode, Path)),
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
    let mut result = super::members::join_result(r.outcome, &r.space, &r.role, r.membership);
    result.join_request = r.join_request.map(super::requests::join_request);
    Ok(Json(result))
}

pub(crate) fn invite(v: InviteView) -> api::Invite {
    let i = v.invite;
    api::Invite {
        id: i.id,
        space: i.space_path.to_string(),
        role: i.role.to_string(),
        state: v.state,
        max_uses: i.max_uses,
        uses: i.uses,
        uses_left: i.max_uses.map(|m| m.saturating_sub(i.uses)),
        expires_at: i.expires_at,
        description: i.description,
        allow_narrowing: i.allow_narrowing,
        created_by: i.created_by,
        created_at: i.created_at,
        revoked_at: i.revoked_at,
        requires_approval: i.requires_approval,
        auto_approve_domains: i.auto_approve_domains,
        external_id: i.external_id,
    }
}

pub(crate) fn invite_with_link(c: InviteCreated) -> api::InviteWithLink {
    api::InviteWithLink {
        code: c.code,
        link: c.link,
        invite: invite(c.invite),
    }
}
