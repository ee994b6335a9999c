//! What a command did, when more than one answer is a success. Defined once here and
//! shown as they are on every front door: JSON (serde), OpenAPI (`openapi` feature)
//! and GraphQL (`graphql` feature, under the GraphQL names the schema has always had).

use serde::{Deserialize, Serialize};

/// What a join did. Idempotent outcomes are successes, not errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::Enum),
    graphql(name = "RedeemOutcome")
)]
pub enum JoinOutcome {
    /// A new membership.
    Joined,
    /// An existing membership's role was raised to the invite's (a use is counted).
    Upgraded,
    /// Already held at least these rights: nothing changed, no use counted.
    AlreadyMember,
    /// The space (or the link) needs approval: a join request waits for a member
    /// manager.
    Requested,
}

/// What inviting someone did. Idempotent outcomes are successes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum InvitationOutcome {
    /// A new pending invitation: action required until the person accepts.
    Invited,
    /// They already have a pending invitation here: that one is returned.
    AlreadyInvited,
    /// They already hold at least these rights here.
    AlreadyMember,
}

/// What adding someone to a roster did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::Enum),
    graphql(name = "AddMemberOutcome")
)]
pub enum AddOutcome {
    /// A pending membership: only that user can accept or decline it.
    Pending,
    /// Added before and not answered yet.
    AlreadyPending,
    /// They already hold at least these rights here.
    AlreadyMember,
    /// They had asked to join: the add approved their request.
    Joined,
}
