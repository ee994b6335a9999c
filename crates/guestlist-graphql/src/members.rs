//! GraphQL — Memberships: the member list, open joins, leaving, provisioning, role
//! changes, removal. Resolvers parse, call one application function and render.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};
use async_graphql::{ID, SimpleObject};
use guestlist_app::MembershipView;

use crate::args::*;
use crate::invites::RedeemResult;
use crate::types::*;
use crate::{actor, app, gql};

#[derive(Default)]
pub struct MembersQuery;

#[Object]
impl MembersQuery {
    /// A space's members in join order.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        space_prefix: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Member>> {
        let had_after = after.is_some();
        let page = app(ctx)?
            .list_members(
                actor(ctx)?,
                space_arg(&space_prefix)?,
                after,
                first_arg(first),
            )
            .await
            .map_err(gql)?;
        let mut conn = Connection::new(had_after, page.next.is_some());
        for m in page.members {
            let cursor = m.cursor();
            conn.edges.push(Edge::new(cursor, m.into()));
        }
        Ok(conn)
    }
}

#[derive(Default)]
pub struct MembersMutation;

#[Object]
impl MembersMutation {
    /// Join an `open` space.
    async fn join_space(&self, ctx: &Context<'_>, space_prefix: String) -> Result<RedeemResult> {
        let (o, m) = app(ctx)?
            .join_space(actor(ctx)?, space_arg(&space_prefix)?)
            .await
            .map_err(gql)?;
        Ok(admitted(o, &space_prefix, "member", m))
    }

    /// Leave a space.
    async fn leave_space(&self, ctx: &Context<'_>, space_prefix: String) -> Result<bool> {
        app(ctx)?
            .leave_space(actor(ctx)?, space_arg(&space_prefix)?)
            .await
            .map_err(gql)?;
        Ok(true)
    }

    /// Add a member directly (platform-admin keys: how the first admins arrive).
    async fn provision_member(
        &self,
        ctx: &Context<'_>,
        space_prefix: String,
        user_id: String,
        role: String,
    ) -> Result<RedeemResult> {
        let (o, m) = app(ctx)?
            .provision_member(
                actor(ctx)?,
                space_arg(&space_prefix)?,
                user_arg(&user_id)?,
                role_arg(&role)?,
            )
            .await
            .map_err(gql)?;
        Ok(admitted(o, &space_prefix, &role, m))
    }

    /// Change a member's role (manage_members; never above your own rights).
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        space_prefix: String,
        user_id: String,
        role: String,
    ) -> Result<Member> {
        let m = app(ctx)?
            .change_role(
                actor(ctx)?,
                space_arg(&space_prefix)?,
                user_arg(&user_id)?,
                role_arg(&role)?,
            )
            .await
            .map_err(gql)?;
        Ok(m.into())
    }

    /// Remove a member (manage_members), or leave when `userId` is you.
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        space_prefix: String,
        user_id: String,
    ) -> Result<bool> {
        app(ctx)?
            .remove_member(actor(ctx)?, space_arg(&space_prefix)?, user_arg(&user_id)?)
            .await
            .map_err(gql)?;
        Ok(true)
    }
}

/// A membership: a grant of a role on a space.
#[derive(SimpleObject, Debug)]
pub struct Member {
    pub id: ID,
    pub user_id: String,
    pub space: String,
    pub role: String,
    pub status: String,
    pub source: String,
    pub invite_id: Option<ID>,
    pub joined_at: String,
}

impl From<MembershipView> for Member {
    fn from(v: MembershipView) -> Self {
        let m = v.membership;
        Member {
            id: ID(m.id.to_string()),
            user_id: m.user_id.to_string(),
            space: v.space.to_string(),
            role: m.role.to_string(),
            status: m.status.as_str().to_owned(),
            source: m.source.as_str().to_owned(),
            invite_id: m.invite_id.map(|i| ID(i.to_string())),
            joined_at: ts(m.created_at),
        }
    }
}
