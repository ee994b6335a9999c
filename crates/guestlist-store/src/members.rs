//! Memberships: the storage contract of the `members` feature.

use async_trait::async_trait;
use guestlist_domain::{
    Addressee, Email, MembershipSource, MembershipStatus, RoleName, SpacePath, UserId, Username,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

/// Memberships: the rows that hold rights.
#[async_trait]
pub trait MembersTx: Send {
    /// Who brought each of these memberships in: the sponsor of an owner's add, the
    /// creator of the link, the inviter of the accepted invitation, or the manager who
    /// approved the request (none for a provisioned or open join).
    async fn brought_by(&mut self, membership_ids: &[Uuid]) -> Result<Vec<(Uuid, String)>>;
    /// Inserts unless the user already has a membership of the space (unique key);
    /// `None` when they do.
    async fn insert_membership(&mut self, m: &NewMembership) -> Result<Option<MembershipRow>>;
    async fn membership(&mut self, space_id: Uuid, user: &UserId) -> Result<Option<MembershipRow>>;
    /// The user's memberships on any of these spaces.
    async fn memberships_on(
        &mut self,
        user: &UserId,
        space_ids: &[Uuid],
    ) -> Result<Vec<MembershipRow>>;
    /// Every membership of the user, with its space's path.
    async fn memberships_of(&mut self, user: &UserId) -> Result<Vec<(MembershipRow, SpacePath)>>;
    /// A page of the user's memberships (active and pending) with their spaces' paths,
    /// in join order: `limit` after `after`.
    async fn list_memberships_of(
        &mut self,
        user: &UserId,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<Vec<(MembershipRow, SpacePath)>>;
    async fn set_membership_role(
        &mut self,
        id: Uuid,
        role: &RoleName,
        at: OffsetDateTime,
    ) -> Result<()>;
    async fn delete_membership(&mut self, id: Uuid) -> Result<bool>;
    /// Deletes a membership only while it is still pending; `false` otherwise.
    async fn withdraw_pending_membership(&mut self, id: Uuid) -> Result<bool>;
    /// Members in join order, after the cursor.
    async fn list_memberships(
        &mut self,
        space_id: Uuid,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<Vec<MembershipRow>>;
    /// Active members of the space holding any of these roles.
    async fn count_members_with_roles(&mut self, space_id: Uuid, roles: &[RoleName])
    -> Result<u64>;
    async fn membership_by_id(&mut self, id: Uuid) -> Result<Option<MembershipRow>>;
    /// Memberships on any of these spaces of whoever the addressee names (by user id,
    /// the e-mail or username they joined with, or a known identity that counts
    /// `within` this space: `UsersTx`).
    async fn memberships_of_addressee(
        &mut self,
        space_ids: &[Uuid],
        within: &SpacePath,
        to: &Addressee,
    ) -> Result<Vec<MembershipRow>>;
    /// Makes a pending membership active with `role`; `false` when it is not pending.
    async fn activate_membership(
        &mut self,
        id: Uuid,
        role: &RoleName,
        at: OffsetDateTime,
    ) -> Result<bool>;
}

#[derive(Debug, Clone)]
pub struct NewMembership {
    pub id: Uuid,
    pub space_id: Uuid,
    pub user_id: UserId,
    pub role: RoleName,
    pub status: MembershipStatus,
    pub source: MembershipSource,
    pub invite_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    /// Who the user was when they joined, from their token (lower-cased).
    pub email: Option<Email>,
    pub username: Option<Username>,
    /// For an owner's add (pending consent): who added them, the sponsor.
    pub added_by: Option<String>,
}

impl NewMembership {
    /// The row that inserting this membership stores, so a writer need not read it
    /// back. Times are kept to the millisecond, as stored.
    pub fn stored(&self) -> MembershipRow {
        MembershipRow {
            id: self.id,
            space_id: self.space_id,
            user_id: self.user_id.clone(),
            role: self.role.clone(),
            status: self.status,
            source: self.source,
            invite_id: self.invite_id,
            created_at: self.created_at,
            updated_at: self.created_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MembershipRow {
    pub id: Uuid,
    pub space_id: Uuid,
    pub user_id: UserId,
    pub role: RoleName,
    pub status: MembershipStatus,
    pub source: MembershipSource,
    pub invite_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The tables of this feature, for export and import (`transfer`), in an order that
/// satisfies their foreign keys.
pub(crate) const TABLES: &[TableSpec] = &[TableSpec {
    name: "memberships",
    columns: &[
        ("id", Uuid),
        ("space_id", Uuid),
        ("user_id", Text),
        ("role", Text),
        ("status", Text),
        ("source", Text),
        ("invite_id", Uuid),
        ("created_at", Int),
        ("updated_at", Int),
        ("email", Text),
        ("username", Text),
        ("added_by", Text),
    ],
    key: &["id"],
    singleton: false,
}];
