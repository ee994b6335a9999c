//! A space seen with its whole lineage: what an operation needs to decide who holds
//! which rights there.

use guestlist_domain::events::EventData;
use guestlist_domain::rules;
use guestlist_domain::{
    Actor, Error, MembershipStatus, Permission, Permissions, RoleName, SpacePath, UserId,
};
use guestlist_store::{MembershipRow, NewEvent, RoleRow, SpaceRow, Tx};
use uuid::Uuid;

use crate::Result;

#[derive(Clone)]
pub(crate) struct Scope {
    pub space: SpaceRow,
    /// Root first; the last entry is `space`.
    pub lineage: Vec<SpaceRow>,
    roles: Vec<RoleRow>,
}

impl Scope {
    pub async fn load(tx: &mut dyn Tx, path: &SpacePath) -> Result<Scope> {
        Self::try_load(tx, path)
            .await?
            .ok_or(Error::NotFound("space"))
    }

    pub async fn try_load(tx: &mut dyn Tx, path: &SpacePath) -> Result<Option<Scope>> {
        let (lineage, roles) = tx.lineage(&path.lineage()).await?;
        Ok(Self::of(path, lineage, roles))
    }

    /// The scope and `user`'s memberships along it, in one statement.
    pub async fn try_load_for(
        tx: &mut dyn Tx,
        path: &SpacePath,
        user: &UserId,
    ) -> Result<Option<(Scope, Vec<MembershipRow>)>> {
        let (lineage, roles, grants) = tx.lineage_of(&path.lineage(), user).await?;
        Ok(Self::of(path, lineage, roles).map(|s| (s, grants)))
    }

    fn of(path: &SpacePath, lineage: Vec<SpaceRow>, roles: Vec<RoleRow>) -> Option<Scope> {
        let space = lineage.last().filter(|s| &s.path == path).cloned()?;
        Some(Scope {
            space,
            lineage,
            roles,
        })
    }

    fn ids_of(lineage: &[SpaceRow]) -> Vec<Uuid> {
        lineage.iter().map(|s| s.id).collect()
    }

    pub fn lineage_ids(&self) -> Vec<Uuid> {
        Self::ids_of(&self.lineage)
    }

    /// The permissions of a role valid here: a built-in, or a custom role defined on
    /// this space or an ancestor (the nearest definition wins).
    pub fn role_permissions(&self, role: &RoleName) -> Option<Permissions> {
        self.role_permissions_on(role, self.space.id)
    }

    /// The permissions of `role` as granted on the lineage's space `on`: a built-in,
    /// or the nearest custom definition at `on` or above it. A grant means what it
    /// meant where it was made, whatever a deeper space defines under the same name.
    pub fn role_permissions_on(&self, role: &RoleName, on: Uuid) -> Option<Permissions> {
        role.builtin_permissions().or_else(|| {
            let depth = self.lineage.iter().position(|s| s.id == on)?;
            self.lineage[..=depth]
                .iter()
                .rev()
                .find_map(|s| {
                    self.roles
                        .iter()
                        .find(|r| r.space_id == s.id && &r.name == role)
                })
                .map(|r| r.permissions)
        })
    }

    pub fn require_role(&self, role: &RoleName) -> Result<Permissions> {
        // A well-formed name that names no role here is a reference to nothing.
        self.role_permissions(role).ok_or(Error::NotFound("role"))
    }

    /// Role names that carry `admin` when granted on the lineage's space `on`.
    pub fn admin_roles_on(&self, on: Uuid) -> Vec<RoleName> {
        let mut names = vec![RoleName::admin()];
        names.extend(
            self.roles
                .iter()
                .filter(|r| {
                    self.role_permissions_on(&r.name, on)
                        .is_some_and(|p| p.has(Permission::Admin))
                })
                .map(|r| r.name.clone()),
        );
        names.sort();
        names.dedup();
        names
    }

    /// Effective rights: the union of the actor's active grants along the path.
    /// A platform administrator (a key, or a user by their provider's claim) holds
    /// everything everywhere.
    pub async fn rights(&self, tx: &mut dyn Tx, actor: &Actor) -> Result<Permissions> {
        match actor {
            actor if actor.is_platform_admin() => Ok(Permissions::ALL),
            // A SCIM key provisions its subtree: everything there, nothing elsewhere.
            Actor::ApiKey {
                scim_root: Some(root),
                ..
            } if self.space.path.is_within(root) => Ok(Permissions::ALL),
            Actor::ApiKey { .. } => Ok(Permissions::NONE),
            Actor::User { id, .. } => self.user_rights(tx, id).await,
        }
    }

    pub async fn user_rights(&self, tx: &mut dyn Tx, user: &UserId) -> Result<Permissions> {
        Ok(self.standing(tx, user).await?.1)
    }

    /// The user's membership of this space (active or pending), and their effective
    /// rights here from active grants along the path: one query.
    pub async fn standing(
        &self,
        tx: &mut dyn Tx,
        user: &UserId,
    ) -> Result<(Option<MembershipRow>, Permissions)> {
        let grants = tx.memberships_on(user, &self.lineage_ids()).await?;
        let rights = rules::effective(
            grants
                .iter()
                .filter(|m| m.status == MembershipStatus::Active)
                .filter_map(|m| self.role_permissions_on(&m.role, m.space_id)),
        );
        let direct = grants.into_iter().find(|m| m.space_id == self.space.id);
        Ok((direct, rights))
    }

    /// Whether the holder of `grants` (their memberships along this lineage) holds
    /// `needed` here, and the grant that decides it: of the active grants along the
    /// path that carry it, the nearest (the deepest space).
    pub fn decide(&self, grants: &[MembershipRow], needed: Permission) -> Check {
        let depth = |id: Uuid| self.lineage.iter().position(|s| s.id == id);
        let deciding = grants
            .iter()
            .filter(|m| m.status == MembershipStatus::Active)
            .filter(|m| {
                self.role_permissions_on(&m.role, m.space_id)
                    .is_some_and(|p| p.has(needed))
            })
            .filter_map(|m| Some((depth(m.space_id)?, m)))
            .max_by_key(|(d, _)| *d);
        match deciding {
            Some((d, m)) => Check {
                allowed: true,
                role: Some(m.role.clone()),
                granted_on: Some(self.lineage[d].path.clone()),
            },
            None => Check::DENIED,
        }
    }

    /// Requires `needed`; an outsider learns nothing: without `read` the space
    /// answers as missing.
    pub async fn require_visible(
        &self,
        tx: &mut dyn Tx,
        actor: &Actor,
        needed: Permission,
    ) -> Result<Permissions> {
        let held = self.rights(tx, actor).await?;
        if !held.has(Permission::Read) {
            return Err(Error::NotFound("space"));
        }
        rules::require(held, needed)?;
        Ok(held)
    }

    pub async fn membership(
        &self,
        tx: &mut dyn Tx,
        user: &UserId,
    ) -> Result<Option<MembershipRow>> {
        tx.membership(self.space.id, user).await
    }

    /// Refuses a change that would leave the space and its ancestors without any
    /// direct admin. `losing` is the membership about to lose its admin rights.
    pub async fn keep_an_admin(&self, tx: &mut dyn Tx, losing: &MembershipRow) -> Result<()> {
        let was_admin = self
            .role_permissions(&losing.role)
            .is_some_and(|p| p.has(Permission::Admin));
        if !was_admin || losing.status != MembershipStatus::Active {
            return Ok(());
        }
        tx.lock_space(self.space.id).await?;
        let mut admins = 0;
        for s in &self.lineage {
            admins += tx
                .count_members_with_roles(s.id, &self.admin_roles_on(s.id))
                .await?;
        }
        if admins <= 1 {
            return Err(Error::LastAdmin);
        }
        Ok(())
    }

    pub fn event(
        &self,
        actor: &Actor,
        subject: Option<&str>,
        data: impl Into<EventData>,
    ) -> NewEvent {
        event_on(
            Some((self.space.id, &self.space.path)),
            actor,
            subject,
            data,
        )
    }
}

/// The answer to "may this user do this here?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub allowed: bool,
    /// The role of the deciding grant.
    pub role: Option<RoleName>,
    /// The space the deciding grant is on: this one or an ancestor.
    pub granted_on: Option<SpacePath>,
}

impl Check {
    pub const DENIED: Check = Check {
        allowed: false,
        role: None,
        granted_on: None,
    };
}

/// Whose standing the actor may ask about: a user their own (named or not), a
/// platform administrator anyone's (named). The one rule behind `check`, a user's
/// memberships and their identities.
pub(crate) fn asked_about(actor: &Actor, user: Option<&UserId>) -> Result<UserId> {
    match (actor, user) {
        (Actor::User { id, .. }, None) => Ok(id.clone()),
        (actor, Some(u)) if actor.is_platform_admin() => Ok(u.clone()),
        (Actor::User { id, .. }, Some(u)) if u == id => Ok(id.clone()),
        (
            Actor::ApiKey {
                platform_admin: true,
                ..
            },
            None,
        ) => Err(Error::invalid("user", "name the user to ask about")),
        (Actor::ApiKey { .. }, _) => Err(Error::forbidden(
            "only a platform-admin API key may ask about users",
        )),
        (Actor::User { .. }, Some(_)) => Err(Error::forbidden(
            "a user may ask only about themselves; a platform administrator about anyone",
        )),
    }
}

/// Only a person can hold a membership.
pub(crate) fn require_user(actor: &Actor) -> Result<&UserId> {
    actor
        .user_id()
        .ok_or_else(|| Error::forbidden("only a signed-in user can do this, not an API key"))
}

/// The subtrees on which the actor holds `needed`; `None` means everywhere.
pub(crate) async fn subtrees_with(
    tx: &mut dyn Tx,
    actor: &Actor,
    needed: Permission,
) -> Result<Option<Vec<SpacePath>>> {
    let user = match actor {
        actor if actor.is_platform_admin() => return Ok(None),
        Actor::ApiKey {
            scim_root: Some(root),
            ..
        } => return Ok(Some(vec![root.clone()])),
        Actor::ApiKey { .. } => return Ok(Some(vec![])),
        Actor::User { id, .. } => id,
    };
    let mut roots: Vec<SpacePath> = Vec::new();
    for (m, path) in tx.memberships_of(user).await? {
        if m.status != MembershipStatus::Active || roots.iter().any(|r| path.is_within(r)) {
            continue;
        }
        let perms = match m.role.builtin_permissions() {
            Some(p) => Some(p),
            None => Scope::try_load(tx, &path)
                .await?
                .and_then(|s| s.role_permissions(&m.role)),
        };
        if perms.is_some_and(|p| p.has(needed)) {
            roots.push(path);
        }
    }
    Ok(Some(roots))
}

/// An event on a space (`None`: a platform event, seen by platform admins).
pub(crate) fn event_on(
    space: Option<(Uuid, &SpacePath)>,
    actor: &Actor,
    subject: Option<&str>,
    data: impl Into<EventData>,
) -> NewEvent {
    event_by(space, actor.label(), subject, data.into())
}

/// An event the service records on its own (a lapsed invitation, a disabled webhook
/// endpoint): its actor is [`SYSTEM_ACTOR`].
pub(crate) fn system_event_on(
    space: Option<(Uuid, &SpacePath)>,
    subject: Option<&str>,
    data: impl Into<EventData>,
) -> NewEvent {
    event_by(space, SYSTEM_ACTOR.to_owned(), subject, data.into())
}

/// Who the service itself is in the events it records on its own. No user id or key
/// label is `system:…`.
pub const SYSTEM_ACTOR: &str = "system:guestlist";

fn event_by(
    space: Option<(Uuid, &SpacePath)>,
    actor: String,
    subject: Option<&str>,
    data: EventData,
) -> NewEvent {
    NewEvent {
        id: Uuid::now_v7(),
        kind: data.kind(),
        space_id: space.map(|(id, _)| id),
        space_path: space.map(|(_, p)| p.clone()),
        actor,
        subject: subject.map(str::to_owned),
        data: data.to_json(),
        created_at: crate::now(),
    }
}
