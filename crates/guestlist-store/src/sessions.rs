//! Browser sessions: the storage contract of the `sessions` feature (the pages'
//! sign-in). A session is found by the SHA-256 of its cookie's token.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

#[async_trait]
pub trait SessionsTx: Send {
    async fn insert_session(&mut self, session: &SessionRow) -> Result<()>;
    /// The session with this token hash, unless it has expired by `now`.
    async fn session_by_hash(
        &mut self,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<SessionRow>>;
    /// Ends a session; false when there was none.
    async fn delete_session(&mut self, token_hash: &[u8]) -> Result<bool>;
    /// Ends every session of a user (deprovisioned); how many.
    async fn delete_sessions_of(&mut self, user_id: &str) -> Result<u64>;
    /// Forgets sessions that expired before `now`; how many.
    async fn delete_expired_sessions(&mut self, now: OffsetDateTime) -> Result<u64>;
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub token_hash: Vec<u8>,
    pub user_id: String,
    /// The identity the host vouched for at sign-in, as JSON.
    pub identity: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

pub(crate) const TABLES: &[TableSpec] = &[TableSpec {
    name: "sessions",
    columns: &[
        ("token_hash", Bytes),
        ("user_id", Text),
        ("identity", Text),
        ("created_at", Int),
        ("expires_at", Int),
    ],
    key: &["token_hash"],
    singleton: false,
}];
