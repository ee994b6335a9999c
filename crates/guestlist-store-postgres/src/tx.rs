//! The PostgreSQL transaction: the shared SQL of `guestlist_store::impl_sql_tx!` over a
//! pooled connection. Rule checks that must see each other's writes lock the space row
//! first (`FOR UPDATE`).

use sqlx::postgres::{PgConnection, Postgres};

pub struct PgTx<'c> {
    conn: &'c mut PgConnection,
}

impl<'c> PgTx<'c> {
    pub fn new(conn: &'c mut PgConnection) -> Self {
        PgTx { conn }
    }
}

guestlist_store::impl_sql_tx!(
    PgTx,
    Postgres,
    lock_space = Some("SELECT id FROM spaces WHERE id = $1 FOR UPDATE"),
    after_import = Some(
        "SELECT setval(pg_get_serial_sequence('events', 'seq'), coalesce((SELECT max(seq) FROM events), 0) + 1, false)"
    ),
    // Concurrent transactions: unlimited links and spaces count in shard rows.
    shards = true
);
