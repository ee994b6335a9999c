//! What every feature's GraphQL types share: the nested filters of the seed, the
//! model's enums (derived in the domain), and the time format. Each feature's output
//! and input types live in its own file.

use async_graphql::InputObject;
pub use guestlist_app::domain::{
    AddOutcome, DeliveryState, InvitationOutcome, InvitationStatus, InviteState, JoinMode,
    JoinOutcome,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

// Reusable nested filters, as in the seed.

/// Matches a space prefix: `startsWith` a subtree, or `in` a list of exact prefixes.
#[derive(InputObject, Debug, Default)]
pub struct PrefixFilter {
    pub starts_with: Option<String>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<String>>,
}

#[derive(InputObject, Debug, Default)]
pub struct StringFilter {
    pub eq: Option<String>,
}

#[derive(InputObject, Debug, Default)]
pub struct BoolFilter {
    pub eq: Option<bool>,
}

/// Matches a space and everything beneath it.
#[derive(InputObject, Debug, Default)]
pub struct SubtreeFilter {
    pub starts_with: Option<String>,
}
