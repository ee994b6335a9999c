//! Extractors. Their rejections answer in the same JSON error shape as everything
//! else, never axum's plain text; authentication is an extractor, so a handler's
//! signature says who may call it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::{
    ConnectInfo, FromRequest, FromRequestParts, OptionalFromRequestParts, Request,
};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use guestlist_app::Caller;
use guestlist_domain::{Actor, Error, SpacePath};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// A JSON body. In a request, malformed JSON, wrong types and wrong content types are
/// `invalid_input`. In a response, it is written into a plain `Vec`: axum's `Json`
/// writes through a `BytesMut` writer, which cost a tenth of a page of 50 invites.
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(256);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => ([(CONTENT_TYPE, "application/json")], body).into_response(),
            Err(e) => {
                ApiError(Error::internal(format!("writing the response: {e}"))).into_response()
            }
        }
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(ApiError(json_rejection(rejection))),
        }
    }
}

fn json_rejection(r: JsonRejection) -> Error {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Error::PayloadTooLarge;
    }
    if body_timed_out(&r) {
        return Error::RequestTimeout;
    }
    let message = match &r {
        JsonRejection::MissingJsonContentType(_) => "send the body as application/json".to_owned(),
        other => other.body_text(),
    };
    Error::invalid(unknown_field(&message).unwrap_or("body"), message.clone())
}

/// The field serde named as unknown (`unknown field `max_use`, expected …`): input
/// is strict, so a typo is an error naming the typo, never a silently different
/// request.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.split("unknown field `").nth(1)?;
    rest.split('`').next().filter(|f| !f.is_empty())
}

/// The parameter a query string's value was refused for: axum names it before the
/// reason (`Failed to deserialize query string: limit: invalid digit …`).
fn query_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("Failed to deserialize query string: ")?;
    let (name, _) = rest.split_once(": ")?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

/// Whether reading the body failed because it did not arrive within the body read
/// timeout (`listen.rs`).
pub(crate) fn body_timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Query parameters; bad ones are `invalid_input` on `query`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|r| {
                let message = r.body_text();
                ApiError(Error::invalid(
                    unknown_field(&message)
                        .or_else(|| query_field(&message))
                        .unwrap_or("query"),
                    message.clone(),
                ))
            })
    }
}

/// Path parameters; bad ones are `invalid_input` on `path`.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        <axum::extract::Path<T> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|r| ApiError(Error::invalid("path", r.body_text())))
    }
}

/// A space path from a URL segment, percent-encoded (`acme%2Feng%2F`); the trailing
/// slash may be left out there.
pub fn space_param(raw: &str) -> Result<SpacePath, ApiError> {
    let with_slash = if raw.ends_with('/') {
        raw.to_owned()
    } else {
        format!("{raw}/")
    };
    Ok(SpacePath::parse(&with_slash)?)
}

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| {
        ApiError(Error::Unauthenticated(
            "malformed Authorization header".into(),
        ))
    })?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError(Error::Unauthenticated(
            "use Authorization: Bearer <token or API key>".into(),
        ))),
    }
}

/// A signed-in caller (user token or API key). Requests without one get 401.
pub struct Auth(pub Actor);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?
            .ok_or_else(|| ApiError(Error::Unauthenticated("sign in first".into())))?;
        Ok(Auth(state.app.authenticate(token).await?))
    }
}

impl OptionalFromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        match bearer(parts)? {
            None => Ok(None),
            Some(token) => Ok(Some(Auth(state.app.authenticate(token).await?))),
        }
    }
}

/// The client's address: the socket peer, or the last `X-Forwarded-For` hop when the
/// server is configured to trust its proxy.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.options.trust_proxy_headers {
            let forwarded = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|ip| ip.trim().parse().ok());
            if let Some(ip) = forwarded {
                return Ok(ClientIp(ip));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(ClientIp(peer))
    }
}

pub fn caller(actor: Option<Auth>, ip: ClientIp) -> Caller {
    Caller {
        actor: actor.map(|a| a.0),
        client: ip.0,
    }
}

/// A JSON body that may be left out entirely (an empty body reads as `None`).
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError(Error::PayloadTooLarge)
                } else if body_timed_out(&r) {
                    ApiError(Error::RequestTimeout)
                } else {
                    ApiError(Error::invalid("body", r.body_text()))
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        serde_json::from_slice(&bytes)
            .map(|v| OptionalJson(Some(v)))
            .map_err(|e| {
                let message = e.to_string();
                ApiError(Error::invalid(
                    unknown_field(&message).unwrap_or("body"),
                    message.clone(),
                ))
            })
    }
}
