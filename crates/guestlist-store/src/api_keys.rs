//! API keys: the storage contract of the `api_keys` feature.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

/// API keys, kept as hashes.
#[async_trait]
pub trait ApiKeysTx: Send {
    async fn insert_api_key(&mut self, key: &NewApiKey) -> Result<bool>;
    async fn api_key_by_hash(&mut self, key_hash: &[u8]) -> Result<Option<ApiKeyRow>>;
    /// Marks the key named `name` revoked; `false` when there is none, or it was.
    async fn revoke_api_key(&mut self, name: &str, when: OffsetDateTime) -> Result<bool>;
    /// Every key, revoked ones too, oldest first (never their hashes).
    async fn api_keys(&mut self) -> Result<Vec<ApiKeyRow>>;
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: Uuid,
    pub name: String,
    pub key_hash: Vec<u8>,
    pub platform_admin: bool,
    /// A SCIM key: the subtree it provisions (it serves `/scim/v2` only).
    pub scim_root: Option<guestlist_domain::SpacePath>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub name: String,
    pub platform_admin: bool,
    pub scim_root: Option<guestlist_domain::SpacePath>,
    pub revoked: bool,
}

/// The tables of this feature, for export and import (`transfer`), in an order that
/// satisfies their foreign keys.
pub(crate) const TABLES: &[TableSpec] = &[TableSpec {
    name: "api_keys",
    columns: &[
        ("id", Uuid),
        ("name", Text),
        ("key_hash", Bytes),
        ("platform_admin", Bool),
        ("created_at", Int),
        ("revoked_at", Int),
        ("scim_root", Text),
    ],
    key: &["id"],
    singleton: false,
}];
