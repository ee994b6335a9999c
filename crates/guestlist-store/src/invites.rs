//! Invite links: the storage contract of the `invites` feature.

use async_trait::async_trait;
use guestlist_domain::{JoinMode, RoleName, SpacePath};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

/// Invite links and their atomic use.
#[async_trait]
pub trait InvitesTx: Send {
    /// Inserts unless the code hash, a chosen code's skeleton, the external id (in its
    /// space) or any of its code's digests collides with any link's, in whatever
    /// form that link's code was stored; `false` on a collision.
    async fn insert_invite(&mut self, invite: &NewInvite) -> Result<bool>;
    /// The invite of this space mirrored from another system under this id.
    async fn invite_by_external_id(
        &mut self,
        space_id: Uuid,
        external_id: &str,
    ) -> Result<Option<InviteRow>>;
    /// Sets what a mirror may change: the limit, the expiry, the description, and
    /// the uses counted elsewhere (raised to `uses_at_least`, never lowered). `false`
    /// when the new limit is below the uses.
    async fn mirror_invite(&mut self, id: Uuid, m: &InviteMirror) -> Result<bool>;
    async fn invite_by_hash(&mut self, code_hash: &[u8]) -> Result<Option<InviteRow>>;
    async fn invite_by_id(&mut self, id: Uuid) -> Result<Option<InviteRow>>;
    /// An invite with what its public preview shows of its space, in one statement.
    async fn invite_preview(&mut self, code_hash: &[u8]) -> Result<Option<InvitePreviewRow>>;
    /// Counts one use if the invite is still live (not revoked, not expired, uses
    /// left): the atomic claim. `false` when it is not.
    async fn claim_invite_use(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool>;
    /// Soft revoke; `false` when already revoked.
    async fn revoke_invite(&mut self, id: Uuid, by: &str, at: OffsetDateTime) -> Result<bool>;
    /// Newest first, after the cursor; with `backward`, oldest first before it.
    async fn list_invites(&mut self, q: &InviteQuery) -> Result<Vec<InviteRow>>;
    /// How many invites the query matches, all pages together (cursor and limit
    /// ignored).
    async fn count_invites(&mut self, q: &InviteQuery) -> Result<u64>;
    /// Adds (views, sign-ins) to each link's funnel.
    async fn add_to_funnels(&mut self, counts: &[(Uuid, u64, u64)]) -> Result<()>;
    /// The funnels of these links (links never counted read as zeros).
    async fn funnels(&mut self, ids: &[Uuid]) -> Result<Vec<FunnelRow>>;
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
    /// A chosen or carried-over code, sealed; `None`: the code is derived from the id.
    pub code_sealed: Option<Vec<u8>>,
    /// A chosen code's confusable skeleton, hashed.
    pub code_skeleton: Option<Vec<u8>>,
    /// The id another system knows the link by (within its space).
    pub external_id: Option<String>,
    /// Uses it starts with (made in another system before it came here).
    pub uses: u32,
    /// The claims (first 16 bytes) of the keyed hashes of the code's digests, as
    /// another system that kept only digests would give them (a code known here), or
    /// of the digest's own (a code carried over as a digest); none for a generated
    /// code. No two links share one: a code is unique across every form it is stored
    /// in.
    pub code_digests: Vec<Vec<u8>>,
}

/// What a mirror of another system's link may change.
#[derive(Debug, Clone, PartialEq)]
pub struct InviteMirror {
    pub max_uses: Option<u32>,
    pub expires_at: Option<OffsetDateTime>,
    pub description: Option<String>,
    pub uses_at_least: u32,
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
            uses: self.uses,
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
            code_sealed: self.code_sealed.clone(),
            external_id: self.external_id.clone(),
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
    /// A chosen or carried-over code, sealed; `None`: derived from the id.
    pub code_sealed: Option<Vec<u8>>,
    pub external_id: Option<String>,
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
    /// A condition of any shape (GraphQL's nested `and`/`or`/`not`), ANDed with the rest.
    pub predicate: Option<InvitePredicate>,
    pub now: OffsetDateTime,
    /// The keyset cursor: rows after it (newest first), or with `backward` before it
    /// (oldest first, so the page nearest the cursor comes first).
    pub after: Option<PageKey>,
    pub backward: bool,
    pub limit: u32,
}

/// A condition on invites, nested as a filter can nest them.
#[derive(Debug, Clone, PartialEq)]
pub enum InvitePredicate {
    /// Every one of these (none: true).
    All(Vec<InvitePredicate>),
    /// Any one of these (none: false).
    Any(Vec<InvitePredicate>),
    Not(Box<InvitePredicate>),
    /// On this space or beneath it.
    Within(SpacePath),
    /// On exactly one of these spaces.
    SpaceIn(Vec<SpacePath>),
    /// In any of these states at the query's `now`.
    StateIn(Vec<guestlist_domain::InviteState>),
    CreatedBy(String),
    Revoked(bool),
}

/// The tables of this feature, for export and import (`transfer`), in an order that
/// satisfies their foreign keys.
/// A link's funnel, in aggregate: landing-page views, sign-ins set off from it, the
/// members it brought (still members) and the join requests it brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FunnelRow {
    pub invite_id: Uuid,
    pub views: u64,
    pub sign_ins: u64,
    pub joins: u64,
    pub requests: u64,
}

pub(crate) const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "invites",
        columns: &[
            ("id", Uuid),
            ("code_hash", Bytes),
            ("space_id", Uuid),
            ("space_path", Text),
            ("role", Text),
            ("max_uses", Int),
            ("uses", Int),
            ("expires_at", Int),
            ("description", Text),
            ("allow_narrowing", Bool),
            ("created_by", Text),
            ("created_by_name", Text),
            ("created_at", Int),
            ("revoked_at", Int),
            ("revoked_by", Text),
            ("requires_approval", Bool),
            ("auto_approve_domains", Text),
            ("code_sealed", Bytes),
            ("code_skeleton", Bytes),
            ("external_id", Text),
        ],
        key: &["id"],
        singleton: false,
    },
    TableSpec {
        name: "invite_scopes",
        columns: &[
            ("scope_path", Text),
            ("created_at", Int),
            ("invite_id", Uuid),
        ],
        key: &["scope_path", "created_at", "invite_id"],
        singleton: false,
    },
    TableSpec {
        name: "invite_code_digests",
        columns: &[("digest_hash", Bytes)],
        key: &["digest_hash"],
        singleton: false,
    },
    TableSpec {
        name: "invite_funnel",
        columns: &[("invite_id", Uuid), ("views", Int), ("sign_ins", Int)],
        key: &["invite_id"],
        singleton: false,
    },
];
