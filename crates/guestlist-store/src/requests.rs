//! Join requests: the storage contract of the `requests` feature.

use async_trait::async_trait;
use guestlist_domain::{Email, RoleName, SpacePath, UserId, Username};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

/// Join requests.
#[async_trait]
pub trait RequestsTx: Send {
    /// Inserts unless the user has a pending request for the space; `false` then.
    async fn insert_join_request(&mut self, r: &NewJoinRequest) -> Result<bool>;
    async fn join_request_by_id(&mut self, id: Uuid) -> Result<Option<JoinRequestRow>>;
    async fn pending_join_request(
        &mut self,
        space_id: Uuid,
        user: &UserId,
    ) -> Result<Option<JoinRequestRow>>;
    /// Moves a pending request to `to`; `false` when it was no longer pending.
    async fn decide_join_request(
        &mut self,
        id: Uuid,
        to: JoinRequestStatus,
        by: &str,
        at: OffsetDateTime,
    ) -> Result<bool>;
    /// A space's requests in the order they came, after the cursor.
    async fn list_join_requests(
        &mut self,
        space_id: Uuid,
        status: Option<JoinRequestStatus>,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<Vec<JoinRequestRow>>;
    /// The user's pending requests.
    async fn pending_join_requests_of(&mut self, user: &UserId) -> Result<Vec<JoinRequestRow>>;
}

pub use guestlist_domain::JoinRequestStatus;

#[derive(Debug, Clone)]
pub struct NewJoinRequest {
    pub id: Uuid,
    pub space_id: Uuid,
    pub space_path: SpacePath,
    pub user_id: UserId,
    pub email: Option<Email>,
    pub username: Option<Username>,
    pub role: RoleName,
    pub message: Option<String>,
    /// The link that asked for approval, if any.
    pub invite_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JoinRequestRow {
    pub id: Uuid,
    pub space_id: Uuid,
    pub space_path: SpacePath,
    pub user_id: UserId,
    pub email: Option<Email>,
    pub username: Option<Username>,
    pub role: RoleName,
    pub message: Option<String>,
    pub invite_id: Option<Uuid>,
    pub status: JoinRequestStatus,
    pub created_at: OffsetDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
}

/// The tables of this feature, for export and import (`transfer`), in an order that
/// satisfies their foreign keys.
pub(crate) const TABLES: &[TableSpec] = &[TableSpec {
    name: "join_requests",
    columns: &[
        ("id", Uuid),
        ("space_id", Uuid),
        ("space_path", Text),
        ("user_id", Text),
        ("email", Text),
        ("username", Text),
        ("role", Text),
        ("message", Text),
        ("invite_id", Uuid),
        ("status", Text),
        ("created_at", Int),
        ("decided_by", Text),
        ("decided_at", Int),
    ],
    key: &["id"],
    singleton: false,
}];
