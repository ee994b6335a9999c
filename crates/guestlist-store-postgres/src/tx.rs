//! The PostgreSQL transaction: the shared SQL of `guestlist_store::impl_sql_tx!` over a
//! pooled connection, run by sqlx. Rule checks that must see each other's writes lock
//! the space row first (`FOR UPDATE`).

use guestlist_store::Error;
use sqlx::postgres::PgConnection;

pub struct PgTx<'c> {
    conn: &'c mut PgConnection,
}

impl<'c> PgTx<'c> {
    pub fn new(conn: &'c mut PgConnection) -> Self {
        PgTx { conn }
    }
}

/// What the shared SQL runs through: sqlx's PostgreSQL driver.
mod driver {
    use sqlx::Postgres;

    pub use sqlx::{AssertSqlSafe, query};
    pub type QueryBuilder = sqlx::QueryBuilder<Postgres>;
    pub type Row = sqlx::postgres::PgRow;
    pub type Connection = sqlx::PgConnection;

    pub fn get<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(
        row: &'r Row,
        col: &str,
    ) -> guestlist_store::Result<T> {
        sqlx::Row::try_get(row, col).map_err(super::db_error)
    }
}

/// Maps a driver error: lost connections are `unavailable` (503, retry),
/// serialization failures and deadlocks are `Contention` (the engine retries
/// the operation), anything else is internal.
pub fn db_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => Error::Unavailable(e.to_string()),
        sqlx::Error::Database(d) => match d.code().as_deref() {
            Some("40001" | "40P01") => Error::Contention(e.to_string()),
            // Lost connections, shutdowns, and transient capacity limits
            // (too many connections, statement or lock timeouts).
            Some(c)
                if c.starts_with("08")
                    || matches!(c, "57P01" | "57P02" | "57P03" | "57014" | "53300" | "55P03") =>
            {
                Error::Unavailable(e.to_string())
            }
            _ => Error::internal(e),
        },
        _ => Error::internal(e),
    }
}

guestlist_store::impl_sql_tx!(
    PgTx,
    lock_space = Some("SELECT id FROM spaces WHERE id = $1 FOR UPDATE"),
    after_import = Some(
        "SELECT setval(pg_get_serial_sequence('events', 'seq'), coalesce((SELECT max(seq) FROM events), 0) + 1, false)"
    ),
    // Concurrent transactions: unlimited links and spaces count in shard rows.
    shards = true
);
