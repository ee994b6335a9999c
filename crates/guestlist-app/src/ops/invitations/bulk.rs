//! Many invitees at once, from JSON or CSV.

use super::*;
use crate::Result;
use guestlist_domain::Error;
use serde::Serialize;

/// Most rows one bulk request may carry.
pub const MAX_BULK_ROWS: usize = 1_000;

/// Who to invite, as a caller gives it (validated by the application).
#[derive(Debug, Clone, Default, Serialize)]
pub struct InviteeInput {
    pub email: Option<String>,
    pub username: Option<String>,
    pub user_id: Option<String>,
    /// Overrides the request's role for this row.
    pub role: Option<String>,
}

/// The people of a CSV file, one row each: a header names any of `email`, `username`,
/// `user_id` and `role` (any case); cells are trimmed and an empty one is absent. For
/// the CLI's `invite bulk` and the console's upload alike.
pub fn invitees_from_csv(text: &str) -> Result<Vec<InviteeInput>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Error::invalid("csv", e.to_string()))?
        .clone();
    let known = ["email", "username", "user_id", "role"];
    if let Some(bad) = headers
        .iter()
        .find(|h| !known.contains(&h.to_lowercase().as_str()))
    {
        return Err(Error::invalid(
            "csv",
            format!(
                "unknown column {bad:?}; the header names any of email, username, user_id, role"
            ),
        ));
    }
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (email, username, user_id, role) = (
        column("email"),
        column("username"),
        column("user_id"),
        column("role"),
    );
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::invalid("csv", format!("row {}: {e}", n + 2)))?;
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        rows.push(InviteeInput {
            email: cell(email),
            username: cell(username),
            user_id: cell(user_id),
            role: cell(role),
        });
    }
    Ok(rows)
}

#[derive(Debug, Clone)]
pub struct BulkResult {
    pub dry_run: bool,
    /// One entry per row, in order.
    pub rows: Vec<Result<InvitationResult>>,
}
