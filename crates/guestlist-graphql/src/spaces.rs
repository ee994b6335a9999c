//! GraphQL — Spaces, their join modes, limits and custom roles. Resolvers parse, call
//! one application function and render.

use async_graphql::SimpleObject;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, MaybeUndefined, Object, Result};
use guestlist_app::SpaceView;
use guestlist_app::domain;
use guestlist_app::domain::{Permission, Permissions};
use guestlist_app::{NewSpaceInput, SpacePatchInput};

use crate::args::*;
use crate::types::*;
use crate::{actor, app, gql};

#[derive(Default)]
pub struct SpacesQuery;

#[Object]
impl SpacesQuery {
    /// A space the caller may read.
    async fn space(&self, ctx: &Context<'_>, path: String) -> Result<Space> {
        let view = app(ctx)?
            .get_space(actor(ctx)?, space_arg(&path)?)
            .await
            .map_err(gql)?;
        Ok(view.into())
    }

    /// The spaces you can see (every space for a platform-admin key), in creation order
    /// (a parent before its children), within `under` when given.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn spaces(
        &self,
        ctx: &Context<'_>,
        under: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Space>> {
        let had_after = after.is_some();
        let under = under.as_deref().map(|u| path("under", u)).transpose()?;
        let page = app(ctx)?
            .list_spaces(actor(ctx)?, under, after, first_arg(first))
            .await
            .map_err(gql)?;
        let mut conn = Connection::new(had_after, page.next.is_some());
        for s in page.spaces {
            let cursor = s.cursor();
            conn.edges.push(Edge::new(cursor, s.into()));
        }
        Ok(conn)
    }

    /// The roles valid on a space: the built-ins and custom roles along its path.
    async fn roles(&self, ctx: &Context<'_>, space_prefix: String) -> Result<Vec<Role>> {
        let roles = app(ctx)?
            .list_roles(actor(ctx)?, space_arg(&space_prefix)?)
            .await
            .map_err(gql)?;
        Ok(roles
            .into_iter()
            .map(|(n, p)| Role {
                name: n.to_string(),
                permissions: permissions(p),
            })
            .collect())
    }
}

#[derive(Default)]
pub struct SpacesMutation;

#[Object]
impl SpacesMutation {
    /// Create a space: top-level ones with a platform-admin key, others as an admin of
    /// the parent.
    async fn create_space(
        &self,
        ctx: &Context<'_>,
        path: String,
        name: Option<String>,
        join_mode: Option<JoinMode>,
        member_limit: Option<u32>,
    ) -> Result<Space> {
        let input = NewSpaceInput {
            path: space_arg(&path)?,
            name,
            join_mode: join_mode.unwrap_or(JoinMode::InviteOnly),
            member_limit,
        };
        Ok(app(ctx)?
            .create_space(actor(ctx)?, input)
            .await
            .map_err(gql)?
            .into())
    }

    /// Change a space's name, join mode or member limit (`memberLimit: null` removes it).
    async fn update_space(
        &self,
        ctx: &Context<'_>,
        path: String,
        name: Option<String>,
        join_mode: Option<JoinMode>,
        member_limit: MaybeUndefined<u32>,
    ) -> Result<Space> {
        let patch = SpacePatchInput {
            name,
            join_mode,
            member_limit: match member_limit {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(n) => Some(Some(n)),
            },
        };
        Ok(app(ctx)?
            .update_space(actor(ctx)?, space_arg(&path)?, patch)
            .await
            .map_err(gql)?
            .into())
    }

    /// Define a custom role on a space; it applies there and beneath.
    async fn create_role(
        &self,
        ctx: &Context<'_>,
        space_prefix: String,
        name: String,
        permissions: Vec<String>,
    ) -> Result<Role> {
        let perms = permissions
            .iter()
            .map(|p| Permission::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(gql)?;
        let row = app(ctx)?
            .create_role(
                actor(ctx)?,
                space_arg(&space_prefix)?,
                role_arg(&name)?,
                Permissions::of(&perms),
            )
            .await
            .map_err(gql)?;
        Ok(Role {
            name: row.name.to_string(),
            permissions: self::permissions(row.permissions),
        })
    }
}

#[derive(SimpleObject, Debug)]
pub struct Space {
    pub path: String,
    pub name: String,
    pub join_mode: JoinMode,
    pub member_limit: Option<u32>,
    pub member_count: u32,
    pub created_at: String,
    /// The caller's effective permissions here (inherited down the tree).
    pub your_permissions: Vec<String>,
}

pub fn permissions(p: domain::Permissions) -> Vec<String> {
    p.list()
        .into_iter()
        .map(|p| p.as_str().to_owned())
        .collect()
}

impl From<SpaceView> for Space {
    fn from(v: SpaceView) -> Self {
        let s = v.space;
        Space {
            path: s.path.to_string(),
            name: s.name,
            join_mode: s.join_mode,
            member_limit: s.member_limit,
            member_count: s.member_count,
            created_at: ts(s.created_at),
            your_permissions: permissions(v.your_permissions),
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct Role {
    pub name: String,
    pub permissions: Vec<String>,
}
