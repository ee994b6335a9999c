//! `guestlist export` / `import`: the database as JSON Lines, one row a line:
//! `{"table": "spaces", "row": {"id": "…", "path": "acme/", …}}`. Bytes are hex.

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use guestlist_app::store::Store;
use guestlist_app::store::transfer::{self, Cell, Kind, TableSpec};
use serde_json::{Map, Value};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn to_json(table: &TableSpec, row: Vec<Cell>) -> Value {
    let mut obj = Map::new();
    for ((column, _), cell) in table.columns.iter().zip(row) {
        let v = match cell {
            Cell::Null => Value::Null,
            Cell::Uuid(u) => Value::String(u.to_string()),
            Cell::Text(t) => Value::String(t),
            Cell::Int(i) => Value::from(i),
            Cell::Bool(b) => Value::Bool(b),
            Cell::Bytes(b) => Value::String(hex(&b)),
        };
        obj.insert((*column).to_owned(), v);
    }
    serde_json::json!({ "table": table.name, "row": obj })
}

fn from_json(line: &str, n: usize) -> Result<(&'static TableSpec, Vec<Cell>), String> {
    let bad = |why: &str| format!("line {n}: {why}");
    let v: Value = serde_json::from_str(line).map_err(|e| bad(&e.to_string()))?;
    let name = v["table"].as_str().ok_or_else(|| bad("no table"))?;
    let table = transfer::table(name).map_err(|e| bad(&e.to_string()))?;
    let row = v["row"].as_object().ok_or_else(|| bad("no row"))?;
    let mut cells = Vec::with_capacity(table.columns.len());
    for (column, kind) in table.columns {
        let value = row.get(*column).unwrap_or(&Value::Null);
        let cell = match (kind, value) {
            (_, Value::Null) => Cell::Null,
            (Kind::Uuid, Value::String(s)) => Cell::Uuid(
                s.parse()
                    .map_err(|_| bad(&format!("{column}: not a uuid")))?,
            ),
            (Kind::Text, Value::String(s)) => Cell::Text(s.clone()),
            (Kind::Int, Value::Number(x)) => Cell::Int(
                x.as_i64()
                    .ok_or_else(|| bad(&format!("{column}: not an integer")))?,
            ),
            (Kind::Bool, Value::Bool(b)) => Cell::Bool(*b),
            (Kind::Bytes, Value::String(s)) => {
                Cell::Bytes(unhex(s).ok_or_else(|| bad(&format!("{column}: not hex")))?)
            }
            _ => return Err(bad(&format!("{column}: a {kind:?} was expected"))),
        };
        cells.push(cell);
    }
    Ok((table, cells))
}

pub async fn export(store: &dyn Store, output: Option<&Path>) -> Result<u64, String> {
    let out: Box<dyn Write> = match output {
        Some(path) => {
            Box::new(std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(out);
    let n = transfer::export(store, |table, row| {
        writeln!(out, "{}", to_json(table, row)).map_err(guestlist_app::domain::Error::internal)
    })
    .await
    .map_err(|e| format!("{e}: {e:?}"))?;
    out.flush().map_err(|e| e.to_string())?;
    Ok(n)
}

pub async fn import(store: &dyn Store, input: Option<&Path>) -> Result<u64, String> {
    let reader: Box<dyn BufRead> = match input {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let mut importer = transfer::Importer::new(store)
        .await
        .map_err(|e| e.to_string())?;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            continue;
        }
        let (table, row) = from_json(&line, i + 1)?;
        importer
            .push(table, row)
            .await
            .map_err(|e| format!("line {}: {e}: {e:?}", i + 1))?;
    }
    importer.finish().await.map_err(|e| format!("{e}: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_json() {
        let table = transfer::table("invites").unwrap();
        let row: Vec<Cell> = table
            .columns
            .iter()
            .map(|(_, k)| match k {
                Kind::Uuid => Cell::Uuid(uuid::Uuid::now_v7()),
                Kind::Text => Cell::Text("t\"x".into()),
                Kind::Int => Cell::Int(-7),
                Kind::Bool => Cell::Bool(true),
                Kind::Bytes => Cell::Bytes(vec![0, 255, 16]),
            })
            .collect();
        let line = to_json(table, row.clone()).to_string();
        let (back_table, back) = from_json(&line, 1).unwrap();
        assert_eq!(back_table.name, "invites");
        assert_eq!(back, row);
        assert!(
            from_json(r#"{"table":"nope","row":{}}"#, 3)
                .unwrap_err()
                .contains("line 3")
        );
        assert_eq!(unhex("0aff"), Some(vec![10, 255]));
        assert_eq!(unhex("0a f"), None);
    }
}
