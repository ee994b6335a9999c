//! GraphQL — Invite links: create, list with nested filters, preview, redeem, delete,
//! show again. Resolvers parse, call one application function and render.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};
use async_graphql::{ID, InputObject, SimpleObject};
use guestlist_app::domain::InviteState;
use guestlist_app::store::InvitePredicate;
use guestlist_app::{CreateInvite, InviteFilter};
use guestlist_app::{InviteCreated, InviteView};

use crate::args::*;
use crate::members::Member;
use crate::types::*;
use crate::{actor, app, caller, gql};

/// Translates the nested filter to the application's, part for part; the application
/// ANDs it with what the caller may see, in SQL.
pub(crate) fn invite_filter(f: Option<InviteLinksFilter>) -> Result<InviteFilter> {
    let mut f = f.unwrap_or_default();
    let mut out = InviteFilter::default();
    // The top level's own parts take the list's indexed paths; `and`, `or` and `not`
    // become one nested condition.
    let nested = InviteLinksFilter {
        and: f.and.take(),
        or: f.or.take(),
        not: f.not.take(),
        ..Default::default()
    };
    if nested.and.is_some() || nested.or.is_some() || nested.not.is_some() {
        out.predicate = Some(predicate(nested, "filter")?);
    }
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
    /// The filter can only narrow that set. Page forward with `first`/`after`, or
    /// backward with `last`/`before` (`last` alone is the last page: the oldest
    /// links); `totalCount` counts every page.
    #[graphql(complexity = "first.or(last).unwrap_or(50).max(0) as usize * child_complexity")]
    async fn invite_links(
        &self,
        ctx: &Context<'_>,
        filter: Option<InviteLinksFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, InviteLink, InviteLinksTotal>> {
        if first.is_some() && last.is_some() {
            return Err(gql(guestlist_app::domain::Error::invalid(
                "last",
                "page with first (and after) or with last (and before), not both",
            )));
        }
        let f = invite_filter(filter)?;
        let total = InviteLinksTotal { filter: f.clone() };
        let mut f = f;
        // `last` alone pages from the end, as Relay has it; with `before`, the page
        // just before that cursor.
        f.from_end = last.is_some() && before.is_none();
        f.after = after;
        f.before = before;
        f.limit = first_arg(first.or(last));
        let page = app(ctx)?.list_invites(actor(ctx)?, f).await.map_err(gql)?;
        let mut conn =
            Connection::with_additional_fields(page.has_previous, page.next.is_some(), total);
        for v in page.invites {
            let cursor = v.cursor();
            conn.edges.push(Edge::new(cursor, v.into()));
        }
        Ok(conn)
    }
}

/// What an invite-link connection adds to its page: the count of every page.
pub struct InviteLinksTotal {
    filter: InviteFilter,
}

#[Object]
impl InviteLinksTotal {
    /// How many invite links the filter matches, all pages together (counted only
    /// when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        app(ctx)?
            .count_invites(actor(ctx)?, self.filter.clone())
            .await
            .map_err(gql)
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
        #[graphql(
            desc = "A code of your choosing (a vanity code): 8 to 32 letters and digits; generated when omitted."
        )]
        code: Option<String>,
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
            code,
        };
        Ok(app(ctx)?
            .create_invite(actor(ctx)?, input)
            .await
            // The lifetime is asked for as a date here.
            .map_err(|e| match e.field() {
                Some("expires_in_seconds") => gql(e.in_field("expiresAt")),
                Some("space") => gql(e.in_field("spacePrefix")),
                _ => gql(e),
            })?
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

/// An invite link as its managers see it: never its token.
#[derive(SimpleObject, Debug)]
pub struct InviteLink {
    pub id: ID,
    pub space_prefix: String,
    pub role: String,
    pub state: InviteState,
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub uses_left: Option<u32>,
    pub expires_at: Option<String>,
    pub description: Option<String>,
    pub allow_narrowing: bool,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<InviteView> for InviteLink {
    fn from(v: InviteView) -> Self {
        let i = v.invite;
        InviteLink {
            id: ID(i.id.to_string()),
            space_prefix: i.space_path.to_string(),
            role: i.role.to_string(),
            state: v.state,
            max_uses: i.max_uses,
            uses: i.uses,
            uses_left: i.max_uses.map(|m| m.saturating_sub(i.uses)),
            expires_at: i.expires_at.map(ts),
            description: i.description,
            allow_narrowing: i.allow_narrowing,
            created_by: i.created_by,
            created_at: ts(i.created_at),
            revoked_at: i.revoked_at.map(ts),
        }
    }
}

/// A new invite link: the only answer that carries its token.
#[derive(SimpleObject, Debug)]
pub struct CreatedInviteLink {
    pub token: String,
    pub link: String,
    pub invite_link: InviteLink,
}

impl From<InviteCreated> for CreatedInviteLink {
    fn from(c: InviteCreated) -> Self {
        CreatedInviteLink {
            token: c.code,
            link: c.link,
            invite_link: c.invite.into(),
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct RedeemResult {
    pub outcome: JoinOutcome,
    pub space_prefix: String,
    pub role: String,
    /// The grant on `spacePrefix`; null when the rights come from an ancestor.
    pub grant: Option<Member>,
    /// For REQUESTED: the join request waiting for approval.
    pub join_request_id: Option<ID>,
}

#[derive(SimpleObject, Debug)]
pub struct InviteLinkPreview {
    pub space_prefix: String,
    pub space_name: String,
    pub join_mode: JoinMode,
    pub member_count: u32,
    pub role: String,
    pub inviter: String,
    pub expires_at: Option<String>,
    pub max_uses: Option<u32>,
    pub uses_left: Option<u32>,
    pub allow_narrowing: bool,
}

impl From<guestlist_app::InvitePreview> for InviteLinkPreview {
    fn from(p: guestlist_app::InvitePreview) -> Self {
        InviteLinkPreview {
            space_prefix: p.space.to_string(),
            space_name: p.space_name,
            join_mode: p.join_mode,
            member_count: p.member_count,
            role: p.role.to_string(),
            inviter: p.inviter,
            expires_at: p.expires_at.map(ts),
            max_uses: p.max_uses,
            uses_left: p.uses_left,
            allow_narrowing: p.allow_narrowing,
        }
    }
}

#[derive(InputObject, Debug, Default)]
pub struct InviteLinkStateFilter {
    pub eq: Option<InviteState>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<InviteState>>,
}

/// Every present part must match (AND), `and` every filter in it, `or` at least one,
/// `not` not this one; nest them as deep as needed. It can only narrow what the caller
/// may see.
#[derive(InputObject, Debug, Default)]
pub struct InviteLinksFilter {
    pub space: Option<PrefixFilter>,
    pub state: Option<InviteLinkStateFilter>,
    pub created_by: Option<StringFilter>,
    pub revoked: Option<BoolFilter>,
    pub and: Option<Vec<InviteLinksFilter>>,
    pub or: Option<Vec<InviteLinksFilter>>,
    pub not: Option<Box<InviteLinksFilter>>,
}

/// A nested filter as one condition: its own parts, `and`, `or` and `not`, all ANDed.
fn predicate(f: InviteLinksFilter, at: &str) -> Result<InvitePredicate> {
    let mut all = Vec::new();
    if let Some(space) = f.space {
        if let Some(prefix) = space.starts_with {
            all.push(InvitePredicate::Within(path(
                &format!("{at}.space.startsWith"),
                &prefix,
            )?));
        }
        if let Some(list) = space.in_ {
            let spaces = list
                .iter()
                .map(|p| path(&format!("{at}.space.in"), p))
                .collect::<Result<_>>()?;
            all.push(InvitePredicate::SpaceIn(spaces));
        }
    }
    if let Some(state) = f.state {
        if let Some(eq) = state.eq {
            all.push(InvitePredicate::StateIn(vec![eq]));
        }
        if let Some(list) = state.in_ {
            all.push(InvitePredicate::StateIn(list));
        }
    }
    if let Some(by) = f.created_by.and_then(|s| s.eq) {
        all.push(InvitePredicate::CreatedBy(by));
    }
    if let Some(revoked) = f.revoked.and_then(|b| b.eq) {
        all.push(InvitePredicate::Revoked(revoked));
    }
    for (i, part) in f.and.into_iter().flatten().enumerate() {
        all.push(predicate(part, &format!("{at}.and[{i}]"))?);
    }
    if let Some(any) = f.or {
        let parts = any
            .into_iter()
            .enumerate()
            .map(|(i, part)| predicate(part, &format!("{at}.or[{i}]")))
            .collect::<Result<_>>()?;
        all.push(InvitePredicate::Any(parts));
    }
    if let Some(not) = f.not {
        all.push(InvitePredicate::Not(Box::new(predicate(
            *not,
            &format!("{at}.not"),
        )?)));
    }
    Ok(InvitePredicate::All(all))
}
