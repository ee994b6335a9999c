//! Invitations addressed to one person, and idempotent responses: the storage contract of the `invitations` feature.

use async_trait::async_trait;
use guestlist_domain::{
    Addressee, DeliveryState, Email, InvitationStatus, RoleName, SpacePath, UserId, Username,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::transfer::Kind::*;
use crate::transfer::TableSpec;
use crate::*;

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
    /// Pending invitations past their expiry whose lapse has not been told yet (the
    /// `invitation.expired` event), oldest expiry first.
    async fn untold_expired_invitations(
        &mut self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<InvitationRow>>;
    /// Marks a lapsed invitation's expiry as told; `false` when another sweeper did,
    /// or it is no longer pending and lapsed.
    async fn tell_invitation_expired(&mut self, id: Uuid, now: OffsetDateTime) -> Result<bool>;
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

/// The tables of this feature, for export and import (`transfer`), in an order that
/// satisfies their foreign keys.
pub(crate) const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "invitations",
        columns: &[
            ("id", Uuid),
            ("token_hash", Bytes),
            ("token_salt", Bytes),
            ("space_id", Uuid),
            ("space_path", Text),
            ("role", Text),
            ("email", Text),
            ("username", Text),
            ("user_id", Text),
            ("addressee", Text),
            ("message", Text),
            ("status", Text),
            ("lifetime_secs", Int),
            ("expires_at", Int),
            ("sends", Int),
            ("last_sent_at", Int),
            ("mail_id", Uuid),
            ("created_by", Text),
            ("created_by_name", Text),
            ("created_at", Int),
            ("decided_by", Text),
            ("decided_at", Int),
            ("expiry_told", Bool),
        ],
        key: &["id"],
        singleton: false,
    },
    TableSpec {
        name: "idempotency_keys",
        columns: &[
            ("owner", Text),
            ("key", Text),
            ("request_hash", Bytes),
            ("response", Text),
            ("created_at", Int),
        ],
        key: &["owner", "key"],
        singleton: false,
    },
];
