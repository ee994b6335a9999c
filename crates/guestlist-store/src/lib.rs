//! The storage contract. An engine (SQLite, PostgreSQL) implements two things:
//!
//! - [`Tx`]: the primitive queries of one transaction. The atomic claims live here as
//!   single conditional writes (`take_seat`, `claim_invite_use`, `insert_membership`
//!   with its unique key), so no engine ever needs an application-level check-then-act.
//! - [`Store`]: runs an [`Operation`] inside one transaction, read-only or read-write.
//!   How is the engine's business: the SQLite engine sends writes to one writer task
//!   that commits a batch of them together, PostgreSQL runs them on a pool and retries
//!   serialization failures.
//!
//! Operations (the application's commands) are written once, against `dyn Tx`, in the
//! application crate. Every event an operation appends commits with it or not at all.

use std::sync::Arc;

pub mod transfer;

use async_trait::async_trait;
pub use guestlist_domain::Error;
use guestlist_domain::{
    Addressee, DeliveryState, Email, InvitationStatus, JoinMode, MembershipSource,
    MembershipStatus, Permissions, RoleName, SpacePath, UserId, Username,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub use guestlist_domain as domain;

#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
}

/// One command of the application: runs inside one transaction of the engine.
/// An operation may be run more than once (an engine may retry it after a
/// serialization failure), so it reads its input through `&self`.
#[async_trait]
pub trait Operation: Send + Sync + 'static {
    type Output: Send + 'static;
    async fn run(&self, tx: &mut dyn Tx) -> Result<Self::Output>;

    /// True when the operation issues exactly one statement: a read then needs no
    /// explicit transaction (one statement always sees one snapshot).
    fn single_statement(&self) -> bool {
        false
    }
}

/// An operation as an engine sees it: something to run in a transaction. Its output
/// stays with it (in [`Queued`]) for the caller who queued it, so an engine can queue
/// operations of any output type without knowing it, and nothing is downcast.
#[async_trait]
pub trait QueuedOperation: Send + Sync {
    /// Runs the operation; on success its output is kept for the caller.
    async fn run_queued(&self, tx: &mut dyn Tx) -> Result<()>;
    fn single_statement(&self) -> bool;
}

/// An operation and the place its output lands.
struct Queued<O: Operation> {
    op: O,
    output: std::sync::Mutex<Option<O::Output>>,
}

#[async_trait]
impl<O: Operation> QueuedOperation for Queued<O> {
    async fn run_queued(&self, tx: &mut dyn Tx) -> Result<()> {
        let out = self.op.run(tx).await?;
        // A retried run (a PostgreSQL serialization failure) replaces the earlier one.
        *self.output.lock().unwrap_or_else(|p| p.into_inner()) = Some(out);
        Ok(())
    }

    fn single_statement(&self) -> bool {
        self.op.single_statement()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A consistent snapshot; never waits behind writes.
    Read,
    /// A read-write transaction: either every write of the operation commits, or none.
    Write,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The engine's name, for logs and `/readyz`.
    fn engine(&self) -> &'static str;
    /// Runs `op` in one transaction. An `Err` from the operation rolls back all it wrote.
    async fn execute(&self, access: Access, op: Arc<dyn QueuedOperation>) -> Result<()>;
    /// Answers when the database is reachable and migrated.
    async fn ready(&self) -> Result<()>;
    /// Finishes queued writes and closes connections.
    async fn close(&self);
}

impl dyn Store {
    pub async fn write<O: Operation>(&self, op: O) -> Result<O::Output> {
        self.run(Access::Write, op).await
    }

    pub async fn read<O: Operation>(&self, op: O) -> Result<O::Output> {
        self.run(Access::Read, op).await
    }

    async fn run<O: Operation>(&self, access: Access, op: O) -> Result<O::Output> {
        let queued = Arc::new(Queued {
            op,
            output: std::sync::Mutex::new(None),
        });
        self.execute(access, queued.clone()).await?;
        let output = queued
            .output
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        output.ok_or_else(|| Error::internal("an operation committed without its output"))
    }
}

/// Spaces, their seats and their custom roles.
#[async_trait]
pub trait SpacesTx: Send {
    /// Inserts unless the path exists; `None` when it does.
    async fn insert_space(&mut self, space: &NewSpace) -> Result<Option<SpaceRow>>;
    async fn space_by_path(&mut self, path: &SpacePath) -> Result<Option<SpaceRow>>;
    /// The spaces of a lineage that exist, root first, with the custom roles defined
    /// on them: one statement.
    async fn lineage(&mut self, paths: &[SpacePath]) -> Result<(Vec<SpaceRow>, Vec<RoleRow>)>;
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
}

/// Memberships: the rows that hold rights.
#[async_trait]
pub trait MembersTx: Send {
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
    /// or the e-mail or username they joined with).
    async fn memberships_of_addressee(
        &mut self,
        space_ids: &[Uuid],
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

/// Invite links and their atomic use.
#[async_trait]
pub trait InvitesTx: Send {
    /// Inserts unless the code hash collides; `false` on a collision.
    async fn insert_invite(&mut self, invite: &NewInvite) -> Result<bool>;
    async fn invite_by_hash(&mut self, code_hash: &[u8]) -> Result<Option<InviteRow>>;
    async fn invite_by_id(&mut self, id: Uuid) -> Result<Option<InviteRow>>;
    /// An invite with what its public preview shows of its space, in one statement.
    async fn invite_preview(&mut self, code_hash: &[u8]) -> Result<Option<InvitePreviewRow>>;
    /// Counts one use if the invite is still live (not revoked, not expired, uses
    /// left): the atomic claim. `false` when it is not.
    async fn claim_invite_use(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool>;
    /// Soft revoke; `false` when already revoked.
    async fn revoke_invite(&mut self, id: Uuid, by: &str, at: OffsetDateTime) -> Result<bool>;
    /// Newest first, after the cursor.
    async fn list_invites(&mut self, q: &InviteQuery) -> Result<Vec<InviteRow>>;
}

/// The event log, written in the same transaction as the change it records.
#[async_trait]
pub trait EventsTx: Send {
    async fn append_event(&mut self, e: &NewEvent) -> Result<()>;
    /// Newest first, before the cursor.
    async fn list_events(&mut self, q: &EventQuery) -> Result<Vec<EventRow>>;
}

/// Invitations addressed to one person, and the idempotency keys of their creation.
#[async_trait]
pub trait InvitationsTx: Send {
    /// Inserts unless the space already holds a pending invitation for the addressee
    /// (a unique key) or the token hash collides; `false` then.
    async fn insert_invitation(&mut self, i: &NewInvitation) -> Result<bool>;
    async fn invitation_by_id(&mut self, id: Uuid) -> Result<Option<InvitationRow>>;
    async fn invitation_by_token(&mut self, token_hash: &[u8]) -> Result<Option<InvitationRow>>;
    /// The space's pending invitation (expired or not) for anyone the addressee names.
    async fn pending_invitation_to(
        &mut self,
        space_id: Uuid,
        to: &Addressee,
    ) -> Result<Option<InvitationRow>>;
    /// Moves a pending invitation to `to` (accepted, declined, revoked): the atomic
    /// claim. With `live_at`, only if not expired then. `false` when it was not pending.
    async fn decide_invitation(
        &mut self,
        id: Uuid,
        to: InvitationStatus,
        by: &str,
        at: OffsetDateTime,
        live_at: Option<OffsetDateTime>,
    ) -> Result<bool>;
    /// Gives a pending invitation a new token, expiry and e-mail; `false` when it is
    /// no longer pending.
    async fn reissue_invitation(&mut self, r: &Reissue) -> Result<bool>;
    /// Newest first, after the cursor.
    async fn list_invitations(&mut self, q: &InvitationQuery) -> Result<Vec<InvitationRow>>;
    /// Pending, unexpired invitations for a user (by id, verified e-mail or username),
    /// newest first.
    async fn invitations_addressed_to(
        &mut self,
        user: &UserId,
        email: Option<&Email>,
        username: Option<&Username>,
        now: OffsetDateTime,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<Vec<InvitationRow>>;
    /// The stored (request hash, response) of an earlier request with this key.
    async fn idempotent_response(
        &mut self,
        owner: &str,
        key: &str,
    ) -> Result<Option<(Vec<u8>, String)>>;
    /// Forgets keys stored before `before`; returns how many.
    async fn expire_idempotency_keys(&mut self, before: OffsetDateTime) -> Result<u64>;
    /// Stores a response; `false` when the key was taken meanwhile.
    async fn store_idempotent_response(
        &mut self,
        owner: &str,
        key: &str,
        request_hash: &[u8],
        response: &str,
        at: OffsetDateTime,
    ) -> Result<bool>;
}

/// The e-mail outbox.
#[async_trait]
pub trait MailTx: Send {
    async fn insert_mail(&mut self, m: &NewMail) -> Result<()>;
    /// Cancels the invitation's queued e-mail (superseded or revoked).
    async fn cancel_mail_of(&mut self, invitation_id: Uuid) -> Result<()>;
    /// Queued messages due at `now`, oldest first.
    async fn due_mail(&mut self, now: OffsetDateTime, limit: u32) -> Result<Vec<MailRow>>;
    /// Takes a due message for one attempt until `lease_until` (counted); `false` when
    /// another sender took it first or it is no longer queued.
    async fn claim_mail(
        &mut self,
        id: Uuid,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<bool>;
    /// Records an attempt's result on a queued message.
    async fn finish_mail(&mut self, id: Uuid, result: &DeliveryOutcome) -> Result<()>;
    async fn mail_by_id(&mut self, id: Uuid) -> Result<Option<MailRow>>;
}

/// The sign-up gate, platform invitations, claims and sign-ups.
#[async_trait]
pub trait SignupTx: Send {
    async fn gate(&mut self) -> Result<GateRow>;
    async fn set_gate(&mut self, g: &GateSettings, at: OffsetDateTime) -> Result<GateRow>;
    /// Takes one sign-up seat if the cap allows: `false` when full.
    async fn take_signup_seat(&mut self) -> Result<bool>;
    async fn free_signup_seats(&mut self, n: u32) -> Result<()>;
    /// Counts one platform invitation against the inviter's quota (a new period
    /// starts it again); `false` when the quota is spent.
    async fn take_inviter_quota(
        &mut self,
        inviter: &str,
        quota: u32,
        period_secs: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<bool>;
    async fn insert_platform_invitation(&mut self, i: &NewPlatformInvitation) -> Result<bool>;
    async fn platform_invitation_by_hash(
        &mut self,
        token_hash: &[u8],
    ) -> Result<Option<PlatformInvitationRow>>;
    async fn platform_invitation_by_id(
        &mut self,
        id: Uuid,
    ) -> Result<Option<PlatformInvitationRow>>;
    /// Holds one use for a claim if the invitation is live with a use free: the
    /// atomic claim. `false` otherwise.
    async fn reserve_platform_invitation(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool>;
    /// Gives back a held use, counting it as used when `used`.
    async fn settle_platform_invitation(&mut self, id: Uuid, used: bool) -> Result<()>;
    async fn revoke_platform_invitation(
        &mut self,
        id: Uuid,
        by: &str,
        at: OffsetDateTime,
    ) -> Result<bool>;
    /// Newest first; only those sent by `inviter` when given.
    async fn list_platform_invitations(
        &mut self,
        inviter: Option<&str>,
        after: Option<&PageKey>,
        limit: u32,
    ) -> Result<Vec<PlatformInvitationRow>>;
    /// Revokes every live invitation sent by `root` or anyone below them in the
    /// referral tree; returns the revoked ones.
    async fn revoke_referral_subtree(
        &mut self,
        root: &str,
        by: &str,
        at: OffsetDateTime,
    ) -> Result<Vec<PlatformInvitationRow>>;
    /// Inserts unless the e-mail has a live claim or sign-up already; `false` then.
    async fn insert_claim(&mut self, c: &NewClaim) -> Result<bool>;
    async fn claim_by_id(&mut self, id: Uuid) -> Result<Option<ClaimRow>>;
    /// Moves a reserved claim to `to`; with `live_at`, only if it has not lapsed by
    /// then. `false` when it was not reserved (or had lapsed).
    async fn decide_claim(
        &mut self,
        id: Uuid,
        to: ClaimState,
        user: Option<&UserId>,
        at: OffsetDateTime,
        live_at: Option<OffsetDateTime>,
    ) -> Result<bool>;
    /// Marks every reserved claim past its expiry lapsed; returns them.
    async fn lapse_claims(&mut self, now: OffsetDateTime) -> Result<Vec<ClaimRow>>;
    /// Inserts unless the user or the e-mail signed up already; `false` then.
    async fn insert_signup(&mut self, s: &SignupRow) -> Result<bool>;
    async fn signup_of_email(&mut self, email: &Email) -> Result<Option<SignupRow>>;
    /// Who `inviter` brought in, oldest first.
    async fn signups_invited_by(&mut self, inviter: &str, limit: u32) -> Result<Vec<SignupRow>>;
    /// Everyone below `root` in the referral tree, with their depth (1: invited by
    /// root), breadth first.
    async fn referral_tree(&mut self, root: &str, limit: u32) -> Result<Vec<(SignupRow, u32)>>;
    /// The users who joined any space with this (verified) e-mail address.
    async fn users_with_email(&mut self, email: &Email) -> Result<Vec<UserId>>;
    async fn space_path_of(&mut self, id: Uuid) -> Result<Option<SpacePath>>;
}

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

/// What a sponsor handed out: found again when their rights shrink, revoked when they go.
#[async_trait]
pub trait SponsorshipTx: Send {
    /// The live invite links, pending invitations and pending owner-adds `created_by`
    /// sponsors within `root`'s subtree (or anywhere): what must be checked again when
    /// their rights shrink.
    async fn sponsored_within(
        &mut self,
        created_by: &str,
        root: Option<&SpacePath>,
    ) -> Result<Vec<Sponsored>>;
    /// Who made a live link, pending invitation or pending owner-add for `role` within
    /// `root`'s subtree, or holds `role` on a space there: whose grants a new
    /// definition of `role` there may change.
    async fn concerned_by_role(&mut self, root: &SpacePath, role: &RoleName)
    -> Result<Vec<String>>;
    /// Revokes every live platform invitation `inviter` sent.
    async fn revoke_platform_invitations_of(
        &mut self,
        inviter: &str,
        by: &str,
        at: OffsetDateTime,
    ) -> Result<Vec<PlatformInvitationRow>>;
}

/// Copying every row between engines (export and import).
#[async_trait]
pub trait TransferTx: Send {
    /// Rows of a table in key order, after the given key.
    async fn export_rows(
        &mut self,
        table: &transfer::TableSpec,
        after: Option<&[transfer::Cell]>,
        limit: u32,
    ) -> Result<Vec<Vec<transfer::Cell>>>;
    /// Inserts one row as it was exported.
    async fn import_row(
        &mut self,
        table: &transfer::TableSpec,
        row: &[transfer::Cell],
    ) -> Result<()>;
    /// Brings generated keys (event sequence numbers) past the imported rows.
    async fn after_import(&mut self) -> Result<()>;
}

/// API keys, kept as hashes.
#[async_trait]
pub trait ApiKeysTx: Send {
    async fn insert_api_key(&mut self, key: &NewApiKey) -> Result<bool>;
    async fn api_key_by_hash(&mut self, key_hash: &[u8]) -> Result<Option<ApiKeyRow>>;
}

/// The primitive queries an operation composes, one trait per feature. All run in the
/// caller's transaction. An engine implements each feature's trait; `Tx` is all of
/// them, and an operation takes `&mut dyn Tx`.
pub trait Tx:
    SpacesTx
    + MembersTx
    + InvitesTx
    + EventsTx
    + InvitationsTx
    + MailTx
    + SignupTx
    + RequestsTx
    + SponsorshipTx
    + TransferTx
    + ApiKeysTx
{
}

impl<
    T: SpacesTx
        + MembersTx
        + InvitesTx
        + EventsTx
        + InvitationsTx
        + MailTx
        + SignupTx
        + RequestsTx
        + SponsorshipTx
        + TransferTx
        + ApiKeysTx,
> Tx for T
{
}

/// A keyset cursor: the `(created_at, id)` of the last row seen. Unique, so rows that
/// share a timestamp are neither skipped nor repeated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey {
    pub created_at: OffsetDateTime,
    pub id: Uuid,
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

#[derive(Debug, Clone)]
pub struct NewInvite {
    pub id: Uuid,
    pub code_hash: Vec<u8>,
    pub space_id: Uuid,
    pub space_path: SpacePath,
    pub role: RoleName,
    pub max_uses: Option<u32>,
    pub expires_at: Option<OffsetDateTime>,
    pub description: Option<String>,
    pub allow_narrowing: bool,
    pub requires_approval: bool,
    /// Verified e-mail addresses of these domains skip the approval.
    pub auto_approve_domains: Vec<String>,
    pub created_by: String,
    pub created_by_name: String,
    pub created_at: OffsetDateTime,
}

impl NewInvite {
    /// The row that inserting this invite stores (no uses, not revoked), so a
    /// creator need not read it back. Times are kept to the millisecond, as stored.
    pub fn stored(&self) -> InviteRow {
        InviteRow {
            id: self.id,
            space_id: self.space_id,
            space_path: self.space_path.clone(),
            role: self.role.clone(),
            max_uses: self.max_uses,
            uses: 0,
            expires_at: self.expires_at,
            description: self.description.clone(),
            allow_narrowing: self.allow_narrowing,
            created_by: self.created_by.clone(),
            created_by_name: self.created_by_name.clone(),
            created_at: self.created_at,
            revoked_at: None,
            revoked_by: None,
            requires_approval: self.requires_approval,
            auto_approve_domains: self.auto_approve_domains.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct InviteRow {
    pub id: Uuid,
    pub space_id: Uuid,
    pub space_path: SpacePath,
    pub role: RoleName,
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub expires_at: Option<OffsetDateTime>,
    pub description: Option<String>,
    pub allow_narrowing: bool,
    pub created_by: String,
    pub created_by_name: String,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by: Option<String>,
    pub requires_approval: bool,
    pub auto_approve_domains: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InvitePreviewRow {
    pub invite: InviteRow,
    pub space_name: String,
    pub join_mode: JoinMode,
    pub member_count: u32,
}

impl InviteRow {
    /// The invite's state at `now` (revoked, then expired, then exhausted).
    pub fn state(&self, now: OffsetDateTime) -> guestlist_domain::InviteState {
        guestlist_domain::InviteState::of(
            self.revoked_at.is_some(),
            self.expires_at,
            self.max_uses,
            self.uses,
            now,
        )
    }
}

/// A live ticket someone sponsors: an invite link or a pending invitation.
#[derive(Debug, Clone, PartialEq)]
pub struct Sponsored {
    pub kind: SponsoredKind,
    pub id: Uuid,
    pub space_path: SpacePath,
    pub role: RoleName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SponsoredKind {
    InviteLink,
    Invitation,
    /// An owner's add still waiting for the user's consent.
    PendingAdd,
}

/// Which subtrees a caller may see. A query's filters are ANDed with this, so a
/// filter can only narrow what is visible.
#[derive(Debug, Clone, PartialEq)]
pub enum Visibility {
    All,
    Subtrees(Vec<SpacePath>),
}

#[derive(Debug, Clone)]
pub struct InviteQuery {
    pub visible: Visibility,
    /// Within any of these subtrees (empty: no filter).
    pub subtrees: Vec<SpacePath>,
    /// On exactly one of these spaces (`Some(vec![])` matches nothing).
    pub spaces_in: Option<Vec<SpacePath>>,
    /// In any of these states (`Some(vec![])` matches nothing).
    pub states: Option<Vec<guestlist_domain::InviteState>>,
    pub revoked: Option<bool>,
    pub created_by: Option<String>,
    pub now: OffsetDateTime,
    pub after: Option<PageKey>,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: Uuid,
    pub kind: &'static str,
    pub space_id: Option<Uuid>,
    pub space_path: Option<SpacePath>,
    pub actor: String,
    pub subject: Option<String>,
    /// JSON object text. Never holds a secret.
    pub data: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub seq: i64,
    pub id: Uuid,
    pub kind: String,
    pub space_path: Option<SpacePath>,
    pub actor: String,
    pub subject: Option<String>,
    pub data: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct EventQuery {
    pub visible: Visibility,
    pub subtree: Option<SpacePath>,
    pub kind: Option<String>,
    /// Only events with a smaller sequence number.
    pub before_seq: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: Uuid,
    pub name: String,
    pub key_hash: Vec<u8>,
    pub platform_admin: bool,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub name: String,
    pub platform_admin: bool,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub token_salt: Vec<u8>,
    pub space_id: Uuid,
    pub space_path: SpacePath,
    pub role: RoleName,
    pub addressee: Addressee,
    pub message: Option<String>,
    pub lifetime_secs: i64,
    pub expires_at: OffsetDateTime,
    pub mail_id: Option<Uuid>,
    pub created_by: String,
    pub created_by_name: String,
    pub created_at: OffsetDateTime,
}

/// An invitation with the delivery of its latest e-mail.
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationRow {
    pub id: Uuid,
    pub space_id: Uuid,
    pub space_path: SpacePath,
    pub role: RoleName,
    pub addressee: Addressee,
    pub message: Option<String>,
    /// As stored: pending, accepted, declined or revoked. See [`InvitationRow::status`].
    pub stored_status: InvitationStatus,
    pub token_salt: Vec<u8>,
    pub lifetime_secs: i64,
    pub expires_at: OffsetDateTime,
    pub sends: u32,
    pub last_sent_at: OffsetDateTime,
    pub created_by: String,
    pub created_by_name: String,
    pub created_at: OffsetDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    pub delivery: Option<Delivery>,
}

impl InvitationRow {
    /// The status at `now`: a pending invitation past its expiry is expired.
    pub fn status(&self, now: OffsetDateTime) -> InvitationStatus {
        InvitationStatus::of(self.stored_status, self.expires_at, now)
    }
}

/// Where an invitation's latest e-mail is.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub mail_id: Uuid,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sent_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct Reissue {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub token_salt: Vec<u8>,
    pub expires_at: OffsetDateTime,
    pub mail_id: Option<Uuid>,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct InvitationQuery {
    pub visible: Visibility,
    pub subtree: Option<SpacePath>,
    pub status: Option<InvitationStatus>,
    pub email: Option<Email>,
    pub now: OffsetDateTime,
    pub after: Option<PageKey>,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct NewMail {
    pub id: Uuid,
    pub invitation_id: Uuid,
    pub recipient: Email,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MailRow {
    pub id: Uuid,
    pub invitation_id: Uuid,
    pub recipient: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

/// What one delivery attempt of an outbox item came to (an e-mail now; the generic
/// worker, `guestlist_app::outbox`, records it for any outbox).
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    Sent {
        at: OffsetDateTime,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        error: String,
        next_attempt_at: OffsetDateTime,
    },
    /// Give up.
    Failed {
        error: String,
    },
    /// Nothing to send any more (for mail: the invitation is no longer pending).
    Cancelled,
}

/// What an admin sets on the gate.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSettings {
    pub gate: guestlist_domain::Gate,
    pub user_invitations: bool,
    pub user_quota: Option<u32>,
    pub quota_period_secs: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GateRow {
    pub settings: GateSettings,
    pub seats_taken: u32,
}

#[derive(Debug, Clone)]
pub struct NewPlatformInvitation {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub email: Option<Email>,
    pub max_uses: u32,
    pub expires_at: Option<OffsetDateTime>,
    pub invited_by: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlatformInvitationRow {
    pub id: Uuid,
    pub email: Option<Email>,
    pub max_uses: u32,
    pub uses: u32,
    pub reserved: u32,
    pub expires_at: Option<OffsetDateTime>,
    pub invited_by: String,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by: Option<String>,
}

impl PlatformInvitationRow {
    /// Revoked, then expired, then used up (`exhausted`), else active.
    pub fn state(&self, now: OffsetDateTime) -> guestlist_domain::InviteState {
        guestlist_domain::InviteState::of(
            self.revoked_at.is_some(),
            self.expires_at,
            Some(self.max_uses),
            self.uses,
            now,
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimState {
    Reserved,
    Confirmed,
    Released,
    Lapsed,
}

impl ClaimState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimState::Reserved => "reserved",
            ClaimState::Confirmed => "confirmed",
            ClaimState::Released => "released",
            ClaimState::Lapsed => "lapsed",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "reserved" => Ok(ClaimState::Reserved),
            "confirmed" => Ok(ClaimState::Confirmed),
            "released" => Ok(ClaimState::Released),
            "lapsed" => Ok(ClaimState::Lapsed),
            other => Err(Error::internal(format!("unknown claim state {other:?}"))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewClaim {
    pub id: Uuid,
    pub email: Email,
    pub invitation_id: Option<Uuid>,
    pub expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRow {
    pub id: Uuid,
    pub email: Email,
    pub invitation_id: Option<Uuid>,
    pub state: ClaimState,
    pub expires_at: OffsetDateTime,
    pub user_id: Option<UserId>,
    pub created_at: OffsetDateTime,
}

/// An account that came through the gate, and who invited it.
#[derive(Debug, Clone, PartialEq)]
pub struct SignupRow {
    pub user_id: UserId,
    pub email: Email,
    pub invited_by: Option<String>,
    pub invitation_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRequestStatus {
    Pending,
    Approved,
    Denied,
    Cancelled,
}

impl JoinRequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JoinRequestStatus::Pending => "pending",
            JoinRequestStatus::Approved => "approved",
            JoinRequestStatus::Denied => "denied",
            JoinRequestStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(JoinRequestStatus::Pending),
            "approved" => Ok(JoinRequestStatus::Approved),
            "denied" => Ok(JoinRequestStatus::Denied),
            "cancelled" => Ok(JoinRequestStatus::Cancelled),
            _ => Err(Error::invalid(
                "status",
                "one of pending, approved, denied, cancelled",
            )),
        }
    }
}

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
