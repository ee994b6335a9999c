use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};
use guestlist_app::domain::{InviteState, SpacePath};
use guestlist_app::{InviteFilter, cursor_of};

use crate::types::*;
use crate::{actor, app, caller, gql};

fn path(field: &str, s: &str) -> Result<SpacePath> {
    SpacePath::parse(s).map_err(|e| match e {
        guestlist_app::domain::Error::InvalidInput { message, .. } => {
            gql(guestlist_app::domain::Error::invalid(field, message))
        }
        other => gql(other),
    })
}

pub(crate) fn space_arg(s: &str) -> Result<SpacePath> {
    path("spacePrefix", s)
}

/// Translates the nested filter to the application's, part for part; the application
/// ANDs it with what the caller may see, in SQL.
fn invite_filter(f: Option<InviteLinksFilter>) -> Result<InviteFilter> {
    let f = f.unwrap_or_default();
    let mut out = InviteFilter::default();
    if let Some(space) = f.space {
        if let Some(prefix) = space.starts_with {
            out.subtrees.push(path("filter.space.startsWith", &prefix)?);
        }
        if let Some(list) = space.in_ {
            out.spaces_in = Some(
                list.iter()
                    .map(|p| path("filter.space.in", p))
                    .collect::<Result<_>>()?,
            );
        }
    }
    if let Some(state) = f.state {
        let mut states: Option<Vec<InviteState>> =
            state.in_.map(|l| l.into_iter().map(Into::into).collect());
        if let Some(eq) = state.eq {
            let eq: InviteState = eq.into();
            states = Some(match states {
                Some(list) => list.into_iter().filter(|s| *s == eq).collect(),
                None => vec![eq],
            });
        }
        out.states = states;
    }
    out.created_by = f.created_by.and_then(|s| s.eq);
    out.revoked = f.revoked.and_then(|b| b.eq);
    Ok(out)
}

/// `first` as a page size; the application bounds it (1-100).
pub(crate) fn first_arg(first: Option<i32>) -> Option<u32> {
    first.map(|f| u32::try_from(f).unwrap_or(0))
}

pub struct Query;

#[Object]
impl Query {
    /// A space the caller may read.
    async fn space(&self, ctx: &Context<'_>, path: String) -> Result<Space> {
        let view = app(ctx)?
            .get_space(actor(ctx)?, space_arg(&path)?)
            .await
            .map_err(gql)?;
        Ok(view.into())
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
            let cursor = cursor_of(&guestlist_app::store::PageKey {
                created_at: m.membership.created_at,
                id: m.membership.id,
            });
            conn.edges.push(Edge::new(cursor, m.into()));
        }
        Ok(conn)
    }

    /// The invite links of the spaces the caller manages invites for, newest first.
    /// The filter can only narrow that set.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn invite_links(
        &self,
        ctx: &Context<'_>,
        filter: Option<InviteLinksFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, InviteLink>> {
        let had_after = after.is_some();
        let mut f = invite_filter(filter)?;
        f.after = after;
        f.limit = first_arg(first);
        let page = app(ctx)?.list_invites(actor(ctx)?, f).await.map_err(gql)?;
        let mut conn = Connection::new(had_after, page.next.is_some());
        for v in page.invites {
            let cursor = cursor_of(&guestlist_app::store::PageKey {
                created_at: v.invite.created_at,
                id: v.invite.id,
            });
            conn.edges.push(Edge::new(cursor, v.into()));
        }
        Ok(conn)
    }

    /// The invitations of the spaces the caller manages invites for, newest first.
    /// Never their tokens.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        filter: Option<InvitationsFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Invitation>> {
        let f = filter.unwrap_or_default();
        let space = match f.space.and_then(|s| s.starts_with) {
            Some(p) => Some(path("filter.space.startsWith", &p)?),
            None => None,
        };
        let filter = guestlist_app::InvitationFilter {
            space,
            status: f.status.and_then(|s| s.eq).map(Into::into),
            email: f.email.and_then(|e| e.eq),
            after: after.clone(),
            limit: first_arg(first),
        };
        let page = app(ctx)?
            .list_invitations(actor(ctx)?, filter)
            .await
            .map_err(gql)?;
        Ok(invitation_connection(after.is_some(), page))
    }

    /// The caller's pending invitations (to their user id, username or verified e-mail).
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn my_invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Invitation>> {
        let had_after = after.is_some();
        let page = app(ctx)?
            .my_invitations(actor(ctx)?, after, first_arg(first))
            .await
            .map_err(gql)?;
        Ok(invitation_connection(had_after, page))
    }

    /// The platform's sign-up gate. Public.
    async fn signup_config(&self, ctx: &Context<'_>) -> Result<SignupConfig> {
        Ok(app(ctx)?.gate().await.map_err(gql)?.into())
    }

    /// A space's join requests in the order they came (manage_members).
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn join_requests(
        &self,
        ctx: &Context<'_>,
        space_prefix: String,
        status: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, JoinRequest>> {
        let had_after = after.is_some();
        let status = status
            .as_deref()
            .map(guestlist_app::store::JoinRequestStatus::parse)
            .transpose()
            .map_err(gql)?;
        let page = app(ctx)?
            .list_join_requests(
                actor(ctx)?,
                space_arg(&space_prefix)?,
                status,
                after,
                first_arg(first),
            )
            .await
            .map_err(gql)?;
        let mut conn = Connection::new(had_after, page.next.is_some());
        for r in page.requests {
            let cursor = cursor_of(&guestlist_app::store::PageKey {
                created_at: r.request.created_at,
                id: r.request.id,
            });
            conn.edges.push(Edge::new(cursor, r.into()));
        }
        Ok(conn)
    }

    /// The caller's pending invitations, owners' adds and join requests.
    async fn my_pending(&self, ctx: &Context<'_>) -> Result<PendingItems> {
        let p = app(ctx)?.my_pending(actor(ctx)?).await.map_err(gql)?;
        Ok(PendingItems {
            invitations: p.invitations.into_iter().map(Into::into).collect(),
            grants: p.memberships.into_iter().map(Into::into).collect(),
            join_requests: p.join_requests.into_iter().map(Into::into).collect(),
        })
    }

    /// The caller's referrals (platform admins: anyone's, by `inviter`).
    async fn referrals(&self, ctx: &Context<'_>, inviter: Option<String>) -> Result<Referrals> {
        Ok(app(ctx)?
            .referrals(actor(ctx)?, inviter)
            .await
            .map_err(gql)?
            .into())
    }

    /// The public preview of an invite link.
    async fn invite_link_preview(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> Result<InviteLinkPreview> {
        let p = app(ctx)?
            .preview_invite(caller(ctx)?, &token)
            .await
            .map_err(gql)?;
        Ok(p.into())
    }

    /// The audit log of the spaces the caller administers, newest first.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EventsFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Event>> {
        let filter = filter.unwrap_or_default();
        let space = match filter.space.and_then(|s| s.starts_with) {
            Some(p) => Some(path("filter.space.startsWith", &p)?),
            None => None,
        };
        let before = match &after {
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                gql(guestlist_app::domain::Error::invalid(
                    "after",
                    "not a cursor this service issued",
                ))
            })?),
            None => None,
        };
        let page = app(ctx)?
            .list_events(
                actor(ctx)?,
                space,
                filter.kind.and_then(|k| k.eq),
                before,
                first_arg(first),
            )
            .await
            .map_err(gql)?;
        let mut conn = Connection::new(after.is_some(), page.next.is_some());
        for e in page.events {
            conn.edges.push(Edge::new(e.seq.to_string(), e.into()));
        }
        Ok(conn)
    }
}

fn invitation_connection(
    had_after: bool,
    page: guestlist_app::InvitationPage,
) -> Connection<String, Invitation> {
    let mut conn = Connection::new(had_after, page.next.is_some());
    for v in page.invitations {
        let cursor = cursor_of(&guestlist_app::store::PageKey {
            created_at: v.invitation.created_at,
            id: v.invitation.id,
        });
        conn.edges.push(Edge::new(cursor, v.into()));
    }
    conn
}
