//! Imports from another system: the wire types of the `imports` feature.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::*;

/// One row of an import: a space, a member, a live link with its code, or a pending
/// invitation. A line of
/// a JSON Lines file is one of these; a CSV file has one column per field (and a
/// `kind` column, or only links).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ImportRow {
    /// A space: created unless it exists (then left unchanged).
    Space {
        /// A space path (`acme/`, `acme/eng/`).
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Defaults to `invite_only`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        join_mode: Option<JoinMode>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member_limit: Option<u32>,
    },
    /// A member (source `provisioned`): added unless already one.
    Member {
        /// A space path.
        space: String,
        user_id: String,
        /// Defaults to `member`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
    },
    /// A live link, named by the other system's id (running the import again
    /// updates it, never doubles it), with its code (6 to 64 letters, digits, `-`
    /// and `_`;
    /// kept only as a keyed hash and sealed, like every code; generated when
    /// omitted), its uses so far, limit, expiry and creator.
    Link {
        external_id: String,
        /// A space path.
        space: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        /// 6 to 64 letters, digits, `-` and `_`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        /// Instead of `code`, where the other system kept only digests:
        /// `sha256:<hex>` or `sha512:<hex>` of the code (never shown here).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code_hash: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_uses: Option<u32>,
        #[serde(default)]
        uses: u32,
        #[serde(
            default,
            with = "time::serde::rfc3339::option",
            skip_serializing_if = "Option::is_none"
        )]
        expires_at: Option<OffsetDateTime>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// The user id of its creator there (the sponsor lifecycle applies to it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created_by: Option<String>,
        #[serde(default)]
        revoked: bool,
    },
    /// An addressed invitation still pending there: invited here (a new token, and an
    /// e-mail with it when it has an address; the old token does not work here),
    /// expiring when it did there. Someone already invited or a member: unchanged.
    Invitation {
        /// A space path.
        space: String,
        /// At least one of email, username and user_id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
        /// Defaults to `member`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        /// When it lapses (at most 30 days ahead are kept); the default lifetime when
        /// omitted. A past one refuses the row.
        #[serde(
            default,
            with = "time::serde::rfc3339::option",
            skip_serializing_if = "Option::is_none"
        )]
        expires_at: Option<OffsetDateTime>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// The user id of who sent it there (the sponsor lifecycle applies to it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invited_by: Option<String>,
        /// Its live token in the other system (16 to 128 letters, digits, `-` and
        /// `_`), so that the link the person was sent keeps working here: kept only
        /// as a keyed hash, and no new e-mail is sent. Without it, a new token is
        /// e-mailed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
}

/// Rows to import, applied in order in one transaction (at most 10,000). Each row is
/// checked on its own: a malformed field refuses that row in the answer (with the
/// field named), not the request, so the rows' fields are plain strings here.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    pub rows: Vec<ImportRow>,
}

/// What became of a row.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
    /// Refused: its error says why; nothing of it was written.
    Refused,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ImportResult {
    pub outcome: ImportOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// One result per row, in order; with `dry_run`, what would have happened.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ImportResponse {
    pub dry_run: bool,
    pub results: Vec<ImportResult>,
}
