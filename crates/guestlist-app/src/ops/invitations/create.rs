//! Inviting one person (or many): an invitation under the grant ceiling, re-invited,
//! superseded or reissued, with its e-mail in the outbox.

use super::*;
use crate::ops::members::view as member_view;
use crate::ops::{operation, text};
use crate::scope::Scope;
use crate::secrets::Keys;
use crate::{App, Result};
use guestlist_domain::events::{InvitationCreated, InvitationResent, InvitationRevoked};
use guestlist_domain::{
    Actor, Addressee, Email, Error, InvitationOutcome, InvitationStatus, Permission, RoleName,
    SpacePath, UserId, Username,
};
use guestlist_store::{InvitationRow, MailSubject, NewInvitation, NewMail, Reissue, Tx};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::Duration;
use uuid::Uuid;

/// A row checked before the transaction, with the secrets it will need.
#[derive(Debug, Clone)]
pub(super) struct Prepared {
    pub(super) addressee: Addressee,
    pub(super) role: RoleName,
    pub(super) issue: Issue,
}

/// A new token (and e-mail) for an invitation; or a token carried over from another
/// system (its hash only: no salt it could be derived from again, and no e-mail, the
/// person holds it already).
#[derive(Debug, Clone)]
pub(super) struct Issue {
    pub(super) id: Uuid,
    pub(super) salt: Vec<u8>,
    pub(super) token_hash: Vec<u8>,
    pub(super) mail_id: Uuid,
    pub(super) carried: bool,
}

/// What an idempotency record keeps of each row: enough to answer a retry exactly as
/// the first time. The ids find the rows; what may have changed since (a send, a
/// delivery attempt, a decision, a role) is kept as it was answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredRow {
    pub(super) outcome: Option<InvitationOutcome>,
    pub(super) invitation_id: Option<Uuid>,
    pub(super) membership_id: Option<Uuid>,
    #[serde(default)]
    pub(super) invitation: Option<InvitationAsAnswered>,
    #[serde(default)]
    pub(super) membership: Option<MembershipAsAnswered>,
}

pub(super) struct Create {
    pub(super) actor: Actor,
    pub(super) space: SpacePath,
    pub(super) rows: Vec<Result<Prepared>>,
    pub(super) lifetime_secs: i64,
    pub(super) message: Option<String>,
    pub(super) dry_run: bool,
    pub(super) idempotency: Option<Idempotency>,
    /// Who the invitations are recorded as sent by, when not the actor (an import
    /// carries the other system's inviter, so the sponsor lifecycle applies).
    pub(super) creator: Option<UserId>,
}

/// One row of a create, inside the transaction.
pub(super) async fn invite_one(
    tx: &mut dyn Tx,
    scope: &Scope,
    op: &Create,
    held: guestlist_domain::Permissions,
    row: &Prepared,
    seen: &mut HashMap<String, Option<InvitationView>>,
) -> Result<InvitationResult> {
    let offered = scope.check_grant(held, &row.role)?;
    let now = crate::now();
    // Already a member with at least these rights (directly or from above)?
    let grants = tx
        .memberships_of_addressee(&scope.lineage_ids(), &scope.space.path, &row.addressee)
        .await?;
    let mut rights: HashMap<&UserId, guestlist_domain::Permissions> = HashMap::new();
    for m in &grants {
        if m.status == guestlist_domain::MembershipStatus::Active {
            let p = scope
                .role_permissions_on(&m.role, m.space_id)
                .unwrap_or_default();
            let r = rights.entry(&m.user_id).or_default();
            *r = r.union(p);
        }
    }
    if let Some((user, _)) = rights.iter().find(|(_, p)| p.covers(offered)) {
        let direct = grants
            .iter()
            .find(|m| m.space_id == scope.space.id && &m.user_id == *user)
            .cloned();
        return Ok(InvitationResult {
            outcome: InvitationOutcome::AlreadyMember,
            invitation: None,
            membership: direct.map(|m| member_view(scope, m)),
        });
    }
    if op.dry_run
        && let Some(earlier) = seen.get(&row.addressee.key())
    {
        return Ok(already_invited(earlier.clone()));
    }
    if let Some(pending) = tx
        .pending_invitation_to(scope.space.id, &row.addressee)
        .await?
    {
        if pending.status(now) == InvitationStatus::Pending {
            return Ok(already_invited(Some(InvitationView::of(pending, now))));
        }
        // Expired, for the same role: send it again rather than keep the person out
        // (GitHub's behaviour). Reissuing goes through the ceiling like creating.
        if pending.role == row.role {
            let fresh = if op.dry_run {
                None
            } else {
                Some(reissue(tx, scope, &op.actor, &pending, &row.issue, op.lifetime_secs).await?)
            };
            seen.insert(row.addressee.key(), fresh.clone());
            return Ok(invited(fresh));
        }
        // Expired, for another role: it is dead, and this invitation (with the role
        // asked for, within the actor's ceiling, checked above) takes its place. It is
        // never revived with its old role by someone who asked for another.
        if !op.dry_run {
            supersede(tx, scope, &op.actor, &pending).await?;
        }
    }
    if op.dry_run {
        seen.insert(row.addressee.key(), None);
        return Ok(invited(None));
    }
    let new = NewInvitation {
        id: row.issue.id,
        token_hash: row.issue.token_hash.clone(),
        token_salt: row.issue.salt.clone(),
        space_id: scope.space.id,
        space_path: scope.space.path.clone(),
        role: row.role.clone(),
        addressee: row.addressee.clone(),
        message: op.message.clone(),
        lifetime_secs: op.lifetime_secs,
        expires_at: now + Duration::seconds(op.lifetime_secs),
        mail_id: row
            .addressee
            .email
            .as_ref()
            .filter(|_| !row.issue.carried)
            .map(|_| row.issue.mail_id),
        created_by: op
            .creator
            .as_ref()
            .map_or_else(|| op.actor.label(), |u| u.as_str().to_owned()),
        created_by_name: op
            .creator
            .as_ref()
            .map_or_else(|| op.actor.display_name(), |u| u.as_str().to_owned()),
        created_at: now,
    };
    if !tx.insert_invitation(&new).await? {
        // Someone invited them meanwhile: the unique key on pending invitations decided.
        let pending = tx
            .pending_invitation_to(scope.space.id, &row.addressee)
            .await?
            .ok_or_else(|| Error::Contention("an invitation token collided".into()))?;
        return Ok(already_invited(Some(InvitationView::of(pending, now))));
    }
    if let Some(email) = row.addressee.email.as_ref().filter(|_| !row.issue.carried) {
        tx.insert_mail(&NewMail {
            id: row.issue.mail_id,
            subject: MailSubject::Invitation(new.id),
            recipient: email.clone(),
            created_at: now,
        })
        .await?;
    }
    tx.append_event(
        &scope.event(
            &op.actor,
            row.addressee.user_id.as_ref().map(UserId::as_str),
            InvitationCreated {
                invitation_id: new.id,
                role: row.role.clone(),
                email: row.addressee.email.as_ref().map(|e| e.as_str().to_owned()),
                username: row
                    .addressee
                    .username
                    .as_ref()
                    .map(|u| u.as_str().to_owned()),
                expires_at: new.expires_at.unix_timestamp(),
            },
        ),
    )
    .await?;
    let row = tx
        .invitation_by_id(new.id)
        .await?
        .ok_or_else(|| Error::internal("invitation vanished"))?;
    Ok(invited(Some(InvitationView::of(row, now))))
}

pub(super) fn invited(invitation: Option<InvitationView>) -> InvitationResult {
    InvitationResult {
        outcome: InvitationOutcome::Invited,
        invitation,
        membership: None,
    }
}

pub(super) fn already_invited(invitation: Option<InvitationView>) -> InvitationResult {
    InvitationResult {
        outcome: InvitationOutcome::AlreadyInvited,
        invitation,
        membership: None,
    }
}

/// Ends an expired invitation that a new one for another role replaces
/// (`invitation.revoked` with `reason: superseded`).
pub(super) async fn supersede(
    tx: &mut dyn Tx,
    scope: &Scope,
    actor: &Actor,
    expired: &InvitationRow,
) -> Result<()> {
    let now = crate::now();
    if tx
        .decide_invitation(
            expired.id,
            InvitationStatus::Revoked,
            &actor.label(),
            now,
            None,
        )
        .await?
    {
        tx.cancel_mail_of(MailSubject::Invitation(expired.id))
            .await?;
        tx.append_event(&scope.event(
            actor,
            expired.addressee.user_id.as_ref().map(UserId::as_str),
            InvitationRevoked {
                invitation_id: expired.id,
                reason: Some("superseded".into()),
                sponsor: None,
                role: Some(expired.role.clone()),
            },
        ))
        .await?;
    }
    Ok(())
}

/// Gives a pending (possibly expired) invitation a new token, expiry and e-mail; the
/// old token stops working and its queued e-mail is cancelled. A reissue grants anew:
/// the actor must be able to grant the invitation's role (the ceiling), whoever sent it
/// first.
pub(super) async fn reissue(
    tx: &mut dyn Tx,
    scope: &Scope,
    actor: &Actor,
    invitation: &InvitationRow,
    issue: &Issue,
    lifetime_secs: i64,
) -> Result<InvitationView> {
    scope
        .require_can_grant(tx, actor, Permission::ManageInvites, &invitation.role)
        .await?;
    let now = crate::now();
    // A carried token is the one the person holds: nothing to send.
    let email = invitation
        .addressee
        .email
        .as_ref()
        .filter(|_| !issue.carried);
    let mail_id = email.map(|_| issue.mail_id);
    let done = tx
        .reissue_invitation(&Reissue {
            id: invitation.id,
            token_hash: issue.token_hash.clone(),
            token_salt: issue.salt.clone(),
            expires_at: now + Duration::seconds(lifetime_secs),
            mail_id,
            at: now,
        })
        .await?;
    if !done {
        return Err(Error::NotPending);
    }
    tx.cancel_mail_of(MailSubject::Invitation(invitation.id))
        .await?;
    if let Some(email) = email {
        tx.insert_mail(&NewMail {
            id: issue.mail_id,
            subject: MailSubject::Invitation(invitation.id),
            recipient: email.clone(),
            created_at: now,
        })
        .await?;
    }
    tx.append_event(&scope.event(
        actor,
        invitation.addressee.user_id.as_ref().map(UserId::as_str),
        InvitationResent {
            invitation_id: invitation.id,
            sends: invitation.sends + 1,
        },
    ))
    .await?;
    let fresh = tx
        .invitation_by_id(invitation.id)
        .await?
        .ok_or_else(|| Error::internal("invitation vanished"))?;
    Ok(InvitationView::of(fresh, now))
}

operation!(Create => Vec<Result<InvitationResult>>, |self, tx| {
    let scope = Scope::load(tx, &self.space).await?;
    let held = scope.require_visible(tx, &self.actor, Permission::ManageInvites).await?;
    if let Some(idem) = &self.idempotency
        && let Some((hash, response)) = tx.idempotent_response(&idem.owner, &idem.key).await?
    {
        if hash != idem.request_hash {
            return Err(Error::IdempotencyKeyReused);
        }
        let stored: Vec<StoredRow> = serde_json::from_str(&response).map_err(Error::internal)?;
        return replay(tx, &scope, self, held, stored).await;
    }
    let mut seen = HashMap::new();
    let mut out = Vec::with_capacity(self.rows.len());
    for row in &self.rows {
        out.push(match row {
            Ok(p) => invite_one(tx, &scope, self, held, p, &mut seen).await,
            Err(e) => Err(e.clone()),
        });
        // A storage failure sinks the whole request (and rolls it back); a row's
        // refusal is that row's answer.
        if let Some(Err(e)) = out.last()
            && e.is_server_fault()
        {
            return Err(e.clone());
        }
    }
    if let Some(idem) = &self.idempotency {
        let stored: Vec<StoredRow> = out
            .iter()
            .map(|r| match r {
                Ok(r) => StoredRow {
                    outcome: Some(r.outcome),
                    invitation_id: r.invitation.as_ref().map(|i| i.invitation.id),
                    membership_id: r.membership.as_ref().map(|m| m.membership.id),
                    invitation: r.invitation.as_ref().map(InvitationAsAnswered::of),
                    membership: r.membership.as_ref().map(|m| MembershipAsAnswered {
                        role: m.membership.role.clone(),
                        status: m.membership.status,
                        updated_at: m.membership.updated_at,
                    }),
                },
                Err(_) => StoredRow {
                    outcome: None,
                    invitation_id: None,
                    membership_id: None,
                    invitation: None,
                    membership: None,
                },
            })
            .collect();
        let response = serde_json::to_string(&stored).map_err(Error::internal)?;
        if !tx
            .store_idempotent_response(&idem.owner, &idem.key, &idem.request_hash, &response, crate::now())
            .await?
        {
            // The same key is being answered concurrently: run again, and replay it.
            return Err(Error::Contention("idempotency key taken concurrently".into()));
        }
    }
    Ok(out)
});

/// Validates one row of a request into an addressee and a role.
pub(super) fn prepare_row(
    keys: &Keys,
    input: &InviteeInput,
    default_role: &Option<String>,
) -> Result<Prepared> {
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let addressee = Addressee::new(
        opt(&input.email).map(|e| Email::parse(&e)).transpose()?,
        opt(&input.username)
            .map(|u| Username::parse(&u))
            .transpose()?,
        opt(&input.user_id).map(|u| UserId::parse(&u)).transpose()?,
    )?;
    let role = match opt(&input.role).or_else(|| opt(default_role)) {
        Some(r) => RoleName::parse(&r)?,
        None => RoleName::member(),
    };
    Ok(Prepared {
        addressee,
        role,
        issue: Issue::new(keys),
    })
}

impl Issue {
    pub(super) fn new(keys: &Keys) -> Self {
        let id = Uuid::now_v7();
        let salt = Keys::token_salt();
        let token_hash = keys.hash_token(&keys.token_for(&salt));
        Issue {
            id,
            salt,
            token_hash,
            mail_id: Uuid::now_v7(),
            carried: false,
        }
    }

    /// A token another system sent out, kept as this one's.
    pub(super) fn carried(keys: &Keys, token: &str) -> Result<Self> {
        if !carried_token(token) {
            return Err(Error::invalid(
                "token",
                format!(
                    "{MIN_CARRIED_TOKEN_LEN} to {MAX_CARRIED_TOKEN_LEN} letters, digits, '-' and '_'"
                ),
            ));
        }
        Ok(Issue {
            id: Uuid::now_v7(),
            salt: vec![],
            token_hash: keys.hash_token(token),
            mail_id: Uuid::now_v7(),
            carried: true,
        })
    }
}

impl App {
    /// Invites people to one space, each row on its own: `invited`, `already_invited`
    /// or `already_member`, or that row's error. With `dry_run`, nothing changes. With
    /// an idempotency key, a retry of the same request gets the same answer.
    pub async fn invite(
        &self,
        actor: &Actor,
        input: InvitationInput,
        idempotency_key: Option<&str>,
    ) -> Result<BulkResult> {
        if input.rows.is_empty() || input.rows.len() > MAX_BULK_ROWS {
            return Err(Error::invalid("rows", format!("1 to {MAX_BULK_ROWS} rows")));
        }
        let space = SpacePath::parse(&input.space)?;
        // The request's role is the request's: a malformed one refuses the request, as
        // the document says, rather than every row one by one.
        if let Some(role) = &input.role {
            RoleName::parse(role).map_err(|e| e.in_field("role"))?;
        }
        let lifetime_secs = match input.expires_in_seconds {
            None => self.0.config.invitations.default_lifetime_secs,
            Some(s) if (1..=MAX_INVITATION_LIFETIME_SECS).contains(&s) => s,
            Some(_) => {
                return Err(Error::invalid(
                    "expires_in_seconds",
                    format!("1 to {MAX_INVITATION_LIFETIME_SECS} seconds"),
                ));
            }
        };
        let message = text("message", input.message.as_deref(), 2000)?;
        // A key is checked on a dry run too; only a real run records it.
        let idempotency = idempotency(actor, idempotency_key, &input)?.filter(|_| !input.dry_run);
        let rows = input
            .rows
            .iter()
            .map(|r| prepare_row(&self.0.keys, r, &input.role))
            .collect();
        let rows = self
            .store_ref()
            .write(Create {
                actor: actor.clone(),
                space,
                rows,
                lifetime_secs,
                message,
                dry_run: input.dry_run,
                idempotency,
                creator: None,
            })
            .await?;
        if !input.dry_run {
            self.0.mail_queued.notify_one();
        }
        Ok(BulkResult {
            dry_run: input.dry_run,
            rows,
        })
    }

    /// Invites one person: the single-row form of [`App::invite`], its row's error
    /// being the request's.
    pub async fn invite_one(
        &self,
        actor: &Actor,
        input: InvitationInput,
        idempotency_key: Option<&str>,
    ) -> Result<InvitationResult> {
        if input.rows.len() != 1 {
            return Err(Error::invalid("rows", "exactly one person"));
        }
        self.invite(actor, input, idempotency_key)
            .await?
            .rows
            .pop()
            .ok_or_else(|| Error::internal("no row answered"))?
    }
}
