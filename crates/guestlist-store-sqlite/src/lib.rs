//! The embedded engine: one SQLite file in WAL mode.
//!
//! Writes go through **one writer** (a thread of its own) that owns the only write
//! connection and takes operations from a queue. It runs whatever is queued (up to
//! `max_batch`) in one transaction, where a failing operation's writes are undone
//! alone (see `transact`), then commits once, with `synchronous=FULL`, and only then
//! answers every caller: a write is acknowledged after it is durable, and concurrent
//! writers share one fsync (group commit). There is never a second writer, so never
//! `SQLITE_BUSY`. Reads run on read-only connections, each on the thread that asks
//! (a point read costs microseconds; there is no hop to another thread), and never
//! wait behind the writer.
//!
//! The writer reports its batches on `/metrics`: `guestlist_sqlite_write_batch_size`
//! (operations per transaction), `guestlist_sqlite_write_batch_seconds` (a batch from
//! its first statement to its answers; their sum over time is how busy the writer is)
//! and `guestlist_sqlite_commit_seconds` (the commit alone: the log's pages and the
//! sync).
//!
//! Statements go to SQLite directly (`driver.rs`); the schema and its migrations are
//! sqlx's, applied when the store opens.

mod driver;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use guestlist_store::{Access, Error, QueuedOperation, Result, Store};
use rusqlite::OpenFlags;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection as _};
use tokio::sync::{mpsc, oneshot};

use driver::Connection;
pub use driver::{Sqlite, SqliteTx};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    /// Read-only connections opened at start (more open when more threads read at
    /// once; idle ones are kept).
    pub read_connections: u32,
    /// The most queued writes committed together.
    pub max_batch: usize,
    /// The writer's page cache (MiB).
    pub cache_mib: u32,
}

impl SqliteOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            path: path.into(),
            read_connections: 4,
            max_batch: 128,
            cache_mib: 64,
        }
    }
}

type Reply = oneshot::Sender<Result<()>>;

enum Command {
    Run(Job),
    /// Finish everything queued before this, close the connection, then answer.
    Stop(oneshot::Sender<()>),
}

struct Job {
    op: Arc<dyn QueuedOperation>,
    reply: Reply,
}

pub struct SqliteStore {
    jobs: mpsc::Sender<Command>,
    readers: Readers,
}

/// The sqlx options the migrations run with (they also switch the file to WAL).
fn migration_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        .create_if_missing(true)
}

/// Opens a connection for the writer or for reads.
fn connect(path: &Path, write: Option<u32>) -> Result<Connection> {
    let access = if write.is_some() {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    };
    let opened = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .and_then(|conn| {
            conn.busy_timeout(Duration::from_secs(5))?;
            conn.set_prepared_statement_cache_capacity(256);
            // Plans never depend on bound values. Otherwise SQLite looks at some (a
            // `LIMIT ?`, a range with statistics, a `LIKE ?`) when planning, and then
            // re-prepares the statement at every new binding: a fifth of the time of a
            // list page went to re-parsing the same SQL. Partial indexes are matched
            // by literals in the SQL, never by bound values, so no plan gets worse.
            conn.set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
                true,
            )?;
            conn.execute_batch(
                "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
            )?;
            if let Some(cache_mib) = write {
                // The writer keeps up to `cache_mib` MiB of pages (64 unless
                // configured; SQLite's default is 2 MiB): an insert into a large
                // table's indexes (a code's hash lands anywhere in its index) then finds
                // its pages here instead of reading them from the kernel again. An
                // import of 10⁶ links spent a fifth of its time in those reads.
                conn.execute_batch(&format!(
                    "PRAGMA cache_size = -{};",
                    u64::from(cache_mib.max(1)) * 1024
                ))?;
            } else {
                // Readers map the file: a page read is a memory access, not a `pread`
                // copying it out of the kernel's cache (a tenth of a list page's time
                // at 10⁶ invites). The mapped pages are the kernel's cache itself.
                conn.execute_batch("PRAGMA mmap_size = 268435456;")?;
            }
            Ok(conn)
        });
    opened.map_err(|e| Error::Unavailable(format!("opening {}: {e}", path.display())))
}

/// Read-only connections, taken by the thread that reads and given back after.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn take(&self) -> Result<Connection> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => connect(&self.path, None),
        }
    }

    fn give_back(&self, conn: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
    }
}

/// Runs an operation's future to its end with one poll, on this thread. The SQLite
/// engine's statements run when called, so an operation that awaits only the store
/// is done after one poll. The contract is enforced, not assumed: an operation that
/// awaits anything else (a timer, a channel, another task) would hold the one writer
/// while it waits, so it is refused with an error, and its writes rolled back.
fn run_now<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => Err(Error::internal(
            "an operation awaited something other than the store: SQLite operations \
             may await only their transaction",
        )),
    }
}

/// Runs an operation on `conn`, turning a panic into an error.
fn run_op(conn: &mut Connection, op: &dyn QueuedOperation, what: &str) -> Result<()> {
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        let mut tx = SqliteTx::new(conn);
        run_now(op.run_queued(&mut tx))
    }))
    .unwrap_or_else(|_| Err(Error::internal(format!("a {what} operation panicked"))))
}

/// Runs `;`-separated statements without arguments or rows (transaction control),
/// each prepared once per connection.
fn exec(conn: &Connection, sql: &str) -> Result<()> {
    for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        conn.prepare_cached(statement)
            .and_then(|mut s| s.raw_execute())
            .map_err(|e| driver::db_error(driver::DriverError::Sqlite(e)))?;
    }
    Ok(())
}

/// Runs one statement that returns rows (a probe, a checkpoint), dropping them.
fn step_through(conn: &Connection, sql: &str) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(|e| driver::db_error(driver::DriverError::Sqlite(e)))?;
    let mut rows = stmt.raw_query();
    while rows
        .next()
        .map_err(|e| driver::db_error(driver::DriverError::Sqlite(e)))?
        .is_some()
    {}
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database and runs pending migrations.
    pub async fn open(opts: SqliteOptions) -> Result<Self> {
        Self::migrate(&opts.path).await?;
        let writer = connect(&opts.path, Some(opts.cache_mib))?;
        let readers = Readers {
            path: opts.path.clone(),
            idle: Mutex::new(
                (0..opts.read_connections.max(1))
                    .map(|_| connect(&opts.path, None))
                    .collect::<Result<_>>()?,
            ),
        };
        // The writer checkpoints no more than the end of the log (a checkpoint copies
        // the log into the file and syncs it: work that would hold up every queued
        // write); a thread of its own does the rest, a moment after commits, with a
        // connection of its own (`Checkpointer`). When the log starts over, a log grown
        // longer by a burst is cut back to 64 MiB.
        writer
            .execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864")
            .map_err(|e| driver::db_error(e.into()))?;
        let checkpointer = Checkpointer::start(connect(&opts.path, Some(opts.cache_mib))?)?;
        let (tx, rx) = mpsc::channel(opts.max_batch * 8);
        let max_batch = opts.max_batch.max(1);
        std::thread::Builder::new()
            // Thread names are cut at 15 characters: these stay apart in top and perf.
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer, rx, max_batch, checkpointer))
            .map_err(|e| Error::Unavailable(format!("starting the writer: {e}")))?;
        Ok(SqliteStore { jobs: tx, readers })
    }

    /// Runs the migrations and returns: `guestlist migrate`.
    pub async fn migrate(path: &Path) -> Result<()> {
        let mut conn = migration_options(path)
            .connect()
            .await
            .map_err(|e| Error::Unavailable(format!("opening {}: {e}", path.display())))?;
        MIGRATOR
            .run(&mut conn)
            .await
            .map_err(|e| Error::internal(format!("migrating {}: {e}", path.display())))?;
        conn.close().await.map_err(Error::internal)?;
        Ok(())
    }

    /// Runs a read on this thread, in one snapshot.
    fn read_now(&self, op: &dyn QueuedOperation) -> Result<()> {
        let mut conn = self.readers.take()?;
        // A deferred transaction: one consistent snapshot for the whole read
        // (one statement is one snapshot by itself).
        let explicit = !op.single_statement();
        if explicit {
            exec(&conn, "BEGIN")?;
        }
        let out = run_op(&mut conn, op, "read");
        if explicit {
            exec(&conn, "ROLLBACK")?;
        }
        self.readers.give_back(conn);
        out
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    async fn execute(&self, access: Access, op: Arc<dyn QueuedOperation>) -> Result<()> {
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
            Access::Read => self.read_now(op.as_ref()),
        }
    }

    async fn ready(&self) -> Result<()> {
        if self.jobs.is_closed() {
            return Err(Error::Unavailable("the writer has stopped".into()));
        }
        let conn = self.readers.take()?;
        step_through(&conn, "SELECT 1")?;
        self.readers.give_back(conn);
        Ok(())
    }

    async fn close(&self) {
        // Readers first, so the writer is the last connection: it checkpoints the WAL
        // into the database file, and the next start has no log to replay.
        self.readers
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let (done, finished) = oneshot::channel();
        if self.jobs.send(Command::Stop(done)).await.is_ok() {
            let _ = finished.await;
        }
    }
}

/// Copies the write-ahead log into the database file, off the writer's thread: a
/// moment (`CHECKPOINT_DELAY`) after a commit, then again after the next ones. A
/// PASSIVE checkpoint never blocks the writer or readers.
///
/// The log starts over (from its first frame, in blocks the file already has) only
/// when a write begins after a checkpoint has copied *all* of it. Under a steady
/// stream of commits that never happens by itself: every pass ends with frames
/// committed while it ran, and the log would grow for as long as the load lasts. So
/// the checkpointer copies the bulk, and the writer copies the little that is left
/// (`take_tail`) between two batches, when nothing can be appended meanwhile.
struct Checkpointer {
    commits: std::sync::mpsc::SyncSender<()>,
    tail: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

const CHECKPOINT_DELAY: Duration = Duration::from_millis(100);
/// Passes the checkpointer makes at most in a round. When more than a tail is still
/// left after them, the writer is not asked; the next round goes on from there.
const CHECKPOINT_PASSES: usize = 4;
/// Frames few enough for the writer to copy between two batches.
const CHECKPOINT_TAIL: i64 = 256;

/// A PASSIVE checkpoint: (frames in the log, frames copied into the database).
fn checkpoint(conn: &Connection) -> Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
    .map_err(|e| driver::db_error(driver::DriverError::Sqlite(e)))
}

impl Checkpointer {
    fn start(conn: Connection) -> Result<Self> {
        let (commits, committed) = std::sync::mpsc::sync_channel::<()>(1);
        let tail = Arc::new(AtomicBool::new(false));
        let left = tail.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpt".into())
            .spawn(move || {
                // Ends when the writer drops `commits`.
                while committed.recv().is_ok() {
                    std::thread::sleep(CHECKPOINT_DELAY);
                    // Each pass copies what was committed during the one before.
                    for _ in 0..CHECKPOINT_PASSES {
                        match checkpoint(&conn) {
                            Ok((log, copied)) if log - copied > CHECKPOINT_TAIL => continue,
                            Ok(_) => left.store(true, Ordering::Release),
                            Err(e) => tracing::warn!(error = %e, "could not checkpoint the WAL"),
                        }
                        break;
                    }
                }
            })
            .map_err(|e| Error::Unavailable(format!("starting the checkpointer: {e}")))?;
        Ok(Checkpointer {
            commits,
            tail,
            thread,
        })
    }

    /// Notes a commit; never blocks (one pending note stands for any number).
    fn committed(&self) {
        let _ = self.commits.try_send(());
    }

    /// Whether the writer should copy the end of the log now (once per request).
    fn take_tail(&self) -> bool {
        self.tail.swap(false, Ordering::AcqRel)
    }

    /// Stops the thread after its checkpoint in progress.
    fn stop(self) {
        drop(self.commits);
        let _ = self.thread.join();
    }
}

fn writer_loop(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Command>,
    max_batch: usize,
    checkpointer: Checkpointer,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    let mut stop = None;
    while let Some(first) = rx.blocking_recv() {
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
            let started = Instant::now();
            metrics::histogram!("guestlist_sqlite_write_batch_size").record(batch.len() as f64);
            run_batch(&mut conn, &mut batch);
            metrics::histogram!("guestlist_sqlite_write_batch_seconds")
                .record(started.elapsed().as_secs_f64());
            if checkpointer.take_tail()
                && let Err(e) = checkpoint(&conn)
            {
                tracing::warn!(error = %e, "could not checkpoint the WAL");
            }
            checkpointer.committed();
        }
        if let Some(done) = stop.take() {
            checkpointer.stop();
            rx.close();
            // Anything that raced in after the stop is refused, never half-done.
            while let Ok(cmd) = rx.try_recv() {
                if let Command::Run(job) = cmd {
                    let _ = job
                        .reply
                        .send(Err(Error::Unavailable("shutting down".into())));
                }
            }
            let checkpoint = step_through(&conn, "PRAGMA wal_checkpoint(TRUNCATE)");
            if let Err(e) = checkpoint {
                tracing::warn!(error = %e, "could not checkpoint the WAL at shutdown");
            }
            if let Err((_, e)) = conn.close() {
                tracing::warn!(error = %e, "could not close the database");
            }
            let _ = done.send(());
            return;
        }
    }
    checkpointer.stop();
}

type Answer = Result<()>;

/// Runs a batch in one transaction, then answers every caller: their answers once the
/// commit is durable; if it fails, refusals stay refusals and everything else is
/// `unavailable` (nothing of the batch is kept).
fn run_batch(conn: &mut Connection, batch: &mut Vec<Job>) {
    tracing::trace!(batch = batch.len(), "write batch");
    let (answers, committed) = transact(conn, batch);
    if let Err(err) = &committed {
        tracing::error!(error = %err, "a write batch failed; rolling back");
        let _ = exec(conn, "ROLLBACK");
    }
    let mut answers = answers.into_iter();
    for job in batch.drain(..) {
        let answer = match (&committed, answers.next()) {
            (Ok(()), Some(answer)) => answer,
            (_, Some(Err(e))) if !e.is_server_fault() => Err(e),
            _ => Err(Error::Unavailable(
                "the write could not be committed".into(),
            )),
        };
        let _ = job.reply.send(answer);
    }
}

/// Runs the batch's operations in one transaction and commits. Most operations either
/// succeed or are refused before they write, so they first run one after another with
/// nothing in between. When one fails after changing rows, the transaction is rolled
/// back and the batch runs again with each operation under its own savepoint, so that
/// one's writes are undone alone (`isolated`).
fn transact(conn: &mut Connection, batch: &[Job]) -> (Vec<Answer>, Result<()>) {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        return (Vec::new(), Err(e));
    }
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        let before = conn.total_changes();
        let answer = run_op(conn, job.op.as_ref(), "write");
        if answer.is_err() && conn.total_changes() != before {
            answers.clear();
            break;
        }
        answers.push(answer);
    }
    if answers.len() < batch.len() {
        if let Err(e) = exec(conn, "ROLLBACK; BEGIN IMMEDIATE") {
            return (Vec::new(), Err(e));
        }
        if let Err(e) = isolated(conn, batch, &mut answers) {
            return (answers, Err(e));
        }
    }
    let started = Instant::now();
    let committed = exec(conn, "COMMIT");
    metrics::histogram!("guestlist_sqlite_commit_seconds").record(started.elapsed().as_secs_f64());
    (answers, committed)
}

/// Runs each operation under the savepoint `op`: kept when it succeeds, rolled back
/// when it fails.
fn isolated(conn: &mut Connection, batch: &[Job], answers: &mut Vec<Answer>) -> Result<()> {
    for job in batch {
        exec(conn, "SAVEPOINT op")?;
        let answer = run_op(conn, job.op.as_ref(), "write");
        let end = if answer.is_ok() {
            "RELEASE op"
        } else {
            "ROLLBACK TO op; RELEASE op"
        };
        answers.push(answer);
        exec(conn, end)?;
    }
    Ok(())
}

/// Parses `sqlite://path`, `sqlite:path` or a bare file path.
pub fn path_from_url(url: &str) -> Result<PathBuf> {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        // Only the scheme is repeated: the rest may hold a password.
        let named = match url.split_once("://") {
            Some((scheme, _)) => format!("the scheme {scheme:?} is not an engine this service has"),
            None => "not a database URL".to_owned(),
        };
        return Err(Error::invalid(
            "database_url",
            format!("{named}: sqlite://FILE or postgres://USER@HOST/DATABASE"),
        ));
    };
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

    /// Writes a row, then fails when told to (its write must vanish, its neighbours'
    /// must not); or is refused before it writes.
    struct WriteThenMaybeFail {
        name: String,
        fail: bool,
        refuse_first: bool,
    }

    #[async_trait]
    impl Operation for WriteThenMaybeFail {
        type Output = ();
        async fn run(&self, tx: &mut dyn Tx) -> Result<()> {
            if self.refuse_first {
                return Err(Error::forbidden("refused before writing"));
            }
            tx.insert_api_key(&NewApiKey {
                id: Uuid::now_v7(),
                name: self.name.clone(),
                key_hash: self.name.as_bytes().to_vec(),
                platform_admin: false,
                scim_root: None,
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
                            fail: i % 4 == 0,
                            refuse_first: i % 4 == 1,
                        })
                        .await
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            let out = t.await.unwrap();
            assert_eq!(out.is_err(), i % 4 < 2, "operation {i}");
        }
        for i in 0..200 {
            let exists = store.read(Exists(format!("k{i}"))).await.unwrap();
            assert_eq!(exists, i % 4 >= 2, "row of operation {i}");
        }
        store.close().await;
        // Everything acknowledged is on disk: a fresh open sees it.
        let reopened: Arc<dyn Store> = Arc::new(
            SqliteStore::open(SqliteOptions::new(dir.path().join("t.db")))
                .await
                .unwrap(),
        );
        assert!(reopened.read(Exists("k2".into())).await.unwrap());
        assert!(!reopened.read(Exists("k0".into())).await.unwrap());
    }

    /// Writes a row, then awaits something that is not the store.
    struct AwaitsElsewhere;

    #[async_trait]
    impl Operation for AwaitsElsewhere {
        type Output = ();
        async fn run(&self, tx: &mut dyn Tx) -> Result<()> {
            WriteThenMaybeFail {
                name: "elsewhere".into(),
                fail: false,
                refuse_first: false,
            }
            .run(tx)
            .await?;
            tokio::task::yield_now().await;
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_operation_that_awaits_anything_but_the_store_is_refused_and_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(SqliteOptions::new(dir.path().join("t.db")))
                .await
                .unwrap(),
        );
        let err = store.write(AwaitsElsewhere).await.unwrap_err();
        assert!(err.is_server_fault(), "{err:?}");
        assert!(!store.read(Exists("elsewhere".into())).await.unwrap());
        // The writer goes on serving.
        store
            .write(WriteThenMaybeFail {
                name: "after".into(),
                fail: false,
                refuse_first: false,
            })
            .await
            .unwrap();
        assert!(store.read(Exists("after".into())).await.unwrap());
    }

    struct AppendEvent(Uuid);

    #[async_trait]
    impl Operation for AppendEvent {
        type Output = ();
        async fn run(&self, tx: &mut dyn Tx) -> Result<()> {
            tx.append_event(&guestlist_store::NewEvent {
                id: self.0,
                kind: "test.appended",
                space_id: None,
                space_path: None,
                actor: "test".into(),
                subject: None,
                data: "{}".into(),
                created_at: time::OffsetDateTime::now_utc(),
            })
            .await
        }
    }

    #[tokio::test]
    async fn events_keep_their_order_and_ids_through_the_plain_key_migration() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        // The schema before 0007, with events in it.
        let older = dir.path().join("older");
        std::fs::create_dir(&older).unwrap();
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap()
        {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if name.as_str() < "0007" {
                std::fs::copy(&path, older.join(name)).unwrap();
            }
        }
        {
            use sqlx::ConnectOptions;
            let mut conn = migration_options(&db).connect().await.unwrap();
            let migrator = sqlx::migrate::Migrator::new(older.as_path()).await.unwrap();
            assert_eq!(migrator.iter().count(), 6);
            migrator.run(&mut conn).await.unwrap();
        }
        let mut ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        {
            let conn = rusqlite::Connection::open(&db).unwrap();
            for id in &ids {
                conn.execute(
                    "INSERT INTO events (id, kind, actor, data, created_at) VALUES (?1, 'old', 'test', '{}', 0)",
                    [id.as_bytes().as_slice()],
                )
                .unwrap();
            }
            // A gap (nothing deletes events; a copy must keep seq as it is anyway).
            conn.execute("DELETE FROM events WHERE seq = 2", [])
                .unwrap();
            ids.remove(1);
        }
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(SqliteOptions::new(&db)).await.unwrap());
        let newest = Uuid::now_v7();
        store.write(AppendEvent(newest)).await.unwrap();
        store.close().await;

        let conn = rusqlite::Connection::open(&db).unwrap();
        let rows: Vec<(i64, Vec<u8>)> = conn
            .prepare("SELECT seq, id FROM events ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let expected: Vec<(i64, Vec<u8>)> = ids
            .iter()
            .chain([&newest])
            .zip([1, 3, 4, 5])
            .map(|(id, seq)| (seq, id.as_bytes().to_vec()))
            .collect();
        assert_eq!(
            rows, expected,
            "the old events keep their seq; a new one follows them"
        );
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM pragma_index_list('events')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(indexes, ["events_by_space"]);
        let counters: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_sequence WHERE name = 'events'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(counters, 0);
    }

    /// The log's checkpoint sequence and salts (bytes 12..24 of its header): they
    /// change each time the log starts over.
    fn log_generation(db: &Path) -> Vec<u8> {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let header = std::fs::read(&wal).unwrap_or_default();
        header.get(12..24).unwrap_or_default().to_vec()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_log_starts_over_while_writes_keep_coming() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(SqliteOptions::new(&db)).await.unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let (store, stop) = (store.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let name = format!("w{w}-{n}");
                        store
                            .write(WriteThenMaybeFail {
                                name,
                                fail: false,
                                refuse_first: false,
                            })
                            .await
                            .unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        // Never a pause in the writes: without the writer copying the end of the log,
        // no checkpoint ever catches up with it, and it grows for as long as they last.
        let mut generations = vec![];
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while generations.len() < 4 && std::time::Instant::now() < deadline {
            let now = log_generation(&db);
            if !now.is_empty() && generations.last() != Some(&now) {
                generations.push(now);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.store(true, Ordering::Relaxed);
        let mut written = 0;
        for w in writers {
            written += w.await.unwrap();
        }
        assert!(written > 0);
        assert_eq!(
            generations.len(),
            4,
            "the log started over {} times in 20 s of writes",
            generations.len().saturating_sub(1)
        );
        store.close().await;
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
                refuse_first: false,
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
        // No silent file named after a typo, no other engine taken for a path.
        for wrong in ["not a url", "guestlist.db", "mysql://u:secret@db/g"] {
            let e = path_from_url(wrong).unwrap_err().to_string();
            assert!(e.contains("database_url") && !e.contains("secret"), "{e}");
        }
    }
}
