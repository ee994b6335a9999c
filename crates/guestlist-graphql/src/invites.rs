//! GraphQL — Invite links: create, list with nested filters, preview, redeem, delete,
//! show again. Resolvers parse, call one application function and render.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};
use guestlist_app::domain::InviteState;
use guestlist_app::{CreateInvite, InviteFilter};

use crate::args::*;
use crate::types::*;
use crate::{actor, app, caller, gql};

/// Translates the nested filter to the application's, part for part; the application
/// ANDs it with what the caller may see, in SQL.
pub(crate) fn invite_filter(f: Option<InviteLinksFilter>) -> Result<InviteFilter> {
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
        let mut states: Option<Vec<InviteState>> = state.in_.map(|l| l.into_iter().collect());
        if let Some(eq) = state.eq {
            let eq: InviteState = eq;
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

#[derive(Default)]
pub struct InviteLinksQuery;

#[Object]
impl InviteLinksQuery {
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
            let cursor = v.cursor();
            conn.edges.push(Edge::new(cursor, v.into()));
        }
        Ok(conn)
    }
}

#[derive(Default)]
pub struct PreviewQuery;

#[Object]
impl PreviewQuery {
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
}

#[derive(Default)]
pub struct InviteLinksMutation;

#[Object]
impl InviteLinksMutation {
    /// Create an invite link granting `role` (default `member`) on a space prefix.
    /// Needs manage_invites there; you cannot grant more than you hold.
    #[allow(clippy::too_many_arguments)]
    async fn create_invite_link(
        &self,
        ctx: &Context<'_>,
        space_prefix: String,
        role: Option<String>,
        max_uses: Option<u32>,
        expires_at: Option<String>,
        description: Option<String>,
        allow_narrowing: Option<bool>,
        requires_approval: Option<bool>,
        auto_approve_domains: Option<Vec<String>>,
    ) -> Result<CreatedInviteLink> {
        let input = CreateInvite {
            space: space_arg(&space_prefix)?,
            role: role.as_deref().map(role_arg).transpose()?,
            max_uses,
            expires_in_seconds: lifetime(expires_at.as_deref())?,
            description,
            allow_narrowing: allow_narrowing.unwrap_or(false),
            requires_approval: requires_approval.unwrap_or(false),
            auto_approve_domains: auto_approve_domains.unwrap_or_default(),
        };
        Ok(app(ctx)?
            .create_invite(actor(ctx)?, input)
            .await
            .map_err(gql)?
            .into())
    }

    /// Redeem an invite link, optionally into a narrower prefix beneath its own.
    async fn redeem_invite_link(
        &self,
        ctx: &Context<'_>,
        token: String,
        requested_prefix: Option<String>,
    ) -> Result<RedeemResult> {
        actor(ctx)?;
        let requested = requested_prefix.as_deref().map(space_arg).transpose()?;
        let r = app(ctx)?
            .redeem_invite(caller(ctx)?, &token, requested)
            .await
            .map_err(gql)?;
        let mut result = admitted(r.outcome, r.space.as_str(), r.role.as_str(), r.membership);
        result.join_request_id = r
            .join_request
            .map(|j| async_graphql::ID(j.request.id.to_string()));
        Ok(result)
    }

    /// Revoke an invite link, by token or id (soft: it stays listed as revoked).
    async fn delete_invite_link(&self, ctx: &Context<'_>, token: String) -> Result<InviteLink> {
        Ok(app(ctx)?
            .revoke_invite(actor(ctx)?, &token)
            .await
            .map_err(gql)?
            .into())
    }

    /// Show a live link's token again (its managers only).
    async fn show_invite_link(&self, ctx: &Context<'_>, id: String) -> Result<CreatedInviteLink> {
        Ok(app(ctx)?
            .show_invite_link(actor(ctx)?, &id)
            .await
            .map_err(gql)?
            .into())
    }
}
