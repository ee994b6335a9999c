//! Who is calling: a signed-in user (vouched for by the host application's token) or
//! a machine client holding an API key.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::Error;

/// What every API key's audit label starts with (`key:<name>`). No user id may start
/// with it, so a user can never be taken for a key, nor a key for a user.
pub const KEY_LABEL_PREFIX: &str = "key:";

/// The host application's user id (a token's `sub`): 1-255 printable characters, not
/// starting with `key:` (the API keys' namespace).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    pub fn parse(input: &str) -> Result<Self, Error> {
        if input.is_empty()
            || input.chars().count() > crate::formats::USER_ID_MAX_LEN
            || input.chars().any(|c| c.is_control())
        {
            return Err(Error::invalid(
                "user_id",
                "a user id is 1-255 characters with no control characters",
            ));
        }
        if input.starts_with(KEY_LABEL_PREFIX) {
            return Err(Error::invalid(
                "user_id",
                "a user id cannot start with \"key:\": that namespace is the API keys'",
            ));
        }
        Ok(UserId(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for UserId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        UserId::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User {
        id: UserId,
        email: Option<String>,
        email_verified: bool,
        username: Option<String>,
        /// A platform administrator by a claim of the identity provider's token.
        platform_admin: bool,
    },
    ApiKey {
        id: Uuid,
        name: String,
        platform_admin: bool,
        /// A SCIM key: the subtree it provisions. It holds everything there, and is
        /// taken nowhere but at `/scim/v2`.
        scim_root: Option<crate::SpacePath>,
    },
}

impl Actor {
    /// A stable label for audit records: the user id, or `key:<name>`. The two never
    /// collide: no user id starts with `key:`.
    pub fn label(&self) -> String {
        match self {
            Actor::User { id, .. } => id.as_str().to_owned(),
            Actor::ApiKey { name, .. } => format!("{KEY_LABEL_PREFIX}{name}"),
        }
    }

    /// A name fit to show to others (invite previews): never an e-mail address.
    pub fn display_name(&self) -> String {
        match self {
            Actor::User { id, username, .. } => username.clone().unwrap_or_else(|| id.to_string()),
            Actor::ApiKey { name, .. } => name.clone(),
        }
    }

    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            Actor::User { id, .. } => Some(id),
            Actor::ApiKey { .. } => None,
        }
    }

    /// The e-mail address in the user's token, normalized, verified or not.
    pub fn claimed_email(&self) -> Option<crate::Email> {
        match self {
            Actor::User { email, .. } => email.as_deref().and_then(|e| crate::Email::parse(e).ok()),
            Actor::ApiKey { .. } => None,
        }
    }

    /// The user's e-mail address when the host application verified it: the only
    /// form in which an address identifies someone here.
    pub fn verified_email(&self) -> Option<crate::Email> {
        match self {
            Actor::User {
                email_verified: true,
                ..
            } => self.claimed_email(),
            _ => None,
        }
    }

    /// The username in the user's token, normalized.
    pub fn username(&self) -> Option<crate::Username> {
        match self {
            Actor::User { username, .. } => username
                .as_deref()
                .and_then(|u| crate::Username::parse(u).ok()),
            Actor::ApiKey { .. } => None,
        }
    }

    pub fn is_platform_admin(&self) -> bool {
        matches!(
            self,
            Actor::ApiKey {
                platform_admin: true,
                ..
            } | Actor::User {
                platform_admin: true,
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_id_never_reads_as_a_key() {
        assert!(UserId::parse("key:dev-admin").is_err());
        assert!(UserId::parse("key:").is_err());
        // Only the exact prefix: other ids that merely contain it stay valid.
        for ok in ["keys:x", "Key:x", "monkey:x", "alice"] {
            assert!(UserId::parse(ok).is_ok(), "{ok}");
        }
        let key = Actor::ApiKey {
            id: Uuid::nil(),
            name: "dev-admin".into(),
            platform_admin: true,
            scim_root: None,
        };
        assert!(UserId::parse(&key.label()).is_err());
    }
}
