//! Invitations addressed to one person: who they are for, their lifecycle, and the
//! rule that binds an invitation to its addressee.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Actor, Error, UserId};

/// An e-mail address, trimmed and ASCII-lower-cased: the one form stored and
/// compared, so `Ada@Example.com ` and `ada@example.com` are the same person
/// everywhere. Addresses are ASCII (an internationalised domain in its `xn--` form):
/// what any SMTP server accepts without the SMTPUTF8 extension, and no Unicode case
/// mapping or normalisation can make two addresses one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// An address as a request gives it. Accepted when it is ASCII, a dot-atom
    /// (RFC 5322: atoms of letters, digits and ``!#$%&'*+/=?^_`{|}~-`` joined by
    /// single dots; at most 64 characters) at a domain of at least two labels (each
    /// 1-63 letters, digits and those marks, starting and ending with a letter or
    /// digit), **and** the mail sender's own parser (lettre's `Address`) accepts it
    /// too: an address taken here is one the outbox can send, never one it retries
    /// forever. [`crate::formats::email`] states the same rule as patterns.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let bad = |why: &str| {
            Err(Error::invalid(
                "email",
                format!("{why}: {:?}", input.trim()),
            ))
        };
        if input.chars().count() > crate::formats::EMAIL_MAX_LEN {
            return bad("an e-mail address is at most 254 characters");
        }
        let s = identity_key(input);
        let Some((local, domain)) = s.split_once('@') else {
            return bad("not an e-mail address");
        };
        if !s.is_ascii() {
            return bad(
                "an e-mail address is ASCII (write an internationalised domain in its xn-- form)",
            );
        }
        if !domain_ok(domain) {
            return bad(
                "not an e-mail address: the domain is labels of letters and digits joined by dots",
            );
        }
        if local.len() > 64 || !local.split('.').all(atom) {
            return bad(
                "not an e-mail address: before the @ come at most 64 letters, digits and !#$%&'*+/=?^_`{|}~- in parts joined by single dots",
            );
        }
        if lettre::Address::new(local, domain).is_err() {
            return bad("the mail sender cannot send to this address");
        }
        Ok(Email(s))
    }

    /// An address read back from storage: it was checked by [`Email::parse`] when it
    /// was written, perhaps under an older rule, and it is still the same person's.
    pub fn stored(value: String) -> Self {
        Email(value)
    }

    /// A mail domain (`example.com`), trimmed and ASCII-lower-cased, as the part after
    /// the `@` of an address.
    pub fn parse_domain(input: &str) -> Result<String, Error> {
        let d = identity_key(input);
        if input.chars().count() > crate::formats::DOMAIN_MAX_LEN
            || !d.is_ascii()
            || !domain_ok(&d)
            || lettre::Address::new("a", &d).is_err()
        {
            return Err(Error::invalid(
                "domain",
                format!("not a mail domain: {:?}", input.trim()),
            ));
        }
        Ok(d)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

/// A character of an atom (RFC 5322 `atext`).
fn atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c)
}

/// An atom: one or more [`atext`] characters.
fn atom(s: &str) -> bool {
    !s.is_empty() && s.chars().all(atext)
}

/// At least two labels joined by single dots; a label is an [`atom`] of at most 63
/// characters starting and ending with a letter or digit.
fn domain_ok(domain: &str) -> bool {
    let label = |l: &str| {
        atom(l)
            && l.len() <= 63
            && l.starts_with(|c: char| c.is_ascii_alphanumeric())
            && l.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    domain.contains('.') && domain.split('.').all(label)
}

/// The one normalisation of an identity (an e-mail address or a username) before it
/// is stored or compared: surrounding whitespace trimmed, ASCII `A-Z` lower-cased,
/// nothing else changed. Unicode case folding and compatibility forms are not
/// identity: `to_lowercase` maps the KELVIN SIGN to `k` and `ǅ` to `ǆ`, which would
/// let one person's name accept another's invitation. A non-ASCII username is
/// therefore matched only in exactly the form it was invited in (NFC and NFD spell
/// two different keys); an address is ASCII. Every binding (invitations, platform
/// invitations, owner adds by e-mail, domain auto-approval, already-member
/// detection) compares these keys, through [`Email`] and [`Username`].
pub fn identity_key(input: &str) -> String {
    input.trim().to_ascii_lowercase()
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A username in the host application (a token's `preferred_username`), compared
/// as [`identity_key`] makes it: ASCII letters case-insensitively, everything else
/// byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, Error> {
        let s = identity_key(input);
        if s.is_empty()
            || s.chars().count() > 100
            || s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::invalid(
                "username",
                "a username is 1-100 characters without spaces",
            ));
        }
        Ok(Username(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whom an invitation is for: an e-mail address, a username, a user id, or several of
/// them (any one of which identifies the person).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Addressee {
    pub email: Option<Email>,
    pub username: Option<Username>,
    pub user_id: Option<UserId>,
}

impl Addressee {
    pub fn new(
        email: Option<Email>,
        username: Option<Username>,
        user_id: Option<UserId>,
    ) -> Result<Self, Error> {
        if email.is_none() && username.is_none() && user_id.is_none() {
            return Err(Error::invalid(
                "email",
                "an invitation needs an e-mail address, a username or a user id",
            ));
        }
        Ok(Addressee {
            email,
            username,
            user_id,
        })
    }

    /// The one key under which a space holds at most one pending invitation: the
    /// strongest identifier given (user id, then e-mail, then username).
    pub fn key(&self) -> String {
        match (&self.user_id, &self.email, &self.username) {
            (Some(id), _, _) => format!("user:{id}"),
            (None, Some(e), _) => format!("email:{e}"),
            (None, None, Some(u)) => format!("username:{u}"),
            (None, None, None) => String::new(),
        }
    }

    /// Whether the signed-in `actor` is this addressee (see [`Binding`]).
    pub fn binding(&self, actor: &Actor) -> Binding {
        let Actor::User { id, .. } = actor else {
            return Binding::Mismatch;
        };
        if self.user_id.as_ref() == Some(id) {
            return Binding::Matches;
        }
        if self.username.is_some() && self.username == actor.username() {
            return Binding::Matches;
        }
        match (&self.email, actor.claimed_email()) {
            (Some(mine), Some(theirs)) if *mine == theirs => {
                if actor.verified_email().is_some() {
                    Binding::Matches
                } else {
                    Binding::EmailUnverified
                }
            }
            _ => Binding::Mismatch,
        }
    }
}

/// How a caller relates to an invitation's addressee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// Same user id, same username, or the same e-mail verified by the host app.
    Matches,
    /// The caller's e-mail is the invitation's, but the host app has not verified it.
    EmailUnverified,
    /// Someone else.
    Mismatch,
}

impl Binding {
    /// The refusal for anyone but the addressee.
    pub fn require(self) -> Result<(), Error> {
        match self {
            Binding::Matches => Ok(()),
            Binding::EmailUnverified => Err(Error::EmailUnverified),
            Binding::Mismatch => Err(Error::EmailMismatch),
        }
    }
}

/// An invitation's status. Storage keeps the first four; `expired` is a pending
/// invitation past its expiry, as read at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Revoked,
    Expired,
}

impl InvitationStatus {
    pub const ALL: [InvitationStatus; 5] = [
        InvitationStatus::Pending,
        InvitationStatus::Accepted,
        InvitationStatus::Declined,
        InvitationStatus::Revoked,
        InvitationStatus::Expired,
    ];

    /// The status at `now` of an invitation stored as `stored`.
    pub fn of(stored: InvitationStatus, expires_at: OffsetDateTime, now: OffsetDateTime) -> Self {
        match stored {
            InvitationStatus::Pending if expires_at <= now => InvitationStatus::Expired,
            other => other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Declined => "declined",
            InvitationStatus::Revoked => "revoked",
            InvitationStatus::Expired => "expired",
        }
    }

    /// Parses a status named by a caller (a list filter).
    pub fn parse(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "status",
                    "one of pending, accepted, declined, revoked, expired",
                )
            })
    }
}

/// Where an invitation's latest e-mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum DeliveryState {
    /// Written with the invitation; waiting for (another) attempt.
    Queued,
    Sent,
    /// Gave up after the last attempt; see the last error.
    Failed,
    /// Superseded by a re-send, or the invitation was revoked before it went out.
    Cancelled,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "queued" => Ok(DeliveryState::Queued),
            "sent" => Ok(DeliveryState::Sent),
            "failed" => Ok(DeliveryState::Failed),
            "cancelled" => Ok(DeliveryState::Cancelled),
            other => Err(Error::internal(format!("unknown delivery state {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, email: Option<&str>, verified: bool, username: Option<&str>) -> Actor {
        Actor::User {
            id: UserId::parse(id).unwrap(),
            email: email.map(str::to_owned),
            email_verified: verified,
            username: username.map(str::to_owned),
            platform_admin: false,
        }
    }

    #[test]
    fn emails_are_trimmed_lower_cased_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        assert_eq!(
            Email::parse("a.b+c@mail.example.org").unwrap().domain(),
            "mail.example.org"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
            "ada@.example.com",
            "<ada@example.com>",
            // What the mail sender cannot send: a symbol, an emoji domain, dots or
            // hyphens out of place.
            "a\u{a9}b@example.com",
            "ada@\u{1F600}.example.com",
            ".ada@example.com",
            "ada.@example.com",
            "a..da@example.com",
            "ada@-example.com",
            "ada@example-.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
        assert!(Email::parse(&format!("ada@{}.com", "a".repeat(64))).is_err());
        assert!(Email::parse(&format!("ada@{}.com", "a".repeat(63))).is_ok());
        assert!(Email::parse("o'brien+tag@mail.example.org").is_ok());
    }

    #[test]
    fn only_ascii_letters_fold_in_an_identity() {
        let addressee = |e: &str, u: &str| {
            Addressee::new(
                Some(Email::parse(e).unwrap()),
                Some(Username::parse(u).unwrap()),
                None,
            )
            .unwrap()
        };
        // (invited as, signed in as): Unicode case mappings, compatibility forms,
        // Turkish dotted/dotless i, sharp s, NFC against NFD, Cyrillic look-alikes.
        let others = [
            ("kate", "\u{212A}ate"),
            ("\u{01C6}", "\u{01C5}"),
            ("\u{01C6}", "\u{01C4}"),
            ("info", "\u{0130}nfo"),
            ("\u{0131}nfo", "info"),
            ("strasse", "stra\u{00DF}e"),
            ("stra\u{00DF}e", "STRASSE"),
            ("caf\u{00E9}", "cafe\u{0301}"),
            ("apple", "\u{0430}pple"),
            ("\u{00E9}t\u{00E9}", "\u{00C9}T\u{00C9}"),
        ];
        for (invited, other) in others {
            // A username matches only its own form; an address beyond ASCII is
            // refused, so it binds nothing: the ASCII one it looks like is not it.
            let to = addressee(
                &format!(
                    "{}@example.com",
                    if invited.is_ascii() { invited } else { "x" }
                ),
                invited,
            );
            let by_name = user("u1", None, false, Some(other));
            assert_eq!(
                to.binding(&by_name),
                Binding::Mismatch,
                "{invited} / {other} by username"
            );
            for form in [invited, other] {
                let address = format!("{form}@example.com");
                assert_eq!(Email::parse(&address).is_ok(), form.is_ascii(), "{address}");
            }
            if invited.is_ascii() {
                let by_email = user("u1", Some(&format!("{other}@example.com")), true, None);
                assert_eq!(
                    to.binding(&by_email),
                    Binding::Mismatch,
                    "{invited} / {other} by e-mail"
                );
            }
        }
        // ASCII case and surrounding space still fold, in both parts of an address.
        let to = addressee("Kate@Example.COM", "Kate");
        assert_eq!(
            to.binding(&user("u1", Some(" kate@example.com"), true, None)),
            Binding::Matches
        );
        assert_eq!(
            to.binding(&user("u1", None, false, Some("KATE"))),
            Binding::Matches
        );
        assert!(Email::parse("x@B\u{00DC}CHER.de").is_err());
        assert_eq!(
            Email::parse("x@XN--BCHER-KVA.de").unwrap().as_str(),
            "x@xn--bcher-kva.de"
        );
    }

    #[test]
    fn an_invitation_binds_to_its_addressee() {
        let to_ada =
            Addressee::new(Some(Email::parse("Ada@Example.com").unwrap()), None, None).unwrap();
        assert_eq!(
            to_ada.binding(&user("u1", Some("ada@example.com"), true, None)),
            Binding::Matches
        );
        assert_eq!(
            to_ada.binding(&user("u1", Some(" ADA@example.com"), true, None)),
            Binding::Matches
        );
        assert_eq!(
            to_ada.binding(&user("u1", Some("ada@example.com"), false, None)),
            Binding::EmailUnverified
        );
        assert_eq!(
            to_ada.binding(&user("u2", Some("bob@example.com"), true, None)),
            Binding::Mismatch
        );
        assert_eq!(
            to_ada.binding(&user("u2", None, true, Some("ada"))),
            Binding::Mismatch
        );

        let to_octo = Addressee::new(None, Some(Username::parse("Octo").unwrap()), None).unwrap();
        assert_eq!(
            to_octo.binding(&user("u3", None, false, Some("octo"))),
            Binding::Matches
        );
        let to_id = Addressee::new(None, None, Some(UserId::parse("u4").unwrap())).unwrap();
        assert_eq!(
            to_id.binding(&user("u4", None, false, None)),
            Binding::Matches
        );
        assert_eq!(
            to_id.binding(&user("u5", None, false, None)),
            Binding::Mismatch
        );
        assert!(Addressee::new(None, None, None).is_err());
    }

    #[test]
    fn the_addressee_key_prefers_the_strongest_identifier() {
        let e = Some(Email::parse("a@example.com").unwrap());
        let u = Some(Username::parse("ann").unwrap());
        let id = Some(UserId::parse("u1").unwrap());
        assert_eq!(
            Addressee::new(e.clone(), u.clone(), id).unwrap().key(),
            "user:u1"
        );
        assert_eq!(
            Addressee::new(e, u.clone(), None).unwrap().key(),
            "email:a@example.com"
        );
        assert_eq!(Addressee::new(None, u, None).unwrap().key(), "username:ann");
    }

    #[test]
    fn a_pending_invitation_past_its_expiry_reads_expired() {
        let now = OffsetDateTime::now_utc();
        let past = now - time::Duration::seconds(1);
        assert_eq!(
            InvitationStatus::of(InvitationStatus::Pending, past, now),
            InvitationStatus::Expired
        );
        assert_eq!(
            InvitationStatus::of(
                InvitationStatus::Pending,
                now + time::Duration::seconds(1),
                now
            ),
            InvitationStatus::Pending
        );
        assert_eq!(
            InvitationStatus::of(InvitationStatus::Accepted, past, now),
            InvitationStatus::Accepted
        );
        for s in InvitationStatus::ALL {
            assert_eq!(InvitationStatus::parse(s.as_str()).unwrap(), s);
        }
    }
}
