//! The PostgreSQL engine: a connection pool that any number of stateless `guestlist`
//! processes share. Every operation runs in one READ COMMITTED transaction; the limits
//! hold across processes because each is one conditional `UPDATE … RETURNING` or a
//! unique key (the shared SQL of `guestlist-store-sql`, and `counters.rs`), never a
//! check-then-act in the application. Serialization failures and deadlocks are retried
//! here and never reach the caller.

mod counters;
mod tx;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use guestlist_store::{Access, Error, QueuedOperation, Result, Store};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Executor};

pub use tx::{PgTx, Postgres};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How many times an operation is retried after a serialization failure or deadlock.
const CONTENTION_RETRIES: u32 = 8;

#[derive(Debug, Clone)]
pub struct PgOptions {
    pub url: String,
    /// Connections per process. N replicas open up to N times this.
    pub max_connections: u32,
    /// Longest a statement may run before PostgreSQL cancels it.
    pub statement_timeout: Duration,
    /// How long to wait for a pooled connection before answering 503.
    pub acquire_timeout: Duration,
    /// How long to keep retrying the first connection at start (the database may come
    /// up after the service); `Duration::ZERO` tries once.
    pub connect_retry_for: Duration,
}

impl PgOptions {
    pub fn new(url: impl Into<String>) -> Self {
        PgOptions {
            url: url.into(),
            max_connections: 16,
            statement_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(5),
            connect_retry_for: Duration::from_secs(60),
        }
    }
}

pub struct PgStore {
    pool: PgPool,
}

fn connect_options(opts: &PgOptions) -> Result<PgConnectOptions> {
    let parsed: PgConnectOptions = opts
        .url
        .parse()
        .map_err(|e| Error::invalid("database_url", format!("not a PostgreSQL URL: {e}")))?;
    Ok(parsed
        .options([(
            "statement_timeout",
            format!("{}", opts.statement_timeout.as_millis()),
        )])
        .application_name("guestlist")
        .log_statements(tracing::log::LevelFilter::Trace))
}

/// What a server that answered refused, in words: the database missing, the role
/// missing or not allowed, the password wrong. `None` for anything that may pass
/// (the server not up yet, the network).
fn refusal(e: &sqlx::Error) -> Option<String> {
    let db = e.as_database_error()?;
    let said = db.message();
    Some(match db.code()?.as_ref() {
        "3D000" => format!(
            "the database does not exist on that server ({said}): create it, or name another"
        ),
        "28P01" => format!("PostgreSQL refused the password ({said})"),
        "28000" => format!("PostgreSQL refused the role ({said}): create it, or name another"),
        _ => return None,
    })
}

impl PgStore {
    /// Connects (retrying with backoff while the database is not up yet), runs pending
    /// migrations under PostgreSQL's advisory lock, and returns the pool.
    pub async fn open(opts: PgOptions) -> Result<Self> {
        let store = Self::connect(&opts).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(opts: &PgOptions) -> Result<Self> {
        let connect = connect_options(opts)?;
        let deadline = tokio::time::Instant::now() + opts.connect_retry_for;
        let mut backoff = Duration::from_millis(200);
        // Prove the server is reachable before building the pool, so a replica that
        // starts before PostgreSQL waits instead of crash-looping.
        loop {
            match connect.connect().await {
                Ok(conn) => {
                    let _ = sqlx::Connection::close(conn).await;
                    break;
                }
                Err(e) => {
                    // The server answered: waiting will not make the database or the
                    // role exist, nor the password right. Said at once, in words.
                    if let Some(why) = refusal(&e) {
                        return Err(Error::invalid("database_url", why));
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Err(Error::Unavailable(format!("connecting to PostgreSQL: {e}")));
                    }
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "PostgreSQL is not reachable yet");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| Error::Unavailable(format!("connecting to PostgreSQL: {e}")))?;
        Ok(PgStore { pool })
    }

    /// Applies pending migrations. sqlx holds a PostgreSQL advisory lock while it
    /// migrates, so replicas starting together apply each migration once.
    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| Error::internal(format!("migrating PostgreSQL: {e}")))
    }

    async fn run_once(&self, access: Access, op: &dyn QueuedOperation) -> Result<()> {
        if access == Access::Read && op.single_statement() {
            // One statement is one snapshot: no explicit transaction needed.
            let mut conn = self
                .pool
                .acquire()
                .await
                .map_err(|e| Error::Unavailable(format!("acquiring a connection: {e}")))?;
            let mut pg = PgTx::new(&mut conn);
            return AssertUnwindSafe(op.run_queued(&mut pg))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(Error::internal("an operation panicked")));
        }
        // Not being able to begin at all means the database cannot be reached.
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| Error::Unavailable(format!("beginning a transaction: {e}")))?;
        if access == Access::Read {
            tx.execute("SET TRANSACTION READ ONLY")
                .await
                .map_err(tx::db_error)?;
        }
        let out = {
            let mut pg = PgTx::new(&mut tx);
            AssertUnwindSafe(op.run_queued(&mut pg))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(Error::internal("an operation panicked")))
        };
        match out {
            Ok(v) => {
                tx.commit().await.map_err(tx::db_error)?;
                Ok(v)
            }
            Err(e) => {
                // Dropping the transaction rolls it back; say so explicitly when we can.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }
}

#[async_trait]
impl Store for PgStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    async fn execute(&self, access: Access, op: Arc<dyn QueuedOperation>) -> Result<()> {
        let mut attempt = 0;
        loop {
            match self.run_once(access, &*op).await {
                Err(Error::Contention(cause)) if attempt < CONTENTION_RETRIES => {
                    attempt += 1;
                    tracing::debug!(%cause, attempt, "retrying after contention");
                    tokio::time::sleep(Duration::from_millis(2u64 << attempt.min(6))).await;
                }
                other => return other,
            }
        }
    }

    async fn ready(&self) -> Result<()> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| Error::Unavailable(format!("acquiring a connection: {e}")))?;
        conn.execute("SELECT 1").await.map_err(tx::db_error)?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// True for `postgres://` and `postgresql://` URLs.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}
