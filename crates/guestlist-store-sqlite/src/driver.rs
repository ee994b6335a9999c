//! The SQLite engine's driver: the shared SQL of `guestlist-store-sql` over a
//! `rusqlite` connection, executed on the calling thread.
//!
//! sqlx runs every SQLite connection on a thread of its own and each statement is a
//! round trip to it (two thread wake-ups, ~35–50 µs on a busy two-core machine, more
//! than SQLite needs for the statement). Here the writer thread and the readers call
//! SQLite directly: the futures below are ready when created. Values are stored as
//! sqlx stores them (UUIDs as 16-byte blobs, booleans as integers), so files written
//! by either read the same, and migrations stay sqlx's. SQLite keeps the shared
//! SQL's portable statements everywhere: with one writer nothing is contended.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use guestlist_store::transfer::{Cell, Kind};
use guestlist_store::{Error, Result};
use guestlist_store_sql::{Arg, Engine, Query, SqlRow, SqlTx};
use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use uuid::Uuid;

pub type Connection = rusqlite::Connection;

/// SQLite, as the shared SQL sees it.
pub struct Sqlite;

/// One SQLite transaction.
pub type SqliteTx<'c> = SqlTx<'c, Sqlite>;

impl Engine for Sqlite {
    type Conn = Connection;
    type Row = Row;
    const SLOT: usize = 0;

    fn execute(conn: &mut Connection, q: Query) -> impl Future<Output = Result<u64>> + Send {
        std::future::ready(
            run(conn, &q, |_| Ok(()))
                .map(|()| conn.changes())
                .map_err(db_error),
        )
    }

    fn fetch_all(conn: &mut Connection, q: Query) -> impl Future<Output = Result<Vec<Row>>> + Send {
        let mut rows = Vec::new();
        let done = run(conn, &q, |r| {
            rows.push(r);
            Ok(())
        });
        std::future::ready(done.map(|()| rows).map_err(db_error))
    }

    fn fetch_optional(
        conn: &mut Connection,
        q: Query,
    ) -> impl Future<Output = Result<Option<Row>>> + Send {
        let mut first = None;
        let done = run(conn, &q, |r| {
            first.get_or_insert(r);
            Ok(())
        });
        std::future::ready(done.map(|()| first).map_err(db_error))
    }
}

/// A bound value as SQLite stores it (as sqlx would: UUIDs as blobs, booleans as
/// integers), borrowed from the argument.
struct Bound<'a>(&'a Arg);

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Arg::Uuid(Some(u)) => ToSqlOutput::Borrowed(ValueRef::Blob(u.as_bytes())),
            Arg::Text(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Arg::Int(Some(i)) => ToSqlOutput::Owned(Value::Integer(*i)),
            Arg::Bool(Some(b)) => ToSqlOutput::Owned(Value::Integer((*b).into())),
            Arg::Bytes(Some(b)) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Arg::Uuid(None)
            | Arg::Text(None)
            | Arg::Int(None)
            | Arg::Bool(None)
            | Arg::Bytes(None) => ToSqlOutput::Owned(Value::Null),
        })
    }
}

/// A failed statement: SQLite's error, no row where one was required, or a column
/// that does not hold the type asked for.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("column {0}: {1}")]
    Decode(String, String),
}

/// Maps a driver error: a locked or busy database is `unavailable` (retry), anything
/// else is internal.
pub fn db_error(e: DriverError) -> Error {
    match &e {
        DriverError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::CannotOpen
                    | rusqlite::ErrorCode::DiskFull
                    | rusqlite::ErrorCode::SystemIoFailure
            ) =>
        {
            Error::Unavailable(e.to_string())
        }
        _ => Error::internal(e),
    }
}

/// One result row, owned: its statement's column names and its values. The bytes of
/// its text and blob values are kept in one buffer, so a row costs two allocations
/// whatever its width, and a column read copies its bytes once (into the `String`,
/// `Vec` or `Uuid` asked for).
pub struct Row {
    columns: Arc<[String]>,
    cells: Vec<Stored>,
    bytes: Vec<u8>,
    /// Where the next look-up by name starts: just after the last column found, as
    /// columns are mostly read in the order they are selected.
    next: std::cell::Cell<usize>,
}

/// One value of a row; text and blobs as their range in the row's `bytes`.
#[derive(Clone, Copy)]
enum Stored {
    Null,
    Integer(i64),
    Real(f64),
    Text(usize, usize),
    Blob(usize, usize),
}

impl Row {
    fn value(&self, i: usize) -> ValueRef<'_> {
        match self.cells[i] {
            Stored::Null => ValueRef::Null,
            Stored::Integer(n) => ValueRef::Integer(n),
            Stored::Real(f) => ValueRef::Real(f),
            Stored::Text(a, b) => ValueRef::Text(&self.bytes[a..b]),
            Stored::Blob(a, b) => ValueRef::Blob(&self.bytes[a..b]),
        }
    }
}

/// Copies a value out of the statement into `bytes` (text and blobs) and a cell.
fn keep(v: ValueRef<'_>, bytes: &mut Vec<u8>) -> Stored {
    let mut span = |b: &[u8]| {
        let start = bytes.len();
        bytes.extend_from_slice(b);
        (start, bytes.len())
    };
    match v {
        ValueRef::Null => Stored::Null,
        ValueRef::Integer(n) => Stored::Integer(n),
        ValueRef::Real(f) => Stored::Real(f),
        ValueRef::Text(t) => {
            let (a, b) = span(t);
            Stored::Text(a, b)
        }
        ValueRef::Blob(t) => {
            let (a, b) = span(t);
            Stored::Blob(a, b)
        }
    }
}

impl SqlRow for Row {
    fn cell(&self, column: &str, kind: Kind) -> Result<Cell> {
        let width = self.columns.len();
        let start = self.next.get();
        let i = (0..width)
            .map(|k| (start + k) % width)
            .find(|&i| self.columns[i] == column)
            .ok_or_else(|| db_error(DriverError::Decode(column.into(), "no such column".into())))?;
        self.next.set(i + 1);
        decode(self.value(i), kind, column).map_err(db_error)
    }
}

/// A stored value as a cell of `kind` (the value of `column`).
fn decode(v: ValueRef<'_>, kind: Kind, column: &str) -> std::result::Result<Cell, DriverError> {
    let refused = |why: String| DriverError::Decode(column.into(), why);
    Ok(match (kind, v) {
        (_, ValueRef::Null) => Cell::Null,
        (Kind::Int, ValueRef::Integer(i)) => Cell::Int(i),
        (Kind::Bool, ValueRef::Integer(i)) => Cell::Bool(i != 0),
        (Kind::Text, ValueRef::Text(t)) => {
            Cell::Text(String::from_utf8(t.to_vec()).map_err(|e| refused(e.to_string()))?)
        }
        (Kind::Bytes, ValueRef::Blob(b)) => Cell::Bytes(b.to_vec()),
        (Kind::Uuid, ValueRef::Blob(b)) => {
            Cell::Uuid(Uuid::from_slice(b).map_err(|e| refused(e.to_string()))?)
        }
        (kind, v) => {
            return Err(refused(format!(
                "a {} where {kind:?} was expected",
                v.data_type()
            )));
        }
    })
}

/// What is kept of a statement's text: which argument each of its parameters takes
/// (a function of the text alone), and the names of its columns.
struct Shape {
    /// For SQLite's parameter `i + 1`, the index into the query's arguments.
    args: Box<[usize]>,
    columns: Arc<[String]>,
}

/// Statement texts are hashed at every execution, and chosen by the code, not its
/// callers: a fast hash (not one that resists chosen collisions) serves.
type Shapes = HashMap<Box<str>, Shape, foldhash::fast::RandomState>;

thread_local! {
    /// Statement shapes by SQL text, on each thread that runs statements.
    static SHAPES: RefCell<Shapes> = RefCell::new(Shapes::default());
}

/// Which argument each parameter of `stmt` takes: `?N` has index N already; `$N` is a
/// name SQLite numbers by first use.
fn argument_order(stmt: &rusqlite::Statement<'_>) -> Result<Box<[usize]>, DriverError> {
    (1..=stmt.parameter_count())
        .map(|i| match stmt.parameter_name(i) {
            None => Ok(i - 1),
            Some(name) => name[1..]
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .ok_or_else(|| DriverError::Decode(name.into(), "not a numbered parameter".into())),
        })
        .collect()
}

/// Binds the arguments of `q` to `stmt` and gives the names of its columns, shared by
/// every row it returns. Both are kept per SQL text and thread; the names are compared
/// with the statement's (no copy) before they are used, so the same text on another
/// schema never gets another's names.
fn bind(stmt: &mut rusqlite::Statement<'_>, q: &Query) -> Result<Arc<[String]>, DriverError> {
    let sql = q.sql.as_str();
    SHAPES.with_borrow_mut(|cache| {
        let same = |shape: &&Shape| {
            shape.columns.len() == stmt.column_count()
                && (shape.columns.iter().enumerate())
                    .all(|(i, n)| stmt.column_name(i).is_ok_and(|c| c == n))
        };
        let shape = match cache.get(sql).filter(same) {
            Some(shape) => shape,
            None => {
                // Texts built with a varying number of parameters are many; keep a
                // bounded set.
                if cache.len() >= 1024 {
                    cache.clear();
                }
                let shape = Shape {
                    args: argument_order(stmt)?,
                    columns: stmt.column_names().into_iter().map(str::to_owned).collect(),
                };
                cache.entry(sql.into()).insert_entry(shape).into_mut()
            }
        };
        for (i, n) in shape.args.iter().enumerate() {
            let value = q.args.get(*n).ok_or_else(|| {
                DriverError::Decode(format!("parameter {}", n + 1), "no value bound".into())
            })?;
            stmt.raw_bind_parameter(i + 1, Bound(value))?;
        }
        Ok(shape.columns.clone())
    })
}

/// Prepares (from the connection's cache), binds, and steps through every row.
fn run(
    conn: &Connection,
    q: &Query,
    mut each: impl FnMut(Row) -> Result<(), DriverError>,
) -> Result<(), DriverError> {
    let mut stmt = conn.prepare_cached(q.sql.as_str())?;
    let columns = bind(&mut stmt, q)?;
    let width = columns.len();
    let mut rows = stmt.raw_query();
    // Rows of one statement are alike: each buffer starts as large as the last.
    let mut size = 0;
    while let Some(r) = rows.next()? {
        let mut cells = Vec::with_capacity(width);
        let mut bytes = Vec::with_capacity(size);
        for i in 0..width {
            cells.push(keep(r.get_ref(i)?, &mut bytes));
        }
        size = bytes.len();
        each(Row {
            columns: columns.clone(),
            cells,
            bytes,
            next: Default::default(),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;
    use guestlist_store_sql::{QueryBuilder, get, query};

    use super::*;

    fn now<T>(f: impl Future<Output = T>) -> T {
        f.now_or_never()
            .expect("SQLite statements are ready when called")
    }

    fn conn() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id BLOB PRIMARY KEY, name TEXT NOT NULL, n INTEGER, flag BOOLEAN NOT NULL)",
        )
        .unwrap();
        conn
    }

    fn one(c: &mut Connection, q: Query) -> Row {
        now(Sqlite::fetch_optional(c, q)).unwrap().expect("a row")
    }

    #[test]
    fn numbered_parameters_bind_by_number_in_any_order_and_repeated() {
        let mut c = conn();
        // The second time, the text's parameter order comes from the thread's cache.
        for (name, n) in [("ann", 7_i64), ("bob", 3)] {
            let id = Uuid::now_v7();
            let q = query("INSERT INTO t (name, id, n, flag) VALUES ($2, $1, $3, $3 > 5)")
                .bind(id)
                .bind(name)
                .bind(n);
            assert_eq!(now(Sqlite::execute(&mut c, q)).unwrap(), 1);
            let row = one(
                &mut c,
                query("SELECT id, name, n, flag FROM t WHERE id = $1").bind(id),
            );
            assert_eq!(get::<Uuid>(&row, "id").unwrap(), id);
            assert_eq!(get::<String>(&row, "name").unwrap(), name);
            assert_eq!(get::<Option<i64>>(&row, "n").unwrap(), Some(n));
            assert_eq!(get::<bool>(&row, "flag").unwrap(), n > 5);
        }
        let row = one(&mut c, query("SELECT id, name, n, flag FROM t WHERE n = 7"));
        // A column of another type, or one the statement does not return, is an error.
        assert!(get::<i64>(&row, "name").is_err());
        assert!(get::<i64>(&row, "nope").is_err());
    }

    #[test]
    fn the_same_text_on_another_schema_reads_that_schemas_columns() {
        // Column names are kept per SQL text; a text that means other columns elsewhere
        // must not get the first one's names.
        for (schema, column) in [
            ("CREATE TABLE u (a INTEGER)", "a"),
            ("CREATE TABLE u (b INTEGER)", "b"),
        ] {
            let mut c = Connection::open_in_memory().unwrap();
            c.execute_batch(schema).unwrap();
            c.execute_batch("INSERT INTO u VALUES (1)").unwrap();
            let row = one(&mut c, query("SELECT * FROM u"));
            assert_eq!(get::<i64>(&row, column).unwrap(), 1, "column {column}");
        }
    }

    #[test]
    fn built_queries_number_their_binds_and_nulls_stay_null() {
        let mut c = conn();
        let ids = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
        let mut qb = QueryBuilder::new("INSERT INTO t (id, name, n, flag) VALUES ");
        for (i, id) in ids.iter().enumerate() {
            qb.push(if i == 0 { "(" } else { ", (" })
                .push_bind(*id)
                .push(", ")
                .push_bind(format!("u{i}"))
                .push(", ")
                .push_bind((i > 0).then_some(i as i64))
                .push(", ")
                .push_bind(false)
                .push(")");
        }
        assert_eq!(now(Sqlite::execute(&mut c, qb.build())).unwrap(), 3);

        let mut qb = QueryBuilder::new("SELECT name, n FROM t WHERE id IN (");
        qb.push_list(ids[1..].iter().copied())
            .push(") ORDER BY name");
        let rows = now(Sqlite::fetch_all(&mut c, qb.build())).unwrap();
        let names: Vec<String> = rows.iter().map(|r| get(r, "name").unwrap()).collect();
        assert_eq!(names, ["u1", "u2"]);

        let first = one(&mut c, query("SELECT n FROM t WHERE id = $1").bind(ids[0]));
        assert_eq!(get::<Option<i64>>(&first, "n").unwrap(), None);
        // NULL read where a value is required is an error, not a default.
        assert!(get::<i64>(&first, "n").is_err());
    }

    #[test]
    fn every_row_keeps_its_own_values_of_every_kind() {
        // Rows share nothing: each keeps its texts and blobs in a buffer of its own,
        // sized from the row before it, whatever their lengths.
        let mut c = conn();
        let rows = now(Sqlite::fetch_all(
            &mut c,
            query(
                "SELECT 'a' AS t, x'0102' AS b, 7 AS i, 1.5 AS r, NULL AS z \
                 UNION ALL SELECT 'longer text', x'', -1, 0.0, NULL \
                 UNION ALL SELECT '', x'ff', 0, -2.25, NULL",
            ),
        ))
        .unwrap();
        let read = |r: &Row| {
            (
                get::<String>(r, "t").unwrap(),
                get::<Vec<u8>>(r, "b").unwrap(),
                get::<i64>(r, "i").unwrap(),
                get::<Option<String>>(r, "z").unwrap(),
            )
        };
        let all: Vec<_> = rows.iter().map(read).collect();
        assert_eq!(
            all,
            [
                ("a".into(), vec![1, 2], 7, None),
                ("longer text".into(), vec![], -1, None),
                ("".into(), vec![0xff], 0, None),
            ]
        );
        assert!(matches!(rows[0].value(3), ValueRef::Real(r) if r == 1.5));
        // A column read as a kind it does not hold is an error, not a default.
        assert!(get::<i64>(&rows[0], "t").is_err());
        assert!(get::<String>(&rows[0], "b").is_err());
        assert!(get::<Uuid>(&rows[0], "b").is_err());
        // Text that is not UTF-8 is refused when it is read as a string.
        let bad = one(&mut c, query("SELECT CAST(x'ff' AS TEXT) AS t"));
        assert!(get::<String>(&bad, "t").is_err());
    }

    #[test]
    fn missing_rows_and_values_are_errors_not_defaults() {
        let mut c = conn();
        let q = || query("SELECT name FROM t WHERE id = $1").bind(Uuid::now_v7());
        assert!(now(Sqlite::fetch_optional(&mut c, q())).unwrap().is_none());
        // $2 is used but only one value is bound.
        let q = query("SELECT name FROM t WHERE id = $1 OR name = $2").bind(Uuid::now_v7());
        assert!(now(Sqlite::fetch_all(&mut c, q)).is_err());
    }
}
