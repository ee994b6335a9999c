use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Error;

/// The bounds of the codes made here (generated or chosen): 8 to 32 letters and digits.
pub const MIN_CODE_LEN: usize = 8;
pub const MAX_CODE_LEN: usize = 32;
/// The bounds of a code carried over from another system (an import, a mirrored link):
/// 6 to 64 letters, digits, `-` and `_` (a UUID, a URL-safe base64 token, a short code).
pub const MIN_CARRIED_CODE_LEN: usize = 6;
pub const MAX_CARRIED_CODE_LEN: usize = 64;

/// Whether a secret carried over from another system (a link's code, an
/// invitation's token) is made of what a URL carries unescaped: letters, digits, `-`
/// and `_` (not `.` and `~`, which read as path syntax).
pub fn url_safe(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An invite link's secret code: what a link may carry (codes made here are base62,
/// 8-32 characters; codes carried over from another system may also hold `-` and `_`,
/// 6-64 characters). Anything else is rejected before it reaches storage (and answers
/// like an unknown code).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct InviteCode(String);

impl InviteCode {
    pub fn parse(input: &str) -> Result<Self, Error> {
        let ok =
            (MIN_CARRIED_CODE_LEN..=MAX_CARRIED_CODE_LEN).contains(&input.len()) && url_safe(input);
        if ok {
            Ok(InviteCode(input.to_owned()))
        } else {
            Err(Error::NotFound("invite"))
        }
    }

    /// A code another system gave out, brought over as it is (the import and the
    /// mirror): refused with `invalid_input` on `code` when no link could carry it,
    /// or when it is one a guesser tries first — the same guessability rules as a
    /// chosen code ([`InviteCode::chosen`]), on the wider alphabet and lengths carried
    /// codes may have.
    pub fn carried(input: &str) -> Result<Self, Error> {
        let code = Self::parse(input).map_err(|_| {
            Error::invalid(
                "code",
                format!(
                    "{MIN_CARRIED_CODE_LEN} to {MAX_CARRIED_CODE_LEN} letters, digits, '-' and '_'"
                ),
            )
        })?;
        guessable(input).map_or(Ok(code), |why| Err(Error::invalid("code", why)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a code someone picked (chosen here, or carried over from another system) is
/// one a guesser tries first, if it is: fewer than 4 different characters, a run such
/// as `12345678`, or one of the denied words (compared on its skeleton, separators
/// dropped). The one rule for every path that accepts a code it did not make.
fn guessable(input: &str) -> Option<&'static str> {
    let letters: String = input.chars().filter(|c| *c != '-' && *c != '_').collect();
    let skeleton = InviteCode::skeleton_of(&letters);
    let distinct: std::collections::HashSet<u8> = skeleton.bytes().collect();
    if distinct.len() < 4 {
        return Some("too easy to guess: use at least 4 different characters");
    }
    let b = letters.to_ascii_lowercase().into_bytes();
    let run = |step: i16| {
        b.windows(2)
            .all(|w| i16::from(w[1]) - i16::from(w[0]) == step)
    };
    if run(1) || run(-1) {
        return Some("too easy to guess: not a run of characters");
    }
    if DENIED_CODES
        .iter()
        .any(|d| InviteCode::skeleton_of(d) == skeleton)
    {
        return Some("this code is not allowed");
    }
    None
}

/// Words a chosen code may not be (compared on its skeleton): what a guesser tries
/// first, or what reads as the service's own.
const DENIED_CODES: &[&str] = &[
    "password",
    "passw0rd",
    "qwertyui",
    "qwertyuiop",
    "letmein1",
    "welcome1",
    "iloveyou",
    "administrator",
    "admin123",
    "guestlist",
    "invitation",
    "invitelink",
    "joinnow1",
    "support1",
    "official",
];

impl InviteCode {
    /// A code a manager chooses (a vanity code): 8–32 letters and digits, not one of
    /// the denied words, with at least 4 different characters, and not a run such as
    /// `12345678` or `abcdefgh`. Refused with `invalid_input` on `code`. Its
    /// [`skeleton`](Self::skeleton) must also be free: no two chosen codes may read
    /// alike.
    pub fn chosen(input: &str) -> Result<Self, Error> {
        let refuse = |m: &str| Err(Error::invalid("code", m));
        let n = input.chars().count();
        if !(MIN_CODE_LEN..=MAX_CODE_LEN).contains(&n) {
            return refuse(&format!("{MIN_CODE_LEN} to {MAX_CODE_LEN} characters"));
        }
        if !input.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return refuse("letters and digits only (A-Z, a-z, 0-9)");
        }
        if let Some(why) = guessable(input) {
            return refuse(why);
        }
        Ok(InviteCode(input.to_owned()))
    }

    /// What the code reads as: lower case, with characters that look alike folded
    /// together (0/o, 1/l/i, 5/s, 8/b, 2/z, 6/g, 9/q, rn/m, vv/w).
    pub fn skeleton(&self) -> String {
        Self::skeleton_of(&self.0)
    }

    fn skeleton_of(s: &str) -> String {
        let folded: String = s
            .to_ascii_lowercase()
            .chars()
            .map(|c| match c {
                '0' => 'o',
                '1' | 'i' | 'j' => 'l',
                '5' => 's',
                '8' => 'b',
                '2' => 'z',
                '6' => 'g',
                '9' => 'q',
                'u' => 'v',
                c => c,
            })
            .collect();
        folded.replace("rn", "m").replace("vv", "w")
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
        fn code_parser_accepts_only_url_safe_codes_of_bounded_length(s in "[A-Za-z0-9_.~ /-]{0,70}|.{0,70}") {
            let ok = InviteCode::parse(&s).is_ok();
            let expected = (6..=64).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            prop_assert_eq!(ok, expected);
        }
    }
}

#[cfg(test)]
mod chosen_tests {
    use super::*;

    #[test]
    fn carried_codes_keep_their_shape_but_not_a_guessers_first_tries() {
        for ok in [
            "0b5f3a9e-7c1d-4e2a-9f00-1234abcd5678",
            "Ab3-xY_9",
            "team-acme-42",
            "x7Gq2p",
        ] {
            assert!(InviteCode::carried(ok).is_ok(), "{ok}");
        }
        for bad in [
            "password",
            "Passw0rd",
            "pass-word",
            "aaaaaa",
            "a-a-a-a-a",
            "123456",
            "abcdef",
            "guestlist",
            "ab",
        ] {
            let err = InviteCode::carried(bad).unwrap_err();
            assert_eq!(err.field(), Some("code"), "{bad}");
        }
    }

    #[test]
    fn chosen_codes_are_checked_and_their_skeletons_fold_lookalikes() {
        for ok in ["RustLang2026", "acmeTeam", "Zm9vYmFy"] {
            assert!(InviteCode::chosen(ok).is_ok(), "{ok}");
        }
        for bad in [
            "short",
            "x".repeat(33).as_str(),
            "acme-team",
            "aaaabbbb",
            "12345678",
            "hgfedcba",
            "PassW0rd",
            "passwOrd",
            "aabbaab8",
        ] {
            let e = InviteCode::chosen(bad).expect_err(bad);
            assert!(
                matches!(e, Error::InvalidInput { ref field, .. } if field == "code"),
                "{bad}: {e:?}"
            );
        }
        let a = InviteCode::chosen("RustLang2026").unwrap();
        let b = InviteCode::chosen("rustlang2O26").unwrap();
        let c = InviteCode::chosen("RvstLarng2026").unwrap();
        assert_eq!(a.skeleton(), b.skeleton());
        assert_ne!(a.skeleton(), c.skeleton());
        assert_eq!(
            InviteCode::skeleton_of("Corner1O"),
            InviteCode::skeleton_of("comerlo")
        );
    }
}
