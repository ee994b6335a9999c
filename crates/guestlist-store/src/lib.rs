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

mod api_keys;
mod events;
mod invitations;
mod invites;
mod mail;
mod members;
mod requests;
mod scim;
mod sessions;
mod signup;
mod spaces;
mod sponsorship;
pub mod transfer;
mod users;
mod webhooks;

pub use api_keys::*;
pub use events::*;
pub use invitations::*;
pub use invites::*;
pub use mail::*;
pub use members::*;
pub use requests::*;
pub use scim::*;
pub use sessions::*;
pub use signup::*;
pub use spaces::*;
pub use sponsorship::*;
pub use users::*;
pub use webhooks::*;

use async_trait::async_trait;
pub use guestlist_domain::Error;
use guestlist_domain::SpacePath;
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
    + UsersTx
    + SessionsTx
    + WebhooksTx
    + ScimTx
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
        + ApiKeysTx
        + UsersTx
        + SessionsTx
        + WebhooksTx
        + ScimTx,
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

/// Which subtrees a caller may see. A query's filters are ANDed with this, so a
/// filter can only narrow what is visible.
#[derive(Debug, Clone, PartialEq)]
pub enum Visibility {
    All,
    Subtrees(Vec<SpacePath>),
}
