//! Users' known identities over REST: the host tells Guestlist who a user is known as.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use guestlist_api as api;
use guestlist_app::domain::UserId;
use guestlist_app::store::Identities;

use super::{Res, user};
use crate::AppState;
use crate::extract::{Auth, Json, Path};

/// This feature's routes, under `/api/v1`.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/users/{user_id}", get(get_identities).put(set_identities))
}

/// Set the e-mail addresses (verified by you) and usernames a user is known by
/// (platform administrators), so that inviting or adding any of them finds this user,
/// and someone already a member is answered `already_member`.
#[utoipa::path(put, path = "/api/v1/users/{user_id}", tag = "users", request_body = api::SetIdentitiesRequest,
    params(("user_id" = guestlist_app::domain::UserId, Path)),
    responses((status = 200, body = api::UserIdentities), (status = 400, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_identities(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(user_id): Path<String>,
    Json(req): Json<api::SetIdentitiesRequest>,
) -> Res<Json<api::UserIdentities>> {
    let user = user(&user_id)?;
    let known = s
        .app
        .set_identities(&actor, user.clone(), &req.emails, &req.usernames)
        .await?;
    Ok(Json(identities(&user, known)))
}

/// A user's known identities: yours, or anyone's for a platform administrator.
#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "users",
    params(("user_id" = guestlist_app::domain::UserId, Path)),
    responses((status = 200, body = api::UserIdentities), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_identities(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(user_id): Path<String>,
) -> Res<Json<api::UserIdentities>> {
    let user = user(&user_id)?;
    let known = s.app.identities(&actor, user.clone()).await?;
    Ok(Json(identities(&user, known)))
}

fn identities(user: &UserId, known: Identities) -> api::UserIdentities {
    api::UserIdentities {
        user_id: user.to_string(),
        emails: known.emails.iter().map(|e| e.to_string()).collect(),
        usernames: known.usernames.iter().map(|u| u.to_string()).collect(),
    }
}
