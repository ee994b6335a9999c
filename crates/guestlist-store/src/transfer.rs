//! Copying a whole database between engines (`guestlist export` / `import`): every
//! table as rows of typed cells, in key order, in pages. The table list below is the
//! one description of the schema's columns both engines share.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{Error, Operation, Result, Store, Tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Uuid,
    Text,
    Int,
    Bool,
    Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Uuid(Uuid),
    Text(String),
    Int(i64),
    Bool(bool),
    Bytes(Vec<u8>),
}

#[derive(Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    /// A unique key, for paging in a stable order.
    pub key: &'static [&'static str],
    /// One row the migrations create (settings): an import replaces it, and it does
    /// not make a database count as non-empty.
    pub singleton: bool,
}

impl TableSpec {
    pub fn kind_of(&self, column: &str) -> Option<Kind> {
        self.columns
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, k)| *k)
    }

    fn key_cells(&self, row: &[Cell]) -> Vec<Cell> {
        self.key
            .iter()
            .map(|k| {
                let i = self.columns.iter().position(|(c, _)| c == k).unwrap_or(0);
                row[i].clone()
            })
            .collect()
    }
}

/// Every feature's tables (each in its own file), in an order that satisfies foreign
/// keys on import.
const TABLES: &[&[TableSpec]] = &[
    crate::spaces::TABLES,
    crate::invites::TABLES,
    crate::members::TABLES,
    crate::invitations::TABLES,
    crate::events::TABLES,
    crate::signup::TABLES,
    // After both kinds of invitation it is about.
    crate::mail::TABLES,
    crate::requests::TABLES,
    crate::api_keys::TABLES,
    crate::users::TABLES,
    crate::sessions::TABLES,
    crate::webhooks::TABLES,
    crate::scim::TABLES,
];

/// Columns and tables an engine keeps for itself, not carried by export: PostgreSQL's
/// `events.settles_at` (when a number is final; an imported event is final) and its
/// scratch table for it.
pub const ENGINE_BOOKKEEPING: &[&str] = &["events.settles_at", "events_clock.tick"];

/// Every table, in import order.
pub fn tables() -> impl Iterator<Item = &'static TableSpec> {
    TABLES.iter().flat_map(|t| t.iter())
}

pub fn table(name: &str) -> Result<&'static TableSpec> {
    tables()
        .find(|t| t.name == name)
        .ok_or_else(|| Error::invalid("table", format!("unknown table {name:?}")))
}

struct ExportPage {
    table: &'static TableSpec,
    after: Option<Vec<Cell>>,
    limit: u32,
}

#[async_trait]
impl Operation for ExportPage {
    type Output = Vec<Vec<Cell>>;
    async fn run(&self, tx: &mut dyn Tx) -> Result<Self::Output> {
        tx.export_rows(self.table, self.after.as_deref(), self.limit)
            .await
    }
}

struct ImportRows {
    table: &'static TableSpec,
    rows: Vec<Vec<Cell>>,
}

#[async_trait]
impl Operation for ImportRows {
    type Output = ();
    async fn run(&self, tx: &mut dyn Tx) -> Result<()> {
        for row in &self.rows {
            tx.import_row(self.table, row).await?;
        }
        Ok(())
    }
}

struct Finish;

#[async_trait]
impl Operation for Finish {
    type Output = ();
    async fn run(&self, tx: &mut dyn Tx) -> Result<()> {
        tx.after_import().await
    }
}

struct IsEmpty;

#[async_trait]
impl Operation for IsEmpty {
    type Output = bool;
    async fn run(&self, tx: &mut dyn Tx) -> Result<bool> {
        for t in tables().filter(|t| !t.singleton) {
            if !tx.export_rows(t, None, 1).await?.is_empty() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

const PAGE: u32 = 500;

/// Streams every row of every table to `sink`, table by table, in key order.
pub async fn export(
    store: &dyn Store,
    mut sink: impl FnMut(&TableSpec, Vec<Cell>) -> Result<()>,
) -> Result<u64> {
    let mut n = 0;
    for table in tables() {
        let mut after = None;
        loop {
            let rows = store
                .read(ExportPage {
                    table,
                    after: after.take(),
                    limit: PAGE,
                })
                .await?;
            let full = rows.len() == PAGE as usize;
            after = rows.last().map(|r| table.key_cells(r));
            for row in rows {
                sink(table, row)?;
                n += 1;
            }
            if !full {
                break;
            }
        }
    }
    Ok(n)
}

/// Writes rows into an empty database, `PAGE` rows per transaction; the caller feeds
/// them in the order `export` produced.
pub struct Importer<'s> {
    store: &'s dyn Store,
    pending: Vec<Vec<Cell>>,
    table: Option<&'static TableSpec>,
    pub rows: u64,
}

impl<'s> Importer<'s> {
    /// Refuses a database that already holds data: an import never merges.
    pub async fn new(store: &'s dyn Store) -> Result<Self> {
        if !store.read(IsEmpty).await? {
            return Err(Error::AlreadyExists(
                "the target database is not empty".into(),
            ));
        }
        Ok(Importer {
            store,
            pending: Vec::new(),
            table: None,
            rows: 0,
        })
    }

    pub async fn push(&mut self, table: &'static TableSpec, row: Vec<Cell>) -> Result<()> {
        if row.len() != table.columns.len() {
            return Err(Error::invalid(
                "row",
                format!("a {} row has {} columns", table.name, table.columns.len()),
            ));
        }
        if self.table.is_some_and(|t| t.name != table.name) || self.pending.len() >= PAGE as usize {
            self.flush().await?;
        }
        self.table = Some(table);
        self.pending.push(row);
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        if let Some(table) = self.table
            && !self.pending.is_empty()
        {
            let rows = std::mem::take(&mut self.pending);
            self.rows += rows.len() as u64;
            self.store.write(ImportRows { table, rows }).await?;
        }
        Ok(())
    }

    pub async fn finish(mut self) -> Result<u64> {
        self.flush().await?;
        self.store.write(Finish).await?;
        Ok(self.rows)
    }
}
