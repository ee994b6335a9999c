//! The one error type of the application. Each variant has a stable, documented code
//! (`ErrorCode`) that REST and GraphQL put on the wire; front doors map it once.

use std::fmt;

/// The stable machine codes users program against. Never rename one: add new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    NotFound,
    Expired,
    Exhausted,
    Revoked,
    OutOfScope,
    MemberLimitReached,
    Forbidden,
    Unauthenticated,
    InvalidInput,
    RateLimited,
    AlreadyExists,
    LastAdmin,
    InviteRequired,
    ApprovalRequired,
    PayloadTooLarge,
    RequestTimeout,
    MethodNotAllowed,
    Unavailable,
    Internal,
    EmailUnverified,
    EmailMismatch,
    NotPending,
    SignupClosed,
    TokenInUse,
    PendingConsent,
    IdempotencyKeyReused,
    PreconditionFailed,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 27] = [
        ErrorCode::NotFound,
        ErrorCode::Expired,
        ErrorCode::Exhausted,
        ErrorCode::Revoked,
        ErrorCode::OutOfScope,
        ErrorCode::MemberLimitReached,
        ErrorCode::Forbidden,
        ErrorCode::Unauthenticated,
        ErrorCode::InvalidInput,
        ErrorCode::RateLimited,
        ErrorCode::AlreadyExists,
        ErrorCode::LastAdmin,
        ErrorCode::InviteRequired,
        ErrorCode::ApprovalRequired,
        ErrorCode::PayloadTooLarge,
        ErrorCode::RequestTimeout,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
        ErrorCode::EmailUnverified,
        ErrorCode::EmailMismatch,
        ErrorCode::NotPending,
        ErrorCode::SignupClosed,
        ErrorCode::TokenInUse,
        ErrorCode::PendingConsent,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::PreconditionFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not_found",
            ErrorCode::Expired => "expired",
            ErrorCode::Exhausted => "exhausted",
            ErrorCode::Revoked => "revoked",
            ErrorCode::OutOfScope => "out_of_scope",
            ErrorCode::MemberLimitReached => "member_limit_reached",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::LastAdmin => "last_admin",
            ErrorCode::InviteRequired => "invite_required",
            ErrorCode::ApprovalRequired => "approval_required",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::EmailUnverified => "email_unverified",
            ErrorCode::EmailMismatch => "email_mismatch",
            ErrorCode::NotPending => "not_pending",
            ErrorCode::SignupClosed => "signup_closed",
            ErrorCode::TokenInUse => "token_in_use",
            ErrorCode::PendingConsent => "pending_consent",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::PreconditionFailed => "precondition_failed",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every way an operation can refuse. Messages are written for the caller; the one
/// exception is `Internal`, whose text is for the log only and never leaves the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this invite has expired")]
    Expired,
    #[error("this invite has no uses left")]
    Exhausted,
    #[error("this invite was revoked")]
    Revoked,
    #[error("{0}")]
    OutOfScope(String),
    #[error("the space has reached its member limit")]
    MemberLimitReached,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    AlreadyExists(String),
    #[error("a space must keep at least one admin")]
    LastAdmin,
    #[error("this space admits new members only through an invite")]
    InviteRequired,
    #[error("this space admits new members only after approval")]
    ApprovalRequired,
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the service is temporarily unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
    #[error("verify your e-mail address with the application first")]
    EmailUnverified,
    #[error("this invitation is addressed to someone else")]
    EmailMismatch,
    #[error("this invitation is no longer pending")]
    NotPending,
    /// Invite-only without an invitation, or no seat left under the cap.
    #[error("{0}")]
    SignupClosed(String),
    #[error("this invitation is being used by another sign-up right now; try again later")]
    TokenInUse,
    /// The user has an owner's add waiting for their consent.
    #[error("{0}")]
    PendingConsent(String),
    /// An `Idempotency-Key` sent again with a different request.
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    /// A serialization failure or deadlock: the engine retries the operation; if it
    /// keeps failing the caller sees `unavailable`.
    #[error("the service is temporarily unavailable")]
    Contention(String),
    /// A SCIM request that breaks a rule of the protocol (`invalid_input`, with the
    /// SCIM `scimType` the SCIM front door shows).
    #[error("{detail}")]
    Scim {
        scim_type: crate::scim::ScimType,
        detail: String,
    },
    /// The version named by `If-Match` is not the current one.
    #[error("the resource changed since that version")]
    PreconditionFailed,
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same refusal, naming `field` when it is about input (a value parsed for
    /// one field and given in another, e.g. a user id passed as `user`).
    pub fn in_field(self, field: &str) -> Self {
        match self {
            Error::InvalidInput { message, .. } => Error::InvalidInput {
                field: field.to_owned(),
                message,
            },
            other => other,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::Forbidden(message.into())
    }

    pub fn internal(cause: impl fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Expired => ErrorCode::Expired,
            Error::Exhausted => ErrorCode::Exhausted,
            Error::Revoked => ErrorCode::Revoked,
            Error::OutOfScope(_) => ErrorCode::OutOfScope,
            Error::MemberLimitReached => ErrorCode::MemberLimitReached,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Error::InvalidInput { .. } => ErrorCode::InvalidInput,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::AlreadyExists(_) => ErrorCode::AlreadyExists,
            Error::LastAdmin => ErrorCode::LastAdmin,
            Error::InviteRequired => ErrorCode::InviteRequired,
            Error::ApprovalRequired => ErrorCode::ApprovalRequired,
            Error::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Error::RequestTimeout => ErrorCode::RequestTimeout,
            Error::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Error::Unavailable(_) | Error::Contention(_) => ErrorCode::Unavailable,
            Error::Internal(_) => ErrorCode::Internal,
            Error::EmailUnverified => ErrorCode::EmailUnverified,
            Error::EmailMismatch => ErrorCode::EmailMismatch,
            Error::NotPending => ErrorCode::NotPending,
            Error::SignupClosed(_) => ErrorCode::SignupClosed,
            Error::TokenInUse => ErrorCode::TokenInUse,
            Error::PendingConsent(_) => ErrorCode::PendingConsent,
            Error::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            Error::Scim { .. } => ErrorCode::InvalidInput,
            Error::PreconditionFailed => ErrorCode::PreconditionFailed,
        }
    }

    /// The message safe to send to the caller. Server-side causes stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(_) => "internal error".to_owned(),
            Error::Unavailable(_) | Error::Contention(_) => {
                "the service is temporarily unavailable".to_owned()
            }
            other => other.to_string(),
        }
    }

    /// The field an `invalid_input` error is about.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidInput { field, .. } => Some(field),
            _ => None,
        }
    }

    pub fn is_server_fault(&self) -> bool {
        matches!(
            self,
            Error::Internal(_) | Error::Unavailable(_) | Error::Contention(_)
        )
    }
}

/// The codes as the OpenAPI document shows them: a string enum, so a generated client
/// can switch over them.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .description(Some(
                "A stable machine code; the README's error table says what each means.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_snake_case_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert!(seen.insert(s), "duplicate code {s}");
        }
    }

    #[test]
    fn internal_causes_never_reach_the_public_message() {
        let e = Error::internal("disk I/O error at /var/lib/secret.db");
        assert_eq!(e.public_message(), "internal error");
        assert!(!e.public_message().contains("secret"));
    }
}

/// A setting refused when the service starts: which one (its path in the
/// configuration, `mail.smtp_url`, `issuers[https://idp].audiences`), and why, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct SettingError {
    pub setting: String,
    pub reason: String,
}

impl SettingError {
    pub fn new(setting: impl Into<String>, reason: impl Into<String>) -> SettingError {
        SettingError {
            setting: setting.into(),
            reason: reason.into(),
        }
    }

    /// A refusal of a setting's value: the field an `invalid_input` names (a
    /// validator's own setting path), or `setting` for anything else.
    pub fn of(setting: &str, e: Error) -> SettingError {
        match e {
            Error::InvalidInput { field, message } => SettingError::new(field, message),
            other => SettingError::new(setting, other.public_message()),
        }
    }
}
