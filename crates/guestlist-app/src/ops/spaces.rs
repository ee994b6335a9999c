use guestlist_domain::events::{RoleCreated, SpaceCreated, SpaceUpdated};
use guestlist_domain::{Actor, Error, JoinMode, Permission, Permissions, RoleName, SpacePath};
use guestlist_store::{
    NewRole, NewSpace, PageKey, RoleRow, SpacePatch, SpaceQuery, SpaceRow, Visibility,
};
use uuid::Uuid;

use super::{operation, text};
use crate::scope::{Scope, subtrees_with};
use crate::{App, Result, paging};

pub const MAX_MEMBER_LIMIT: u32 = 10_000_000;

#[derive(Debug, Clone)]
pub struct NewSpaceInput {
    pub path: SpacePath,
    pub name: Option<String>,
    pub join_mode: JoinMode,
    pub member_limit: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct SpacePatchInput {
    pub name: Option<String>,
    pub join_mode: Option<JoinMode>,
    pub member_limit: Option<Option<u32>>,
}

/// A space as its reader sees it, with the caller's effective permissions.
#[derive(Debug, Clone)]
pub struct SpaceView {
    pub space: SpaceRow,
    pub your_permissions: Permissions,
}

impl SpaceView {
    /// Whether the caller runs this space: invites, members, or everything.
    pub fn manages(&self) -> bool {
        [
            Permission::ManageInvites,
            Permission::ManageMembers,
            Permission::Admin,
        ]
        .into_iter()
        .any(|p| self.your_permissions.has(p))
    }

    /// The opaque cursor that pages past this space (Relay connections, `after`).
    pub fn cursor(&self) -> String {
        paging::encode(&PageKey {
            created_at: self.space.created_at,
            id: self.space.id,
        })
    }
}

/// A page of spaces.
#[derive(Debug, Clone)]
pub struct SpacePage {
    pub spaces: Vec<SpaceView>,
    pub next: Option<String>,
}

fn check_limit(limit: Option<u32>) -> Result<()> {
    match limit {
        Some(n) if n > MAX_MEMBER_LIMIT => Err(Error::invalid(
            "member_limit",
            format!("at most {MAX_MEMBER_LIMIT}"),
        )),
        _ => Ok(()),
    }
}

pub(crate) struct CreateSpace {
    pub(crate) actor: Actor,
    pub(crate) input: NewSpaceInput,
}

operation!(CreateSpace => SpaceView, |self, tx| {
    let input = &self.input;
    let held = match input.path.parent() {
        // Top-level spaces belong to the platform: only a platform-admin key makes them.
        None if self.actor.is_platform_admin() => Permissions::ALL,
        None => return Err(Error::forbidden("only a platform-admin API key can create a top-level space")),
        Some(parent) => {
            let parent = Scope::load(tx, &parent).await.map_err(|_| Error::NotFound("parent space"))?;
            parent.require_visible(tx, &self.actor, Permission::Admin).await?
        }
    };
    let name = text("name", input.name.as_deref(), 200)?.unwrap_or_else(|| input.path.leaf().to_owned());
    let row = tx
        .insert_space(&NewSpace {
            id: Uuid::now_v7(),
            path: input.path.clone(),
            name,
            join_mode: input.join_mode,
            member_limit: input.member_limit,
            created_at: crate::now(),
            created_by: self.actor.label(),
        })
        .await?
        .ok_or_else(|| Error::AlreadyExists(format!("the space {} exists", input.path)))?;
    let scope = Scope::load(tx, &row.path).await?;
    tx.append_event(&scope.event(
        &self.actor,
        None,
        SpaceCreated { name: row.name.clone(), join_mode: row.join_mode, member_limit: row.member_limit },
    ))
    .await?;
    Ok(SpaceView { space: row, your_permissions: held })
});

struct GetSpace {
    actor: Actor,
    path: SpacePath,
}

operation!(GetSpace => SpaceView, |self, tx| {
    let scope = Scope::load(tx, &self.path).await?;
    let held = scope.require_visible(tx, &self.actor, Permission::Read).await?;
    Ok(SpaceView { space: scope.space, your_permissions: held })
});

pub(crate) struct UpdateSpace {
    pub(crate) actor: Actor,
    pub(crate) path: SpacePath,
    pub(crate) patch: SpacePatchInput,
}

operation!(UpdateSpace => SpaceView, |self, tx| {
    let scope = Scope::load(tx, &self.path).await?;
    let held = scope.require_visible(tx, &self.actor, Permission::Admin).await?;
    let patch = SpacePatch {
        name: match &self.patch.name {
            // An empty name gives the space its path's last segment again, as at creation.
            Some(n) => Some(text("name", Some(n), 200)?.unwrap_or_else(|| self.path.leaf().to_owned())),
            None => None,
        },
        join_mode: self.patch.join_mode,
        member_limit: self.patch.member_limit,
    };
    let row = tx.update_space(scope.space.id, &patch).await?;
    tx.append_event(&scope.event(
        &self.actor,
        None,
        SpaceUpdated { name: patch.name.clone(), join_mode: patch.join_mode, member_limit: patch.member_limit.flatten() },
    ))
    .await?;
    Ok(SpaceView { space: row, your_permissions: held })
});

struct CreateRole {
    actor: Actor,
    path: SpacePath,
    name: RoleName,
    permissions: Permissions,
}

operation!(CreateRole => RoleRow, |self, tx| {
    let scope = Scope::load(tx, &self.path).await?;
    scope.require_visible(tx, &self.actor, Permission::Admin).await?;
    if self.name.is_builtin() {
        return Err(Error::AlreadyExists(format!("{} is a built-in role", self.name)));
    }
    if self.permissions.is_empty() {
        return Err(Error::invalid("permissions", "a role needs at least one permission"));
    }
    let role = NewRole {
        space_id: scope.space.id,
        name: self.name.clone(),
        permissions: self.permissions,
        created_at: crate::now(),
    };
    if !tx.insert_role(&role).await? {
        return Err(Error::AlreadyExists(format!("the role {} exists on {}", self.name, self.path)));
    }
    tx.append_event(&scope.event(
        &self.actor,
        None,
        RoleCreated { role: self.name.clone(), permissions: self.permissions },
    ))
    .await?;
    crate::ceiling::role_defined(tx, &self.actor, &scope, &self.name).await?;
    Ok(RoleRow { space_id: role.space_id, name: role.name, permissions: role.permissions })
});

struct ListRoles {
    actor: Actor,
    path: SpacePath,
}

operation!(ListRoles => Vec<(RoleName, Permissions)>, |self, tx| {
    let scope = Scope::load(tx, &self.path).await?;
    scope.require_visible(tx, &self.actor, Permission::Read).await?;
    let mut roles: Vec<(RoleName, Permissions)> = [RoleName::viewer(), RoleName::member(), RoleName::admin()]
        .into_iter()
        .map(|r| {
            let p = r.builtin_permissions().unwrap_or_default();
            (r, p)
        })
        .collect();
    for r in tx.roles_on(&scope.lineage_ids()).await? {
        if let Some(p) = scope.role_permissions(&r.name)
            && !roles.iter().any(|(n, _)| n == &r.name)
        {
            roles.push((r.name, p));
        }
    }
    Ok(roles)
});

struct ListSpaces {
    actor: Actor,
    under: Option<SpacePath>,
    after: Option<String>,
    limit: u32,
}

operation!(ListSpaces => SpacePage, |self, tx| {
    // What the caller may read (every space for a platform-admin key), narrowed to
    // the subtree asked for.
    let visible = match (subtrees_with(tx, &self.actor, Permission::Read).await?, &self.under) {
        (None, None) => Visibility::All,
        (None, Some(under)) => Visibility::Subtrees(vec![under.clone()]),
        (Some(roots), None) => Visibility::Subtrees(roots),
        (Some(roots), Some(under)) => {
            Visibility::Subtrees(guestlist_domain::path::intersect_subtrees(&roots, std::slice::from_ref(under)))
        }
    };
    let after = paging::decode(self.after.as_deref())?;
    let rows = tx.list_spaces(&SpaceQuery { visible, after, limit: self.limit + 1 }).await?;
    let (rows, next) = paging::split(rows, self.limit, |s| PageKey { created_at: s.created_at, id: s.id });
    let mut spaces = Vec::with_capacity(rows.len());
    for space in rows {
        let your_permissions = match Scope::try_load(tx, &space.path).await? {
            Some(scope) => scope.rights(tx, &self.actor).await?,
            None => Permissions::NONE,
        };
        spaces.push(SpaceView { space, your_permissions });
    }
    Ok(SpacePage { spaces, next })
});

impl App {
    /// The spaces the caller can see (everything for a platform-admin key), in
    /// creation order, within `under` when given.
    pub async fn list_spaces(
        &self,
        actor: &Actor,
        under: Option<SpacePath>,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<SpacePage> {
        let limit = paging::page_size(limit)?;
        self.store_ref()
            .read(ListSpaces {
                actor: actor.clone(),
                under,
                after,
                limit,
            })
            .await
    }

    pub async fn create_space(&self, actor: &Actor, input: NewSpaceInput) -> Result<SpaceView> {
        check_limit(input.member_limit)?;
        self.store_ref()
            .write(CreateSpace {
                actor: actor.clone(),
                input,
            })
            .await
    }

    pub async fn get_space(&self, actor: &Actor, path: SpacePath) -> Result<SpaceView> {
        self.store_ref()
            .read(GetSpace {
                actor: actor.clone(),
                path,
            })
            .await
    }

    pub async fn update_space(
        &self,
        actor: &Actor,
        path: SpacePath,
        patch: SpacePatchInput,
    ) -> Result<SpaceView> {
        check_limit(patch.member_limit.flatten())?;
        self.store_ref()
            .write(UpdateSpace {
                actor: actor.clone(),
                path,
                patch,
            })
            .await
    }

    pub async fn create_role(
        &self,
        actor: &Actor,
        path: SpacePath,
        name: RoleName,
        permissions: Permissions,
    ) -> Result<RoleRow> {
        self.store_ref()
            .write(CreateRole {
                actor: actor.clone(),
                path,
                name,
                permissions,
            })
            .await
    }

    pub async fn list_roles(
        &self,
        actor: &Actor,
        path: SpacePath,
    ) -> Result<Vec<(RoleName, Permissions)>> {
        self.store_ref()
            .read(ListRoles {
                actor: actor.clone(),
                path,
            })
            .await
    }
}
