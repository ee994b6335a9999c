//! Export and import carry every table and every column the migrations create, on
//! the engine under test: `transfer::tables()` is checked against the live schema, so a
//! migration that adds a table or a column without teaching export about it fails
//! here.

use std::collections::BTreeSet;

use guestlist_app::store::transfer::tables;

use crate::helpers::{TestApp, postgres_url};

#[tokio::test]
async fn export_and_import_cover_every_table_and_column_of_the_schema() {
    let t = TestApp::spawn().await;
    let live: BTreeSet<String> = if postgres_url().is_some() {
        t.column_text(
            "SELECT table_name || '.' || column_name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%'",
        )
        .await
    } else {
        t.column_text(
            "SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
               AND m.name NOT LIKE '\\_sqlx%' ESCAPE '\\'",
        )
        .await
    }
    .into_iter()
    .filter(|c| !guestlist_app::store::transfer::ENGINE_BOOKKEEPING.contains(&c.as_str()))
    .collect();
    let exported: BTreeSet<String> = tables()
        .flat_map(|t| {
            t.columns
                .iter()
                .map(move |(c, _)| format!("{}.{c}", t.name))
        })
        .collect();
    assert!(!live.is_empty());
    let missing: Vec<_> = live.difference(&exported).collect();
    let stale: Vec<_> = exported.difference(&live).collect();
    assert!(
        missing.is_empty(),
        "columns export does not carry: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "columns export names that the schema lacks: {stale:?}"
    );
}
