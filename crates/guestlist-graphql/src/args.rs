//! Arguments as resolvers take them, and answers shared by several features.

use async_graphql::Result;
use guestlist_app::MembershipView;
use guestlist_app::domain::{Error, RoleName, SpacePath, UserId};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::gql;
use crate::invites::RedeemResult;
use crate::members::Member;

pub(crate) fn path(field: &str, s: &str) -> Result<SpacePath> {
    SpacePath::parse(s).map_err(|e| gql(e.in_field(field)))
}

pub(crate) fn space_arg(s: &str) -> Result<SpacePath> {
    path("spacePrefix", s)
}

/// `first` as a page size; the application bounds it (1-100).
pub(crate) fn first_arg(first: Option<i32>) -> Option<u32> {
    first.map(|f| u32::try_from(f).unwrap_or(0))
}

pub(crate) fn role_arg(s: &str) -> Result<RoleName> {
    RoleName::parse(s).map_err(gql)
}

pub(crate) fn user_arg(s: &str) -> Result<UserId> {
    UserId::parse(s).map_err(|e| gql(e.in_field("userId")))
}

pub(crate) fn admitted(
    outcome: guestlist_app::JoinOutcome,
    space: &str,
    role: &str,
    m: Option<MembershipView>,
) -> RedeemResult {
    let grant: Option<Member> = m.map(Into::into);
    RedeemResult {
        outcome,
        space_prefix: space.to_owned(),
        role: grant
            .as_ref()
            .map(|g| g.role.clone())
            .unwrap_or_else(|| role.to_owned()),
        grant,
        join_request_id: None,
    }
}

/// An id argument; anything that is not one names nothing.
pub(crate) fn id_arg(id: &async_graphql::ID, what: &'static str) -> Result<uuid::Uuid> {
    guestlist_app::domain::parse_id(id.as_str(), what).map_err(gql)
}

/// `expiresAt` (RFC 3339) as the lifetime the application takes.
pub(crate) fn lifetime(expires_at: Option<&str>) -> Result<Option<i64>> {
    let Some(s) = expires_at else { return Ok(None) };
    let at = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        gql(Error::invalid(
            "expiresAt",
            "an RFC 3339 date-time, e.g. 2030-01-01T00:00:00Z",
        ))
    })?;
    let secs = (at - OffsetDateTime::now_utc()).whole_seconds();
    if secs < 1 {
        return Err(gql(Error::invalid("expiresAt", "must be in the future")));
    }
    Ok(Some(secs))
}
