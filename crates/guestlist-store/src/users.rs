//! Users' known identities (e-mail addresses and usernames vouched for by the host):
//! the storage contract of the `users` feature.

use async_trait::async_trait;
use guestlist_domain::{Email, SpacePath, UserId, Username};
use time::OffsetDateTime;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

/// Where an identity came from, which decides who may rebind it (docs/SECURITY.md,
/// "Who may bind which identity"):
///
/// - `Token`: the user's own token verified it. It binds the identity to them, taking
///   it from whoever held it by any source (the strongest claim: the host checked it).
/// - `Host`: a platform administrator said so (`PUT /users/{id}`). It takes an
///   identity from the host's or a SCIM key's binding, never from a token's.
/// - `Scim(root)`: a SCIM key bound to `root` asserted it. It counts only for spaces
///   within `root`, and takes an identity only from the same subtree's SCIM binding:
///   never from a token, the host, or another tenant.
///
/// Nobody's binding is downgraded: an identity a user holds by a stronger source
/// stays of that source when a weaker one repeats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource<'a> {
    /// A verified claim of the user's token.
    Token,
    /// The host's `PUT /users/{id}`.
    Host,
    /// An identity provider's SCIM user, through a key bound to this subtree.
    Scim(&'a SpacePath),
}

impl<'a> IdentitySource<'a> {
    /// The subtree a SCIM key's assertion is confined to.
    pub fn scope(self) -> Option<&'a SpacePath> {
        match self {
            IdentitySource::Scim(root) => Some(root),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IdentitySource::Token => "token",
            IdentitySource::Host => "host",
            IdentitySource::Scim(_) => "scim",
        }
    }
}

/// A user's known identities.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identities {
    pub emails: Vec<Email>,
    pub usernames: Vec<Username>,
}

#[async_trait]
pub trait UsersTx: Send {
    /// Records that these identities name `user`, taking them from whoever they named
    /// before only where `source` may ([`IdentitySource`]); an identity it may not
    /// take is left as it is. With `replace`, the user's other identities of that
    /// source (and, for SCIM, that subtree) are forgotten (the list is the whole list).
    async fn put_identities(
        &mut self,
        user: &UserId,
        identities: &Identities,
        source: IdentitySource<'_>,
        replace: bool,
        when: OffsetDateTime,
    ) -> Result<()>;
    async fn identities_of(&mut self, user: &UserId) -> Result<Identities>;
    /// Forgets every identity bound to `user`, whatever its source (deprovisioned
    /// everywhere: an address of theirs no longer names them); how many.
    async fn forget_identities(&mut self, user: &UserId) -> Result<u64>;
}

/// The tables of this feature, for export and import (`transfer`).
pub(crate) const TABLES: &[TableSpec] = &[TableSpec {
    name: "user_identities",
    columns: &[
        ("kind", Text),
        ("value", Text),
        ("user_id", Text),
        ("source", Text),
        ("updated_at", Int),
        ("scope", Text),
    ],
    key: &["kind", "value"],
    singleton: false,
}];
