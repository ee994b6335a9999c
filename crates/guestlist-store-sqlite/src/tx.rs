//! The SQLite transaction: the shared SQL of `guestlist_store::impl_sql_tx!` over a
//! connection called directly (`driver.rs`). Space locks are no-ops: the single
//! writer already serializes every write transaction.

pub use crate::driver::db_error;
use crate::driver::{self, Connection};

pub struct SqliteTx<'c> {
    conn: &'c mut Connection,
}

impl<'c> SqliteTx<'c> {
    pub fn new(conn: &'c mut Connection) -> Self {
        SqliteTx { conn }
    }
}

guestlist_store::impl_sql_tx!(
    SqliteTx,
    lock_space = None,
    // `seq` (a plain INTEGER PRIMARY KEY) follows the largest inserted key by itself.
    after_import = None,
    // One writer: no row is ever contended, so every count stays on its row.
    shards = false
);
