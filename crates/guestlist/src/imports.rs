//! `guestlist import --from FILE`: another system's spaces, members and live links,
//! read from JSON Lines or CSV a batch at a time (the file is streamed, never held
//! whole), applied straight to the database the config names, each batch in one
//! transaction, with a progress bar, a summary and a report of the rows refused.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use guestlist_app::domain::{Actor, Error};
use guestlist_app::{App, ImportOutcome};
use guestlist_client::api;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};

pub struct ImportArgs {
    pub from: PathBuf,
    pub dry_run: bool,
    pub all_or_nothing: bool,
    pub batch: usize,
    pub report: Option<PathBuf>,
}

/// Rows and their line numbers, from a JSON Lines or CSV file (by its extension).
enum Rows {
    /// The reader, and the bytes read so far.
    Jsonl(BufReader<File>, u64),
    Csv(
        csv::StringRecordsIntoIter<BufReader<File>>,
        csv::StringRecord,
    ),
}

/// CSV columns read as numbers and booleans; the rest are text, an empty cell absent.
const NUMBERS: &[&str] = &["max_uses", "uses", "member_limit"];
const BOOLEANS: &[&str] = &["revoked"];

impl Rows {
    fn open(path: &Path) -> Result<Rows, String> {
        let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let reader = BufReader::with_capacity(1 << 16, file);
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => {
                let mut r = csv::ReaderBuilder::new()
                    .flexible(false)
                    .from_reader(reader);
                let header = r
                    .headers()
                    .map_err(|e| format!("{}: {e}", path.display()))?
                    .clone();
                Ok(Rows::Csv(r.into_records(), header))
            }
            Some("jsonl" | "ndjson" | "json") => Ok(Rows::Jsonl(reader, 0)),
            _ => Err(format!(
                "{}: the file must end in .jsonl (JSON Lines) or .csv",
                path.display()
            )),
        }
    }

    /// The next row (a malformed one as its error) with its line number; `None` at
    /// the end.
    fn next(&mut self, line: &mut u64) -> Option<Result<api::ImportRow, Error>> {
        match self {
            Rows::Jsonl(reader, bytes) => {
                let mut l = String::new();
                loop {
                    l.clear();
                    *line += 1;
                    match reader.read_line(&mut l) {
                        Err(e) => return Some(Err(Error::invalid("line", e.to_string()))),
                        Ok(0) => return None,
                        Ok(n) => *bytes += n as u64,
                    }
                    if !l.trim().is_empty() {
                        return Some(
                            serde_json::from_str(&l)
                                .map_err(|e| Error::invalid("line", e.to_string())),
                        );
                    }
                }
            }
            Rows::Csv(records, header) => {
                let record = records.next()?;
                let record = match record {
                    Ok(r) => r,
                    Err(e) => {
                        *line = e.position().map_or(*line + 1, |p| p.line());
                        return Some(Err(Error::invalid("line", e.to_string())));
                    }
                };
                *line = record.position().map_or(*line + 1, |p| p.line());
                let mut obj = Map::new();
                obj.insert("kind".into(), Value::from("link"));
                for (k, v) in header.iter().zip(record.iter()) {
                    if v.is_empty() {
                        continue;
                    }
                    let value = if NUMBERS.contains(&k) {
                        match v.parse::<u64>() {
                            Ok(n) => Value::from(n),
                            Err(_) => return Some(Err(Error::invalid(k, "not a whole number"))),
                        }
                    } else if BOOLEANS.contains(&k) {
                        match v {
                            "true" | "1" | "yes" => Value::Bool(true),
                            "false" | "0" | "no" => Value::Bool(false),
                            _ => return Some(Err(Error::invalid(k, "true or false"))),
                        }
                    } else {
                        Value::from(v)
                    };
                    obj.insert(k.to_owned(), value);
                }
                Some(
                    serde_json::from_value(Value::Object(obj))
                        .map_err(|e| Error::invalid("line", e.to_string())),
                )
            }
        }
    }
}

#[derive(Default)]
struct Tally {
    created: u64,
    updated: u64,
    unchanged: u64,
    refused: u64,
}

/// A batch read from the file: its rows' line numbers, the rows, and how far into
/// the file it ends (bytes).
type Batch = (Vec<u64>, Vec<Result<guestlist_app::ImportRow, Error>>, u64);

/// Reads the file a batch at a time on a thread of its own, so that the next batch
/// is parsed while the database applies this one; at most two wait.
fn read_batches(path: PathBuf, batch: usize) -> Result<tokio::sync::mpsc::Receiver<Batch>, String> {
    let mut rows = Rows::open(&path)?;
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    std::thread::spawn(move || {
        let mut line = 0u64;
        loop {
            let mut lines = Vec::with_capacity(batch);
            let mut chunk = Vec::with_capacity(batch);
            while chunk.len() < batch {
                let Some(row) = rows.next(&mut line) else {
                    break;
                };
                lines.push(line);
                chunk.push(row.and_then(guestlist_server::import_row));
            }
            if chunk.is_empty() {
                return;
            }
            let at = match &rows {
                Rows::Csv(r, _) => r.reader().position().byte(),
                Rows::Jsonl(_, bytes) => *bytes,
            };
            if tx.blocking_send((lines, chunk, at)).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// One pass over the file; the refused rows go to `report`.
async fn pass(
    app: &App,
    actor: &Actor,
    args: &ImportArgs,
    dry_run: bool,
    report: &mut dyn Write,
) -> Result<Tally, String> {
    let size = std::fs::metadata(&args.from).map(|m| m.len()).unwrap_or(0);
    let mut batches = read_batches(args.from.clone(), args.batch)?;
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {percent}% {msg}").map_err(|e| e.to_string())?,
    );
    let mut tally = Tally::default();
    let mut read = 0u64;
    while let Some((lines, chunk, at)) = batches.recv().await {
        read += chunk.len() as u64;
        let outcomes = app
            .import_rows(actor, chunk, dry_run)
            .await
            .map_err(|e| {
                bar.abandon();
                format!(
                    "lines {}-{}: {}; what came before is imported, and running the same command again continues",
                    lines[0],
                    lines[lines.len() - 1],
                    e.public_message()
                )
            })?;
        for (o, n) in outcomes.iter().zip(&lines) {
            match o {
                ImportOutcome::Created => tally.created += 1,
                ImportOutcome::Updated => tally.updated += 1,
                ImportOutcome::Unchanged => tally.unchanged += 1,
                ImportOutcome::Refused(_) => {
                    tally.refused += 1;
                    let r = guestlist_server::import_result(o);
                    let entry = serde_json::json!({ "line": n, "error": r.error });
                    writeln!(report, "{entry}").map_err(|e| e.to_string())?;
                }
            }
        }
        bar.set_message(format!("{read} rows"));
        bar.set_position(at);
    }
    bar.finish_and_clear();
    Ok(tally)
}

/// Runs the import; the summary goes to standard output.
pub async fn run(app: &App, args: ImportArgs) -> Result<(), String> {
    let most = guestlist_app::MAX_IMPORT_TRANSACTION;
    if !(1..=most).contains(&args.batch) {
        return Err(format!(
            "--batch: 1 to {most} rows a transaction, not {}",
            args.batch
        ));
    }
    let actor = Actor::ApiKey {
        id: uuid::Uuid::nil(),
        name: "import".into(),
        platform_admin: true,
        scim_root: None,
    };
    let mut report: Box<dyn Write> = match &args.report {
        Some(p) => Box::new(File::create(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => Box::new(std::io::stderr()),
    };
    if args.all_or_nothing && !args.dry_run {
        let checked = pass(app, &actor, &args, true, &mut report).await?;
        if checked.refused > 0 {
            return Err(format!(
                "{} rows would be refused (see the report); with --all-or-nothing nothing was imported",
                checked.refused
            ));
        }
    }
    let t = pass(app, &actor, &args, args.dry_run, &mut report).await?;
    let verb = if args.dry_run {
        " (dry run: nothing written)"
    } else {
        ""
    };
    println!(
        "created {}, updated {}, unchanged {}, refused {}{verb}",
        t.created, t.updated, t.unchanged, t.refused
    );
    Ok(())
}
