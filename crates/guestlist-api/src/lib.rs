//! Guestlist's wire types: what goes over HTTP. Shared by the server (which documents
//! them in OpenAPI), the typed client, the CLI and the tests, so none can drift.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

mod events;
mod imports;
mod invitations;
mod invites;
mod members;
pub mod objects;
mod requests;
mod signup;
mod spaces;
mod users;
mod webhooks;

pub use events::*;
pub use imports::*;
pub use invitations::*;
pub use invites::*;
pub use members::*;
pub use requests::*;
pub use signup::*;
pub use spaces::*;
pub use users::*;
pub use webhooks::*;

/// The enums and outcomes of the model, as they are on the wire.
pub use guestlist_domain::{
    AddOutcome, DeliveryState, InvitationOutcome, InvitationStatus, InviteState, JoinMode,
    JoinOutcome, Permission,
};

/// Every error: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ErrorDetail {
    /// A stable machine code: not_found, expired, exhausted, revoked, out_of_scope,
    /// member_limit_reached, forbidden, unauthenticated, invalid_input, rate_limited,
    /// already_exists, last_admin, invite_required, approval_required,
    /// payload_too_large, request_timeout, method_not_allowed, unavailable, internal,
    /// email_unverified, email_mismatch, not_pending, signup_closed, token_in_use,
    /// pending_consent, idempotency_key_reused.
    #[schema(value_type = guestlist_domain::ErrorCode)]
    pub code: String,
    pub message: String,
    /// For `invalid_input`: the field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Tells a field given as `null` (Some(None)) from one left out (None).
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Health {
    pub status: String,
    pub engine: String,
    /// The trusted identity providers, and whether their keys could be fetched
    /// (`/readyz` only; absent when none are configured).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_providers: Vec<IdentityProvider>,
}

/// A trusted identity provider as `/readyz` sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct IdentityProvider {
    pub issuer: String,
    /// Keys held now.
    pub keys: usize,
    /// Whether its keys were ever fetched. A provider that never answered leaves its
    /// users unable to sign in, while every other issuer (and the shared secret) works.
    pub reachable: bool,
    /// The last fetch's error, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}
