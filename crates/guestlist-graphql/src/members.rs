//! GraphQL — Memberships: the member list, one member, the host's questions (`check`,
//! `checks`, `mySpaces`, `userMemberships`), open joins, leaving, provisioning, role
//! changes, removal. Resolvers parse, call one application function and render.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};
use async_graphql::{ID, InputObject, SimpleObject};
use guestlist_app::domain::Permission;
use guestlist_app::{CheckAnswer, CheckInput, MembershipView};

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
        Ok(member_connection(had_after, page))
    }

    /// One membership of a space (active or pending): yours, or anyone's where you may
    /// read.
    async fn member(
        &self,
        ctx: &Context<'_>,
        space_prefix: String,
        user_id: String,
    ) -> Result<Member> {
        Ok(app(ctx)?
            .get_member(actor(ctx)?, space_arg(&space_prefix)?, user_arg(&user_id)?)
            .await
            .map_err(gql)?
            .into())
    }

    /// May this user do this in this space? Allowed or not, and the role that decides
    /// it (inherited down the tree). A platform-admin key asks about anyone (`userId`
    /// required); a user about themselves.
    async fn check(
        &self,
        ctx: &Context<'_>,
        user_id: Option<String>,
        space_prefix: String,
        permission: Permission,
    ) -> Result<CheckResult> {
        let q = question(user_id.as_deref(), &space_prefix, permission)?;
        let answers = app(ctx)?.check(actor(ctx)?, vec![q]).await.map_err(gql)?;
        answers
            .into_iter()
            .next()
            .map(Into::into)
            .ok_or_else(|| "no answer".into())
    }

    /// Up to 100 questions at once, answered in order.
    async fn checks(
        &self,
        ctx: &Context<'_>,
        questions: Vec<CheckQuestion>,
    ) -> Result<Vec<CheckResult>> {
        let questions = questions
            .iter()
            .map(|q| question(q.user_id.as_deref(), &q.space_prefix, q.permission))
            .collect::<Result<Vec<_>>>()?;
        let answers = app(ctx)?.check(actor(ctx)?, questions).await.map_err(gql)?;
        Ok(answers.into_iter().map(Into::into).collect())
    }

    /// Your memberships (active and pending), in join order.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn my_spaces(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Member>> {
        let had_after = after.is_some();
        let page = app(ctx)?
            .memberships_of(actor(ctx)?, None, after, first_arg(first))
            .await
            .map_err(gql)?;
        Ok(member_connection(had_after, page))
    }

    /// A user's memberships (platform-admin keys), in join order.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn user_memberships(
        &self,
        ctx: &Context<'_>,
        user_id: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Member>> {
        let had_after = after.is_some();
        let page = app(ctx)?
            .memberships_of(
                actor(ctx)?,
                Some(user_arg(&user_id)?),
                after,
                first_arg(first),
            )
            .await
            .map_err(gql)?;
        Ok(member_connection(had_after, page))
    }
}

fn member_connection(
    had_after: bool,
    page: guestlist_app::MemberPage,
) -> Connection<String, Member> {
    let mut conn = Connection::new(had_after, page.next.is_some());
    for m in page.members {
        let cursor = m.cursor();
        conn.edges.push(Edge::new(cursor, m.into()));
    }
    conn
}

fn question(
    user_id: Option<&str>,
    space_prefix: &str,
    permission: Permission,
) -> Result<CheckInput> {
    Ok(CheckInput {
        user: user_id.map(user_arg).transpose()?,
        space: space_arg(space_prefix)?,
        permission,
    })
}

/// One question for `checks`.
#[derive(InputObject, Debug)]
pub struct CheckQuestion {
    /// Required with a platform-admin key; a user may name only themselves.
    pub user_id: Option<String>,
    pub space_prefix: String,
    pub permission: Permission,
}

/// A check's answer.
#[derive(SimpleObject, Debug)]
pub struct CheckResult {
    pub user_id: String,
    pub space_prefix: String,
    pub permission: Permission,
    pub allowed: bool,
    /// The role of the deciding grant.
    pub role: Option<String>,
    /// The space the deciding grant is on: `spacePrefix` itself or an ancestor.
    pub granted_on: Option<String>,
}

impl From<CheckAnswer> for CheckResult {
    fn from(a: CheckAnswer) -> Self {
        CheckResult {
            user_id: a.user.to_string(),
            space_prefix: a.space.to_string(),
            permission: a.permission,
            allowed: a.check.allowed,
            role: a.check.role.map(|r| r.to_string()),
            granted_on: a.check.granted_on.map(|p| p.to_string()),
        }
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
