//! Guestlist's model and its rules. Nothing here does I/O: every type parses its
//! input strictly ("parse, don't validate") and every rule is a pure function, so the
//! application layer, both storage engines and all front doors share one definition.

pub mod actor;
pub mod error;
pub mod events;
pub mod formats;
pub mod invitation;
pub mod invite;
pub mod membership;
pub mod nesting;
pub mod outcome;
pub mod path;
pub mod role;
pub mod rules;
pub mod scim;
pub mod signup;
pub mod space;

pub use actor::{Actor, UserId};
pub use error::{Error, ErrorCode, SettingError};
pub use invitation::{Addressee, Binding, DeliveryState, Email, InvitationStatus, Username};
pub use invite::{InviteCode, InviteState};
pub use membership::{JoinRequestStatus, MembershipSource, MembershipStatus};
pub use outcome::{AddOutcome, InvitationOutcome, JoinOutcome};
pub use path::SpacePath;
pub use role::{Permission, Permissions, RoleName};
pub use signup::Gate;
pub use space::JoinMode;

/// An id named in a request (a path segment, a GraphQL `ID`). Anything that is not
/// one names nothing: `not_found`, like an id that does not exist.
pub fn parse_id(raw: &str, what: &'static str) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::try_parse(raw).map_err(|_| Error::NotFound(what))
}
