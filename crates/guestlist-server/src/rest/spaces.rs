//! Spaces over REST: list the spaces you can see, create, read and change a space, and
//! its custom roles.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use guestlist_api as api;
use guestlist_app::SpaceView;
use guestlist_app::domain::Permissions;
use guestlist_app::domain::{Permission, SpacePath};
use guestlist_app::{NewSpaceInput, SpacePatchInput};

use super::{Res, role};
use crate::AppState;
use crate::extract::{Auth, Json, Path, Query, space_param};
use serde::Deserialize;
use utoipa::IntoParams;

/// This feature's routes, under `/api/v1`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/spaces", post(create_space).get(list_spaces))
        .route("/spaces/{space}", get(get_space).patch(update_space))
        .route("/spaces/{space}/roles", get(list_roles).post(create_role))
}

/// The query of `GET /spaces`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListSpacesParams {
    /// Only spaces within this subtree (a space path, e.g. `acme/`).
    #[param(value_type = Option<guestlist_app::domain::formats::SpaceParam>)]
    pub under: Option<String>,
    /// The cursor from the previous page's `next`.
    #[param(value_type = Option<guestlist_app::domain::formats::Cursor>)]
    pub after: Option<String>,
    /// Rows per page, 1-100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The spaces you can see (every space for a platform-admin key), in creation order
/// (a parent before its children), each with your effective permissions there.
#[utoipa::path(get, path = "/api/v1/spaces", tag = "spaces", params(ListSpacesParams),
    responses((status = 200, body = api::SpacePage), (status = 400, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_spaces(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<ListSpacesParams>,
) -> Res<Json<api::SpacePage>> {
    let under = q
        .under
        .as_deref()
        .map(|u| space_param(u).map_err(|e| e.in_field("under")))
        .transpose()?;
    let p = s.app.list_spaces(&actor, under, q.after, q.limit).await?;
    Ok(Json(api::SpacePage {
        spaces: p.spaces.into_iter().map(space).collect(),
        next: p.next,
    }))
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
        join_mode: req.join_mode,
        member_limit: req.member_limit,
    };
    let view = s.app.create_space(&actor, input).await?;
    Ok((StatusCode::CREATED, Json(space(view))))
}

/// Read a space (members of it or of an ancestor).
#[utoipa::path(get, path = "/api/v1/spaces/{space}", tag = "spaces",
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded: acme%2Feng%2F")),
    responses((status = 200, body = api::Space), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_space(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(space): Path<String>,
) -> Res<Json<api::Space>> {
    let view = s.app.get_space(&actor, space_param(&space)?).await?;
    Ok(Json(self::space(view)))
}

/// Change a space's name, join mode or member limit (admins).
#[utoipa::path(patch, path = "/api/v1/spaces/{space}", tag = "spaces", request_body = api::UpdateSpaceRequest,
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded")),
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
        join_mode: req.join_mode,
        member_limit: req.member_limit,
    };
    let view = s
        .app
        .update_space(&actor, space_param(&space)?, patch)
        .await?;
    Ok(Json(self::space(view)))
}

/// The roles valid on a space: the built-ins and custom roles along its path.
#[utoipa::path(get, path = "/api/v1/spaces/{space}/roles", tag = "spaces",
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded")),
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
                permissions: permissions(p),
            })
            .collect(),
    }))
}

/// Define a custom role on a space (admins); it applies to the space and beneath.
#[utoipa::path(post, path = "/api/v1/spaces/{space}/roles", tag = "spaces", request_body = api::Role,
    params(("space" = guestlist_app::domain::formats::SpaceParam, Path, description = "The space path, percent-encoded")),
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
            permissions: permissions(row.permissions),
        }),
    ))
}

pub(crate) fn permissions(p: Permissions) -> Vec<String> {
    p.list()
        .into_iter()
        .map(|p| p.as_str().to_owned())
        .collect()
}

pub(crate) fn space(v: SpaceView) -> api::Space {
    let s = v.space;
    api::Space {
        path: s.path.to_string(),
        name: s.name,
        join_mode: s.join_mode,
        member_limit: s.member_limit,
        member_count: s.member_count,
        created_at: s.created_at,
        your_permissions: permissions(v.your_permissions),
    }
}
