//! `guestlist invite bulk`: invites the people of a CSV file through the bulk API, in
//! batches, with a progress bar and a summary table. Each batch carries an idempotency
//! key derived from its content, so running the same command again after a failure
//! never invites anyone twice.

use std::path::{Path, PathBuf};

use guestlist_client::{Client, api};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

#[derive(clap::Args)]
pub struct BulkArgs {
    /// The CSV file: a header naming any of email, username, user_id, role; one
    /// invitee per row.
    #[arg(long)]
    pub csv: PathBuf,
    /// The space to invite them to.
    #[arg(long)]
    pub space: String,
    /// The role of rows that name none (default member).
    #[arg(long)]
    pub role: Option<String>,
    /// Seconds until the invitations expire (default 7 days).
    #[arg(long)]
    pub expires_in: Option<i64>,
    /// A personal note for the e-mails.
    #[arg(long)]
    pub message: Option<String>,
    /// Show what would happen; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Rows per request (at most 1,000; a dry run always sends 1,000).
    #[arg(long, default_value_t = 250)]
    pub batch: usize,
}

/// Reads the rows of a CSV file with a header naming any of: email, username,
/// user_id, role (read as the console reads an upload: `invitees_from_csv`).
pub fn read_csv(path: &Path) -> Result<Vec<api::Invitee>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let rows = guestlist_app::invitees_from_csv(&text)
        .map_err(|e| format!("{}: {}", path.display(), e.public_message()))?;
    Ok(rows
        .into_iter()
        .map(|r| api::Invitee {
            email: r.email,
            username: r.username,
            user_id: r.user_id,
            role: r.role,
        })
        .collect())
}

fn batch_key(req: &api::BulkInvitationRequest) -> Result<String, String> {
    let body = serde_json::to_vec(req).map_err(|e| e.to_string())?;
    let digest = Sha256::digest(&body);
    Ok(format!(
        "cli-bulk-{}",
        digest[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

fn who(row: &api::Invitee) -> String {
    row.email
        .clone()
        .or_else(|| row.username.clone())
        .or_else(|| row.user_id.clone())
        .unwrap_or_else(|| "(nobody)".into())
}

/// Runs the import; `Err` when a batch could not be sent or any row failed.
pub async fn run(client: &Client, args: BulkArgs) -> Result<(), String> {
    let rows = read_csv(&args.csv)?;
    if rows.is_empty() {
        return Err(format!("{}: no rows", args.csv.display()));
    }
    // A dry run writes nothing, so a batch cannot see an earlier one: it goes in
    // requests as large as allowed (duplicates further apart than 1,000 rows are
    // then not spotted by the dry run; the real run still invites them once).
    let batch = if args.dry_run {
        guestlist_app::MAX_BULK_ROWS
    } else {
        args.batch.clamp(1, guestlist_app::MAX_BULK_ROWS)
    };
    let bar = ProgressBar::new(rows.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows {msg}")
            .map_err(|e| e.to_string())?,
    );
    let mut summary = api::BulkSummary::default();
    let mut failures = Vec::new();
    for (n, chunk) in rows.chunks(batch).enumerate() {
        let req = api::BulkInvitationRequest {
            space: args.space.clone(),
            role: args.role.clone(),
            expires_in_seconds: args.expires_in,
            message: args.message.clone(),
            dry_run: args.dry_run,
            rows: chunk.to_vec(),
        };
        let key = batch_key(&req)?;
        let answer = client
            .bulk_invitations(&req, (!args.dry_run).then_some(key.as_str()))
            .await
            .map_err(|e| {
                bar.abandon();
                format!(
                    "batch {} (rows {}-{}): {e}; run the same command again to continue",
                    n + 1,
                    n * batch + 2,
                    n * batch + chunk.len() + 1
                )
            })?;
        summary.invited += answer.summary.invited;
        summary.already_invited += answer.summary.already_invited;
        summary.already_member += answer.summary.already_member;
        summary.failed += answer.summary.failed;
        for row in answer.rows {
            if let Some(e) = row.error {
                // Row numbers as in the file: the header is line 1.
                failures.push((n * batch + row.index + 2, who(&chunk[row.index]), e));
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    // indicatif draws nothing without a terminal: the table is always printed.
    let verb = if args.dry_run { "would be" } else { "were" };
    println!(
        "{} rows for {}{}",
        rows.len(),
        args.space,
        if args.dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    );
    println!(
        "  {:<20} {:>6}",
        format!("invited ({verb})"),
        summary.invited
    );
    println!("  {:<20} {:>6}", "already invited", summary.already_invited);
    println!("  {:<20} {:>6}", "already member", summary.already_member);
    println!("  {:<20} {:>6}", "failed", summary.failed);
    if failures.is_empty() {
        return Ok(());
    }
    println!("\n  {:<6} {:<32} {:<16} message", "line", "who", "code");
    for (line, who, e) in &failures {
        println!("  {line:<6} {who:<32} {:<16} {}", e.code, e.message);
    }
    Err(format!("{} rows failed", failures.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_any_subset_of_the_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("people.csv");
        std::fs::write(
            &path,
            "Email,role\n ada@example.com , admin\nbob@example.com,\n",
        )
        .unwrap();
        let rows = read_csv(&path).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].email.as_deref(), Some("ada@example.com"));
        assert_eq!(rows[0].role.as_deref(), Some("admin"));
        assert_eq!(rows[1].role, None);
        std::fs::write(&path, "mail\nada@example.com\n").unwrap();
        assert!(read_csv(&path).unwrap_err().contains("unknown column"));
    }
}
