use async_trait::async_trait;
use guestlist_store::*;

use crate::SqlTx;
use crate::engine::*;

/// A cell read from a row as its column's kind.
fn read_cell(r: &impl SqlRow, column: &str, kind: transfer::Kind) -> Result<transfer::Cell> {
    r.cell(column, kind)
}

#[async_trait]
impl<E: Engine> TransferTx for SqlTx<'_, E> {
    async fn export_rows(
        &mut self,
        table: &transfer::TableSpec,
        after: Option<&[transfer::Cell]>,
        limit: u32,
    ) -> Result<Vec<Vec<transfer::Cell>>> {
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let key = table.key.join(", ");
        let mut qb = QueryBuilder::new(format!(
            "SELECT {} FROM {} WHERE TRUE",
            columns.join(", "),
            table.name
        ));
        if let Some(after) = after {
            qb.push(format!(" AND ({key}) > ("));
            for (i, (column, cell)) in table.key.iter().zip(after).enumerate() {
                if i > 0 {
                    qb.push(", ");
                }
                let kind = table
                    .kind_of(column)
                    .ok_or_else(|| Error::internal("a key column without a kind"))?;
                qb.push_arg(Arg::of_cell(kind, cell)?);
            }
            qb.push(")");
        }
        qb.push(format!(" ORDER BY {key} LIMIT "))
            .push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&mut *self).await?;
        rows.iter()
            .map(|r| {
                table
                    .columns
                    .iter()
                    .map(|(c, k)| read_cell(r, c, *k))
                    .collect()
            })
            .collect()
    }

    async fn import_row(
        &mut self,
        table: &transfer::TableSpec,
        row: &[transfer::Cell],
    ) -> Result<()> {
        if table.singleton {
            // The migration made the row; the imported one replaces it.
            query_built(format!("DELETE FROM {}", table.name))
                .execute(&mut *self)
                .await?;
        }
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let mut qb = QueryBuilder::new(format!(
            "INSERT INTO {} ({}) VALUES (",
            table.name,
            columns.join(", ")
        ));
        for (i, ((_, kind), cell)) in table.columns.iter().zip(row).enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            qb.push_arg(Arg::of_cell(*kind, cell)?);
        }
        qb.push(")");
        qb.build().execute(&mut *self).await?;
        Ok(())
    }

    async fn after_import(&mut self) -> Result<()> {
        E::after_import(self).await
    }
}
