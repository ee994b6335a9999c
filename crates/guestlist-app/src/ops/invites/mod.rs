//! Shareable invite links, one file per use case: `create`, `list`, `landing`
//! (preview and funnel), `redeem`, `manage` (revoke, show the code again), `mirror`
//! (links kept in step with another system, and imports), and `codes` (what storage
//! keeps of a code). What they share is here: the view of a link, how a caller names
//! one, and finding it.

mod codes;
mod create;
mod landing;
mod list;
mod manage;
mod mirror;
mod redeem;

use codes::*;
pub use create::*;
pub use landing::*;
pub use list::*;
use manage::*;
pub use mirror::*;
pub use redeem::*;

use crate::Result;
use guestlist_domain::InviteState;
use guestlist_store::{InviteRow, Tx};
use time::OffsetDateTime;
use uuid::Uuid;

pub const MAX_USES: u32 = 1_000_000;

pub const MAX_LIFETIME_SECS: i64 = 365 * 24 * 3600;

#[derive(Debug, Clone)]
pub struct InviteView {
    pub invite: InviteRow,
    pub state: InviteState,
}

impl InviteView {
    /// The opaque cursor that pages past this row (Relay connections, `after`).
    pub fn cursor(&self) -> String {
        crate::paging::encode(&guestlist_store::PageKey {
            created_at: self.invite.created_at,
            id: self.invite.id,
        })
    }
}

impl InviteView {
    fn of(invite: InviteRow, now: OffsetDateTime) -> Self {
        let state = invite.state(now);
        InviteView { invite, state }
    }
}

/// How a caller names an invite: by its code (kept only as its hash), or (managers
/// only) by its id.
#[derive(Debug, Clone)]
enum InviteRef {
    Hash(Vec<u8>),
    Id(Uuid),
    /// A UUID: an invite's id, or else a code carried over from a system whose codes
    /// were UUIDs.
    IdOrHash(Uuid, Vec<u8>),
}

async fn find(tx: &mut dyn Tx, r: &InviteRef) -> Result<Option<InviteRow>> {
    match r {
        InviteRef::Id(id) => tx.invite_by_id(*id).await,
        InviteRef::Hash(h) => tx.invite_by_hash(h).await,
        InviteRef::IdOrHash(id, h) => match tx.invite_by_id(*id).await? {
            Some(found) => Ok(Some(found)),
            None => tx.invite_by_hash(h).await,
        },
    }
}
