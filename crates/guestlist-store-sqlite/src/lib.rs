//! The embedded engine: one SQLite file in WAL mode.
//!
//! Writes go through **one writer** (a thread of its own, see `spin.rs`) that owns the
//! only write connection and takes
//! operations from a queue. It runs whatever is queued (up to `max_batch`) in one
//! transaction, each operation under its own savepoint so a failing one rolls back
//! alone, then commits once, with `synchronous=FULL`, and only then answers every
//! caller: a write is acknowledged after it is durable, and concurrent writers share
//! one fsync (group commit). There is never a second writer, so never `SQLITE_BUSY`.
//! Reads run on a pool of read-only connections and never wait behind the writer.

mod spin;
mod tx;

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::str::FromStr;
#[cfg(test)]
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use guestlist_store::{Access, ErasedOperation, Error, Result, Store};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Executor};
use tokio::sync::{mpsc, oneshot};

pub use tx::SqliteTx;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    /// Read-only connections in the read pool.
    pub read_connections: u32,
    /// The most queued writes committed together.
    pub max_batch: usize,
}

impl SqliteOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            path: path.into(),
            read_connections: 4,
            max_batch: 128,
        }
    }
}

type Reply = oneshot::Sender<Result<Box<dyn Any + Send>>>;

enum Command {
    Run(Job),
    /// Finish everything queued before this, close the connection, then answer.
    Stop(oneshot::Sender<()>),
}

struct Job {
    op: Box<dyn ErasedOperation>,
    reply: Reply,
}

pub struct SqliteStore {
    jobs: mpsc::Sender<Command>,
    reads: SqlitePool,
}

fn base_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        .pragma("temp_store", "memory")
}

impl SqliteStore {
    /// Opens (creating if needed) the database and runs pending migrations.
    pub async fn open(opts: SqliteOptions) -> Result<Self> {
        let mut writer = base_options(&opts.path)
            .create_if_missing(true)
            .connect()
            .await
            .map_err(|e| Error::Unavailable(format!("opening {}: {e}", opts.path.display())))?;
        MIGRATOR
            .run(&mut writer)
            .await
            .map_err(|e| Error::internal(format!("migrating {}: {e}", opts.path.display())))?;
        let reads = SqlitePoolOptions::new()
            .max_connections(opts.read_connections.max(1))
            .min_connections(1)
            // A local file's connections do not go stale: skip the ping per acquire.
            .test_before_acquire(false)
            .connect_with(base_options(&opts.path).read_only(true))
            .await
            .map_err(|e| Error::Unavailable(format!("opening the read pool: {e}")))?;
        let (tx, rx) = mpsc::channel(opts.max_batch * 8);
        // The writer runs on a thread of its own, driven by `spin_block_on`: between
        // batches it sleeps; within one it waits for each statement's answer from the
        // connection's thread without going to sleep, which halves what a statement
        // costs (a statement's time here is two thread wake-ups, not SQLite).
        let runtime = tokio::runtime::Handle::current();
        let max_batch = opts.max_batch.max(1);
        std::thread::Builder::new()
            .name("guestlist-sqlite-writer".into())
            .spawn(move || {
                let _runtime = runtime.enter();
                spin::block_on(writer_loop(writer, rx, max_batch));
            })
            .map_err(|e| Error::Unavailable(format!("starting the writer: {e}")))?;
        Ok(SqliteStore { jobs: tx, reads })
    }

    /// Runs the migrations and returns: `guestlist migrate`.
    pub async fn migrate(path: &Path) -> Result<()> {
        let mut conn = base_options(path)
            .create_if_missing(true)
            .connect()
            .await
            .map_err(|e| Error::Unavailable(format!("opening {}: {e}", path.display())))?;
        MIGRATOR.run(&mut conn).await.map_err(Error::internal)?;
        conn.close().await.map_err(Error::internal)?;
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    async fn execute(
        &self,
        access: Access,
        op: Box<dyn ErasedOperation>,
    ) -> Result<Box<dyn Any + Send>> {
        match access {
            Access::Write => {
                let (reply, answer) = oneshot::channel();
                self.jobs
                    .send(Command::Run(Job { op, reply }))
                    .await
                    .map_err(|_| Error::Unavailable("the writer has stopped".into()))?;
                answer
                    .await
                    .map_err(|_| Error::Unavailable("the writer has stopped".into()))?
            }
            Access::Read => {
                let mut conn = self.reads.acquire().await.map_err(tx::db_error)?;
                // A deferred transaction: one consistent snapshot for the whole read
                // (one statement is one snapshot by itself).
                let explicit = !op.single_statement();
                if explicit {
                    conn.execute("BEGIN").await.map_err(tx::db_error)?;
                }
                let out = {
                    let mut tx = SqliteTx::new(&mut conn);
                    AssertUnwindSafe(op.run_erased(&mut tx))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|_| Err(Error::internal("a read operation panicked")))
                };
                if explicit {
                    conn.execute("ROLLBACK").await.map_err(tx::db_error)?;
                }
                out
            }
        }
    }

    async fn ready(&self) -> Result<()> {
        if self.jobs.is_closed() {
            return Err(Error::Unavailable("the writer has stopped".into()));
        }
        let mut conn = self.reads.acquire().await.map_err(tx::db_error)?;
        conn.execute("SELECT 1").await.map_err(tx::db_error)?;
        Ok(())
    }

    async fn close(&self) {
        // Readers first, so the writer is the last connection: it checkpoints the WAL
        // into the database file, and the next start has no log to replay.
        self.reads.close().await;
        let (done, finished) = oneshot::channel();
        if self.jobs.send(Command::Stop(done)).await.is_ok() {
            let _ = finished.await;
        }
    }
}

async fn writer_loop(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Command>,
    max_batch: usize,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    let mut stop = None;
    while let Some(first) = rx.recv().await {
        match first {
            Command::Run(job) => batch.push(job),
            Command::Stop(done) => stop = Some(done),
        }
        while stop.is_none() && batch.len() < max_batch {
            match rx.try_recv() {
                Ok(Command::Run(job)) => batch.push(job),
                Ok(Command::Stop(done)) => stop = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            run_batch(&mut conn, &mut batch).await;
        }
        if let Some(done) = stop.take() {
            rx.close();
            // Anything that raced in after the stop is refused, never half-done.
            while let Ok(cmd) = rx.try_recv() {
                if let Command::Run(job) = cmd {
                    let _ = job
                        .reply
                        .send(Err(Error::Unavailable("shutting down".into())));
                }
            }
            if let Err(e) = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await {
                tracing::warn!(error = %e, "could not checkpoint the WAL at shutdown");
            }
            let _ = conn.close().await;
            let _ = done.send(());
            return;
        }
    }
    let _ = conn.close().await;
}

async fn run_batch(conn: &mut SqliteConnection, batch: &mut Vec<Job>) {
    metrics_batch_size(batch.len());
    // Each operation runs under the savepoint `op`. The savepoint bookkeeping shares
    // one round trip to the connection's thread with its neighbour statement (a
    // round trip, not SQLite, is what a statement costs here).
    if let Err(e) = conn.execute("BEGIN IMMEDIATE; SAVEPOINT op").await {
        let err = tx::db_error(e);
        tracing::error!(error = %err, "could not begin a write transaction");
        for job in batch.drain(..) {
            let _ = job.reply.send(Err(err.clone()));
        }
        return;
    }
    let mut results: Vec<(Reply, Result<Box<dyn Any + Send>>)> = Vec::with_capacity(batch.len());
    let mut fatal: Option<Error> = None;
    let last = batch.len().saturating_sub(1);
    for (n, job) in batch.drain(..).enumerate() {
        if fatal.is_some() {
            results.push((
                job.reply,
                Err(Error::Unavailable("write batch aborted".into())),
            ));
            continue;
        }
        let out = {
            let mut tx = SqliteTx::new(conn);
            AssertUnwindSafe(job.op.run_erased(&mut tx))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(Error::internal("a write operation panicked")))
        };
        // Keep this operation's writes (or undo them), and open the next one's
        // savepoint; after the last, COMMIT releases what is open.
        let end = match (out.is_ok(), n == last) {
            (true, true) => None,
            (true, false) => Some("RELEASE op; SAVEPOINT op"),
            (false, true) => Some("ROLLBACK TO op; RELEASE op"),
            (false, false) => Some("ROLLBACK TO op; RELEASE op; SAVEPOINT op"),
        };
        if let Some(sql) = end
            && let Err(e) = conn.execute(sql).await
        {
            fatal = Some(tx::db_error(e));
        }
        results.push((job.reply, out));
    }
    let committed = match fatal {
        None => conn.execute("COMMIT").await.map_err(tx::db_error),
        Some(e) => Err(e),
    };
    match committed {
        Ok(_) => {
            for (reply, out) in results {
                let _ = reply.send(out);
            }
        }
        Err(err) => {
            tracing::error!(error = %err, "a write batch failed; rolling back");
            let _ = conn.execute("ROLLBACK").await;
            for (reply, out) in results {
                // Refusals stay refusals; successes were not durable, so they fail.
                let answer = match out {
                    Err(e) if !e.is_server_fault() => Err(e),
                    _ => Err(Error::Unavailable(
                        "the write could not be committed".into(),
                    )),
                };
                let _ = reply.send(answer);
            }
        }
    }
}

fn metrics_batch_size(n: usize) {
    tracing::trace!(batch = n, "write batch");
}

/// Parses `sqlite://path`, `sqlite:path` or a bare file path.
pub fn path_from_url(url: &str) -> Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let rest = rest.split('?').next().unwrap_or(rest);
    if rest.is_empty() {
        return Err(Error::invalid("database_url", "an empty SQLite path"));
    }
    PathBuf::from_str(rest).map_err(|_| Error::invalid("database_url", "not a path"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use guestlist_store::{NewApiKey, Operation, Tx};
    use uuid::Uuid;

    /// Writes a row, then fails when told to: its write must vanish, its neighbours'
    /// must not.
    struct WriteThenMaybeFail {
        name: String,
        fail: bool,
    }

    #[async_trait]
    impl Operation for WriteThenMaybeFail {
        type Output = ();
        async fn run(&self, tx: &mut dyn Tx) -> Result<()> {
            tx.insert_api_key(&NewApiKey {
                id: Uuid::now_v7(),
                name: self.name.clone(),
                key_hash: self.name.as_bytes().to_vec(),
                platform_admin: false,
                created_at: time::OffsetDateTime::now_utc(),
            })
            .await?;
            if self.fail {
                Err(Error::forbidden("told to fail"))
            } else {
                Ok(())
            }
        }
    }

    struct Exists(String);

    #[async_trait]
    impl Operation for Exists {
        type Output = bool;
        async fn run(&self, tx: &mut dyn Tx) -> Result<bool> {
            Ok(tx.api_key_by_hash(self.0.as_bytes()).await?.is_some())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failing_operation_in_a_batch_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(SqliteOptions::new(dir.path().join("t.db")))
                .await
                .unwrap(),
        );
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .write(WriteThenMaybeFail {
                            name: format!("k{i}"),
                            fail: i % 3 == 0,
                        })
                        .await
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            let out = t.await.unwrap();
            assert_eq!(out.is_err(), i % 3 == 0, "operation {i}");
        }
        for i in 0..200 {
            let exists = store.read(Exists(format!("k{i}"))).await.unwrap();
            assert_eq!(exists, i % 3 != 0, "row of operation {i}");
        }
        store.close().await;
        // Everything acknowledged is on disk: a fresh open sees it.
        let reopened: Arc<dyn Store> = Arc::new(
            SqliteStore::open(SqliteOptions::new(dir.path().join("t.db")))
                .await
                .unwrap(),
        );
        assert!(reopened.read(Exists("k1".into())).await.unwrap());
        assert!(!reopened.read(Exists("k0".into())).await.unwrap());
    }

    #[tokio::test]
    async fn writes_after_close_are_refused_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(SqliteOptions::new(dir.path().join("t.db")))
                .await
                .unwrap(),
        );
        store.close().await;
        let err = store
            .write(WriteThenMaybeFail {
                name: "late".into(),
                fail: false,
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), guestlist_domain::ErrorCode::Unavailable);
    }

    #[test]
    fn database_urls_become_paths() {
        assert_eq!(
            path_from_url("sqlite://guestlist.db").unwrap(),
            PathBuf::from("guestlist.db")
        );
        assert_eq!(
            path_from_url("sqlite:/var/lib/g.db?mode=rwc").unwrap(),
            PathBuf::from("/var/lib/g.db")
        );
        assert!(path_from_url("sqlite://").is_err());
    }
}
