//! Extractors. Their rejections answer in the same JSON error shape as everything
//! else, never axum's plain text; authentication is an extractor, so a handler's
//! signature says who may call it.

use std::net::{IpAddr, SocketAddr};

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
        if !json_content_type(req.headers()) {
            return Err(ApiError(Error::invalid(
                "body",
                "send the body as application/json",
            )));
        }
        let bytes = body(req, state).await?;
        Ok(Json(parse_object(&bytes)?))
    }
}

fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The whole body: too large is `payload_too_large`, too slow `request_timeout`.
async fn body<S: Send + Sync>(req: Request, state: &S) -> Result<axum::body::Bytes, ApiError> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError(Error::PayloadTooLarge)
            } else if body_timed_out(&r) {
                ApiError(Error::RequestTimeout)
            } else {
                ApiError(Error::invalid("body", r.body_text()))
            }
        })
}

/// A request body: a JSON object (never an array read field by field, which serde
/// would otherwise allow), its numbers read as JSON Schema reads them (`2.0` is the
/// integer 2). Malformed JSON and wrong types are `invalid_input`, naming the field
/// where serde does.
fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let refused = |e: serde_json::Error| {
        let message = e.to_string();
        Error::invalid(unknown_field(&message).unwrap_or("body"), message.clone())
    };
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        // Let serde say what is wrong with malformed JSON; refuse well-formed others.
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(refused)?;
        return Err(Error::invalid("body", "the body must be a JSON object"));
    }
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(e) if e.to_string().contains("invalid type: floating point") => {
            let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(refused)?;
            integral_numbers(&mut value);
            serde_json::from_value(value).map_err(refused)
        }
        Err(e) => Err(refused(e)),
    }
}

/// Writes every number with no fractional part (`3.0`, `1e3`) as an integer.
fn integral_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) {
                if f >= i64::MIN as f64 && f < i64::MAX as f64 {
                    *n = (f as i64).into();
                } else if f >= 0.0 && f < u64::MAX as f64 {
                    *n = (f as u64).into();
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(integral_numbers),
        serde_json::Value::Object(o) => o.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// The field serde named as unknown (`unknown field `max_use`, expected …`): input
/// is strict, so a typo is an error naming the typo, never a silently different
/// request.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message
        .split("unknown field `")
        .nth(1)
        .or_else(|| message.strip_prefix("field `"))?;
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
        if c.is::<crate::listen::BodyTimedOut>() {
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

/// Refuses a query parameter the operation does not declare in the OpenAPI document
/// (`invalid_input` naming it), on every route, those without parameters too: a
/// misspelt filter is an error, never a silently wider answer.
pub(crate) async fn strict_query(
    matched: axum::extract::MatchedPath,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(query) = request.uri().query().filter(|q| !q.is_empty()) {
        let declared = crate::openapi::declared_query_parameters()
            .get(matched.as_str())
            .and_then(|ops| ops.iter().find(|(m, _)| m == request.method()))
            .map(|(_, names)| names);
        let known = |name: &str| declared.is_some_and(|d| d.iter().any(|n| n == name));
        if let Some(name) = query_names(query).find(|name| !known(name)) {
            return ApiError(Error::invalid(
                name.as_ref(),
                format!("unknown query parameter {name:?}"),
            ))
            .into_response();
        }
    }
    next.run(request).await
}

/// The parameter names of a query string, decoded (`a%5Fb` is `a_b`); a name with
/// nothing to decode is not copied.
fn query_names(query: &str) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let raw = pair.split_once('=').map_or(pair, |(name, _)| name);
        if !raw.contains(['%', '+']) {
            return std::borrow::Cow::Borrowed(raw);
        }
        // Rare: the form decoder says what the name is.
        let decoded = format!("/?{raw}=")
            .parse::<axum::http::Uri>()
            .ok()
            .and_then(|u| axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&u).ok())
            .and_then(|q| q.0.into_iter().next())
            .map(|(name, _)| name);
        std::borrow::Cow::Owned(decoded.unwrap_or_else(|| raw.to_owned()))
    })
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
    if raw.len() > guestlist_app::domain::formats::SPACE_PARAM_MAX_LEN {
        return Err(Error::invalid(
            "space",
            format!(
                "a space path in a URL is at most {} characters",
                guestlist_app::domain::formats::SPACE_PARAM_MAX_LEN
            ),
        )
        .into());
    }
    let with_slash = if raw.ends_with('/') {
        raw.to_owned()
    } else {
        format!("{raw}/")
    };
    Ok(SpacePath::parse(&with_slash)?)
}

pub(crate) fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    bearer_in(&parts.headers)
}

/// The `Authorization: Bearer` credential of these headers.
pub(crate) fn bearer_in(headers: &axum::http::HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
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

/// A JSON body that may be left out entirely (an empty body, or `null`, reads as
/// `None`).
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body(req, state).await?;
        let text = bytes.trim_ascii();
        if text.is_empty() || text == b"null" {
            return Ok(OptionalJson(None));
        }
        Ok(OptionalJson(Some(parse_object(&bytes)?)))
    }
}
