//! Spaces, their seats and their custom roles: the storage contract of the `spaces` feature.

use async_trait::async_trait;
use guestlist_domain::{JoinMode, Permissions, RoleName, SpacePath, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

/// Spaces, their seats and their custom roles.
#[async_trait]
pub trait SpacesTx: Send {
    /// Inserts unless the path exists; `None` when it does.
    async fn insert_space(&mut self, space: &NewSpace) -> Result<Option<SpaceRow>>;
    async fn space_by_path(&mut self, path: &SpacePath) -> Result<Option<SpaceRow>>;
    /// The spaces of a lineage that exist, root first, with the custom roles defined
    /// on them: one statement.
    async fn lineage(&mut self, paths: &[SpacePath]) -> Result<(Vec<SpaceRow>, Vec<RoleRow>)>;
    /// [`SpacesTx::lineage`] and `user`'s memberships on it, in the same one statement:
    /// all a rights check needs.
    async fn lineage_of(
        &mut self,
        paths: &[SpacePath],
        user: &UserId,
    ) -> Result<(Vec<SpaceRow>, Vec<RoleRow>, Vec<MembershipRow>)>;
    /// Serializes concurrent rule checks on one space for the rest of the transaction
    /// (a row lock where the engine has them; a no-op under a single writer).
    async fn lock_space(&mut self, id: Uuid) -> Result<()>;
    async fn update_space(&mut self, id: Uuid, patch: &SpacePatch) -> Result<SpaceRow>;
    /// Takes one seat if the member limit allows: the one conditional write that keeps
    /// a limit from ever being overshot. `false` when the space is full.
    async fn take_seat(&mut self, space_id: Uuid) -> Result<bool>;
    async fn free_seat(&mut self, space_id: Uuid) -> Result<()>;
    async fn insert_role(&mut self, role: &NewRole) -> Result<bool>;
    /// Custom roles defined on any of these spaces.
    async fn roles_on(&mut self, space_ids: &[Uuid]) -> Result<Vec<RoleRow>>;
    /// A page of spaces in creation order (a parent before its children).
    async fn list_spaces(&mut self, q: &SpaceQuery) -> Result<Vec<SpaceRow>>;
}

/// Which spaces to list: those within `visible`, `limit` after `after`.
#[derive(Debug, Clone)]
pub struct SpaceQuery {
    pub visible: Visibility,
    pub after: Option<PageKey>,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct NewSpace {
    pub id: Uuid,
    pub path: SpacePath,
    pub name: String,
    pub join_mode: JoinMode,
    pub member_limit: Option<u32>,
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpaceRow {
    pub id: Uuid,
    pub path: SpacePath,
    pub name: String,
    pub join_mode: JoinMode,
    pub member_limit: Option<u32>,
    pub member_count: u32,
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

#[derive(Debug, Clone, Default)]
pub struct SpacePatch {
    pub name: Option<String>,
    pub join_mode: Option<JoinMode>,
    /// `Some(None)` removes the limit.
    pub member_limit: Option<Option<u32>>,
}

#[derive(Debug, Clone)]
pub struct NewRole {
    pub space_id: Uuid,
    pub name: RoleName,
    pub permissions: Permissions,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoleRow {
    pub space_id: Uuid,
    pub name: RoleName,
    pub permissions: Permissions,
}

/// The tables of this feature, for export and import (`transfer`), in an order that
/// satisfies their foreign keys.
/// `counter_shards` (counts of unlimited spaces and links in shards, PostgreSQL) is here.
pub(crate) const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "spaces",
        columns: &[
            ("id", Uuid),
            ("path", Text),
            ("name", Text),
            ("join_mode", Text),
            ("member_limit", Int),
            ("member_count", Int),
            ("created_at", Int),
            ("created_by", Text),
        ],
        key: &["id"],
        singleton: false,
    },
    TableSpec {
        name: "roles",
        columns: &[
            ("space_id", Uuid),
            ("name", Text),
            ("permissions", Int),
            ("created_at", Int),
        ],
        key: &["space_id", "name"],
        singleton: false,
    },
    TableSpec {
        name: "counter_shards",
        columns: &[("owner_id", Uuid), ("shard", Int), ("delta", Int)],
        key: &["owner_id", "shard"],
        singleton: false,
    },
];
