//! The textual formats of the identifiers a request names, as regular expressions
//! that accept exactly what the parsers accept. The OpenAPI document shows them
//! (`pattern`, with `maxLength`), so a client generated from it, or a fuzzer, agrees
//! with the server about what is valid; the tests below hold each pattern to its
//! parser. The syntax is the common subset of ECMA-262, Python's `re` and Rust's
//! `regex`: classes, ranges, `\uXXXX` escapes, non-capturing groups, bounded repeats,
//! no look-around.

use crate::path::{MAX_DEPTH, MAX_PATH_LEN, MAX_SEGMENT_LEN};

/// Unicode `White_Space`, what `str::trim` removes and `char::is_whitespace` matches.
const WHITE_SPACE: &str =
    r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Unicode `Cc`, what `char::is_control` matches.
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";
/// What an atom of an address holds (RFC 5322 `atext`).
const ATEXT: &str = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";

/// A space path (`acme/eng/`), at most [`MAX_PATH_LEN`] characters.
pub fn space_path() -> String {
    format!("^(?:[a-z0-9_-]{{1,{MAX_SEGMENT_LEN}}}/){{1,{MAX_DEPTH}}}$")
}

/// A space path in a URL, where the trailing slash may be left out; at most
/// [`SPACE_PARAM_MAX_LEN`] characters.
pub fn space_path_param() -> String {
    let seg = format!("[a-z0-9_-]{{1,{MAX_SEGMENT_LEN}}}");
    format!("^(?:{seg}/){{0,{}}}{seg}/?$", MAX_DEPTH - 1)
}

/// The longest space path a URL names (so that adding the slash stays within
/// [`MAX_PATH_LEN`]).
pub const SPACE_PARAM_MAX_LEN: usize = MAX_PATH_LEN - 1;

/// A role name: `viewer`, `member`, `admin` or a custom one.
pub const ROLE_NAME: &str = "^[a-z][a-z0-9_-]{0,31}$";

/// A user id: 1-255 characters, no controls, not starting with `key:` (the API keys'
/// namespace). Spelled without look-ahead: a first character other than `k`, or `k`,
/// `ke` or `key` followed by anything but the next letter of `key:`.
pub fn user_id() -> String {
    let c = format!("[^{CONTROL}]");
    let but = |ch: &str| format!("[^{CONTROL}{ch}]");
    format!(
        "^(?:{k}{c}*|k|k{e}{c}*|ke|ke{y}{c}*|key|key{colon}{c}*)$",
        k = but("k"),
        e = but("e"),
        y = but("y"),
        colon = but(":"),
    )
}

/// The longest user id, in characters.
pub const USER_ID_MAX_LEN: usize = 255;

/// The domain of an e-mail address: at least two labels joined by single dots, each
/// 1-63 characters of an atom, starting and ending with a letter or digit.
fn domain_core() -> String {
    let label = format!("[A-Za-z0-9](?:{ATEXT}{{0,61}}[A-Za-z0-9])?");
    format!(r"{label}(?:\.{label})+")
}

/// An e-mail address, surrounding white space allowed (it is trimmed): a dot-atom,
/// `@`, a domain, in ASCII; at most [`EMAIL_MAX_LEN`] characters in all. With
/// [`email_local_len`] (at most 64 characters before the `@`), exactly what
/// [`crate::Email::parse`] accepts: the common regex subset has no look-ahead to
/// bound a dot-atom's length, so the document states it as a second pattern.
pub fn email() -> String {
    format!(
        r"^[{WHITE_SPACE}]*{ATEXT}+(?:\.{ATEXT}+)*@{}[{WHITE_SPACE}]*$",
        domain_core(),
    )
}

/// The second half of [`email`]: at most 64 characters before the `@` (a prefix
/// pattern, as JSON Schema patterns are not anchored at the end).
pub fn email_local_len() -> String {
    format!("^[{WHITE_SPACE}]*[^@]{{1,64}}@")
}

/// The longest e-mail address, in characters, white space included.
pub const EMAIL_MAX_LEN: usize = 254;

/// A mail domain (`example.com`, ASCII: an internationalised one in its `xn--` form),
/// surrounding white space allowed.
pub fn domain() -> String {
    format!("^[{WHITE_SPACE}]*{}[{WHITE_SPACE}]*$", domain_core())
}

/// The longest mail domain: what fits in an address with a one-character local part.
pub const DOMAIN_MAX_LEN: usize = EMAIL_MAX_LEN - 2;

/// A username: 1-100 characters with no white space or controls, surrounding white
/// space allowed (it is trimmed).
pub fn username() -> String {
    format!("^[{WHITE_SPACE}]*[^{WHITE_SPACE}{CONTROL}]{{1,100}}[{WHITE_SPACE}]*$")
}

/// A human-readable text (a name, a description, a note): no controls but line breaks.
pub const TEXT: &str = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$";

/// An invite link's code: letters, digits, `-` and `_` (codes made here are base62).
pub fn invite_code() -> String {
    format!(
        "^[A-Za-z0-9_-]{{{},{}}}$",
        crate::invite::MIN_CARRIED_CODE_LEN,
        crate::invite::MAX_CARRIED_CODE_LEN
    )
}

/// A page cursor this service issued: milliseconds and an id, in hex.
pub const CURSOR: &str = r"^[0-9a-f]{1,11}\.[0-9a-f]{32}$";

#[cfg(feature = "openapi")]
mod schemas {
    //! Each identifier type is its own schema in the OpenAPI document.

    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

    fn string(
        pattern: &str,
        max_len: Option<usize>,
        description: &str,
        example: &str,
    ) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
            .min_length(Some(1))
            .max_length(max_len)
            .description(Some(description))
            .examples([example])
            .into()
    }

    macro_rules! schema {
        ($t:ty, $name:literal, $body:expr) => {
            impl utoipa::PartialSchema for $t {
                fn schema() -> RefOr<Schema> {
                    $body
                }
            }
            impl utoipa::ToSchema for $t {
                fn name() -> std::borrow::Cow<'static, str> {
                    $name.into()
                }
            }
        };
    }

    schema!(
        crate::SpacePath,
        "SpacePath",
        string(
            &super::space_path(),
            Some(crate::path::MAX_PATH_LEN),
            "A space path: segments of a-z, 0-9, '-' and '_', each followed by '/' (`acme/eng/`).",
            "acme/eng/"
        )
    );
    schema!(
        crate::RoleName,
        "RoleName",
        string(
            super::ROLE_NAME,
            Some(32),
            "A role: `viewer`, `member`, `admin` or a custom role of the space or above it.",
            "member"
        )
    );
    schema!(
        crate::UserId,
        "UserId",
        string(
            &super::user_id(),
            Some(super::USER_ID_MAX_LEN),
            "The host application's user id (a token's `sub`); never starts with `key:`.",
            "alice"
        )
    );
    schema!(
        crate::Email,
        "Email",
        utoipa::openapi::schema::AllOfBuilder::new()
            .item(string(
                &super::email(),
                Some(super::EMAIL_MAX_LEN),
                "An e-mail address in ASCII (an internationalised domain in its `xn--` \
                 form), as a mail server takes it: a dot-atom of at most 64 characters, \
                 `@`, a domain of labels joined by dots; trimmed, ASCII letters \
                 compared case-insensitively.",
                "ada@example.com"
            ))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(super::email_local_len()))
            )
            .into()
    );
    schema!(
        crate::Username,
        "Username",
        string(
            &super::username(),
            None,
            "A username in the host application (`preferred_username`): 1-100 characters \
         without spaces, trimmed, ASCII letters compared case-insensitively.",
            "ada"
        )
    );
    schema!(
        crate::InviteCode,
        "InviteCode",
        string(
            &super::invite_code(),
            Some(crate::invite::MAX_CARRIED_CODE_LEN),
            "An invite link's code: 8 to 32 letters and digits when made here; a code \
         carried over from another system may be 6 to 64 letters, digits, `-` and `_`.",
            "k3Jd9QpX2a"
        )
    );

    /// A space path as a URL names it (percent-encoded; the trailing slash optional).
    pub struct SpaceParam;
    schema!(
        SpaceParam,
        "SpaceParam",
        string(
            &super::space_path_param(),
            Some(super::SPACE_PARAM_MAX_LEN),
            "A space path, percent-encoded in the URL (`acme%2Feng%2F`); the trailing slash may be left out.",
            "acme/"
        )
    );

    /// A mail domain.
    pub struct Domain;
    schema!(
        Domain,
        "Domain",
        string(
            &super::domain(),
            Some(super::DOMAIN_MAX_LEN),
            "A mail domain (`example.com`).",
            "example.com"
        )
    );

    /// A page cursor.
    pub struct Cursor;
    schema!(
        Cursor,
        "Cursor",
        string(
            super::CURSOR,
            Some(44),
            "The cursor from the previous page's `next`.",
            "19a2b3c4d5e.01a2358f74d476f5a0585a3a83a2d3ac"
        )
    );
}

#[cfg(feature = "openapi")]
pub use schemas::{Cursor, Domain, SpaceParam};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Email, InviteCode, RoleName, SpacePath, UserId, Username};
    use proptest::prelude::*;
    use regex::Regex;

    /// Characters that matter to some format, and some that matter to none.
    fn chars() -> impl Strategy<Value = char> {
        prop_oneof![
            4 => prop::sample::select(
                "akeyKEY:/@.-_ aZ09\t\n\u{85}\u{a0}\u{2000}\u{3000}\u{1c}\u{7f}<>\"\\,;é𝔸İK"
                    .chars()
                    .collect::<Vec<_>>()
            ),
            1 => any::<char>(),
        ]
    }

    fn strings() -> impl Strategy<Value = String> {
        prop::collection::vec(chars(), 0..40).prop_map(|v| v.into_iter().collect())
    }

    /// Strings the pattern matches (proptest's generator takes no anchors).
    fn generated(pattern: &str) -> impl Strategy<Value = String> + use<> {
        let inner = pattern
            .strip_prefix('^')
            .unwrap()
            .strip_suffix('$')
            .unwrap();
        prop::string::string_regex(inner).unwrap()
    }

    fn agree(re: &Regex, max_chars: usize, s: &str, parsed: bool) {
        let matched = re.is_match(s) && s.chars().count() <= max_chars;
        assert_eq!(matched, parsed, "{s:?}: pattern {matched}, parser {parsed}");
    }

    /// Each pattern, and the strings it generates, against its parser.
    macro_rules! holds {
        ($name:ident, $pattern:expr, $max:expr, $parse:expr) => {
            #[test]
            fn $name() {
                let pattern = $pattern;
                let re = Regex::new(&pattern).unwrap();
                let parse = $parse;
                let mut runner =
                    prop::test_runner::TestRunner::new(ProptestConfig::with_cases(1500));
                runner
                    .run(&(strings(), generated(&pattern)), |(s, g)| {
                        agree(&re, $max, &s, parse(&s));
                        agree(&re, $max, &g, parse(&g));
                        Ok(())
                    })
                    .unwrap();
            }
        };
    }

    holds!(
        space_paths,
        space_path(),
        crate::path::MAX_PATH_LEN,
        |s: &str| SpacePath::parse(s).is_ok()
    );
    holds!(role_names, ROLE_NAME.to_owned(), 32, |s: &str| {
        RoleName::parse(s).is_ok()
    });
    holds!(user_ids, user_id(), USER_ID_MAX_LEN, |s: &str| {
        UserId::parse(s).is_ok()
    });
    /// Both of the address's patterns, as the document states them.
    fn email_patterns() -> impl Fn(&str) -> bool {
        let (shape, local) = (
            Regex::new(&email()).unwrap(),
            Regex::new(&email_local_len()).unwrap(),
        );
        move |s| shape.is_match(s) && local.is_match(s) && s.chars().count() <= EMAIL_MAX_LEN
    }

    /// The patterns, the parser and the mail sender's own parser (lettre) agree on
    /// every address: strings of the characters that matter, and strings the shape
    /// pattern makes.
    #[test]
    fn emails() {
        let patterns = email_patterns();
        let mut runner = prop::test_runner::TestRunner::new(ProptestConfig::with_cases(3000));
        let ascii = prop::collection::vec(
            prop::sample::select(" .@-_+a9Z!~'`\"<>(),;:\\[]\t".chars().collect::<Vec<_>>()),
            0..30,
        )
        .prop_map(|v| v.into_iter().collect::<String>());
        runner
            .run(&(strings(), ascii, generated(&email())), |(s, a, g)| {
                for s in [s, a, g] {
                    let parsed = Email::parse(&s);
                    assert_eq!(patterns(&s), parsed.is_ok(), "{s:?}: {parsed:?}");
                    if let Ok(e) = parsed {
                        assert!(e.as_str().parse::<lettre::Address>().is_ok(), "{s:?}");
                    }
                }
                Ok(())
            })
            .unwrap();
    }
    holds!(domains, domain(), DOMAIN_MAX_LEN, |s: &str| {
        Email::parse_domain(s).is_ok()
    });
    holds!(usernames, username(), usize::MAX, |s: &str| {
        Username::parse(s).is_ok()
    });
    holds!(codes, invite_code(), usize::MAX, |s: &str| {
        InviteCode::parse(s).is_ok()
    });

    #[test]
    fn the_edges() {
        let user = Regex::new(&user_id()).unwrap();
        for (s, ok) in [
            ("k", true),
            ("ke", true),
            ("key", true),
            ("key:", false),
            ("key:x", false),
            ("kex", true),
            ("keY:", true),
            ("alice", true),
            ("", false),
            ("a\u{85}", false),
        ] {
            assert_eq!(user.is_match(s), ok, "{s:?}");
            assert_eq!(UserId::parse(s).is_ok(), ok, "{s:?}");
        }
        let mail = email_patterns();
        for (s, ok) in [
            ("a@b.co", true),
            (" Ada@Example.com ", true),
            ("a@b", false),
            ("a@.b.co", false),
            ("a@b..co", false),
            ("a@b.co-", false),
            ("a@-b.co", false),
            ("a@b.c-d.e", true),
            ("@b.co", false),
            ("a b@c.de", false),
            ("a@b@c.de", false),
            ("a..b@c.de", false),
            (".a@c.de", false),
            ("a\u{a9}b@c.de", false),
            ("a@b\u{fc}cher.de", false),
            ("a@xn--bcher-kva.de", true),
            ("a!#$%&'*+/=?^_`{|}~-@c.de", true),
        ] {
            assert_eq!(mail(s), ok, "{s:?}");
            assert_eq!(Email::parse(s).is_ok(), ok, "{s:?}");
        }
        let long_local = format!("{}@b.co", "a".repeat(65));
        assert!(!mail(&long_local) && Email::parse(&long_local).is_err());
        let local = format!("{}@b.co", "a".repeat(64));
        assert!(mail(&local) && Email::parse(&local).is_ok());
    }
}
