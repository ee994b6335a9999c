//! The PostgreSQL engine's driver: the shared SQL of `guestlist-store-sql` run by
//! sqlx over a pooled connection, and the statements PostgreSQL writes its own way
//! (`counters.rs`): row locks, and counts of unlimited links and spaces in shard rows.

use guestlist_store::transfer::{Cell, Kind};
use guestlist_store::{Error, Result};
use guestlist_store_sql::{Arg, Engine, Query, Sql, SqlRow, SqlTx};
use sqlx::postgres::{PgArguments, PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Postgres as Pg};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::counters;

/// PostgreSQL, as the shared SQL sees it.
pub struct Postgres;

/// One PostgreSQL transaction (or one statement outside any, for single-statement reads).
pub type PgTx<'c> = SqlTx<'c, Postgres>;

/// A statement and its arguments, as sqlx runs it.
fn prepare(q: Query) -> sqlx::query::Query<'static, Pg, PgArguments> {
    let mut query = match q.sql {
        Sql::Static(s) => sqlx::query(s),
        Sql::Built(s) => sqlx::query(AssertSqlSafe(s)),
    };
    for arg in q.args {
        query = match arg {
            Arg::Uuid(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
            Arg::Bool(v) => query.bind(v),
            Arg::Bytes(v) => query.bind(v),
        };
    }
    query
}

impl Engine for Postgres {
    type Conn = PgConnection;
    type Row = Record;
    const SLOT: usize = 1;
    // Numbers are drawn in one order and committed in another: an event is final once
    // every transaction that could have drawn a smaller number has ended (migration
    // 0014 records the snapshot's xmax after the draw).
    const SETTLED: &'static str = "CASE WHEN settles_at IS NULL \
        OR settles_at <= pg_snapshot_xmin(pg_current_snapshot()) THEN 1::bigint ELSE 0::bigint END";

    async fn execute(conn: &mut PgConnection, q: Query) -> Result<u64> {
        Ok(prepare(q)
            .execute(conn)
            .await
            .map_err(db_error)?
            .rows_affected())
    }

    async fn fetch_all(conn: &mut PgConnection, q: Query) -> Result<Vec<Record>> {
        let rows = prepare(q).fetch_all(conn).await.map_err(db_error)?;
        Ok(rows.into_iter().map(Record).collect())
    }

    async fn fetch_optional(conn: &mut PgConnection, q: Query) -> Result<Option<Record>> {
        let row = prepare(q).fetch_optional(conn).await.map_err(db_error)?;
        Ok(row.map(Record))
    }

    fn counted(alias: &str, column: &str) -> String {
        counters::counted(alias, column)
    }

    async fn lock_space(tx: &mut PgTx<'_>, id: Uuid) -> Result<()> {
        counters::lock_space(tx, id).await
    }

    async fn settle_member_count(tx: &mut PgTx<'_>, id: Uuid) -> Result<()> {
        counters::settle_member_count(tx, id).await
    }

    async fn take_seat(tx: &mut PgTx<'_>, space_id: Uuid) -> Result<bool> {
        counters::take_seat(tx, space_id).await
    }

    async fn free_seat(tx: &mut PgTx<'_>, space_id: Uuid) -> Result<()> {
        counters::free_seat(tx, space_id).await
    }

    async fn claim_invite_use(tx: &mut PgTx<'_>, id: Uuid, now: OffsetDateTime) -> Result<bool> {
        counters::claim_invite_use(tx, id, now).await
    }

    async fn after_import(tx: &mut PgTx<'_>) -> Result<()> {
        counters::after_import(tx).await
    }
}

/// A row as sqlx returns it.
pub struct Record(PgRow);

impl SqlRow for Record {
    fn cell(&self, column: &str, kind: Kind) -> Result<Cell> {
        use sqlx::Row;
        let row = &self.0;
        let cell = match kind {
            Kind::Uuid => row
                .try_get::<Option<Uuid>, _>(column)
                .map(|v| v.map(Cell::Uuid)),
            Kind::Text => row
                .try_get::<Option<String>, _>(column)
                .map(|v| v.map(Cell::Text)),
            Kind::Int => row
                .try_get::<Option<i64>, _>(column)
                .map(|v| v.map(Cell::Int)),
            Kind::Bool => row
                .try_get::<Option<bool>, _>(column)
                .map(|v| v.map(Cell::Bool)),
            Kind::Bytes => row
                .try_get::<Option<Vec<u8>>, _>(column)
                .map(|v| v.map(Cell::Bytes)),
        };
        Ok(cell.map_err(db_error)?.unwrap_or(Cell::Null))
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
