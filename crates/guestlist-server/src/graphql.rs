//! `POST /graphql`: the GraphQL front door. Identity and client address come from the
//! same extractors as REST; the schema calls the same application functions.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use guestlist_app::domain::Error;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Auth, ClientIp, Json, Path, caller};

pub async fn execute(
    State(s): State<AppState>,
    actor: Option<Auth>,
    ip: ClientIp,
    Json(request): Json<async_graphql::Request>,
) -> Response {
    let response = s.graphql.execute(request.data(caller(actor, ip))).await;
    Json(guestlist_graphql::with_codes(response)).into_response()
}

/// The GraphiQL page, in `--dev` only.
pub async fn graphiql(State(s): State<AppState>) -> Response {
    if !s.options.graphiql {
        return ApiError(Error::MethodNotAllowed).into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        guestlist_graphql::graphiql_html("/graphql"),
    )
        .into_response()
}

pub async fn asset(State(s): State<AppState>, Path(name): Path<String>) -> Response {
    match guestlist_graphql::graphiql_asset(&name) {
        Some((content_type, bytes)) if s.options.graphiql => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            bytes,
        )
            .into_response(),
        _ => ApiError(Error::NotFound("asset")).into_response(),
    }
}
