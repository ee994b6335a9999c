//! Invitations addressed to one person: create (one or in bulk, idempotently), list,
//! re-send, revoke, and the addressee's accept / decline. Every write that queues an
//! e-mail writes it to the outbox in the same transaction.

use std::collections::HashMap;

use guestlist_domain::events::{
    EventData, InvitationAccepted, InvitationCreated, InvitationDeclined, InvitationResent,
    InvitationRevoked,
};
use guestlist_domain::{
    Actor, Addressee, Email, Error, InvitationOutcome, InvitationStatus, JoinOutcome,
    MembershipSource, Permission, RoleName, SpacePath, UserId, Username,
};
use guestlist_store::{
    InvitationQuery, InvitationRow, MailSubject, MembershipRow, NewInvitation, NewMail, PageKey,
    Reissue, Tx, Visibility,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::admission::admit;
use super::members::{MembershipView, view as member_view};
use super::{operation, text};
use crate::limits::Surface;
use crate::scope::{Scope, require_user, subtrees_with};
use crate::secrets::{Keys, TOKEN_LEN};
use crate::{App, Caller, Result, paging};

/// How long a retry with the same Idempotency-Key gets the first answer.
pub const IDEMPOTENCY_KEY_TTL_HOURS: i64 = 24;

/// Most rows one bulk request may carry.
pub const MAX_BULK_ROWS: usize = 1_000;
/// Longest lifetime an invitation may be given.
pub const MAX_INVITATION_LIFETIME_SECS: i64 = 30 * 24 * 3600;

/// How invitations behave; the binary fills it from its configuration.
#[derive(Debug, Clone)]
pub struct InvitationConfig {
    /// The accept link an e-mail carries, with `{token}` in it: an `https://` page of
    /// the host application, or a deep link such as `myapp://invite/{token}`.
    pub accept_url_template: String,
    /// Lifetime of an invitation when the inviter names none.
    pub default_lifetime_secs: i64,
    /// A pending invitation is re-sent at most this often (an expired one any time).
    pub resend_interval_secs: i64,
}

impl Default for InvitationConfig {
    fn default() -> Self {
        InvitationConfig {
            accept_url_template: "http://127.0.0.1:7700/invitations/accept?token={token}".into(),
            default_lifetime_secs: 7 * 24 * 3600,
            resend_interval_secs: 60,
        }
    }
}

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

#[derive(Debug, Clone, Default, Serialize)]
pub struct InvitationInput {
    pub space: String,
    /// Defaults to `member`.
    pub role: Option<String>,
    pub expires_in_seconds: Option<i64>,
    /// A personal note shown in the e-mail.
    pub message: Option<String>,
    pub rows: Vec<InviteeInput>,
    /// Decide every row's outcome without changing anything.
    pub dry_run: bool,
}

#[derive(Debug, Clone)]
pub struct InvitationView {
    pub invitation: InvitationRow,
    pub status: InvitationStatus,
}

impl InvitationView {
    /// The opaque cursor that pages past this row (Relay connections, `after`).
    pub fn cursor(&self) -> String {
        crate::paging::encode(&guestlist_store::PageKey {
            created_at: self.invitation.created_at,
            id: self.invitation.id,
        })
    }
}

impl InvitationView {
    fn of(invitation: InvitationRow, now: OffsetDateTime) -> Self {
        let status = invitation.status(now);
        InvitationView { invitation, status }
    }
}

#[derive(Debug, Clone)]
pub struct InvitationResult {
    pub outcome: InvitationOutcome,
    /// The new or existing invitation (none in a dry run's `invited`, none for members).
    pub invitation: Option<InvitationView>,
    /// For `already_member`: their membership of this space, when held here directly.
    pub membership: Option<MembershipView>,
}

#[derive(Debug, Clone)]
pub struct BulkResult {
    pub dry_run: bool,
    /// One entry per row, in order.
    pub rows: Vec<Result<InvitationResult>>,
}

#[derive(Debug, Clone, Default)]
pub struct InvitationFilter {
    /// This space and beneath.
    pub space: Option<SpacePath>,
    pub status: Option<InvitationStatus>,
    pub email: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct InvitationPage {
    pub invitations: Vec<InvitationView>,
    pub next: Option<String>,
}

/// What accepting or declining did.
#[derive(Debug, Clone)]
pub struct Response {
    pub invitation: InvitationView,
    /// The space's display name (what the pages show).
    pub space_name: String,
    /// For an accept: joined, upgraded, or already_member (also for a repeated accept).
    pub outcome: Option<JoinOutcome>,
    pub membership: Option<MembershipView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Decline,
}

/// A row checked before the transaction, with the secrets it will need.
#[derive(Debug, Clone)]
struct Prepared {
    addressee: Addressee,
    role: RoleName,
    issue: Issue,
}

/// A new token (and e-mail) for an invitation; or a token carried over from another
/// system (its hash only: no salt it could be derived from again, and no e-mail, the
/// person holds it already).
#[derive(Debug, Clone)]
struct Issue {
    id: Uuid,
    salt: Vec<u8>,
    token_hash: Vec<u8>,
    mail_id: Uuid,
    carried: bool,
}

/// What an idempotency record keeps of each row: enough to answer a retry exactly as
/// the first time. The ids find the rows; what may have changed since (a send, a
/// delivery attempt, a decision, a role) is kept as it was answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredRow {
    outcome: Option<InvitationOutcome>,
    invitation_id: Option<Uuid>,
    membership_id: Option<Uuid>,
    #[serde(default)]
    invitation: Option<InvitationAsAnswered>,
    #[serde(default)]
    membership: Option<MembershipAsAnswered>,
}

/// An invitation's fields that change after it is created, as first answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct InvitationAsAnswered {
    status: InvitationStatus,
    stored_status: InvitationStatus,
    expires_at: OffsetDateTime,
    lifetime_secs: i64,
    sends: u32,
    last_sent_at: OffsetDateTime,
    decided_by: Option<String>,
    decided_at: Option<OffsetDateTime>,
    delivery: Option<DeliveryAsAnswered>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeliveryAsAnswered {
    mail_id: Uuid,
    state: guestlist_domain::DeliveryState,
    attempts: u32,
    last_error: Option<String>,
    sent_at: Option<OffsetDateTime>,
}

/// A membership's fields that change, as first answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MembershipAsAnswered {
    role: RoleName,
    status: guestlist_domain::MembershipStatus,
    updated_at: OffsetDateTime,
}

impl InvitationAsAnswered {
    fn of(v: &InvitationView) -> Self {
        let i = &v.invitation;
        InvitationAsAnswered {
            status: v.status,
            stored_status: i.stored_status,
            expires_at: i.expires_at,
            lifetime_secs: i.lifetime_secs,
            sends: i.sends,
            last_sent_at: i.last_sent_at,
            decided_by: i.decided_by.clone(),
            decided_at: i.decided_at,
            delivery: i.delivery.as_ref().map(|d| DeliveryAsAnswered {
                mail_id: d.mail_id,
                state: d.state,
                attempts: d.attempts,
                last_error: d.last_error.clone(),
                sent_at: d.sent_at,
            }),
        }
    }

    fn restore(self, mut v: InvitationView) -> InvitationView {
        let i = &mut v.invitation;
        v.status = self.status;
        i.stored_status = self.stored_status;
        i.expires_at = self.expires_at;
        i.lifetime_secs = self.lifetime_secs;
        i.sends = self.sends;
        i.last_sent_at = self.last_sent_at;
        i.decided_by = self.decided_by;
        i.decided_at = self.decided_at;
        i.delivery = self.delivery.map(|d| guestlist_store::Delivery {
            mail_id: d.mail_id,
            state: d.state,
            attempts: d.attempts,
            last_error: d.last_error,
            sent_at: d.sent_at,
        });
        v
    }
}

#[derive(Debug, Clone)]
struct Idempotency {
    owner: String,
    key: String,
    request_hash: Vec<u8>,
}

struct Create {
    actor: Actor,
    space: SpacePath,
    rows: Vec<Result<Prepared>>,
    lifetime_secs: i64,
    message: Option<String>,
    dry_run: bool,
    idempotency: Option<Idempotency>,
    /// Who the invitations are recorded as sent by, when not the actor (an import
    /// carries the other system's inviter, so the sponsor lifecycle applies).
    creator: Option<UserId>,
}

/// One row of a create, inside the transaction.
async fn invite_one(
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

fn invited(invitation: Option<InvitationView>) -> InvitationResult {
    InvitationResult {
        outcome: InvitationOutcome::Invited,
        invitation,
        membership: None,
    }
}

fn already_invited(invitation: Option<InvitationView>) -> InvitationResult {
    InvitationResult {
        outcome: InvitationOutcome::AlreadyInvited,
        invitation,
        membership: None,
    }
}

/// Ends an expired invitation that a new one for another role replaces
/// (`invitation.revoked` with `reason: superseded`).
async fn supersede(
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
async fn reissue(
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

/// Answers a retried request from its idempotency record: each row that succeeded
/// exactly as it was first answered (the outcome, and the invitation or membership
/// as they were then). Rows that failed changed nothing and are tried again.
async fn replay(
    tx: &mut dyn Tx,
    scope: &Scope,
    op: &Create,
    held: guestlist_domain::Permissions,
    stored: Vec<StoredRow>,
) -> Result<Vec<Result<InvitationResult>>> {
    let now = crate::now();
    let mut out = Vec::with_capacity(op.rows.len());
    let mut seen = HashMap::new();
    for (row, s) in op.rows.iter().zip(stored) {
        let Some(outcome) = s.outcome else {
            out.push(match row {
                Ok(p) => invite_one(tx, scope, op, held, p, &mut seen).await,
                Err(e) => Err(e.clone()),
            });
            continue;
        };
        let invitation = match s.invitation_id {
            Some(id) => tx.invitation_by_id(id).await?.map(|i| {
                let now_view = InvitationView::of(i, now);
                match s.invitation {
                    Some(answered) => answered.restore(now_view),
                    None => now_view,
                }
            }),
            None => None,
        };
        let membership = match s.membership_id {
            Some(id) => tx.membership_by_id(id).await?.map(|mut m| {
                if let Some(answered) = s.membership {
                    m.role = answered.role;
                    m.status = answered.status;
                    m.updated_at = answered.updated_at;
                }
                member_view(scope, m)
            }),
            None => None,
        };
        out.push(Ok(InvitationResult {
            outcome,
            invitation,
            membership,
        }));
    }
    Ok(out)
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

struct List {
    actor: Actor,
    filter: InvitationFilter,
    email: Option<Email>,
    limit: u32,
}

operation!(List => InvitationPage, |self, tx| {
    let visible = match subtrees_with(tx, &self.actor, Permission::ManageInvites).await? {
        None => Visibility::All,
        Some(roots) => Visibility::Subtrees(roots),
    };
    let now = crate::now();
    let rows = tx
        .list_invitations(&InvitationQuery {
            visible,
            subtree: self.filter.space.clone(),
            status: self.filter.status,
            email: self.email.clone(),
            now,
            after: paging::decode(self.filter.after.as_deref())?,
            limit: self.limit + 1,
        })
        .await?;
    let (rows, next) = paging::split(rows, self.limit, |i| PageKey { created_at: i.created_at, id: i.id });
    Ok(InvitationPage { invitations: rows.into_iter().map(|i| InvitationView::of(i, now)).collect(), next })
});

/// Loads an invitation for someone who manages invites on its space; to anyone else
/// it does not exist.
async fn managed(tx: &mut dyn Tx, actor: &Actor, id: Uuid) -> Result<(Scope, InvitationRow)> {
    let invitation = tx
        .invitation_by_id(id)
        .await?
        .ok_or(Error::NotFound("invitation"))?;
    let scope = Scope::load(tx, &invitation.space_path).await?;
    if !scope
        .rights(tx, actor)
        .await?
        .has(Permission::ManageInvites)
    {
        return Err(Error::NotFound("invitation"));
    }
    Ok((scope, invitation))
}

struct Get {
    actor: Actor,
    id: Uuid,
}

operation!(Get => InvitationView, |self, tx| {
    let (_, invitation) = managed(tx, &self.actor, self.id).await?;
    Ok(InvitationView::of(invitation, crate::now()))
});

struct Resend {
    actor: Actor,
    id: Uuid,
    issue: Issue,
    interval_secs: i64,
}

operation!(Resend => InvitationView, |self, tx| {
    let (scope, invitation) = managed(tx, &self.actor, self.id).await?;
    // A resend is a reissue (which holds the ceiling): said before anything else.
    scope.require_can_grant(tx, &self.actor, Permission::ManageInvites, &invitation.role).await?;
    let now = crate::now();
    match invitation.status(now) {
        InvitationStatus::Pending => {
            let wait = (invitation.last_sent_at + Duration::seconds(self.interval_secs) - now).whole_seconds();
            if wait > 0 {
                return Err(Error::RateLimited { retry_after_secs: wait as u64 });
            }
        }
        InvitationStatus::Expired => {}
        _ => return Err(Error::NotPending),
    }
    reissue(tx, &scope, &self.actor, &invitation, &self.issue, invitation.lifetime_secs).await
});

struct Revoke {
    actor: Actor,
    id: Uuid,
}

operation!(Revoke => InvitationView, |self, tx| {
    let (scope, invitation) = managed(tx, &self.actor, self.id).await?;
    // Revoking an invitation is deciding a grant: only someone who could have made it
    // (an inviter cannot revoke an admin's admin invitation), as for links.
    scope.require_can_grant(tx, &self.actor, Permission::ManageInvites, &invitation.role).await?;
    let now = crate::now();
    if invitation.status(now) != InvitationStatus::Pending
        || !tx.decide_invitation(invitation.id, InvitationStatus::Revoked, &self.actor.label(), now, Some(now)).await?
    {
        return Err(Error::NotPending);
    }
    tx.cancel_mail_of(MailSubject::Invitation(invitation.id)).await?;
    tx.append_event(&scope.event(
        &self.actor,
        invitation.addressee.user_id.as_ref().map(UserId::as_str),
        InvitationRevoked { invitation_id: invitation.id, reason: None, sponsor: None, role: None },
    ))
    .await?;
    let fresh = tx.invitation_by_id(invitation.id).await?.ok_or(Error::NotFound("invitation"))?;
    Ok(InvitationView::of(fresh, now))
});

/// How the addressee names an invitation: the token from the e-mail, or (signed in,
/// from their list of pending invitations) its id.
#[derive(Debug, Clone)]
enum Target {
    Token(Vec<u8>),
    Id(Uuid),
}

/// An invitation as its addressee sees it before answering.
#[derive(Debug, Clone)]
pub struct InvitationPreview {
    pub invitation: InvitationView,
    pub space_name: String,
    /// How the signed-in caller stands to the addressee (`None`: signed out).
    pub binding: Option<guestlist_domain::Binding>,
}

struct PreviewByToken {
    hash: Vec<u8>,
    actor: Option<Actor>,
}

operation!(PreviewByToken => InvitationPreview, |self, tx| {
    let invitation = tx.invitation_by_token(&self.hash).await?.ok_or(Error::NotFound("invitation"))?;
    let now = crate::now();
    match invitation.status(now) {
        InvitationStatus::Revoked => return Err(Error::NotFound("invitation")),
        InvitationStatus::Expired => return Err(Error::Expired),
        _ => {}
    }
    let scope = Scope::load(tx, &invitation.space_path).await?;
    let binding = self.actor.as_ref().map(|a| invitation.addressee.binding(a));
    Ok(InvitationPreview {
        space_name: scope.space.name.clone(),
        invitation: InvitationView::of(invitation, now),
        binding,
    })
});

struct Respond {
    actor: Actor,
    target: Target,
    decision: Decision,
}

/// The membership a repeated accept answers with.
async fn accepted_again(
    tx: &mut dyn Tx,
    invitation: InvitationRow,
    user: &UserId,
    now: OffsetDateTime,
) -> Result<Response> {
    let scope = Scope::load(tx, &invitation.space_path).await?;
    let membership: Option<MembershipRow> = scope.membership(tx, user).await?;
    Ok(Response {
        invitation: InvitationView::of(invitation, now),
        space_name: scope.space.name.clone(),
        outcome: Some(JoinOutcome::AlreadyMember),
        membership: membership.map(|m| member_view(&scope, m)),
    })
}

operation!(Respond => Response, |self, tx| {
    let user = require_user(&self.actor)?;
    let found = match &self.target {
        Target::Token(hash) => tx.invitation_by_token(hash).await?,
        Target::Id(id) => tx.invitation_by_id(*id).await?,
    };
    let invitation = found.ok_or(Error::NotFound("invitation"))?;
    let binding = invitation.addressee.binding(&self.actor);
    // Named by id, an invitation exists only for its addressee.
    if matches!(self.target, Target::Id(_)) && binding != guestlist_domain::Binding::Matches {
        return Err(Error::NotFound("invitation"));
    }
    let now = crate::now();
    match invitation.status(now) {
        InvitationStatus::Pending => {}
        // A revoked token reads as unknown.
        InvitationStatus::Revoked => return Err(Error::NotFound("invitation")),
        InvitationStatus::Expired => return Err(Error::Expired),
        InvitationStatus::Accepted
            if self.decision == Decision::Accept && invitation.decided_by.as_deref() == Some(user.as_str()) =>
        {
            return accepted_again(tx, invitation, user, now).await;
        }
        InvitationStatus::Accepted | InvitationStatus::Declined => return Err(Error::NotPending),
    }
    binding.require()?;
    let to = match self.decision {
        Decision::Accept => InvitationStatus::Accepted,
        Decision::Decline => InvitationStatus::Declined,
    };
    // The atomic claim: of two concurrent answers, one moves it out of pending.
    if !tx.decide_invitation(invitation.id, to, user.as_str(), now, Some(now)).await? {
        let fresh = tx.invitation_by_id(invitation.id).await?.ok_or(Error::NotFound("invitation"))?;
        return match fresh.status(now) {
            InvitationStatus::Accepted
                if self.decision == Decision::Accept && fresh.decided_by.as_deref() == Some(user.as_str()) =>
            {
                accepted_again(tx, fresh, user, now).await
            }
            InvitationStatus::Expired => Err(Error::Expired),
            InvitationStatus::Revoked => Err(Error::NotFound("invitation")),
            _ => Err(Error::NotPending),
        };
    }
    tx.cancel_mail_of(MailSubject::Invitation(invitation.id)).await?;
    let scope = Scope::load(tx, &invitation.space_path).await?;
    let (outcome, membership) = match self.decision {
        Decision::Accept => {
            let admitted = admit(tx, &scope, &self.actor, user, &invitation.role, MembershipSource::Invitation, None).await?;
            let (outcome, membership) = admitted.split(&scope);
            (Some(outcome), membership)
        }
        Decision::Decline => (None, None),
    };
    let (invitation_id, role, user_id) = (invitation.id, invitation.role.clone(), user.as_str().to_owned());
    let email = invitation.addressee.email.as_ref().map(|e| e.as_str().to_owned());
    let invited_by = invitation.created_by.clone();
    let event: EventData = match self.decision {
        Decision::Accept => {
            InvitationAccepted { invitation_id, user_id, email, invited_by, role: Some(role) }.into()
        }
        Decision::Decline => InvitationDeclined { invitation_id, user_id, email, invited_by, role }.into(),
    };
    tx.append_event(&scope.event(&self.actor, Some(user.as_str()), event)).await?;
    let fresh = tx.invitation_by_id(invitation.id).await?.ok_or(Error::NotFound("invitation"))?;
    Ok(Response { invitation: InvitationView::of(fresh, now), space_name: scope.space.name.clone(), outcome, membership })
});

struct Mine {
    actor: Actor,
    after: Option<String>,
    limit: u32,
}

/// The pending invitations addressed to the signed-in `actor` (by user id, username,
/// or an e-mail address the host application verified), newest first.
pub(crate) async fn addressed_to(
    tx: &mut dyn Tx,
    actor: &Actor,
    after: Option<&str>,
    limit: u32,
) -> Result<(Vec<InvitationView>, Option<String>)> {
    let Actor::User { id, .. } = actor else {
        return Err(Error::forbidden("only a signed-in user has invitations"));
    };
    // Only an address the host application verified shows what was sent to it.
    let (email, username) = (actor.verified_email(), actor.username());
    let now = crate::now();
    let after = paging::decode(after)?;
    let rows = tx
        .invitations_addressed_to(
            id,
            email.as_ref(),
            username.as_ref(),
            now,
            after.as_ref(),
            limit + 1,
        )
        .await?;
    let (rows, next) = paging::split(rows, limit, |i| PageKey {
        created_at: i.created_at,
        id: i.id,
    });
    Ok((
        rows.into_iter()
            .map(|i| InvitationView::of(i, now))
            .collect(),
        next,
    ))
}

operation!(Mine => InvitationPage, |self, tx| {
    let (invitations, next) = addressed_to(tx, &self.actor, self.after.as_deref(), self.limit).await?;
    Ok(InvitationPage { invitations, next })
});

/// Validates one row of a request into an addressee and a role.
fn prepare_row(
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
    fn new(keys: &Keys) -> Self {
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
    fn carried(keys: &Keys, token: &str) -> Result<Self> {
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

/// The bounds of an invitation token carried over from another system.
const MIN_CARRIED_TOKEN_LEN: usize = 16;
const MAX_CARRIED_TOKEN_LEN: usize = 128;

/// Whether a token could be one carried over: 16 to 128 letters, digits, `-`, `_`.
fn carried_token(token: &str) -> bool {
    (MIN_CARRIED_TOKEN_LEN..=MAX_CARRIED_TOKEN_LEN).contains(&token.len())
        && guestlist_domain::invite::url_safe(token)
}

/// An idempotency key: 1-255 printable ASCII characters.
fn idempotency(
    actor: &Actor,
    key: Option<&str>,
    input: &InvitationInput,
) -> Result<Option<Idempotency>> {
    let Some(key) = key else { return Ok(None) };
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            "Idempotency-Key",
            "1-255 printable ASCII characters",
        ));
    }
    let request = serde_json::to_vec(input).map_err(Error::internal)?;
    Ok(Some(Idempotency {
        owner: actor.label(),
        key: key.to_owned(),
        request_hash: Sha256::digest(&request).to_vec(),
    }))
}

struct ExpireKeys;

operation!(ExpireKeys => u64, |self, tx| {
    tx.expire_idempotency_keys(crate::now() - Duration::hours(IDEMPOTENCY_KEY_TTL_HOURS)).await
});

impl App {
    fn token_hash(&self, token: &str) -> Result<Vec<u8>> {
        let token = token.trim();
        let made_here =
            token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_alphanumeric());
        if !made_here && !carried_token(token) {
            return Err(Error::NotFound("invitation"));
        }
        Ok(self.0.keys.hash_token(token))
    }

    /// The sign-up link of the platform invitation token issued with `salt`.
    pub(crate) fn signup_link(&self, salt: &[u8]) -> String {
        let token = self.0.keys.token_for(salt);
        self.0.config.signup.url_template.replace("{token}", &token)
    }

    /// The accept link of the token issued with `salt`.
    pub(crate) fn accept_link(&self, salt: &[u8]) -> String {
        let token = self.0.keys.token_for(salt);
        self.0
            .config
            .invitations
            .accept_url_template
            .replace("{token}", &token)
    }

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

    pub async fn list_invitations(
        &self,
        actor: &Actor,
        filter: InvitationFilter,
    ) -> Result<InvitationPage> {
        let limit = paging::page_size(filter.limit)?;
        let email = filter.email.as_deref().map(Email::parse).transpose()?;
        self.store_ref()
            .read(List {
                actor: actor.clone(),
                filter,
                email,
                limit,
            })
            .await
    }

    pub async fn get_invitation(&self, actor: &Actor, id: Uuid) -> Result<InvitationView> {
        self.store_ref()
            .read(Get {
                actor: actor.clone(),
                id,
            })
            .await
    }

    /// Sends a pending or expired invitation again: a new token and expiry; the old
    /// token stops working.
    pub async fn resend_invitation(&self, actor: &Actor, id: Uuid) -> Result<InvitationView> {
        let view = self
            .store_ref()
            .write(Resend {
                actor: actor.clone(),
                id,
                issue: Issue::new(&self.0.keys),
                interval_secs: self.0.config.invitations.resend_interval_secs,
            })
            .await?;
        self.0.mail_queued.notify_one();
        Ok(view)
    }

    /// Soft-revokes a pending invitation (`not_pending` otherwise).
    pub async fn revoke_invitation(&self, actor: &Actor, id: Uuid) -> Result<InvitationView> {
        self.store_ref()
            .write(Revoke {
                actor: actor.clone(),
                id,
            })
            .await
    }

    /// What the e-mail's token names, for the page that asks its addressee to answer:
    /// the invitation, its space's name, and how `caller` stands to it (`None`
    /// signed out). A revoked or unknown token is `not_found` alike; an expired one
    /// `expired`; one already answered is shown with its status. Rate limited like
    /// previews.
    pub async fn preview_invitation(
        &self,
        caller: &Caller,
        token: &str,
    ) -> Result<InvitationPreview> {
        self.0.limits.check(Surface::Preview, caller)?;
        let hash = self.token_hash(token)?;
        self.store_ref()
            .read(PreviewByToken {
                hash,
                actor: caller.actor.clone(),
            })
            .await
    }

    /// Accepts or declines with the token from the e-mail. Rate limited like joins.
    pub async fn respond_by_token(
        &self,
        caller: &Caller,
        token: &str,
        decision: Decision,
    ) -> Result<Response> {
        let actor = caller
            .actor
            .clone()
            .ok_or_else(|| Error::Unauthenticated("sign in to answer an invitation".into()))?;
        self.0.limits.check(Surface::Join, caller)?;
        let hash = self.token_hash(token)?;
        self.store_ref()
            .write(Respond {
                actor,
                target: Target::Token(hash),
                decision,
            })
            .await
    }

    /// Accepts or declines one of the caller's own pending invitations by id.
    pub async fn respond_by_id(
        &self,
        actor: &Actor,
        id: Uuid,
        decision: Decision,
    ) -> Result<Response> {
        self.store_ref()
            .write(Respond {
                actor: actor.clone(),
                target: Target::Id(id),
                decision,
            })
            .await
    }

    /// Forgets idempotency keys older than a day; the server calls it now and then.
    pub async fn expire_idempotency_keys(&self) -> Result<u64> {
        self.store_ref().write(ExpireKeys).await
    }

    /// The caller's pending invitations (by user id, username, or verified e-mail).
    pub async fn my_invitations(
        &self,
        actor: &Actor,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<InvitationPage> {
        let limit = paging::page_size(limit)?;
        self.store_ref()
            .read(Mine {
                actor: actor.clone(),
                after,
                limit,
            })
            .await
    }
}

/// An addressed invitation still pending in another system, brought over by an import:
/// invited here (a new token, and an e-mail with it when it has an address: the old
/// system's token does not work here), expiring when it did there, recorded as sent by
/// its inviter there. Someone already invited or already a member changes nothing.
pub(crate) struct CarriedInvitation(Create);

/// An addressed invitation still pending in another system, as an import row has it.
#[derive(Debug, Clone)]
pub struct PendingElsewhere {
    pub space: SpacePath,
    pub invitee: InviteeInput,
    pub expires_at: Option<time::OffsetDateTime>,
    pub message: Option<String>,
    pub invited_by: Option<UserId>,
    /// Its token there, carried over (no new one is sent).
    pub token: Option<String>,
}

operation!(CarriedInvitation => InvitationOutcome, |self, tx| {
    match self.0.run(tx).await?.pop() {
        Some(r) => r.map(|r| r.outcome),
        None => Err(Error::internal("no row answered")),
    }
});

impl App {
    /// Checks an imported pending invitation: the write that carries it over.
    pub(crate) fn prepare_carried_invitation(
        &self,
        actor: &Actor,
        carried: PendingElsewhere,
    ) -> Result<CarriedInvitation> {
        let PendingElsewhere {
            space,
            invitee,
            expires_at,
            message,
            invited_by,
            token,
        } = carried;
        let lifetime_secs = match expires_at {
            None => self.0.config.invitations.default_lifetime_secs,
            Some(at) => {
                let left = (at - crate::now()).whole_seconds();
                if left < 1 {
                    return Err(Error::invalid(
                        "expires_at",
                        "already past: the invitation is no longer pending",
                    ));
                }
                left.min(MAX_INVITATION_LIFETIME_SECS)
            }
        };
        let mut row = prepare_row(&self.0.keys, &invitee, &None);
        if let (Ok(prepared), Some(token)) = (&mut row, token.as_deref()) {
            prepared.issue = Issue::carried(&self.0.keys, token)?;
        }
        Ok(CarriedInvitation(Create {
            actor: actor.clone(),
            space,
            rows: vec![row],
            lifetime_secs,
            message: text("message", message.as_deref(), 2000)?,
            dry_run: false,
            idempotency: None,
            creator: invited_by,
        }))
    }
}
