//! The one mapping from the application's error to HTTP. GraphQL carries the same
//! `ErrorCode` in `extensions.code` (`guestlist_graphql::gql`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use guestlist_api::{ErrorBody, ErrorDetail};
use guestlist_domain::{Error, ErrorCode};

#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Expired | ErrorCode::Exhausted | ErrorCode::Revoked => StatusCode::GONE,
        ErrorCode::OutOfScope
        | ErrorCode::Forbidden
        | ErrorCode::InviteRequired
        | ErrorCode::ApprovalRequired
        | ErrorCode::EmailUnverified
        | ErrorCode::EmailMismatch
        | ErrorCode::SignupClosed => StatusCode::FORBIDDEN,
        ErrorCode::MemberLimitReached
        | ErrorCode::AlreadyExists
        | ErrorCode::LastAdmin
        | ErrorCode::NotPending
        | ErrorCode::TokenInUse
        | ErrorCode::PendingConsent => StatusCode::CONFLICT,
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorCode::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
    }
}

/// What the caller is told of an error (a whole response's, or one bulk row's).
pub fn detail(err: &Error) -> ErrorDetail {
    ErrorDetail {
        code: err.code().as_str().to_owned(),
        message: err.public_message(),
        field: err.field().map(str::to_owned),
    }
}

impl ApiError {
    /// The same refusal, naming `field` when it is about input.
    pub fn in_field(self, field: &str) -> Self {
        ApiError(self.0.in_field(field))
    }

    /// The response, without logging it: for answers that are expected while the
    /// process starts or sheds load (`unavailable` on every probe would flood the log).
    pub fn quiet(self) -> Response {
        let err = self.0;
        let code = err.code();
        let body = ErrorBody {
            error: detail(&err),
        };
        let res = (status_of(code), crate::extract::Json(body)).into_response();
        with_headers(&err, res)
    }
}

/// The same refusal as SCIM says it (RFC 7644 §3.12): the status `status_of` gives,
/// and the `scimType` of a protocol rule broken (a name taken is `uniqueness`; other
/// bad input `invalidValue`).
pub fn scim_response(err: &Error) -> Response {
    guestlist_app::log_failure(err, "scim");
    let status = status_of(err.code());
    let scim_type = match err {
        Error::Scim { scim_type, .. } => Some(scim_type.as_str()),
        Error::AlreadyExists(_) => Some("uniqueness"),
        Error::InvalidInput { .. } => Some("invalidValue"),
        _ => None,
    };
    let mut body = serde_json::json!({
        "schemas": [guestlist_domain::scim::ERROR_SCHEMA],
        "status": status.as_u16().to_string(),
        "detail": err.public_message(),
    });
    if let Some(t) = scim_type {
        body["scimType"] = t.into();
    }
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    with_headers(err, res)
}

fn with_headers(err: &Error, mut res: Response) -> Response {
    {
        match err {
            Error::RateLimited { retry_after_secs } => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Error::Unauthenticated(_) => {
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Error::Unavailable(_) | Error::Contention(_) => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        res
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        guestlist_app::log_failure(&self.0, "http");
        self.quiet()
    }
}
