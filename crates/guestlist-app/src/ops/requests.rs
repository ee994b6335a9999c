//! Rosters with consent and join requests: a member manager adds an existing account
//! (a pending membership only that user can accept or decline), a user asks to join a
//! `request`-mode space (or through a link that needs approval) and a manager approves
//! or denies; and what happens to a sponsor's invitations when they leave.

use guestlist_domain::events::{
    JoinRequestApproved, JoinRequestCancelled, JoinRequestCreated, JoinRequestDenied, MemberAdded,
    MemberDeclined, MemberRemoved, UserDeprovisioned,
};
use guestlist_domain::rules;
use guestlist_domain::{
    Actor, AddOutcome, Email, Error, JoinMode, JoinOutcome, MembershipSource, MembershipStatus,
    Permission, RoleName, SpacePath, UserId,
};
use guestlist_store::{
    InviteRow, JoinRequestRow, JoinRequestStatus, NewJoinRequest, NewMembership, PageKey, Tx,
};
use uuid::Uuid;

use super::admission::{activate, admit, claim_use, identity_of};
use super::invitations::InvitationView;
use super::members::{MembershipView, view as member_view};
use super::{operation, text};
use crate::scope::{Scope, event_on, require_user};
use crate::{App, Result, paging};

#[derive(Debug, Clone)]
pub struct JoinRequestView {
    pub request: JoinRequestRow,
}

impl JoinRequestView {
    /// The opaque cursor that pages past this row (Relay connections, `after`).
    pub fn cursor(&self) -> String {
        crate::paging::encode(&guestlist_store::PageKey {
            created_at: self.request.created_at,
            id: self.request.id,
        })
    }
}

/// What asking to join did.
#[derive(Debug, Clone)]
pub struct RequestResult {
    /// `requested` (also for a request already waiting), `joined` (an open space) or
    /// `already_member`.
    pub outcome: JoinOutcome,
    pub request: Option<JoinRequestView>,
    pub membership: Option<MembershipView>,
}

#[derive(Debug, Clone)]
pub struct JoinRequestPage {
    pub requests: Vec<JoinRequestView>,
    pub next: Option<String>,
}

/// Everything waiting for the caller.
#[derive(Debug, Clone)]
pub struct Pending {
    pub invitations: Vec<InvitationView>,
    /// Owners' adds waiting for consent.
    pub memberships: Vec<MembershipView>,
    pub join_requests: Vec<JoinRequestView>,
}

/// How a manager names the account to add.
#[derive(Debug, Clone)]
pub enum Account {
    Id(UserId),
    Email(Email),
}

/// The user behind an e-mail address: one who signed up through the gate, or who
/// joined a space with that address verified.
async fn account_of(tx: &mut dyn Tx, account: &Account, within: &SpacePath) -> Result<UserId> {
    match account {
        Account::Id(id) => Ok(id.clone()),
        Account::Email(email) => {
            if let Some(s) = tx.signup_of_email(email).await? {
                return Ok(s.user_id);
            }
            match tx.users_with_email(email, within).await?.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err(Error::NotFound("account")),
                _ => Err(Error::invalid(
                    "email",
                    "several accounts used this address: add by user id",
                )),
            }
        }
    }
}

/// Opens a join request (or finds the one waiting). `invite` is the link that asked
/// for approval: its use is counted when the request is made.
pub(crate) async fn open_request(
    tx: &mut dyn Tx,
    scope: &Scope,
    actor: &Actor,
    user: &UserId,
    role: &RoleName,
    message: Option<String>,
    invite: Option<&InviteRow>,
) -> Result<RequestResult> {
    let offered = scope.require_role(role)?;
    if scope.user_rights(tx, user).await?.covers(offered) {
        let direct = scope.membership(tx, user).await?;
        return Ok(RequestResult {
            outcome: JoinOutcome::AlreadyMember,
            request: None,
            membership: direct.map(|m| member_view(scope, m)),
        });
    }
    if let Some(m) = scope.membership(tx, user).await?
        && m.status == MembershipStatus::Pending
    {
        return Err(Error::PendingConsent(format!(
            "you have been added to {} already: accept it (membership {}) instead of asking",
            scope.space.path, m.id
        )));
    }
    if let Some(waiting) = tx.pending_join_request(scope.space.id, user).await? {
        return Ok(requested(waiting));
    }
    if let Some(invite) = invite {
        claim_use(tx, invite).await?;
    }
    let (email, username) = identity_of(actor, user);
    let new = NewJoinRequest {
        id: Uuid::now_v7(),
        space_id: scope.space.id,
        space_path: scope.space.path.clone(),
        user_id: user.clone(),
        email,
        username,
        role: role.clone(),
        message,
        invite_id: invite.map(|i| i.id),
        created_at: crate::now(),
    };
    if !tx.insert_join_request(&new).await? {
        // A concurrent request of the same user won the unique key.
        let waiting = tx
            .pending_join_request(scope.space.id, user)
            .await?
            .ok_or_else(|| Error::Contention("a join request vanished".into()))?;
        return Err(Error::Contention(format!(
            "join request {} raced",
            waiting.id
        )));
    }
    tx.append_event(&scope.event(
        actor,
        Some(user.as_str()),
        JoinRequestCreated {
            request_id: new.id,
            role: role.clone(),
            invite_id: new.invite_id,
        },
    ))
    .await?;
    let row = tx
        .join_request_by_id(new.id)
        .await?
        .ok_or_else(|| Error::internal("join request vanished"))?;
    Ok(requested(row))
}

fn requested(request: JoinRequestRow) -> RequestResult {
    RequestResult {
        outcome: JoinOutcome::Requested,
        request: Some(JoinRequestView { request }),
        membership: None,
    }
}

struct OwnerAdd {
    actor: Actor,
    path: SpacePath,
    account: Account,
    role: RoleName,
}

operation!(OwnerAdd => (AddOutcome, Option<MembershipView>), |self, tx| {
    let scope = Scope::load(tx, &self.path).await?;
    let granted = scope.require_can_grant(tx, &self.actor, Permission::ManageMembers, &self.role).await?;
    let user = account_of(tx, &self.account, &scope.space.path).await?;
    if let Some(m) = scope.membership(tx, &user).await? {
        let outcome = match m.status {
            MembershipStatus::Pending => AddOutcome::AlreadyPending,
            MembershipStatus::Active => AddOutcome::AlreadyMember,
        };
        return Ok((outcome, Some(member_view(&scope, m))));
    }
    // They asked to join: adding them approves the request.
    if let Some(request) = tx.pending_join_request(scope.space.id, &user).await? {
        let (outcome, m) = approve(tx, &scope, &self.actor, &request, &self.role).await?;
        let outcome = if outcome == JoinOutcome::AlreadyMember { AddOutcome::AlreadyMember } else { AddOutcome::Joined };
        return Ok((outcome, m));
    }
    // Rights from a parent space: a member already, with no membership here.
    if scope.user_rights(tx, &user).await?.covers(granted) {
        return Ok((AddOutcome::AlreadyMember, None));
    }
    let new = NewMembership {
        id: Uuid::now_v7(),
        space_id: scope.space.id,
        user_id: user.clone(),
        role: self.role.clone(),
        status: MembershipStatus::Pending,
        source: MembershipSource::OwnerAdd,
        invite_id: None,
        created_at: crate::now(),
        email: match &self.account { Account::Email(e) => Some(e.clone()), Account::Id(_) => None },
        username: None,
        added_by: Some(self.actor.label()),
    };
    let Some(row) = tx.insert_membership(&new).await? else {
        return Err(Error::Contention("a membership was added concurrently".into()));
    };
    tx.append_event(&scope.event(
        &self.actor,
        Some(user.as_str()),
        MemberAdded {
            role: self.role.clone(),
            status: MembershipStatus::Pending,
            source: MembershipSource::OwnerAdd,
            membership_id: row.id,
        },
    ))
    .await?;
    Ok((AddOutcome::Pending, Some(member_view(&scope, row))))
});

/// Approves a request: the request and the membership change together, within the
/// member limit; on any refusal neither does.
async fn approve(
    tx: &mut dyn Tx,
    scope: &Scope,
    actor: &Actor,
    request: &JoinRequestRow,
    role: &RoleName,
) -> Result<(JoinOutcome, Option<MembershipView>)> {
    if !tx
        .decide_join_request(
            request.id,
            JoinRequestStatus::Approved,
            &actor.label(),
            crate::now(),
        )
        .await?
    {
        return Err(Error::NotPending);
    }
    let admitted = admit(
        tx,
        scope,
        actor,
        &request.user_id,
        role,
        MembershipSource::JoinRequest,
        None,
    )
    .await?;
    tx.append_event(&scope.event(
        actor,
        Some(request.user_id.as_str()),
        JoinRequestApproved {
            request_id: request.id,
            role: role.clone(),
        },
    ))
    .await?;
    Ok(admitted.split(scope))
}

struct AnswerAdd {
    actor: Actor,
    id: Uuid,
    accept: bool,
}

operation!(AnswerAdd => Option<MembershipView>, |self, tx| {
    let user = require_user(&self.actor)?;
    let m = tx
        .membership_by_id(self.id)
        .await?
        .filter(|m| &m.user_id == user)
        .ok_or(Error::NotFound("membership"))?;
    if m.status != MembershipStatus::Pending {
        return Err(Error::NotPending);
    }
    let path = space_of(tx, m.space_id).await?;
    let scope = Scope::load(tx, &path).await?;
    if self.accept {
        let role = m.role.clone();
        let admitted = activate(tx, &scope, &self.actor, m, &role, MembershipSource::OwnerAdd, None).await?;
        return Ok(admitted.split(&scope).1);
    }
    tx.delete_membership(m.id).await?;
    tx.append_event(&scope.event(&self.actor, Some(user.as_str()), MemberDeclined { role: m.role }))
        .await?;
    Ok(None)
});

async fn space_of(tx: &mut dyn Tx, space_id: Uuid) -> Result<SpacePath> {
    tx.space_path_of(space_id)
        .await?
        .ok_or(Error::NotFound("space"))
}

struct AskToJoin {
    actor: Actor,
    path: SpacePath,
    message: Option<String>,
}

operation!(AskToJoin => RequestResult, |self, tx| {
    let user = require_user(&self.actor)?;
    let scope = Scope::load(tx, &self.path).await?;
    match scope.space.join_mode {
        JoinMode::Request => {}
        JoinMode::Open => {
            let admitted = admit(tx, &scope, &self.actor, user, &RoleName::member(), MembershipSource::OpenJoin, None).await?;
            let (outcome, membership) = admitted.split(&scope);
            return Ok(RequestResult { outcome, request: None, membership });
        }
        JoinMode::InviteOnly => {
            if scope.user_rights(tx, user).await?.is_empty() {
                return Err(Error::InviteRequired);
            }
        }
    }
    open_request(tx, &scope, &self.actor, user, &RoleName::member(), self.message.clone(), None).await
});

struct ListRequests {
    actor: Actor,
    path: SpacePath,
    status: Option<JoinRequestStatus>,
    after: Option<String>,
    limit: u32,
}

operation!(ListRequests => JoinRequestPage, |self, tx| {
    let scope = Scope::load(tx, &self.path).await?;
    scope.require_visible(tx, &self.actor, Permission::ManageMembers).await?;
    let after = paging::decode(self.after.as_deref())?;
    let rows = tx.list_join_requests(scope.space.id, self.status, after.as_ref(), self.limit + 1).await?;
    let (rows, next) = paging::split(rows, self.limit, |r| PageKey { created_at: r.created_at, id: r.id });
    Ok(JoinRequestPage { requests: rows.into_iter().map(|request| JoinRequestView { request }).collect(), next })
});

struct Decide {
    actor: Actor,
    id: Uuid,
    approve: bool,
}

operation!(Decide => (JoinRequestView, Option<MembershipView>), |self, tx| {
    let request = tx.join_request_by_id(self.id).await?.ok_or(Error::NotFound("join request"))?;
    let scope = Scope::load(tx, &request.space_path).await?;
    let held = scope.rights(tx, &self.actor).await?;
    if !held.has(Permission::Read) {
        return Err(Error::NotFound("join request"));
    }
    rules::require(held, Permission::ManageMembers)?;
    if request.status != JoinRequestStatus::Pending {
        return Err(Error::NotPending);
    }
    let membership = if self.approve {
        scope.check_grant(held, &request.role)?;
        approve(tx, &scope, &self.actor, &request, &request.role).await?.1
    } else {
        if !tx.decide_join_request(request.id, JoinRequestStatus::Denied, &self.actor.label(), crate::now()).await? {
            return Err(Error::NotPending);
        }
        tx.append_event(&scope.event(
            &self.actor,
            Some(request.user_id.as_str()),
            JoinRequestDenied { request_id: request.id },
        ))
        .await?;
        None
    };
    let fresh = tx.join_request_by_id(self.id).await?.ok_or(Error::NotFound("join request"))?;
    Ok((JoinRequestView { request: fresh }, membership))
});

struct Cancel {
    actor: Actor,
    id: Uuid,
}

operation!(Cancel => JoinRequestView, |self, tx| {
    let user = require_user(&self.actor)?;
    let request = tx
        .join_request_by_id(self.id)
        .await?
        .filter(|r| &r.user_id == user)
        .ok_or(Error::NotFound("join request"))?;
    if !tx.decide_join_request(request.id, JoinRequestStatus::Cancelled, user.as_str(), crate::now()).await? {
        return Err(Error::NotPending);
    }
    let scope = Scope::load(tx, &request.space_path).await?;
    tx.append_event(&scope.event(&self.actor, Some(user.as_str()), JoinRequestCancelled { request_id: request.id }))
        .await?;
    let fresh = tx.join_request_by_id(self.id).await?.ok_or(Error::NotFound("join request"))?;
    Ok(JoinRequestView { request: fresh })
});

struct MyPending {
    actor: Actor,
}

operation!(MyPending => Pending, |self, tx| {
    let user = require_user(&self.actor)?;
    let invitations = super::invitations::addressed_to(tx, &self.actor, None, 100).await?.0;
    let mut memberships = Vec::new();
    for (m, path) in tx.memberships_of(user).await? {
        if m.status == MembershipStatus::Pending {
            memberships.push(MembershipView { membership: m, space: path });
        }
    }
    let join_requests = tx
        .pending_join_requests_of(user)
        .await?
        .into_iter()
        .map(|request| JoinRequestView { request })
        .collect();
    Ok(Pending { invitations, memberships, join_requests })
});

struct Deprovision {
    actor: Actor,
    user: UserId,
}

/// What deprovisioning a user undid.
#[derive(Debug, Clone, Default)]
pub struct Deprovisioned {
    pub memberships_removed: usize,
    pub invites_revoked: usize,
    pub platform_invitations_revoked: usize,
    pub join_requests_cancelled: usize,
}

operation!(Deprovision => Deprovisioned, |self, tx| {
    if !self.actor.is_platform_admin() {
        return Err(Error::forbidden("only a platform-admin API key can deprovision a user"));
    }
    deprovision(tx, &self.actor, &self.user, None, "deprovisioned").await
});

/// Ends `user`'s memberships within `root` (everywhere: `None`), revokes what they
/// sponsored there that they can no longer hand out (every link, invitation and
/// pending add, each with its event), cancels their join requests there (and, only
/// everywhere, their platform invitations), and records `user.deprovisioned`: the
/// platform key's deprovisioning and SCIM's (a deactivated or deleted user) alike.
pub(crate) async fn deprovision(
    tx: &mut dyn Tx,
    actor: &Actor,
    user: &UserId,
    root: Option<&SpacePath>,
    reason: &str,
) -> Result<Deprovisioned> {
    let within = |p: &SpacePath| root.is_none_or(|r| p.is_within(r));
    let mut done = Deprovisioned::default();
    for (m, path) in tx.memberships_of(user).await? {
        if !within(&path) {
            continue;
        }
        tx.delete_membership(m.id).await?;
        if m.status == MembershipStatus::Active {
            tx.free_seat(m.space_id).await?;
        }
        let scope = Scope::load(tx, &path).await?;
        tx.append_event(&scope.event(
            actor,
            Some(user.as_str()),
            MemberRemoved {
                role: m.role.clone(),
                reason: Some(reason.to_owned()),
            },
        ))
        .await?;
        done.memberships_removed += 1;
    }
    // Holding nothing there now, they can hand out nothing there: every link,
    // invitation and pending add they made goes, each with its event.
    done.invites_revoked =
        crate::ceiling::revoke_beyond(tx, actor, user, root, "sponsor_deprovisioned").await?;
    let now = crate::now();
    if root.is_none() {
        let platform = tx
            .revoke_platform_invitations_of(user.as_str(), &actor.label(), now)
            .await?;
        done.platform_invitations_revoked = platform.len();
        // What stood for them ends too: their pages' sessions, and the identities
        // that named them (a new invitation or add by their address finds no one).
        tx.delete_sessions_of(user.as_str()).await?;
        tx.forget_identities(user).await?;
    }
    for r in tx.pending_join_requests_of(user).await? {
        if within(&r.space_path) {
            tx.decide_join_request(r.id, JoinRequestStatus::Cancelled, &actor.label(), now)
                .await?;
            done.join_requests_cancelled += 1;
        }
    }
    let data = UserDeprovisioned {
        memberships_removed: done.memberships_removed,
        invites_revoked: done.invites_revoked,
        platform_invitations_revoked: done.platform_invitations_revoked,
        join_requests_cancelled: done.join_requests_cancelled,
        reason: reason.to_owned(),
    };
    let event = match root {
        Some(root) => Scope::load(tx, root)
            .await?
            .event(actor, Some(user.as_str()), data),
        None => event_on(None, actor, Some(user.as_str()), data),
    };
    tx.append_event(&event).await?;
    Ok(done)
}

impl App {
    /// Adds an existing account to a space's roster as a pending membership that only
    /// that user can accept (manage_members; never above your own rights).
    pub async fn add_member(
        &self,
        actor: &Actor,
        path: SpacePath,
        account: Account,
        role: Option<RoleName>,
    ) -> Result<(AddOutcome, Option<MembershipView>)> {
        self.store_ref()
            .write(OwnerAdd {
                actor: actor.clone(),
                path,
                account,
                role: role.unwrap_or_else(RoleName::member),
            })
            .await
    }

    /// The addressee accepts or declines an owner's add.
    pub async fn answer_membership(
        &self,
        actor: &Actor,
        id: Uuid,
        accept: bool,
    ) -> Result<Option<MembershipView>> {
        self.store_ref()
            .write(AnswerAdd {
                actor: actor.clone(),
                id,
                accept,
            })
            .await
    }

    /// Asks to join a `request`-mode space (an `open` one is joined at once).
    pub async fn ask_to_join(
        &self,
        actor: &Actor,
        path: SpacePath,
        message: Option<String>,
    ) -> Result<RequestResult> {
        let message = text("message", message.as_deref(), 1000)?;
        self.store_ref()
            .write(AskToJoin {
                actor: actor.clone(),
                path,
                message,
            })
            .await
    }

    pub async fn list_join_requests(
        &self,
        actor: &Actor,
        path: SpacePath,
        status: Option<JoinRequestStatus>,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<JoinRequestPage> {
        let limit = paging::page_size(limit)?;
        self.store_ref()
            .read(ListRequests {
                actor: actor.clone(),
                path,
                status,
                after,
                limit,
            })
            .await
    }

    /// Approves (within the member limit) or denies a pending request.
    pub async fn decide_join_request(
        &self,
        actor: &Actor,
        id: Uuid,
        approve: bool,
    ) -> Result<(JoinRequestView, Option<MembershipView>)> {
        self.store_ref()
            .write(Decide {
                actor: actor.clone(),
                id,
                approve,
            })
            .await
    }

    /// The requester withdraws a pending request.
    pub async fn cancel_join_request(&self, actor: &Actor, id: Uuid) -> Result<JoinRequestView> {
        self.store_ref()
            .write(Cancel {
                actor: actor.clone(),
                id,
            })
            .await
    }

    /// The caller's pending invitations, owners' adds and join requests.
    pub async fn my_pending(&self, actor: &Actor) -> Result<Pending> {
        self.store_ref()
            .read(MyPending {
                actor: actor.clone(),
            })
            .await
    }

    /// Removes a user everywhere and revokes what they sponsored (platform admins).
    pub async fn deprovision_user(&self, actor: &Actor, user: UserId) -> Result<Deprovisioned> {
        let done = self
            .store_ref()
            .write(Deprovision {
                actor: actor.clone(),
                user: user.clone(),
            })
            .await?;
        // Their identities were forgotten: a token of theirs seen again records them
        // again (on this replica at once; on another, when its memory of them changes).
        self.forget_seen(&user);
        Ok(done)
    }
}
