use std::sync::Arc;

use guestlist_domain::events::{self, CodeForm, InviteRevoked, InviteUpdated};
use guestlist_domain::rules;
use guestlist_domain::{
    Actor, Email, Error, InviteCode, InviteState, JoinMode, JoinOutcome, MembershipSource,
    MembershipStatus, Permission, RoleName, SpacePath, UserId,
};
use guestlist_store::{
    InviteMirror, InvitePredicate, InviteQuery, InviteRow, NewInvite, PageKey, Tx, Visibility,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::admission::admit;
use super::members::MembershipView;
use super::requests::open_request;
use super::{operation, text};
use crate::limits::Surface;
use crate::scope::{Scope, require_user, subtrees_with};
use crate::secrets::Keys;
use crate::{App, Caller, Result, paging};

pub const MAX_USES: u32 = 1_000_000;
pub const MAX_LIFETIME_SECS: i64 = 365 * 24 * 3600;

#[derive(Debug, Clone)]
pub struct CreateInvite {
    pub space: SpacePath,
    /// Defaults to `member`.
    pub role: Option<RoleName>,
    pub max_uses: Option<u32>,
    pub expires_in_seconds: Option<i64>,
    pub description: Option<String>,
    pub allow_narrowing: bool,
    /// Redeeming creates a join request for a member manager instead of a membership.
    pub requires_approval: bool,
    /// With `requires_approval`: verified e-mail addresses of these domains join at once.
    pub auto_approve_domains: Vec<String>,
    /// A code of the manager's choosing (a vanity code); generated when `None`.
    pub code: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InviteView {
    pub invite: InviteRow,
    pub state: InviteState,
}

impl InviteView {
    /// The opaque cursor that pages past this row (Relay connections, `after`).
    pub fn cursor(&self) -> String {
        crate::paging::encode(&guestlist_store::PageKey {
            created_at: self.invite.created_at,
            id: self.invite.id,
        })
    }
}

impl InviteView {
    fn of(invite: InviteRow, now: OffsetDateTime) -> Self {
        let state = invite.state(now);
        InviteView { invite, state }
    }
}

/// A new invite: the only response besides `show_invite_link` that carries the code.
#[derive(Debug, Clone)]
pub struct InviteCreated {
    pub invite: InviteView,
    pub code: String,
    pub link: String,
}

/// Filters of an invite list. Each narrows what the caller may see; lists are any-of.
#[derive(Debug, Clone, Default)]
pub struct InviteFilter {
    /// Within any of these subtrees (empty: everywhere visible).
    pub subtrees: Vec<SpacePath>,
    /// On exactly one of these spaces (`Some(vec![])` matches nothing).
    pub spaces_in: Option<Vec<SpacePath>>,
    /// In any of these states (`Some(vec![])` matches nothing).
    pub states: Option<Vec<InviteState>>,
    pub revoked: Option<bool>,
    pub created_by: Option<String>,
    /// Any further condition, nested (GraphQL's `and`/`or`/`not`).
    pub predicate: Option<InvitePredicate>,
    /// Rows after this cursor (newest first)…
    pub after: Option<String>,
    /// …or the page just before this one (still shown newest first).
    pub before: Option<String>,
    pub limit: Option<u32>,
    /// Also read each listed link's funnel (the console).
    pub with_funnels: bool,
}

impl InviteFilter {
    /// The storage query of this filter within what the caller sees, unpaged.
    fn query(&self, visible: Visibility, now: OffsetDateTime) -> InviteQuery {
        InviteQuery {
            visible,
            subtrees: self.subtrees.clone(),
            spaces_in: self.spaces_in.clone(),
            states: self.states.clone(),
            revoked: self.revoked,
            created_by: self.created_by.clone(),
            predicate: self.predicate.clone(),
            now,
            after: None,
            backward: false,
            limit: 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct InvitePage {
    pub invites: Vec<InviteView>,
    /// Each listed link's funnel, when the filter asks (`with_funnels`).
    pub funnels: Vec<guestlist_store::FunnelRow>,
    /// The cursor of the next page (older rows), when there is one.
    pub next: Option<String>,
    /// Whether there are newer rows than this page.
    pub has_previous: bool,
}

/// What anyone holding a code may see: no secret, no member list.
#[derive(Debug, Clone)]
pub struct InvitePreview {
    /// The link's id (the funnel counts by it; never shown to a visitor).
    pub invite_id: Uuid,
    pub space: SpacePath,
    pub space_name: String,
    pub join_mode: JoinMode,
    pub member_count: u32,
    pub role: RoleName,
    pub inviter: String,
    pub expires_at: Option<OffsetDateTime>,
    pub max_uses: Option<u32>,
    pub uses_left: Option<u32>,
    pub allow_narrowing: bool,
}

#[derive(Debug, Clone)]
pub struct Redeemed {
    pub outcome: JoinOutcome,
    pub space: SpacePath,
    /// The space's display name (what the pages show).
    pub space_name: String,
    pub role: RoleName,
    pub membership: Option<MembershipView>,
    /// For `requested`: the join request waiting for a member manager.
    pub join_request: Option<super::requests::JoinRequestView>,
}

/// How a caller names an invite: by its code (kept only as its hash), or (managers
/// only) by its id.
#[derive(Debug, Clone)]
enum InviteRef {
    Hash(Vec<u8>),
    Id(Uuid),
    /// A UUID: an invite's id, or else a code carried over from a system whose codes
    /// were UUIDs.
    IdOrHash(Uuid, Vec<u8>),
}

impl App {
    fn hash(&self, code: &InviteCode) -> Vec<u8> {
        self.0.keys.hash_code(code.as_str())
    }

    /// What a presented code is looked up by, in turn: its own keyed hash, then the
    /// keyed hashes of its digests, for links carried over from a system that kept
    /// only those ([`LegacyDigest`]).
    fn code_hashes(&self, code: &InviteCode) -> CodeHashes {
        let mut hashes = vec![self.hash(code)];
        hashes.extend(self.digests_of(code));
        CodeHashes(hashes)
    }

    /// The keyed hashes of a code's digests: what a link carried over as a digest of
    /// this code would be stored under.
    fn digests_of(&self, code: &InviteCode) -> Vec<Vec<u8>> {
        LegacyDigest::ALGORITHMS
            .iter()
            .map(|alg| LegacyDigest::of(alg, code.as_str()).keyed(&self.0.keys))
            .collect()
    }

    /// The code of an invite as its managers may be shown it: derived from its id,
    /// or (chosen, carried over) opened from its sealed copy.
    fn code_of(&self, invite: &InviteRow) -> Result<String> {
        match &invite.code_sealed {
            None => Ok(self.codes().code(invite.id)),
            Some(sealed) if sealed.is_empty() => Err(Error::forbidden(
                "this link's code came from another system as a hash: it was never known here, and cannot be shown",
            )),
            Some(sealed) => self.0.keys.open_code(invite.id, sealed).ok_or_else(|| {
                Error::internal("a sealed code does not open with this link secret")
            }),
        }
    }

    /// A new invite's id and what storage keeps of its code: generated (derived from
    /// the id), or given (chosen or carried over: sealed, with a chosen code's
    /// skeleton hashed).
    fn new_code(&self, given: Option<(&InviteCode, bool)>) -> NewCode {
        match given {
            None => {
                let (id, code_hash) = self.codes().mint();
                NewCode {
                    id,
                    code_hash,
                    code_sealed: None,
                    code_skeleton: None,
                    code_digests: Vec::new(),
                }
            }
            Some((code, chosen)) => {
                let id = Uuid::now_v7();
                NewCode {
                    id,
                    code_hash: self.hash(code),
                    code_sealed: Some(self.0.keys.seal_code(id, code.as_str())),
                    code_skeleton: chosen.then(|| self.0.keys.hash_skeleton(&code.skeleton())),
                    code_digests: self.digests_of(code).iter().map(|d| claim_of(d)).collect(),
                }
            }
        }
    }

    /// The codes of invites, at the configured length.
    fn codes(&self) -> Codes {
        Codes {
            keys: self.0.keys.clone(),
            len: self.0.config.code_length,
        }
    }

    /// An invite id (36 characters with dashes) or a code. A code carried over from
    /// another system may look like an id: it is looked for when no invite has it as
    /// its id (ids are random: no code brought over is also some invite's id).
    fn invite_ref(&self, s: &str) -> Result<InviteRef> {
        let code = InviteCode::parse(s);
        if s.len() == 36
            && let Ok(id) = Uuid::try_parse(s)
        {
            return Ok(match code {
                Ok(c) => InviteRef::IdOrHash(id, self.hash(&c)),
                Err(_) => InviteRef::Id(id),
            });
        }
        code.map(|c| InviteRef::Hash(self.hash(&c)))
    }
}

async fn find(tx: &mut dyn Tx, r: &InviteRef) -> Result<Option<InviteRow>> {
    match r {
        InviteRef::Id(id) => tx.invite_by_id(*id).await,
        InviteRef::Hash(h) => tx.invite_by_hash(h).await,
        InviteRef::IdOrHash(id, h) => match tx.invite_by_id(*id).await? {
            Some(found) => Ok(Some(found)),
            None => tx.invite_by_hash(h).await,
        },
    }
}

struct Create {
    actor: Actor,
    input: CreateInvite,
    role: RoleName,
    expires_at: Option<OffsetDateTime>,
    description: Option<String>,
    auto_approve_domains: Vec<String>,
    /// The new invite's id and code, made before the write.
    first: NewCode,
    /// Makes another generated code, in the writer, only if the first one's hash is
    /// taken; `None` for a given code, which is then refused as taken.
    codes: Option<Codes>,
    external_id: Option<String>,
    /// Who the link is recorded as made by, when not the actor (an import carries
    /// the other system's creator, so the sponsor lifecycle applies to it).
    creator: Option<UserId>,
    /// Uses it starts with (a mirrored link's, made elsewhere).
    uses: u32,
}

/// What a link claims of one of its code's digest forms (`invite_code_digests`): the
/// first 16 bytes of its keyed hash, which keep collisions out of reach (2^-64 over
/// 2^32 links) and the claims' index small.
fn claim_of(keyed: &[u8]) -> Vec<u8> {
    keyed[..16].to_vec()
}

/// A new invite's id and what storage keeps of its code.
#[derive(Debug, Clone)]
struct NewCode {
    id: Uuid,
    code_hash: Vec<u8>,
    code_sealed: Option<Vec<u8>>,
    code_skeleton: Option<Vec<u8>>,
    /// The code's other forms, which no other link may have (`NewInvite`).
    code_digests: Vec<Vec<u8>>,
}

impl NewCode {
    fn form(&self) -> CodeForm {
        match (&self.code_sealed, &self.code_skeleton) {
            (None, _) => CodeForm::Generated,
            (Some(sealed), _) if sealed.is_empty() => CodeForm::Hashed,
            (Some(_), Some(_)) => CodeForm::Chosen,
            (Some(_), None) => CodeForm::Carried,
        }
    }
}

/// The code of an invite's id, and (id, code hash) pairs for new invites.
struct Codes {
    keys: Arc<Keys>,
    len: usize,
}

impl Codes {
    fn code(&self, id: Uuid) -> String {
        self.keys.code_for(id, self.len)
    }

    fn mint(&self) -> (Uuid, Vec<u8>) {
        let id = Uuid::now_v7();
        (id, self.keys.hash_code(&self.code(id)))
    }
}

/// Ids tried for one new invite before giving up: a second is needed only when a
/// code's hash is already taken (short codes, a vast table).
const CODE_ATTEMPTS: usize = 4;

operation!(Create => InviteRow, |self, tx| {
    let scope = Scope::load(tx, &self.input.space).await?;
    scope.require_can_grant(tx, &self.actor, Permission::ManageInvites, &self.role).await?;
    insert_new(tx, self, &scope).await
});

/// Inserts a new invite with its event, trying further generated codes on a
/// collision; a given code that collides is refused.
async fn insert_new(tx: &mut dyn Tx, c: &Create, scope: &Scope) -> Result<InviteRow> {
    let now = crate::now();
    for attempt in 0..CODE_ATTEMPTS {
        let code = match (attempt, &c.codes) {
            (0, _) => c.first.clone(),
            (_, Some(codes)) => {
                let (id, code_hash) = codes.mint();
                NewCode {
                    id,
                    code_hash,
                    code_sealed: None,
                    code_skeleton: None,
                    code_digests: Vec::new(),
                }
            }
            (_, None) => {
                return Err(Error::AlreadyExists(
                    "code: this code is taken, or reads too like one that is".into(),
                ));
            }
        };
        let id = code.id;
        let new = NewInvite {
            id,
            code_hash: code.code_hash.clone(),
            space_id: scope.space.id,
            space_path: scope.space.path.clone(),
            role: c.role.clone(),
            max_uses: c.input.max_uses,
            expires_at: c.expires_at,
            description: c.description.clone(),
            allow_narrowing: c.input.allow_narrowing,
            requires_approval: c.input.requires_approval,
            auto_approve_domains: c.auto_approve_domains.clone(),
            created_by: c
                .creator
                .as_ref()
                .map_or_else(|| c.actor.label(), |u| u.as_str().to_owned()),
            created_by_name: c
                .creator
                .as_ref()
                .map_or_else(|| c.actor.display_name(), |u| u.as_str().to_owned()),
            created_at: now,
            code_sealed: code.code_sealed.clone(),
            code_skeleton: code.code_skeleton.clone(),
            external_id: c.external_id.clone(),
            uses: c.uses,
            code_digests: code.code_digests.clone(),
        };
        if tx.insert_invite(&new).await? {
            tx.append_event(&scope.event(
                &c.actor,
                None,
                events::InviteCreated {
                    invite_id: id,
                    role: c.role.clone(),
                    max_uses: c.input.max_uses,
                    expires_at: c.expires_at.map(|t| t.unix_timestamp()),
                    allow_narrowing: c.input.allow_narrowing,
                    code: code.form(),
                    external_id: c.external_id.clone(),
                },
            ))
            .await?;
            return Ok(new.stored());
        }
        if let Some(x) = &c.external_id
            && tx.invite_by_external_id(scope.space.id, x).await?.is_some()
        {
            return Err(Error::AlreadyExists(format!(
                "external_id: a link named {x} exists"
            )));
        }
    }
    Err(Error::internal("could not find a free invite code"))
}

struct List {
    actor: Actor,
    filter: InviteFilter,
    limit: u32,
}

operation!(List => InvitePage, |self, tx| {
    let visible = match subtrees_with(tx, &self.actor, Permission::ManageInvites).await? {
        None => Visibility::All,
        Some(roots) => Visibility::Subtrees(roots),
    };
    let now = crate::now();
    let backward = self.filter.before.is_some();
    if backward && self.filter.after.is_some() {
        return Err(Error::invalid("before", "page with after or with before, not both"));
    }
    let cursor = if backward {
        paging::decode(self.filter.before.as_deref()).map_err(|e| e.in_field("before"))?
    } else {
        paging::decode(self.filter.after.as_deref())?
    };
    let query = InviteQuery {
        after: cursor,
        backward,
        limit: self.limit + 1,
        ..self.filter.query(visible, now)
    };
    let rows = tx.list_invites(&query).await?;
    let key = |i: &InviteRow| PageKey { created_at: i.created_at, id: i.id };
    let (rows, next, has_previous) = if backward {
        // Oldest first from the cursor: the page is the `limit` nearest it, shown
        // newest first; the page after it is the one the cursor came from.
        let mut rows = rows;
        let more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        rows.reverse();
        let next = rows.last().map(|r| paging::encode(&key(r)));
        (rows, next, more)
    } else {
        let (rows, next) = paging::split(rows, self.limit, key);
        (rows, next, self.filter.after.is_some())
    };
    let funnels = if self.filter.with_funnels {
        tx.funnels(&rows.iter().map(|r| r.id).collect::<Vec<_>>()).await?
    } else {
        Vec::new()
    };
    Ok(InvitePage { invites: rows.into_iter().map(|i| InviteView::of(i, now)).collect(), funnels, next, has_previous })
});

struct AddToFunnels(Vec<(Uuid, u64, u64)>);
operation!(AddToFunnels => (), |self, tx| { tx.add_to_funnels(&self.0).await });

/// What the landing pages counted and not yet written: views and sign-ins per link.
#[derive(Default)]
pub(crate) struct Funnels(std::sync::Mutex<std::collections::HashMap<Uuid, (u64, u64)>>);

impl Funnels {
    fn count(&self, id: Uuid, view: u64, sign_in: u64) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.entry(id).or_default();
        e.0 += view;
        e.1 += sign_in;
    }
}

struct Count {
    actor: Actor,
    filter: InviteFilter,
}

operation!(Count => u64, |self, tx| {
    let visible = match subtrees_with(tx, &self.actor, Permission::ManageInvites).await? {
        None => Visibility::All,
        Some(roots) => Visibility::Subtrees(roots),
    };
    tx.count_invites(&self.filter.query(visible, crate::now())).await
});

/// A store lookup by one hash, as the store's async methods return it.
type Lookup<'t, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<T>>> + Send + 't>>;

/// The hashes a presented code is looked up by, in turn ([`App::code_hashes`]).
struct CodeHashes(Vec<Vec<u8>>);

impl CodeHashes {
    /// What `lookup` finds by the first hash that finds anything.
    async fn first<T>(
        &self,
        tx: &mut dyn Tx,
        lookup: for<'t> fn(&'t mut dyn Tx, &'t [u8]) -> Lookup<'t, T>,
    ) -> Result<Option<T>> {
        for hash in &self.0 {
            if let Some(found) = lookup(&mut *tx, hash).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

struct Preview {
    hashes: CodeHashes,
}

#[async_trait::async_trait]
impl guestlist_store::Operation for Preview {
    type Output = InvitePreview;

    async fn run(&self, tx: &mut dyn Tx) -> Result<InvitePreview> {
        let found = self
            .hashes
            .first(tx, |tx, h| tx.invite_preview(h))
            .await?
            .ok_or(Error::NotFound("invite"))?;
        let invite = found.invite;
        match invite.state(crate::now()) {
            InviteState::Active => {}
            InviteState::Revoked => return Err(Error::NotFound("invite")),
            other => return Err(other.refusal().unwrap_or(Error::NotFound("invite"))),
        }
        Ok(InvitePreview {
            invite_id: invite.id,
            uses_left: invite.max_uses.map(|m| m.saturating_sub(invite.uses)),
            space: invite.space_path,
            space_name: found.space_name,
            join_mode: found.join_mode,
            member_count: found.member_count,
            role: invite.role,
            inviter: invite.created_by_name,
            expires_at: invite.expires_at,
            max_uses: invite.max_uses,
            allow_narrowing: invite.allow_narrowing,
        })
    }

    fn single_statement(&self) -> bool {
        true
    }
}

/// Loads an invite a manager names and checks they manage its space: anyone else
/// learns nothing, the invite answers as missing. Its code is a grant in itself, so
/// seeing it or revoking the link obeys the grant ceiling, as creating it did: only
/// for links whose role means no more than the manager holds there.
async fn managed_invite(
    tx: &mut dyn Tx,
    actor: &Actor,
    r: &InviteRef,
) -> Result<(Scope, InviteRow)> {
    let invite = find(tx, r).await?.ok_or(Error::NotFound("invite"))?;
    let scope = Scope::load(tx, &invite.space_path).await?;
    let held = scope.rights(tx, actor).await?;
    if !held.has(Permission::ManageInvites) {
        return Err(Error::NotFound("invite"));
    }
    scope.check_grant(held, &invite.role)?;
    Ok((scope, invite))
}

struct Revoke {
    actor: Actor,
    target: InviteRef,
}

operation!(Revoke => InviteView, |self, tx| {
    let (scope, invite) = managed_invite(tx, &self.actor, &self.target).await?;
    let now = crate::now();
    if tx.revoke_invite(invite.id, &self.actor.label(), now).await? {
        tx.append_event(&scope.event(&self.actor, None, InviteRevoked::by_hand(invite.id)))
            .await?;
    }
    let fresh = tx.invite_by_id(invite.id).await?.ok_or(Error::NotFound("invite"))?;
    Ok(InviteView::of(fresh, now))
});

/// A link as another system has it, mirrored here while both run
/// (`PUT /invites/by-external-id/{id}`).
#[derive(Debug, Clone)]
pub struct MirrorInvite {
    pub space: SpacePath,
    /// Defaults to `member`.
    pub role: Option<RoleName>,
    pub max_uses: Option<u32>,
    /// Its uses as the other system counts them: this link's uses are raised to
    /// it, never lowered (uses made here are not lost).
    pub uses: u32,
    pub expires_at: Option<OffsetDateTime>,
    pub description: Option<String>,
    /// Its live code, carried over so that it keeps working here; generated when
    /// `None`. It cannot change later.
    pub code: Option<String>,
    /// Instead of `code`, where the other system kept only a digest of it:
    /// `sha256:<hex>` or `sha512:<hex>`. The code works here as it did there, and
    /// is never shown (it was never known).
    pub code_hash: Option<String>,
    pub revoked: bool,
    /// Who made it in the other system (a user id); the caller when `None`.
    pub created_by: Option<UserId>,
}

/// What a mirror did.
#[derive(Debug, Clone)]
pub enum Mirrored {
    /// New here: the answer carries its code and link, this once.
    Created(InviteCreated),
    /// New here, from a digest of its code: no code to show.
    CreatedHashed(InviteView),
    Updated(InviteView),
    Unchanged(InviteView),
}

pub(crate) struct Mirror {
    external_id: String,
    input: MirrorInvite,
    /// The write that creates it, should it not exist.
    create: Create,
    /// The carried code's hash, to check that it did not change.
    code_hash: Option<Vec<u8>>,
}

pub(crate) enum MirrorDone {
    Created(InviteRow),
    Updated(InviteRow),
    Unchanged(InviteRow),
}

operation!(Mirror => MirrorDone, |self, tx| { self.apply(tx, None).await });

/// Spaces read once in a transaction, by path: an import's batch of links into a few
/// spaces reads each space once.
pub(crate) type ScopeCache = std::collections::HashMap<SpacePath, Scope>;

impl Mirror {
    /// Creates the link, or updates it when its external id is known. With a cache
    /// (an import's batch, mostly new links), the insert is tried first and the
    /// external id looked up only when it is taken; alone, it is looked up first.
    pub(crate) async fn apply(
        &self,
        tx: &mut dyn Tx,
        cache: Option<&mut ScopeCache>,
    ) -> Result<MirrorDone> {
        let m = &self.input;
        match cache {
            Some(cache) => {
                if !cache.contains_key(&m.space) {
                    cache.insert(m.space.clone(), Scope::load(tx, &m.space).await?);
                }
                let scope = &cache[&m.space];
                let space_id = scope.space.id;
                match self.create_new(tx, scope).await {
                    Err(Error::AlreadyExists(_))
                        if tx
                            .invite_by_external_id(space_id, &self.external_id)
                            .await?
                            .is_some() => {}
                    done => return done,
                }
            }
            None => {
                let scope = Scope::load(tx, &m.space).await?;
                if tx
                    .invite_by_external_id(scope.space.id, &self.external_id)
                    .await?
                    .is_none()
                {
                    return self.create_new(tx, &scope).await;
                }
            }
        }
        // External ids name links within their space.
        let space_id = Scope::load(tx, &m.space).await?.space.id;
        let existing = tx
            .invite_by_external_id(space_id, &self.external_id)
            .await?
            .ok_or(Error::NotFound("invite"))?;
        self.update(tx, existing).await
    }

    /// The link, new: created with its uses, limit and expiry (the row as stored).
    async fn create_new(&self, tx: &mut dyn Tx, scope: &Scope) -> Result<MirrorDone> {
        let now = crate::now();
        let actor = &self.create.actor;
        scope
            .require_can_grant(tx, actor, Permission::ManageInvites, &self.create.role)
            .await?;
        let mut row = insert_new(tx, &self.create, scope).await?;
        if self.input.revoked && tx.revoke_invite(row.id, &actor.label(), now).await? {
            tx.append_event(&scope.event(actor, None, InviteRevoked::by_hand(row.id)))
                .await?;
            row = tx
                .invite_by_id(row.id)
                .await?
                .ok_or(Error::NotFound("invite"))?;
        }
        Ok(MirrorDone::Created(row))
    }

    /// The link, known by its external id in its space: its limit, expiry,
    /// description, uses and revocation brought up to the other system's; role and
    /// code unchanged.
    async fn update(&self, tx: &mut dyn Tx, existing: InviteRow) -> Result<MirrorDone> {
        let now = crate::now();
        let actor = &self.create.actor;
        let m = &self.input;
        // Found by its external id within `m.space`: the same space, always.
        let (scope, row) = managed_invite(tx, actor, &InviteRef::Id(existing.id)).await?;
        if row.role != self.create.role {
            return Err(Error::invalid(
                "role",
                format!("the link grants {}; its role cannot change", row.role),
            ));
        }
        if let Some(hash) = &self.code_hash
            && tx.invite_by_hash(hash).await?.map(|i| i.id) != Some(row.id)
        {
            return Err(Error::invalid("code", "the link's code cannot change"));
        }
        if row.revoked_at.is_some() && !m.revoked {
            return Err(Error::invalid(
                "revoked",
                "the link is revoked here, and a revoked link stays revoked",
            ));
        }
        let mirror = InviteMirror {
            max_uses: m.max_uses,
            expires_at: m.expires_at,
            description: self.create.description.clone(),
            uses_at_least: m.uses,
        };
        let same = row.max_uses == mirror.max_uses
            && row.expires_at == mirror.expires_at
            && row.description == mirror.description
            && row.uses >= mirror.uses_at_least;
        let mut changed = false;
        if !same {
            if !tx.mirror_invite(row.id, &mirror).await? {
                return Err(Error::invalid(
                    "max_uses",
                    format!("below the {} uses the link has", row.uses.max(m.uses)),
                ));
            }
            changed = true;
            let uses = row.uses.max(m.uses);
            tx.append_event(&scope.event(
                actor,
                None,
                InviteUpdated {
                    invite_id: row.id,
                    external_id: self.external_id.clone(),
                    max_uses: m.max_uses,
                    expires_at: m.expires_at.map(|t| t.unix_timestamp()),
                    uses,
                },
            ))
            .await?;
        }
        if m.revoked && tx.revoke_invite(row.id, &actor.label(), now).await? {
            changed = true;
            tx.append_event(&scope.event(actor, None, InviteRevoked::by_hand(row.id)))
                .await?;
        }
        if !changed {
            return Ok(MirrorDone::Unchanged(row));
        }
        let fresh = tx
            .invite_by_id(row.id)
            .await?
            .ok_or(Error::NotFound("invite"))?;
        Ok(MirrorDone::Updated(fresh))
    }
}

struct ShowLink {
    actor: Actor,
    target: InviteRef,
}

operation!(ShowLink => InviteView, |self, tx| {
    let (_, invite) = managed_invite(tx, &self.actor, &self.target).await?;
    let view = InviteView::of(invite, crate::now());
    if view.state == InviteState::Revoked {
        return Err(Error::Revoked);
    }
    Ok(view)
});

struct Redeem {
    actor: Actor,
    hashes: CodeHashes,
    space: Option<SpacePath>,
}

operation!(Redeem => Redeemed, |self, tx| {
    let user = require_user(&self.actor)?;
    let invite = self.hashes.first(tx, |tx, h| tx.invite_by_hash(h)).await?.ok_or(Error::NotFound("invite"))?;
    let home = Scope::load(tx, &invite.space_path).await?;
    let view = InviteView::of(invite, crate::now());
    if let Some(refusal) = view.state.refusal() {
        // A revoked code reads as unknown, except to those who manage the space.
        if view.state == InviteState::Revoked && !home.rights(tx, &self.actor).await?.has(Permission::ManageInvites) {
            return Err(Error::NotFound("invite"));
        }
        // Clicking a spent or lapsed link again, once in, is not an error: already in.
        if matches!(view.state, InviteState::Exhausted | InviteState::Expired) {
            let target = rules::redeem_target(&view.invite.space_path, view.invite.allow_narrowing, self.space.as_ref())?;
            let scope = if target == home.space.path { home } else { Scope::load(tx, &target).await? };
            if let Some(direct) = super::admission::already_holds(tx, &scope, user, &view.invite.role).await? {
                return Ok(Redeemed {
                    outcome: JoinOutcome::AlreadyMember,
                    space: scope.space.path.clone(),
                    space_name: scope.space.name.clone(),
                    role: view.invite.role.clone(),
                    membership: direct.map(|m| super::admission::view(&scope, m)),
                    join_request: None,
                });
            }
        }
        return Err(refusal);
    }
    let invite = view.invite;
    let target = rules::redeem_target(&invite.space_path, invite.allow_narrowing, self.space.as_ref())?;
    let scope = if target == home.space.path { None } else { Some(Scope::load(tx, &target).await?) };
    crate::ceiling::link_grant(&home, scope.as_ref().unwrap_or(&home), &invite)?;
    let scope = scope.unwrap_or(home);
    // An owner's pending add is an approval already: joining accepts it. (Looked up
    // only for a link that asks for approval.)
    if invite.requires_approval
        && !auto_approved(&self.actor, &invite.auto_approve_domains)
        && !scope.membership(tx, user).await?.is_some_and(|m| m.status == MembershipStatus::Pending)
    {
        let r = open_request(tx, &scope, &self.actor, user, &invite.role, None, Some(&invite)).await?;
        return Ok(Redeemed {
            outcome: r.outcome,
            space: scope.space.path.clone(),
            space_name: scope.space.name.clone(),
            role: invite.role.clone(),
            membership: r.membership,
            join_request: r.request,
        });
    }
    let admitted = admit(tx, &scope, &self.actor, user, &invite.role, MembershipSource::InviteLink, Some(&invite)).await?;
    let (outcome, membership) = admitted.split(&scope);
    Ok(Redeemed { outcome, space: scope.space.path.clone(), space_name: scope.space.name.clone(), role: invite.role.clone(), membership, join_request: None })
});

/// A verified e-mail address of one of the link's domains skips the approval.
fn auto_approved(actor: &Actor, domains: &[String]) -> bool {
    actor
        .verified_email()
        .is_some_and(|e| domains.iter().any(|d| d == e.domain()))
}

impl App {
    pub async fn create_invite(&self, actor: &Actor, input: CreateInvite) -> Result<InviteCreated> {
        let chosen = input.code.as_deref().map(InviteCode::chosen).transpose()?;
        let create = self.prepare_create(actor, input, chosen.as_ref().map(|c| (c, true)), None)?;
        let row = self.store_ref().write(create).await?;
        self.created(row)
    }

    /// A new invite's answer: the row with its code and link.
    fn created(&self, row: InviteRow) -> Result<InviteCreated> {
        let code = self.code_of(&row)?;
        Ok(InviteCreated {
            link: self.invite_link(&code),
            code,
            invite: InviteView::of(row, crate::now()),
        })
    }

    /// Checks a new invite's input and makes its code: the write that creates it.
    fn prepare_create(
        &self,
        actor: &Actor,
        input: CreateInvite,
        given: Option<(&InviteCode, bool)>,
        external_id: Option<String>,
    ) -> Result<Create> {
        if input.max_uses.is_some_and(|n| n == 0 || n > MAX_USES) {
            return Err(Error::invalid(
                "max_uses",
                format!("1 to {MAX_USES}, or omit it for no limit"),
            ));
        }
        let now = crate::now();
        let expires_at = match input.expires_in_seconds {
            None => None,
            Some(s) if (1..=MAX_LIFETIME_SECS).contains(&s) => Some(now + Duration::seconds(s)),
            Some(_) => {
                return Err(Error::invalid(
                    "expires_in_seconds",
                    format!("1 to {MAX_LIFETIME_SECS} seconds, or omit it for no expiry"),
                ));
            }
        };
        let description = text("description", input.description.as_deref(), 500)?;
        if !input.auto_approve_domains.is_empty() && !input.requires_approval {
            return Err(Error::invalid(
                "auto_approve_domains",
                "only a link that requires approval auto-approves",
            ));
        }
        let auto_approve_domains = input
            .auto_approve_domains
            .iter()
            .map(|d| Email::parse_domain(d).map_err(|e| e.in_field("auto_approve_domains")))
            .collect::<Result<Vec<_>>>()?;
        if auto_approve_domains.len() > 50 {
            return Err(Error::invalid("auto_approve_domains", "at most 50 domains"));
        }
        let role = input.role.clone().unwrap_or_else(RoleName::member);
        Ok(Create {
            actor: actor.clone(),
            role,
            expires_at,
            description,
            auto_approve_domains,
            first: self.new_code(given),
            codes: given.is_none().then(|| self.codes()),
            external_id,
            creator: None,
            uses: 0,
            input,
        })
    }

    pub async fn count_invites(&self, actor: &Actor, filter: InviteFilter) -> Result<u64> {
        self.store_ref()
            .read(Count {
                actor: actor.clone(),
                filter,
            })
            .await
    }

    pub async fn list_invites(&self, actor: &Actor, filter: InviteFilter) -> Result<InvitePage> {
        let limit = paging::page_size(filter.limit)?;
        self.store_ref()
            .read(List {
                actor: actor.clone(),
                filter,
                limit,
            })
            .await
    }

    /// The landing page of a code: its preview, counted as a view in the link's
    /// funnel.
    pub async fn landing(&self, caller: &Caller, code: &str) -> Result<InvitePreview> {
        let preview = self.preview_invite(caller, code).await?;
        self.0.funnels.count(preview.invite_id, 1, 0);
        Ok(preview)
    }

    /// A visitor sets off from a link's landing page to sign in: counted in its
    /// funnel (the link must still be usable).
    pub async fn landing_sign_in(&self, caller: &Caller, code: &str) -> Result<()> {
        let preview = self.preview_invite(caller, code).await?;
        self.0.funnels.count(preview.invite_id, 0, 1);
        Ok(())
    }

    /// Writes what the landing pages counted since the last call; the server calls it
    /// every few seconds. Counts that fail to be written are kept for the next call.
    pub async fn flush_funnels(&self) -> Result<usize> {
        let counts: Vec<_> = {
            let mut m = self.0.funnels.0.lock().unwrap_or_else(|e| e.into_inner());
            m.drain().map(|(id, (v, s))| (id, v, s)).collect()
        };
        if counts.is_empty() {
            return Ok(0);
        }
        let n = counts.len();
        if let Err(e) = self.store_ref().write(AddToFunnels(counts.clone())).await {
            for (id, v, s) in counts {
                self.0.funnels.count(id, v, s);
            }
            return Err(e);
        }
        Ok(n)
    }

    /// The public preview of a code. Rate limited per client and per user.
    pub async fn preview_invite(&self, caller: &Caller, code: &str) -> Result<InvitePreview> {
        self.0.limits.check(Surface::Preview, caller)?;
        let code = InviteCode::parse(code)?;
        self.store_ref()
            .read(Preview {
                hashes: self.code_hashes(&code),
            })
            .await
    }

    /// Redeems a code, optionally into a narrower space beneath the invite's.
    pub async fn redeem_invite(
        &self,
        caller: &Caller,
        code: &str,
        space: Option<SpacePath>,
    ) -> Result<Redeemed> {
        let actor = caller
            .actor
            .clone()
            .ok_or_else(|| Error::Unauthenticated("sign in to join".into()))?;
        self.0.limits.check(Surface::Join, caller)?;
        let code = InviteCode::parse(code)?;
        let redeemed = self
            .store_ref()
            .write(Redeem {
                actor,
                hashes: self.code_hashes(&code),
                space,
            })
            .await?;
        metrics::counter!("guestlist_invite_redemptions_total", "outcome" => format!("{:?}", redeemed.outcome))
            .increment(1);
        Ok(redeemed)
    }

    /// Soft-revokes an invite named by code or id. Idempotent.
    pub async fn revoke_invite(&self, actor: &Actor, code_or_id: &str) -> Result<InviteView> {
        let target = self.invite_ref(code_or_id)?;
        self.store_ref()
            .write(Revoke {
                actor: actor.clone(),
                target,
            })
            .await
    }

    /// Creates or updates the link another system knows as `external_id`, so that
    /// a legacy invite system can mirror its changes here while both run. Running it
    /// again with the same input changes nothing.
    pub async fn mirror_invite(
        &self,
        actor: &Actor,
        external_id: &str,
        input: MirrorInvite,
    ) -> Result<Mirrored> {
        let op = self.prepare_mirror(actor, external_id, input)?;
        let now = crate::now();
        Ok(match self.store_ref().write(op).await? {
            MirrorDone::Created(row) if row.code_sealed.as_ref().is_some_and(Vec::is_empty) => {
                Mirrored::CreatedHashed(InviteView::of(row, now))
            }
            MirrorDone::Created(row) => Mirrored::Created(self.created(row)?),
            MirrorDone::Updated(row) => Mirrored::Updated(InviteView::of(row, now)),
            MirrorDone::Unchanged(row) => Mirrored::Unchanged(InviteView::of(row, now)),
        })
    }

    /// Checks a mirrored link's input and makes its code: the write that mirrors it.
    pub(crate) fn prepare_mirror(
        &self,
        actor: &Actor,
        external_id: &str,
        input: MirrorInvite,
    ) -> Result<Mirror> {
        let external_id = text("external_id", Some(external_id), 200)?
            .filter(|x| !x.contains('\n'))
            .ok_or_else(|| Error::invalid("external_id", "1 to 200 printable characters"))?;
        if let Some(max) = input.max_uses
            && input.uses > max
        {
            return Err(Error::invalid(
                "uses",
                format!("more than max_uses ({max})"),
            ));
        }
        let code = input.code.as_deref().map(InviteCode::carried).transpose()?;
        let mut create = self.prepare_create(
            actor,
            CreateInvite {
                space: input.space.clone(),
                role: input.role.clone(),
                max_uses: input.max_uses,
                expires_in_seconds: None,
                description: input.description.clone(),
                allow_narrowing: false,
                requires_approval: false,
                auto_approve_domains: vec![],
                code: None,
            },
            code.as_ref().map(|c| (c, false)),
            Some(external_id.clone()),
        )?;
        // Kept to the millisecond, as stored, so that the same input compares equal.
        create.expires_at = input
            .expires_at
            .map(|t| t.replace_millisecond(t.millisecond()).unwrap_or(t));
        create.creator = input.created_by.clone();
        create.uses = input.uses;
        let mut code_hash = code.as_ref().map(|c| self.hash(c));
        if let Some(digest) = &input.code_hash {
            if code.is_some() {
                return Err(Error::invalid(
                    "code_hash",
                    "give the code or its hash, not both",
                ));
            }
            let keyed = LegacyDigest::parse(digest)?.keyed(&self.0.keys);
            create.first = NewCode {
                id: Uuid::now_v7(),
                code_hash: keyed.clone(),
                // Nothing sealed: the code was never known (the mark of a hashed code).
                code_sealed: Some(Vec::new()),
                code_skeleton: None,
                // No link whose code is known here may have this digest.
                code_digests: vec![claim_of(&keyed)],
            };
            create.codes = None;
            code_hash = Some(keyed);
        }
        Ok(Mirror {
            external_id,
            input: MirrorInvite {
                expires_at: create.expires_at,
                ..input
            },
            create,
            code_hash,
        })
    }

    /// Shows a live invite's code and link again, to those who manage its space.
    pub async fn show_invite_link(&self, actor: &Actor, code_or_id: &str) -> Result<InviteCreated> {
        let target = self.invite_ref(code_or_id)?;
        let view = self
            .store_ref()
            .read(ShowLink {
                actor: actor.clone(),
                target,
            })
            .await?;
        let code = self.code_of(&view.invite)?;
        Ok(InviteCreated {
            link: self.invite_link(&code),
            code,
            invite: view,
        })
    }
}

/// A digest of a code, as a system that kept only digests gave it: `sha256:<hex>` or
/// `sha512:<hex>` (of the code's bytes). Stored, like every code, only as a keyed
/// hash, of the digest (`sha256:<lowercase hex>`, which no code can be).
pub(crate) struct LegacyDigest(String);

impl LegacyDigest {
    pub(crate) const ALGORITHMS: [&'static str; 2] = ["sha256", "sha512"];

    pub(crate) fn parse(s: &str) -> Result<LegacyDigest> {
        let bad = || {
            Error::invalid(
                "code_hash",
                "sha256:<64 hex digits> or sha512:<128 hex digits>, the digest of the code",
            )
        };
        let (alg, hex) = s.split_once(':').ok_or_else(bad)?;
        let alg = alg.to_ascii_lowercase();
        let len = match alg.as_str() {
            "sha256" => 64,
            "sha512" => 128,
            _ => return Err(bad()),
        };
        if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(LegacyDigest(format!("{alg}:{}", hex.to_ascii_lowercase())))
    }

    pub(crate) fn of(alg: &str, code: &str) -> LegacyDigest {
        use sha2::Digest;
        let digest = match alg {
            "sha512" => sha2::Sha512::digest(code.as_bytes()).to_vec(),
            _ => sha2::Sha256::digest(code.as_bytes()).to_vec(),
        };
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(alg.len() + 1 + 2 * digest.len());
        text.push_str(alg);
        text.push(':');
        for b in digest {
            text.push(HEX[usize::from(b >> 4)] as char);
            text.push(HEX[usize::from(b & 15)] as char);
        }
        LegacyDigest(text)
    }

    fn keyed(&self, keys: &Keys) -> Vec<u8> {
        keys.hash_code(&self.0)
    }
}
