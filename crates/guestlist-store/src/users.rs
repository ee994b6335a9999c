//! Users' known identities (e-mail addresses and usernames vouched for by the host):
//! the storage contract of the `users` feature.

use async_trait::async_trait;
use guestlist_domain::{Email, UserId, Username};
use time::OffsetDateTime;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

/// Where an identity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// A verified claim of the user's token.
    Token,
    /// The host's `PUT /users/{id}`.
    Host,
    /// An identity provider's SCIM user.
    Scim,
}

impl IdentitySource {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentitySource::Token => "token",
            IdentitySource::Host => "host",
            IdentitySource::Scim => "scim",
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
    /// Records that these identities name `user` (taking them from whoever they named
    /// before). With `replace`, the user's other identities of that source are
    /// forgotten (the host's list is the whole list).
    async fn put_identities(
        &mut self,
        user: &UserId,
        identities: &Identities,
        source: IdentitySource,
        replace: bool,
        when: OffsetDateTime,
    ) -> Result<()>;
    async fn identities_of(&mut self, user: &UserId) -> Result<Identities>;
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
    ],
    key: &["kind", "value"],
    singleton: false,
}];
