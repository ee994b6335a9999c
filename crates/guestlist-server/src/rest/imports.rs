//! Imports over REST: rows of another system's spaces, members and live links, in
//! batches (`guestlist import --from` reads a file into the same rows).

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use guestlist_api as api;
use guestlist_app::domain::{Error, JoinMode, RoleName, SpacePath, UserId};
use guestlist_app::{ImportOutcome, ImportRow, InviteeInput, MirrorInvite, PendingElsewhere};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Res;
use crate::AppState;
use crate::extract::{Auth, Json, Query};

/// This feature's routes, under `/api/v1`.
pub(crate) fn router() -> Router<AppState> {
    // 10,000 rows need more than the default body limit.
    Router::new().route(
        "/imports",
        post(import).layer(axum::extract::DefaultBodyLimit::max(
            crate::IMPORT_BODY_BYTES,
        )),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// Apply the rows and roll them back: what would happen, nothing written.
    #[serde(default)]
    pub dry_run: bool,
}

/// Import rows from another system (platform administrators): spaces, members and
/// live links with their codes, applied in order in one transaction. Each row is
/// created, updated, unchanged or refused on its own; a refused row changes nothing
/// and the others are applied. Running the same rows again changes nothing.
#[utoipa::path(post, path = "/api/v1/imports", tag = "imports", params(ImportParams),
    request_body = api::ImportRequest,
    responses((status = 200, body = api::ImportResponse), (status = 400, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn import(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<ImportParams>,
    Json(req): Json<api::ImportRequest>,
) -> Res<Json<api::ImportResponse>> {
    if req.rows.len() > guestlist_app::MAX_IMPORT_BATCH {
        return Err(Error::invalid(
            "rows",
            format!("at most {} rows a request", guestlist_app::MAX_IMPORT_BATCH),
        )
        .into());
    }
    let rows = req.rows.into_iter().map(import_row).collect();
    let outcomes = s.app.import_rows(&actor, rows, q.dry_run).await?;
    Ok(Json(api::ImportResponse {
        dry_run: q.dry_run,
        results: outcomes.iter().map(import_result).collect(),
    }))
}

/// A row as the application takes it; a malformed one is refused with the field at
/// fault.
pub fn import_row(row: api::ImportRow) -> Result<ImportRow, Error> {
    let user = |field: &str, u: Option<String>| {
        u.as_deref()
            .map(UserId::parse)
            .transpose()
            .map_err(|e| e.in_field(field))
    };
    let path = |field: &str, p: &str| SpacePath::parse(p).map_err(|e| e.in_field(field));
    let role = |r: Option<String>| {
        r.as_deref()
            .map(RoleName::parse)
            .transpose()
            .map_err(|e| e.in_field("role"))
    };
    Ok(match row {
        api::ImportRow::Space {
            path: p,
            name,
            join_mode,
            member_limit,
        } => ImportRow::Space {
            path: path("path", &p)?,
            name,
            join_mode: join_mode.unwrap_or(JoinMode::InviteOnly),
            member_limit,
        },
        api::ImportRow::Member {
            space,
            user_id,
            role: r,
        } => ImportRow::Member {
            space: path("space", &space)?,
            user: UserId::parse(&user_id).map_err(|e| e.in_field("user_id"))?,
            role: role(r)?.unwrap_or_else(RoleName::member),
        },
        api::ImportRow::Invitation {
            space,
            email,
            username,
            user_id,
            role: r,
            expires_at,
            message,
            invited_by,
            token,
        } => ImportRow::Invitation(PendingElsewhere {
            space: path("space", &space)?,
            invitee: InviteeInput {
                email,
                username,
                user_id,
                role: r,
            },
            expires_at,
            message,
            invited_by: user("invited_by", invited_by)?,
            token,
        }),
        api::ImportRow::Link {
            external_id,
            space,
            role: r,
            code,
            code_hash,
            max_uses,
            uses,
            expires_at,
            description,
            created_by,
            revoked,
        } => ImportRow::Link {
            external_id,
            link: MirrorInvite {
                space: path("space", &space)?,
                role: role(r)?,
                max_uses,
                uses,
                expires_at,
                description,
                code,
                code_hash,
                revoked,
                created_by: created_by
                    .as_deref()
                    .map(UserId::parse)
                    .transpose()
                    .map_err(|e| e.in_field("created_by"))?,
            },
        },
    })
}

/// What the caller is told of a row.
pub fn import_result(o: &ImportOutcome) -> api::ImportResult {
    let (outcome, error) = match o {
        ImportOutcome::Created => (api::ImportOutcome::Created, None),
        ImportOutcome::Updated => (api::ImportOutcome::Updated, None),
        ImportOutcome::Unchanged => (api::ImportOutcome::Unchanged, None),
        ImportOutcome::Refused(e) => (api::ImportOutcome::Refused, Some(crate::error::detail(e))),
    };
    api::ImportResult { outcome, error }
}
