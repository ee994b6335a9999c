//! REST under `/api/v1`, one file per feature (the same names as the application
//! layer's `ops/`): each handler parses, calls one application function and renders;
//! no rule lives here. Each feature has its own `router()`.

pub(crate) mod events;
pub(crate) mod imports;
pub(crate) mod invitations;
pub(crate) mod invites;
pub(crate) mod members;
pub(crate) mod requests;
pub(crate) mod signup;
pub(crate) mod spaces;
pub(crate) mod users;
pub(crate) mod webhooks;

use axum::Router;
use guestlist_app::domain::{RoleName, UserId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::error::ApiError;

/// Every REST route, to be nested under `/api/v1`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(spaces::router())
        .merge(members::router())
        .merge(requests::router())
        .merge(invites::router())
        .merge(invitations::router())
        .merge(signup::router())
        .merge(events::router())
        .merge(imports::router())
        .merge(users::router())
        .merge(webhooks::router())
}

type Res<T> = Result<T, ApiError>;

fn role(name: &str) -> Result<RoleName, ApiError> {
    Ok(RoleName::parse(name)?)
}

fn user(id: &str) -> Result<UserId, ApiError> {
    Ok(UserId::parse(id)?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// The cursor from the previous page's `next`.
    #[param(value_type = Option<guestlist_app::domain::formats::Cursor>)]
    pub after: Option<String>,
    /// Rows per page, 1-100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}
