//! SCIM provisioning: the storage contract of the `scim` feature. Users as the
//! identity provider sent them, per root (the SCIM key's subtree); spaces seen as
//! groups; and who the provider put in which group.

use async_trait::async_trait;
use guestlist_domain::{SpacePath, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

#[derive(Debug, Clone, PartialEq)]
pub struct ScimUserRow {
    pub id: Uuid,
    pub root: SpacePath,
    /// The Guestlist user the provider's user is (the host's `sub`).
    pub user_id: UserId,
    /// `userName`, folded for comparison (SCIM compares it without case).
    pub user_name_key: String,
    pub external_id: Option<String>,
    pub active: bool,
    /// The resource's attributes as JSON (no `id`, `meta` or `groups`).
    pub resource: String,
    /// Moves on every change: writes compare and set it.
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Which of a root's users to read.
#[derive(Debug, Clone, Copy)]
pub enum ScimUsersBy<'a> {
    All,
    UserNameKey(&'a str),
    ExternalId(&'a str),
    UserId(&'a str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScimGroupRow {
    pub space_id: Uuid,
    pub root: SpacePath,
    pub external_id: Option<String>,
    pub deleted: bool,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[async_trait]
pub trait ScimTx: Send {
    /// Inserts a user; false when the root has one with that `userName` or user id.
    async fn insert_scim_user(&mut self, user: &ScimUserRow) -> Result<bool>;
    async fn scim_user(&mut self, root: &SpacePath, id: Uuid) -> Result<Option<ScimUserRow>>;
    async fn scim_users(
        &mut self,
        root: &SpacePath,
        by: ScimUsersBy<'_>,
    ) -> Result<Vec<ScimUserRow>>;
    /// Writes `user` if its stored version is still `expected` (compare and set).
    async fn update_scim_user(&mut self, user: &ScimUserRow, expected: i64) -> Result<bool>;
    /// Moves a user's version on (their groups changed).
    async fn touch_scim_user(&mut self, id: Uuid, when: OffsetDateTime) -> Result<()>;
    async fn delete_scim_user(&mut self, id: Uuid) -> Result<bool>;
    /// A space by its id (a group's id is its space's).
    async fn space_by_id(&mut self, id: Uuid) -> Result<Option<SpaceRow>>;
    async fn scim_group(&mut self, space_id: Uuid) -> Result<Option<ScimGroupRow>>;
    async fn scim_groups(&mut self, root: &SpacePath) -> Result<Vec<ScimGroupRow>>;
    /// Inserts or updates a group's row if its version is still `expected` (`None`:
    /// there was no row).
    async fn put_scim_group(&mut self, group: &ScimGroupRow, expected: Option<i64>)
    -> Result<bool>;
    /// The provider's users in a group, by their SCIM ids.
    async fn scim_group_members(&mut self, space_id: Uuid) -> Result<Vec<Uuid>>;
    /// The groups (spaces) a provider's user is in.
    async fn scim_groups_of(&mut self, scim_user: Uuid) -> Result<Vec<Uuid>>;
    async fn add_scim_group_member(&mut self, space_id: Uuid, scim_user: Uuid) -> Result<bool>;
    async fn remove_scim_group_member(&mut self, space_id: Uuid, scim_user: Uuid) -> Result<bool>;
}

/// The tables of this feature, for export and import (`transfer`).
pub(crate) const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "scim_users",
        columns: &[
            ("id", Uuid),
            ("root", Text),
            ("user_id", Text),
            ("user_name_key", Text),
            ("external_id", Text),
            ("active", Bool),
            ("resource", Text),
            ("version", Int),
            ("created_at", Int),
            ("updated_at", Int),
        ],
        key: &["id"],
        singleton: false,
    },
    TableSpec {
        name: "scim_groups",
        columns: &[
            ("space_id", Uuid),
            ("root", Text),
            ("external_id", Text),
            ("deleted", Bool),
            ("version", Int),
            ("created_at", Int),
            ("updated_at", Int),
        ],
        key: &["space_id"],
        singleton: false,
    },
    TableSpec {
        name: "scim_group_members",
        columns: &[("space_id", Uuid), ("scim_user_id", Uuid)],
        key: &["space_id", "scim_user_id"],
        singleton: false,
    },
];
