//! GraphQL — Invitations addressed to one person: send, re-send, revoke, list; and the
//! addressee's answers. Resolvers parse, call one application function and render.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};
use async_graphql::{ID, InputObject, SimpleObject};
use guestlist_app::{InvitationResponse, InvitationResult, InvitationView};

use crate::args::*;
use crate::members::Member;
use crate::types::*;
use crate::{actor, app, caller, gql};

pub(crate) fn invitation_connection(
    had_after: bool,
    page: guestlist_app::InvitationPage,
) -> Connection<String, Invitation> {
    let mut conn = Connection::new(had_after, page.next.is_some());
    for v in page.invitations {
        let cursor = v.cursor();
        conn.edges.push(Edge::new(cursor, v.into()));
    }
    conn
}

#[derive(Default)]
pub struct InvitationsQuery;

#[Object]
impl InvitationsQuery {
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
            status: f.status.and_then(|s| s.eq),
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
}

#[derive(Default)]
pub struct InvitationsMutation;

#[Object]
impl InvitationsMutation {
    /// Invite one person (by e-mail, username and/or user id) to a space with `role`
    /// (default `member`): INVITED, or the idempotent ALREADY_INVITED / ALREADY_MEMBER.
    /// Needs manage_invites there. An `idempotencyKey` makes a retry return the first
    /// answer.
    #[allow(clippy::too_many_arguments)]
    async fn create_invitation(
        &self,
        ctx: &Context<'_>,
        space_prefix: String,
        email: Option<String>,
        username: Option<String>,
        user_id: Option<String>,
        role: Option<String>,
        expires_at: Option<String>,
        message: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<CreateInvitationResult> {
        let input = guestlist_app::InvitationInput {
            space: space_prefix,
            role,
            expires_in_seconds: lifetime(expires_at.as_deref())?,
            message,
            dry_run: false,
            rows: vec![guestlist_app::InviteeInput {
                email,
                username,
                user_id,
                role: None,
            }],
        };
        let r = app(ctx)?
            .invite_one(actor(ctx)?, input, idempotency_key.as_deref())
            .await
            .map_err(gql)?;
        Ok(r.into())
    }

    /// Send a pending or expired invitation again: a new token and expiry.
    async fn resend_invitation(
        &self,
        ctx: &Context<'_>,
        id: async_graphql::ID,
    ) -> Result<Invitation> {
        let v = app(ctx)?
            .resend_invitation(actor(ctx)?, id_arg(&id, "invitation")?)
            .await
            .map_err(gql)?;
        Ok(v.into())
    }

    /// Revoke a pending invitation (soft).
    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        id: async_graphql::ID,
    ) -> Result<Invitation> {
        let v = app(ctx)?
            .revoke_invitation(actor(ctx)?, id_arg(&id, "invitation")?)
            .await
            .map_err(gql)?;
        Ok(v.into())
    }
}

#[derive(Default)]
pub struct AnswerMutation;

#[Object]
impl AnswerMutation {
    /// Accept with the token from the e-mail (the addressee only).
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> Result<InvitationAnswer> {
        let r = app(ctx)?
            .respond_by_token(caller(ctx)?, &token, guestlist_app::Decision::Accept)
            .await
            .map_err(gql)?;
        Ok(r.into())
    }

    /// Decline with the token from the e-mail (the addressee only).
    async fn decline_invitation(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> Result<InvitationAnswer> {
        let r = app(ctx)?
            .respond_by_token(caller(ctx)?, &token, guestlist_app::Decision::Decline)
            .await
            .map_err(gql)?;
        Ok(r.into())
    }
}

/// Where an invitation's latest e-mail is.
#[derive(SimpleObject, Debug)]
pub struct Delivery {
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
}

impl From<guestlist_app::store::Delivery> for Delivery {
    fn from(d: guestlist_app::store::Delivery) -> Self {
        Delivery {
            state: d.state,
            attempts: d.attempts,
            last_error: d.last_error,
            sent_at: d.sent_at.map(ts),
        }
    }
}

/// An invitation addressed to one person. Never carries its token.
#[derive(SimpleObject, Debug)]
pub struct Invitation {
    pub id: ID,
    pub space_prefix: String,
    pub role: String,
    pub email: Option<String>,
    pub username: Option<String>,
    pub user_id: Option<String>,
    pub message: Option<String>,
    pub status: InvitationStatus,
    pub expires_at: String,
    pub sends: u32,
    pub delivery: Option<Delivery>,
    pub invited_by: String,
    pub created_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

impl From<InvitationView> for Invitation {
    fn from(v: InvitationView) -> Self {
        let i = v.invitation;
        Invitation {
            id: ID(i.id.to_string()),
            space_prefix: i.space_path.to_string(),
            role: i.role.to_string(),
            email: i.addressee.email.map(|e| e.to_string()),
            username: i.addressee.username.map(|u| u.to_string()),
            user_id: i.addressee.user_id.map(|u| u.to_string()),
            message: i.message,
            status: v.status,
            expires_at: ts(i.expires_at),
            sends: i.sends,
            delivery: i.delivery.map(Delivery::from),
            invited_by: i.created_by,
            created_at: ts(i.created_at),
            decided_by: i.decided_by,
            decided_at: i.decided_at.map(ts),
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct CreateInvitationResult {
    pub outcome: InvitationOutcome,
    pub invitation: Option<Invitation>,
    pub grant: Option<Member>,
}

impl From<InvitationResult> for CreateInvitationResult {
    fn from(r: InvitationResult) -> Self {
        CreateInvitationResult {
            outcome: r.outcome,
            invitation: r.invitation.map(Into::into),
            grant: r.membership.map(Into::into),
        }
    }
}

/// What accepting or declining did.
#[derive(SimpleObject, Debug)]
pub struct InvitationAnswer {
    pub invitation: Invitation,
    /// For an accept: JOINED, UPGRADED or ALREADY_MEMBER.
    pub outcome: Option<JoinOutcome>,
    pub grant: Option<Member>,
}

impl From<InvitationResponse> for InvitationAnswer {
    fn from(r: InvitationResponse) -> Self {
        InvitationAnswer {
            invitation: r.invitation.into(),
            outcome: r.outcome,
            grant: r.membership.map(Into::into),
        }
    }
}

#[derive(InputObject, Default, Debug)]
pub struct InvitationStatusFilter {
    pub eq: Option<InvitationStatus>,
}

#[derive(InputObject, Default, Debug)]
pub struct InvitationsFilter {
    pub space: Option<SubtreeFilter>,
    pub status: Option<InvitationStatusFilter>,
    pub email: Option<StringFilter>,
}
