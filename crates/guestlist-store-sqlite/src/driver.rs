//! What the shared SQL (`guestlist_store::impl_sql_tx!`) runs through on SQLite: the
//! few pieces of sqlx's query API it uses, over a `rusqlite` connection, executed on
//! the calling thread.
//!
//! sqlx runs every SQLite connection on a thread of its own and each statement is a
//! round trip to it (two thread wake-ups, ~35–50 µs on a busy two-core machine, more
//! than SQLite needs for the statement). Here the writer thread and the readers call
//! SQLite directly: the futures below are ready when created. Values are stored as
//! sqlx stores them (UUIDs as 16-byte blobs, booleans as integers), so files written
//! by either read the same, and migrations stay sqlx's.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::{Ready, ready};
use std::sync::Arc;

use guestlist_store::Error;
use rusqlite::types::{Value, ValueRef};
use uuid::Uuid;

pub type Connection = rusqlite::Connection;

/// A failed statement: SQLite's error, no row where one was required, or a column
/// that does not hold the type asked for.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("no row returned where one was expected")]
    RowNotFound,
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

/// SQL built at run time, declared safe by its author (as sqlx's type of that name).
pub struct AssertSqlSafe<T>(pub T);

/// A statement's text: written in the source, or built.
pub enum Sql {
    Static(&'static str),
    Built(String),
}

impl Sql {
    fn as_str(&self) -> &str {
        match self {
            Sql::Static(s) => s,
            Sql::Built(s) => s,
        }
    }
}

impl From<&'static str> for Sql {
    fn from(s: &'static str) -> Self {
        Sql::Static(s)
    }
}

impl From<AssertSqlSafe<String>> for Sql {
    fn from(s: AssertSqlSafe<String>) -> Self {
        Sql::Built(s.0)
    }
}

/// A value a statement can take.
pub trait Bind {
    fn value(self) -> Value;
}

impl Bind for i64 {
    fn value(self) -> Value {
        Value::Integer(self)
    }
}

impl Bind for i32 {
    fn value(self) -> Value {
        Value::Integer(self.into())
    }
}

impl Bind for bool {
    fn value(self) -> Value {
        Value::Integer(self.into())
    }
}

impl Bind for String {
    fn value(self) -> Value {
        Value::Text(self)
    }
}

impl Bind for &str {
    fn value(self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl Bind for &String {
    fn value(self) -> Value {
        Value::Text(self.clone())
    }
}

impl Bind for Vec<u8> {
    fn value(self) -> Value {
        Value::Blob(self)
    }
}

impl Bind for &[u8] {
    fn value(self) -> Value {
        Value::Blob(self.to_vec())
    }
}

impl Bind for &Vec<u8> {
    fn value(self) -> Value {
        Value::Blob(self.clone())
    }
}

impl Bind for Uuid {
    fn value(self) -> Value {
        Value::Blob(self.as_bytes().to_vec())
    }
}

impl Bind for &Uuid {
    fn value(self) -> Value {
        (*self).value()
    }
}

impl<T: Bind> Bind for Option<T> {
    fn value(self) -> Value {
        self.map_or(Value::Null, Bind::value)
    }
}

/// A value a column can give.
pub trait Decode: Sized {
    fn decode(v: ValueRef<'_>) -> Result<Self, String>;
}

fn wrong(v: ValueRef<'_>, want: &str) -> String {
    format!("a {} where {want} was expected", v.data_type())
}

impl Decode for i64 {
    fn decode(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Integer(i) => Ok(i),
            v => Err(wrong(v, "an integer")),
        }
    }
}

impl Decode for bool {
    fn decode(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Integer(i) => Ok(i != 0),
            v => Err(wrong(v, "a boolean")),
        }
    }
}

impl Decode for String {
    fn decode(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Text(t) => String::from_utf8(t.to_vec()).map_err(|e| e.to_string()),
            v => Err(wrong(v, "text")),
        }
    }
}

impl Decode for Vec<u8> {
    fn decode(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            v => Err(wrong(v, "a blob")),
        }
    }
}

impl Decode for Uuid {
    fn decode(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Blob(b) => Uuid::from_slice(b).map_err(|e| e.to_string()),
            v => Err(wrong(v, "a UUID")),
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::decode(v).map(Some),
        }
    }
}

/// One result row, owned: its statement's column names and its values. The bytes of
/// its text and blob values are kept in one buffer, so a row costs two allocations
/// whatever its width, and a column read copies its bytes once (into the `String`,
/// `Vec` or `Uuid` asked for).
pub struct Row {
    columns: Arc<[String]>,
    cells: Vec<Cell>,
    bytes: Vec<u8>,
    /// Where the next look-up by name starts: just after the last column found, as
    /// columns are mostly read in the order they are selected.
    next: std::cell::Cell<usize>,
}

/// One value of a row; text and blobs as their range in the row's `bytes`.
#[derive(Clone, Copy)]
enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(usize, usize),
    Blob(usize, usize),
}

impl Row {
    fn value(&self, i: usize) -> ValueRef<'_> {
        match self.cells[i] {
            Cell::Null => ValueRef::Null,
            Cell::Integer(n) => ValueRef::Integer(n),
            Cell::Real(f) => ValueRef::Real(f),
            Cell::Text(a, b) => ValueRef::Text(&self.bytes[a..b]),
            Cell::Blob(a, b) => ValueRef::Blob(&self.bytes[a..b]),
        }
    }
}

/// Copies a value out of the statement into `bytes` (text and blobs) and a cell.
fn keep(v: ValueRef<'_>, bytes: &mut Vec<u8>) -> Cell {
    let mut span = |b: &[u8]| {
        let start = bytes.len();
        bytes.extend_from_slice(b);
        (start, bytes.len())
    };
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(n) => Cell::Integer(n),
        ValueRef::Real(f) => Cell::Real(f),
        ValueRef::Text(t) => {
            let (a, b) = span(t);
            Cell::Text(a, b)
        }
        ValueRef::Blob(t) => {
            let (a, b) = span(t);
            Cell::Blob(a, b)
        }
    }
}

/// The value of `col` in `row`.
pub fn get<T: Decode>(row: &Row, col: &str) -> guestlist_store::Result<T> {
    let width = row.columns.len();
    let start = row.next.get();
    let i = (0..width)
        .map(|k| (start + k) % width)
        .find(|&i| row.columns[i] == col)
        .ok_or_else(|| db_error(DriverError::Decode(col.into(), "no such column".into())))?;
    row.next.set(i + 1);
    T::decode(row.value(i)).map_err(|e| db_error(DriverError::Decode(col.into(), e)))
}

/// What a write did.
pub struct Done {
    rows: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows
    }
}

thread_local! {
    /// Column names by SQL text, on each thread that runs statements.
    static COLUMNS: RefCell<HashMap<Box<str>, Arc<[String]>>> = RefCell::new(HashMap::new());
}

/// The names of a statement's columns, shared by every row it returns: kept per SQL
/// text and thread, and compared with the statement's (no copy) before they are used,
/// so the same text on another schema never gets another's names.
fn column_names(stmt: &rusqlite::Statement<'_>, sql: &str) -> Arc<[String]> {
    COLUMNS.with_borrow_mut(|cache| {
        if let Some(names) = cache.get(sql)
            && names.len() == stmt.column_count()
            && names
                .iter()
                .enumerate()
                .all(|(i, n)| stmt.column_name(i).is_ok_and(|c| c == n))
        {
            return names.clone();
        }
        // Texts built with a varying number of parameters are many; keep a bounded set.
        if cache.len() >= 1024 {
            cache.clear();
        }
        let names: Arc<[String]> = stmt.column_names().into_iter().map(str::to_owned).collect();
        cache.insert(sql.into(), names.clone());
        names
    })
}

/// A statement with its arguments (`$N` or `?N` refer to the N-th bound value).
pub struct Query {
    sql: Sql,
    args: Vec<Value>,
}

pub fn query(sql: impl Into<Sql>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

impl Query {
    pub fn bind<T: Bind>(mut self, value: T) -> Self {
        self.args.push(value.value());
        self
    }

    /// Runs the statement to its end; rows it returns are dropped.
    pub fn execute(self, conn: &mut Connection) -> Ready<Result<Done, DriverError>> {
        ready(self.run(conn, |_| Ok(())).map(|()| Done {
            rows: conn.changes(),
        }))
    }

    pub fn fetch_all(self, conn: &mut Connection) -> Ready<Result<Vec<Row>, DriverError>> {
        let mut rows = Vec::new();
        ready(
            self.run(conn, |r| {
                rows.push(r);
                Ok(())
            })
            .map(|()| rows),
        )
    }

    pub fn fetch_optional(self, conn: &mut Connection) -> Ready<Result<Option<Row>, DriverError>> {
        let mut first = None;
        ready(
            self.run(conn, |r| {
                first.get_or_insert(r);
                Ok(())
            })
            .map(|()| first),
        )
    }

    pub fn fetch_one(self, conn: &mut Connection) -> Ready<Result<Row, DriverError>> {
        ready(
            self.fetch_optional(conn)
                .into_inner()
                .and_then(|r| r.ok_or(DriverError::RowNotFound)),
        )
    }

    /// Prepares (from the connection's cache), binds, and steps through every row.
    fn run(
        &self,
        conn: &Connection,
        mut each: impl FnMut(Row) -> Result<(), DriverError>,
    ) -> Result<(), DriverError> {
        let mut stmt = conn.prepare_cached(self.sql.as_str())?;
        for i in 1..=stmt.parameter_count() {
            // `?N` has index N already; `$N` is a name SQLite numbers by first use.
            let n = match stmt.parameter_name(i) {
                None => i,
                Some(name) => name[1..].parse::<usize>().map_err(|_| {
                    DriverError::Decode(name.into(), "not a numbered parameter".into())
                })?,
            };
            let value = self.args.get(n - 1).ok_or_else(|| {
                DriverError::Decode(format!("parameter {n}"), "no value bound".into())
            })?;
            stmt.raw_bind_parameter(i, value)?;
        }
        let columns = column_names(&stmt, self.sql.as_str());
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
}

/// A statement assembled piece by piece; `push_bind` appends a numbered parameter.
pub struct QueryBuilder {
    sql: String,
    args: Vec<Value>,
}

impl QueryBuilder {
    pub fn new(sql: impl Into<String>) -> Self {
        QueryBuilder {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: impl std::fmt::Display) -> &mut Self {
        use std::fmt::Write;
        let _ = write!(self.sql, "{sql}");
        self
    }

    pub fn push_bind<T: Bind>(&mut self, value: T) -> &mut Self {
        self.args.push(value.value());
        let n = self.args.len();
        self.push(format_args!("?{n}"))
    }

    pub fn separated(&mut self, separator: &'static str) -> Separated<'_> {
        Separated {
            builder: self,
            separator,
            first: true,
        }
    }

    /// `VALUES (…), (…)`: one tuple per item, its values pushed by `push_tuple`.
    pub fn push_values<I: IntoIterator>(
        &mut self,
        tuples: I,
        mut push_tuple: impl FnMut(Separated<'_>, I::Item),
    ) -> &mut Self {
        self.push("VALUES ");
        for (n, tuple) in tuples.into_iter().enumerate() {
            if n > 0 {
                self.push(", ");
            }
            self.push("(");
            push_tuple(self.separated(", "), tuple);
            self.push(")");
        }
        self
    }

    pub fn build(&mut self) -> Query {
        Query {
            sql: Sql::Built(std::mem::take(&mut self.sql)),
            args: std::mem::take(&mut self.args),
        }
    }
}

/// Pieces of a list, with a separator between them.
pub struct Separated<'b> {
    builder: &'b mut QueryBuilder,
    separator: &'static str,
    first: bool,
}

impl Separated<'_> {
    fn separate(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.builder.push(self.separator);
        }
    }

    pub fn push_bind<T: Bind>(&mut self, value: T) -> &mut Self {
        self.separate();
        self.builder.push_bind(value);
        self
    }

    pub fn push_unseparated(&mut self, sql: impl std::fmt::Display) -> &mut Self {
        self.builder.push(sql);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id BLOB PRIMARY KEY, name TEXT NOT NULL, n INTEGER, flag BOOLEAN NOT NULL)",
        )
        .unwrap();
        conn
    }

    #[test]
    fn numbered_parameters_bind_by_number_in_any_order_and_repeated() {
        let mut c = conn();
        let id = Uuid::now_v7();
        let done = query("INSERT INTO t (name, id, n, flag) VALUES ($2, $1, $3, $3 > 5)")
            .bind(id)
            .bind("ann")
            .bind(7_i64)
            .execute(&mut c)
            .into_inner()
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
        let row = query("SELECT id, name, n, flag FROM t WHERE id = $1")
            .bind(id)
            .fetch_one(&mut c)
            .into_inner()
            .unwrap();
        assert_eq!(get::<Uuid>(&row, "id").unwrap(), id);
        assert_eq!(get::<String>(&row, "name").unwrap(), "ann");
        assert_eq!(get::<Option<i64>>(&row, "n").unwrap(), Some(7));
        assert!(get::<bool>(&row, "flag").unwrap());
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
            let row = query("SELECT * FROM u")
                .fetch_one(&mut c)
                .into_inner()
                .unwrap();
            assert_eq!(get::<i64>(&row, column).unwrap(), 1, "column {column}");
        }
    }

    #[test]
    fn built_queries_number_their_binds_and_nulls_stay_null() {
        let mut c = conn();
        let ids = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
        let mut qb = QueryBuilder::new("INSERT INTO t (id, name, n, flag) ");
        qb.push_values(ids.iter().enumerate(), |mut row, (i, id)| {
            row.push_bind(*id)
                .push_bind(format!("u{i}"))
                .push_bind((i > 0).then_some(i as i64))
                .push_bind(false);
        });
        assert_eq!(
            qb.build()
                .execute(&mut c)
                .into_inner()
                .unwrap()
                .rows_affected(),
            3
        );

        let mut qb = QueryBuilder::new("SELECT name, n FROM t WHERE id IN (");
        let mut list = qb.separated(", ");
        for id in &ids[1..] {
            list.push_bind(*id);
        }
        list.push_unseparated(") ORDER BY name");
        let rows = qb.build().fetch_all(&mut c).into_inner().unwrap();
        let names: Vec<String> = rows.iter().map(|r| get(r, "name").unwrap()).collect();
        assert_eq!(names, ["u1", "u2"]);

        let first = query("SELECT n FROM t WHERE id = $1")
            .bind(ids[0])
            .fetch_one(&mut c)
            .into_inner()
            .unwrap();
        assert_eq!(get::<Option<i64>>(&first, "n").unwrap(), None);
    }

    #[test]
    fn every_row_keeps_its_own_values_of_every_kind() {
        // Rows share nothing: each keeps its texts and blobs in a buffer of its own,
        // sized from the row before it, whatever their lengths.
        let mut c = conn();
        let rows = query(
            "SELECT 'a' AS t, x'0102' AS b, 7 AS i, 1.5 AS r, NULL AS z \
             UNION ALL SELECT 'longer text', x'', -1, 0.0, NULL \
             UNION ALL SELECT '', x'ff', 0, -2.25, NULL",
        )
        .fetch_all(&mut c)
        .into_inner()
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
        let bad = query("SELECT CAST(x'ff' AS TEXT) AS t")
            .fetch_one(&mut c)
            .into_inner()
            .unwrap();
        assert!(get::<String>(&bad, "t").is_err());
    }

    #[test]
    fn missing_rows_and_values_are_errors_not_defaults() {
        let mut c = conn();
        let none = query("SELECT name FROM t WHERE id = $1")
            .bind(Uuid::now_v7())
            .fetch_optional(&mut c)
            .into_inner()
            .unwrap();
        assert!(none.is_none());
        assert!(matches!(
            query("SELECT name FROM t WHERE id = $1")
                .bind(Uuid::now_v7())
                .fetch_one(&mut c)
                .into_inner(),
            Err(DriverError::RowNotFound)
        ));
        // $2 is used but only one value is bound.
        assert!(
            query("SELECT name FROM t WHERE id = $1 OR name = $2")
                .bind(Uuid::now_v7())
                .fetch_all(&mut c)
                .into_inner()
                .is_err()
        );
    }
}
