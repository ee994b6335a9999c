//! GraphQL — Join requests, owner adds with consent, and the caller's pending items.
//! Resolvers parse, call one application function and render.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};
use async_graphql::{ID, SimpleObject};
use guestlist_app::domain::Error;

use crate::args::*;
use crate::invitations::Invitation;
use crate::members::Member;
use crate::types::*;
use crate::{actor, app, gql};

#[derive(Default)]
pub struct RequestsQuery;

#[Object]
impl RequestsQuery {
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
            let cursor = r.cursor();
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
}

#[derive(Default)]
pub struct RequestsMutation;

#[Object]
impl RequestsMutation {
    /// Ask to join a request-mode space (an open one is joined at once).
    async fn ask_to_join(
        &self,
        ctx: &Context<'_>,
        space_prefix: String,
        message: Option<String>,
    ) -> Result<AskToJoinResult> {
        let r = app(ctx)?
            .ask_to_join(actor(ctx)?, space_arg(&space_prefix)?, message)
            .await
            .map_err(gql)?;
        Ok(AskToJoinResult {
            outcome: r.outcome,
            join_request: r.request.map(Into::into),
            grant: r.membership.map(Into::into),
        })
    }

    /// Approve (within the member limit) or deny a pending join request.
    async fn decide_join_request(
        &self,
        ctx: &Context<'_>,
        id: async_graphql::ID,
        approve: bool,
    ) -> Result<JoinRequest> {
        let id = id_arg(&id, "join request")?;
        let (r, _) = app(ctx)?
            .decide_join_request(actor(ctx)?, id, approve)
            .await
            .map_err(gql)?;
        Ok(r.into())
    }

    /// Add an existing account (user id, or the e-mail of a known account) pending
    /// their consent (manage_members).
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        space_prefix: String,
        user_id: Option<String>,
        email: Option<String>,
        role: Option<String>,
    ) -> Result<AddMemberResult> {
        let account = match (user_id, email) {
            (Some(id), None) => guestlist_app::Account::Id(user_arg(&id)?),
            (None, Some(e)) => {
                guestlist_app::Account::Email(guestlist_app::domain::Email::parse(&e).map_err(gql)?)
            }
            _ => {
                return Err(gql(Error::invalid(
                    "userId",
                    "give a userId or an email, not both",
                )));
            }
        };
        let role = role.as_deref().map(role_arg).transpose()?;
        let (outcome, m) = app(ctx)?
            .add_member(actor(ctx)?, space_arg(&space_prefix)?, account, role)
            .await
            .map_err(gql)?;
        Ok(AddMemberResult {
            outcome,
            grant: m.map(Into::into),
        })
    }

    /// Accept or decline an owner's add (its user only).
    async fn answer_membership(
        &self,
        ctx: &Context<'_>,
        id: async_graphql::ID,
        accept: bool,
    ) -> Result<Option<Member>> {
        let id = id_arg(&id, "membership")?;
        let m = app(ctx)?
            .answer_membership(actor(ctx)?, id, accept)
            .await
            .map_err(gql)?;
        Ok(m.map(Into::into))
    }
}

/// A request to join a space.
#[derive(SimpleObject, Debug)]
pub struct JoinRequest {
    pub id: ID,
    pub space_prefix: String,
    pub user_id: String,
    pub role: String,
    pub message: Option<String>,
    /// pending, approved, denied or cancelled.
    pub status: String,
    pub created_at: String,
    pub decided_by: Option<String>,
}

impl From<guestlist_app::JoinRequestView> for JoinRequest {
    fn from(v: guestlist_app::JoinRequestView) -> Self {
        let r = v.request;
        JoinRequest {
            id: ID(r.id.to_string()),
            space_prefix: r.space_path.to_string(),
            user_id: r.user_id.to_string(),
            role: r.role.to_string(),
            message: r.message,
            status: r.status.as_str().to_owned(),
            created_at: ts(r.created_at),
            decided_by: r.decided_by,
        }
    }
}

/// What asking to join did: REQUESTED, JOINED (an open space) or ALREADY_MEMBER.
#[derive(SimpleObject, Debug)]
pub struct AskToJoinResult {
    pub outcome: JoinOutcome,
    pub join_request: Option<JoinRequest>,
    pub grant: Option<Member>,
}

#[derive(SimpleObject, Debug)]
pub struct AddMemberResult {
    pub outcome: AddOutcome,
    /// Null when the rights come from a parent space.
    pub grant: Option<Member>,
}

/// Everything waiting for the caller.
#[derive(SimpleObject, Debug)]
pub struct PendingItems {
    pub invitations: Vec<Invitation>,
    /// Owners' adds waiting for consent.
    pub grants: Vec<Member>,
    pub join_requests: Vec<JoinRequest>,
}
