//! Links mirrored from another system by external id, and imported ones.

use super::*;
use crate::ops::{operation, text};
use crate::scope::Scope;
use crate::{App, Result};
use guestlist_domain::events::{InviteRevoked, InviteUpdated};
use guestlist_domain::{Actor, Error, InviteCode, Permission, RoleName, SpacePath, UserId};
use guestlist_store::{InviteMirror, InviteRow, Tx};
use time::OffsetDateTime;
use uuid::Uuid;

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
    pub(super) external_id: String,
    pub(super) input: MirrorInvite,
    /// The write that creates it, should it not exist.
    pub(super) create: Create,
    /// The carried code's hash, to check that it did not change.
    pub(super) code_hash: Option<Vec<u8>>,
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
    pub(super) async fn create_new(&self, tx: &mut dyn Tx, scope: &Scope) -> Result<MirrorDone> {
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
    pub(super) async fn update(&self, tx: &mut dyn Tx, existing: InviteRow) -> Result<MirrorDone> {
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

impl App {
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
        if input.uses > super::MAX_USES {
            return Err(Error::invalid("uses", format!("0 to {}", super::MAX_USES)));
        }
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
}
