//! The SQLite transaction: the shared SQL of `guestlist_store::impl_sql_tx!` over a
//! SQLite connection. Space locks are no-ops: the single writer already serializes
//! every write transaction.

use sqlx::sqlite::{Sqlite, SqliteConnection};

pub struct SqliteTx<'c> {
    conn: &'c mut SqliteConnection,
}

impl<'c> SqliteTx<'c> {
    pub fn new(conn: &'c mut SqliteConnection) -> Self {
        SqliteTx { conn }
    }
}

guestlist_store::impl_sql_tx!(
    SqliteTx,
    Sqlite,
    lock_space = None,
    // AUTOINCREMENT follows the largest inserted key by itself.
    after_import = None,
    // One writer: no row is ever contended, so every count stays on its row.
    shards = false
);
