use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Error;

pub const MIN_CODE_LEN: usize = 8;
pub const MAX_CODE_LEN: usize = 32;

/// An invite link's secret code: base62, 8-32 characters. Anything else is rejected
/// before it reaches storage (and answers like an unknown code).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct InviteCode(String);

impl InviteCode {
    pub fn parse(input: &str) -> Result<Self, Error> {
        let ok = (MIN_CODE_LEN..=MAX_CODE_LEN).contains(&input.len())
            && input.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(InviteCode(input.to_owned()))
        } else {
            Err(Error::NotFound("invite"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Codes are secrets: their `Debug` never prints them.
impl fmt::Debug for InviteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteCode(**redacted**)")
    }
}

/// The state of an invite link at a moment. Precedence: revoked, expired, exhausted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::Enum),
    graphql(name = "InviteLinkState")
)]
pub enum InviteState {
    Active,
    Revoked,
    Expired,
    Exhausted,
}

impl InviteState {
    pub fn of(
        revoked: bool,
        expires_at: Option<OffsetDateTime>,
        max_uses: Option<u32>,
        uses: u32,
        now: OffsetDateTime,
    ) -> Self {
        if revoked {
            InviteState::Revoked
        } else if expires_at.is_some_and(|e| e <= now) {
            InviteState::Expired
        } else if max_uses.is_some_and(|m| uses >= m) {
            InviteState::Exhausted
        } else {
            InviteState::Active
        }
    }

    /// The error a redemption of an invite in this state gets, if any.
    pub fn refusal(self) -> Option<Error> {
        match self {
            InviteState::Active => None,
            InviteState::Revoked => Some(Error::Revoked),
            InviteState::Expired => Some(Error::Expired),
            InviteState::Exhausted => Some(Error::Exhausted),
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "active" => Ok(InviteState::Active),
            "revoked" => Ok(InviteState::Revoked),
            "expired" => Ok(InviteState::Expired),
            "exhausted" => Ok(InviteState::Exhausted),
            other => Err(Error::invalid(
                "state",
                format!("unknown state {other:?}: use active, revoked, expired or exhausted"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::Duration;

    #[test]
    fn state_precedence() {
        let now = OffsetDateTime::now_utc();
        let past = Some(now - Duration::seconds(1));
        assert_eq!(
            InviteState::of(true, past, Some(1), 1, now),
            InviteState::Revoked
        );
        assert_eq!(
            InviteState::of(false, past, Some(1), 1, now),
            InviteState::Expired
        );
        assert_eq!(
            InviteState::of(false, None, Some(1), 1, now),
            InviteState::Exhausted
        );
        assert_eq!(
            InviteState::of(false, None, None, 99, now),
            InviteState::Active
        );
        assert_eq!(
            InviteState::of(false, Some(now + Duration::hours(1)), Some(2), 1, now),
            InviteState::Active
        );
    }

    #[test]
    fn codes_never_debug_print() {
        let c = InviteCode::parse("AbCdEfGh12").unwrap();
        assert!(!format!("{c:?}").contains("AbCdEfGh12"));
    }

    proptest! {
        #[test]
        fn code_parser_accepts_only_base62_of_bounded_length(s in ".{0,40}") {
            let ok = InviteCode::parse(&s).is_ok();
            let expected = (8..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
            prop_assert_eq!(ok, expected);
        }
    }
}
