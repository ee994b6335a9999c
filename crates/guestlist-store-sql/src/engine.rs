//! What an engine gives the shared SQL: a connection, statements run on it, rows read
//! by column name and kind, and its own statements where the engines differ.

use std::future::Future;

use guestlist_store::transfer::{Cell, Kind};
use guestlist_store::{Error, Result};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::SqlTx;

/// A database engine's driver. The shared SQL (`spaces.rs`, `members.rs`, …) is
/// written against it once; each engine's crate implements it and overrides the
/// statements it writes its own way (PostgreSQL's counter shards and row locks).
///
/// The portable defaults suit an engine with one writer (SQLite): every write
/// transaction runs alone, so a count is one conditional `UPDATE` of its row and no
/// row lock is needed.
pub trait Engine: Sized + Send + Sync + 'static {
    /// What a transaction runs on.
    type Conn: Send;
    /// One result row.
    type Row: SqlRow + Send;
    /// A small number distinct per engine, below [`ENGINES`]: where texts assembled
    /// from this engine's column lists are kept (`sql_once!`).
    const SLOT: usize;

    /// Runs a statement to its end; how many rows it changed.
    fn execute(conn: &mut Self::Conn, q: Query) -> impl Future<Output = Result<u64>> + Send;
    fn fetch_all(
        conn: &mut Self::Conn,
        q: Query,
    ) -> impl Future<Output = Result<Vec<Self::Row>>> + Send;
    fn fetch_optional(
        conn: &mut Self::Conn,
        q: Query,
    ) -> impl Future<Output = Result<Option<Self::Row>>> + Send;

    /// An integer expression on an `events` row: 1 when no event with a smaller
    /// sequence number can still commit. With one writer, commit order is sequence
    /// order, so every committed event is.
    const SETTLED: &'static str = "1";

    /// A counter column of `alias` as a select-list item named `column`.
    fn counted(alias: &str, column: &str) -> String {
        format!("{alias}.{column}")
    }

    /// Takes a row lock on space `id`, so that rule checks of concurrent writers see
    /// each other's writes.
    fn lock_space(_tx: &mut SqlTx<'_, Self>, _id: Uuid) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Brings a space's member count up to date before its limit is changed.
    fn settle_member_count(
        _tx: &mut SqlTx<'_, Self>,
        _id: Uuid,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Counts one member into the space if its limit allows: whether it did.
    fn take_seat(
        tx: &mut SqlTx<'_, Self>,
        space_id: Uuid,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            let done = query(
                "UPDATE spaces SET member_count = member_count + 1 \
                 WHERE id = $1 AND (member_limit IS NULL OR member_count < member_limit)",
            )
            .bind(space_id)
            .execute(tx)
            .await?;
            Ok(done == 1)
        }
    }

    /// Counts one member out of the space.
    fn free_seat(
        tx: &mut SqlTx<'_, Self>,
        space_id: Uuid,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            query("UPDATE spaces SET member_count = member_count - 1 WHERE id = $1 AND member_count > 0")
                .bind(space_id)
                .execute(tx)
                .await?;
            Ok(())
        }
    }

    /// Counts one use of a live link if it has one left: whether it did.
    fn claim_invite_use(
        tx: &mut SqlTx<'_, Self>,
        id: Uuid,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            let done = query(
                "UPDATE invites SET uses = uses + 1 \
                 WHERE id = $1 AND revoked_at IS NULL \
                   AND (expires_at IS NULL OR expires_at > $2) \
                   AND (max_uses IS NULL OR uses < max_uses)",
            )
            .bind(id)
            .bind(ms(now))
            .execute(tx)
            .await?;
            Ok(done == 1)
        }
    }

    /// Runs after an import: moves generated keys past the imported rows.
    fn after_import(_tx: &mut SqlTx<'_, Self>) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

/// How many engines may keep texts (`Engine::SLOT` is below it).
pub const ENGINES: usize = 2;

/// A row of a result, read by column name as the kind asked for.
pub trait SqlRow {
    /// The value of `column`, read as `kind`; `Cell::Null` for NULL.
    fn cell(&self, column: &str, kind: Kind) -> Result<Cell>;
}

/// A value bound to a statement: typed, even when NULL, so an engine that types its
/// parameters (PostgreSQL) knows what it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Uuid(Option<Uuid>),
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Bytes(Option<Vec<u8>>),
}

impl Arg {
    /// A cell of a column of `kind`, as an argument.
    pub fn of_cell(kind: Kind, cell: &Cell) -> Result<Arg> {
        Ok(match (kind, cell) {
            (Kind::Uuid, Cell::Uuid(v)) => Arg::Uuid(Some(*v)),
            (Kind::Uuid, Cell::Null) => Arg::Uuid(None),
            (Kind::Text, Cell::Text(v)) => Arg::Text(Some(v.clone())),
            (Kind::Text, Cell::Null) => Arg::Text(None),
            (Kind::Int, Cell::Int(v)) => Arg::Int(Some(*v)),
            (Kind::Int, Cell::Null) => Arg::Int(None),
            (Kind::Bool, Cell::Bool(v)) => Arg::Bool(Some(*v)),
            (Kind::Bool, Cell::Null) => Arg::Bool(None),
            (Kind::Bytes, Cell::Bytes(v)) => Arg::Bytes(Some(v.clone())),
            (Kind::Bytes, Cell::Null) => Arg::Bytes(None),
            (kind, cell) => {
                return Err(Error::invalid(
                    "row",
                    format!("a {kind:?} column cannot hold {cell:?}"),
                ));
            }
        })
    }
}

/// A Rust value a statement can take.
pub trait Bind {
    fn arg(self) -> Arg;
}

macro_rules! bind {
    ($($t:ty => $variant:ident($conv:expr)),* $(,)?) => {$(
        impl Bind for $t {
            fn arg(self) -> Arg {
                #[allow(clippy::redundant_closure_call)]
                Arg::$variant(Some(($conv)(self)))
            }
        }
        impl Bind for Option<$t> {
            fn arg(self) -> Arg {
                #[allow(clippy::redundant_closure_call)]
                Arg::$variant(self.map($conv))
            }
        }
    )*};
}

bind! {
    Uuid => Uuid(|v| v),
    &Uuid => Uuid(|v: &Uuid| *v),
    String => Text(|v| v),
    &String => Text(|v: &String| v.clone()),
    &str => Text(|v: &str| v.to_owned()),
    i64 => Int(|v| v),
    i32 => Int(i64::from),
    u32 => Int(i64::from),
    bool => Bool(|v| v),
    Vec<u8> => Bytes(|v| v),
    &Vec<u8> => Bytes(|v: &Vec<u8>| v.clone()),
    &[u8] => Bytes(|v: &[u8]| v.to_vec()),
}

/// A Rust value a column can give.
pub trait Column: Sized {
    fn read(row: &impl SqlRow, column: &str) -> Result<Self>;
}

macro_rules! column {
    ($($t:ty => $kind:ident),* $(,)?) => {$(
        impl Column for Option<$t> {
            fn read(row: &impl SqlRow, column: &str) -> Result<Self> {
                match row.cell(column, Kind::$kind)? {
                    Cell::Null => Ok(None),
                    Cell::$kind(v) => Ok(Some(v)),
                    other => Err(Error::internal(format!("column {column}: {other:?} where {:?} was asked", Kind::$kind))),
                }
            }
        }
        impl Column for $t {
            fn read(row: &impl SqlRow, column: &str) -> Result<Self> {
                Option::<$t>::read(row, column)?
                    .ok_or_else(|| Error::internal(format!("column {column}: NULL where a value was expected")))
            }
        }
    )*};
}

column! {
    Uuid => Uuid,
    String => Text,
    i64 => Int,
    bool => Bool,
    Vec<u8> => Bytes,
}

/// The value of `column` in `row`.
pub fn get<T: Column>(row: &impl SqlRow, column: &str) -> Result<T> {
    T::read(row, column)
}

/// A statement's text: written in the source, or assembled.
#[derive(Debug)]
pub enum Sql {
    Static(&'static str),
    Built(String),
}

impl Sql {
    pub fn as_str(&self) -> &str {
        match self {
            Sql::Static(s) => s,
            Sql::Built(s) => s,
        }
    }
}

/// A statement with its arguments; `$N` refers to the N-th bound value.
#[derive(Debug)]
pub struct Query {
    pub sql: Sql,
    pub args: Vec<Arg>,
}

/// A statement written in the source (or assembled once, by `sql_once!`).
pub fn query(sql: &'static str) -> Query {
    Query {
        sql: Sql::Static(sql),
        args: Vec::new(),
    }
}

/// A statement assembled at run time from names the code chose (never from input:
/// values are always bound).
pub fn query_built(sql: String) -> Query {
    Query {
        sql: Sql::Built(sql),
        args: Vec::new(),
    }
}

impl Query {
    pub fn bind(mut self, value: impl Bind) -> Self {
        self.args.push(value.arg());
        self
    }

    /// Runs the statement; how many rows it changed.
    pub async fn execute<E: Engine>(self, tx: &mut SqlTx<'_, E>) -> Result<u64> {
        E::execute(tx.conn(), self).await
    }

    pub async fn fetch_all<E: Engine>(self, tx: &mut SqlTx<'_, E>) -> Result<Vec<E::Row>> {
        E::fetch_all(tx.conn(), self).await
    }

    pub async fn fetch_optional<E: Engine>(self, tx: &mut SqlTx<'_, E>) -> Result<Option<E::Row>> {
        E::fetch_optional(tx.conn(), self).await
    }

    /// The first row, which must exist.
    pub async fn fetch_one<E: Engine>(self, tx: &mut SqlTx<'_, E>) -> Result<E::Row> {
        E::fetch_optional(tx.conn(), self)
            .await?
            .ok_or_else(|| Error::internal("no row returned where one was expected"))
    }
}

/// A statement assembled piece by piece; `push_bind` appends a numbered parameter.
pub struct QueryBuilder {
    sql: String,
    args: Vec<Arg>,
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

    pub fn push_bind(&mut self, value: impl Bind) -> &mut Self {
        self.push_arg(value.arg())
    }

    pub fn push_arg(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        let n = self.args.len();
        self.push(format_args!("${n}"))
    }

    /// `a, b, c`: the values bound, separated.
    pub fn push_list<T: Bind>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_bind(v);
        }
        self
    }

    pub fn build(self) -> Query {
        Query {
            sql: Sql::Built(self.sql),
            args: self.args,
        }
    }
}

/// A time as stored: milliseconds since the epoch.
pub fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn at(ms: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(Error::internal)
}

pub fn opt_at(ms: Option<i64>) -> Result<Option<OffsetDateTime>> {
    ms.map(at).transpose()
}

pub fn u32_of(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(Error::internal)
}
