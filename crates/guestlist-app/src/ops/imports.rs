//! Bringing another system's spaces, members and live links over: rows applied in
//! order, each created, updated, left unchanged or refused on its own (a refused row
//! changes nothing and the rest go on), idempotent by a link's external id and a
//! space's path, so that running the same file twice changes nothing. Each batch is
//! one transaction; a dry run applies it and rolls it back.

use std::sync::{Arc, Mutex};

use guestlist_domain::{
    Actor, Error, InvitationOutcome, JoinMode, JoinOutcome, RoleName, SpacePath, UserId,
};
use guestlist_store::{Operation, Tx};

use super::invitations::CarriedInvitation;
pub use super::invitations::PendingElsewhere;
use super::invites::{Mirror, MirrorDone, MirrorInvite, ScopeCache};
use super::members::Provision;
use super::spaces::{CreateSpace, NewSpaceInput};
use crate::scope::Scope;
use crate::{App, Result};

/// Rows one request of the API carries at most.
pub const MAX_IMPORT_BATCH: usize = 10_000;

/// Rows one call applies at most, in one transaction (`guestlist import --from`
/// sends up to this many: fewer, larger commits write each page of a large index
/// to the log fewer times).
pub const MAX_IMPORT_TRANSACTION: usize = 100_000;

/// One row of an import.
#[derive(Debug, Clone)]
pub enum ImportRow {
    /// A space, created unless it exists.
    Space {
        path: SpacePath,
        name: Option<String>,
        join_mode: JoinMode,
        member_limit: Option<u32>,
    },
    /// A member, added (source `provisioned`) unless already one.
    Member {
        space: SpacePath,
        user: UserId,
        role: RoleName,
    },
    /// A live link, by the other system's id, with its code.
    Link {
        external_id: String,
        link: MirrorInvite,
    },
    /// An addressed invitation still pending there.
    Invitation(PendingElsewhere),
}

/// What became of one row.
#[derive(Debug, Clone)]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
    Refused(Error),
}

enum Prepared {
    Space(CreateSpace),
    Member(Provision),
    Link(Box<Mirror>),
    Invitation(Box<CarriedInvitation>),
}

struct ImportBatch {
    rows: Vec<std::result::Result<Prepared, Error>>,
    dry_run: bool,
    /// Where a dry run leaves what each row came to, past its rollback.
    kept: Arc<Mutex<Option<Vec<ImportOutcome>>>>,
}

/// Marks the error a dry run ends with to roll its batch back.
const DRY_RUN: &str = "import dry run: rolled back";

#[async_trait::async_trait]
impl Operation for ImportBatch {
    type Output = Vec<ImportOutcome>;

    async fn run(&self, tx: &mut dyn Tx) -> Result<Vec<ImportOutcome>> {
        let mut outcomes = Vec::with_capacity(self.rows.len());
        let mut scopes = ScopeCache::new();
        for row in &self.rows {
            let outcome = match row {
                Err(e) => ImportOutcome::Refused(e.clone()),
                Ok(p) => match apply(tx, p, &mut scopes).await {
                    Ok(o) => o,
                    // The store failing fails the batch; a row's own fault refuses it.
                    Err(e) if e.is_server_fault() => return Err(e),
                    Err(e) => ImportOutcome::Refused(e),
                },
            };
            outcomes.push(outcome);
        }
        if self.dry_run {
            *self.kept.lock().expect("not poisoned") = Some(outcomes);
            return Err(Error::internal(DRY_RUN));
        }
        Ok(outcomes)
    }
}

async fn apply(tx: &mut dyn Tx, row: &Prepared, scopes: &mut ScopeCache) -> Result<ImportOutcome> {
    Ok(match row {
        Prepared::Space(op) => {
            if Scope::try_load(tx, &op.input.path).await?.is_some() {
                ImportOutcome::Unchanged
            } else {
                op.run(tx).await?;
                ImportOutcome::Created
            }
        }
        Prepared::Member(op) => match op.run(tx).await?.0 {
            JoinOutcome::Joined => ImportOutcome::Created,
            JoinOutcome::Upgraded => ImportOutcome::Updated,
            _ => ImportOutcome::Unchanged,
        },
        Prepared::Link(op) => match op.apply(tx, Some(scopes)).await? {
            MirrorDone::Created(_) => ImportOutcome::Created,
            MirrorDone::Updated(_) => ImportOutcome::Updated,
            MirrorDone::Unchanged(_) => ImportOutcome::Unchanged,
        },
        Prepared::Invitation(op) => match op.run(tx).await? {
            InvitationOutcome::Invited => ImportOutcome::Created,
            _ => ImportOutcome::Unchanged,
        },
    })
}

impl App {
    /// Applies rows of an import in order, in one transaction (rolled back for a
    /// dry run): what each came to, a refused row with its error. Only a platform
    /// administrator imports.
    pub async fn import_rows(
        &self,
        actor: &Actor,
        rows: Vec<std::result::Result<ImportRow, Error>>,
        dry_run: bool,
    ) -> Result<Vec<ImportOutcome>> {
        if !actor.is_platform_admin() {
            return Err(Error::forbidden("only a platform administrator imports"));
        }
        if rows.len() > MAX_IMPORT_TRANSACTION {
            return Err(Error::invalid(
                "rows",
                format!("at most {MAX_IMPORT_TRANSACTION} rows at once"),
            ));
        }
        let rows = rows
            .into_iter()
            .map(|r| r.and_then(|r| self.prepare_import(actor, r)))
            .collect();
        let kept = Arc::new(Mutex::new(None));
        let op = ImportBatch {
            rows,
            dry_run,
            kept: kept.clone(),
        };
        match self.store_ref().write(op).await {
            Ok(outcomes) => {
                // Invitations carried over have their e-mail queued.
                self.0.mail_queued.notify_one();
                Ok(outcomes)
            }
            Err(e) if dry_run && matches!(&e, Error::Internal(m) if m == DRY_RUN) => kept
                .lock()
                .expect("not poisoned")
                .take()
                .ok_or_else(|| Error::internal("a dry run kept no outcomes")),
            Err(e) => Err(e),
        }
    }

    fn prepare_import(&self, actor: &Actor, row: ImportRow) -> Result<Prepared> {
        Ok(match row {
            ImportRow::Space {
                path,
                name,
                join_mode,
                member_limit,
            } => Prepared::Space(CreateSpace {
                actor: actor.clone(),
                input: NewSpaceInput {
                    path,
                    name,
                    join_mode,
                    member_limit,
                },
            }),
            ImportRow::Member { space, user, role } => Prepared::Member(Provision {
                actor: actor.clone(),
                path: space,
                user,
                role,
            }),
            ImportRow::Link { external_id, link } => {
                Prepared::Link(Box::new(self.prepare_mirror(actor, &external_id, link)?))
            }
            ImportRow::Invitation(pending) => {
                Prepared::Invitation(Box::new(self.prepare_carried_invitation(actor, pending)?))
            }
        })
    }
}
