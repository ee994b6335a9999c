//! GraphQL — The sign-up gate, platform invitations and referrals. Resolvers parse, call
//! one application function and render.

use async_graphql::{Context, Object, Result};
use async_graphql::{ID, SimpleObject};

use crate::args::*;
use crate::types::*;
use crate::{actor, app, gql};

#[derive(Default)]
pub struct GateQuery;

#[Object]
impl GateQuery {
    /// The platform's sign-up gate. Public.
    async fn signup_config(&self, ctx: &Context<'_>) -> Result<SignupConfig> {
        Ok(app(ctx)?.gate().await.map_err(gql)?.into())
    }
}

#[derive(Default)]
pub struct ReferralsQuery;

#[Object]
impl ReferralsQuery {
    /// The caller's referrals (platform admins: anyone's, by `inviter`).
    async fn referrals(&self, ctx: &Context<'_>, inviter: Option<String>) -> Result<Referrals> {
        Ok(app(ctx)?
            .referrals(actor(ctx)?, inviter)
            .await
            .map_err(gql)?
            .into())
    }
}

#[derive(Default)]
pub struct SignupMutation;

#[Object]
impl SignupMutation {
    /// Invite someone to the platform (a referral: invitedBy is you).
    async fn create_platform_invitation(
        &self,
        ctx: &Context<'_>,
        email: Option<String>,
        max_uses: Option<u32>,
        expires_at: Option<String>,
    ) -> Result<CreatedPlatformInvitation> {
        let input = guestlist_app::PlatformInvitationInput {
            email,
            max_uses,
            expires_in_seconds: lifetime(expires_at.as_deref())?,
        };
        let c = app(ctx)?
            .create_platform_invitation(actor(ctx)?, input)
            .await
            .map_err(gql)?;
        Ok(c.into())
    }

    /// Send a live platform invitation again: a new token (the old one is refused),
    /// e-mailed again when it is bound to an address. Its inviter or a platform admin.
    async fn resend_platform_invitation(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<CreatedPlatformInvitation> {
        let id = guestlist_app::domain::parse_id(&id, "invitation").map_err(gql)?;
        let c = app(ctx)?
            .resend_platform_invitation(actor(ctx)?, id)
            .await
            .map_err(gql)?;
        Ok(c.into())
    }
}

/// The sign-up gate as anyone may see it.
#[derive(SimpleObject, Debug)]
pub struct SignupConfig {
    /// open, invite_only or capped.
    pub mode: String,
    pub cap: Option<u32>,
    pub remaining: Option<u32>,
}

impl From<guestlist_app::GateView> for SignupConfig {
    fn from(g: guestlist_app::GateView) -> Self {
        SignupConfig {
            mode: g.gate.mode().to_owned(),
            cap: g.gate.cap,
            remaining: g.remaining,
        }
    }
}

/// A platform invitation (never its token).
#[derive(SimpleObject, Debug)]
pub struct PlatformInvitation {
    pub id: ID,
    pub email: Option<String>,
    pub state: InviteState,
    pub max_uses: u32,
    pub uses: u32,
    pub invited_by: String,
    pub expires_at: Option<String>,
    pub created_at: String,
    /// 1, plus each resend (a new token each time).
    pub sends: u32,
    /// Where its latest e-mail is (one bound to an address is e-mailed).
    pub delivery: Option<crate::invitations::Delivery>,
}

impl From<guestlist_app::PlatformInvitationView> for PlatformInvitation {
    fn from(v: guestlist_app::PlatformInvitationView) -> Self {
        let i = v.invitation;
        PlatformInvitation {
            id: ID(i.id.to_string()),
            email: i.email.map(|e| e.to_string()),
            state: v.state,
            max_uses: i.max_uses,
            uses: i.uses,
            invited_by: i.invited_by,
            expires_at: i.expires_at.map(ts),
            created_at: ts(i.created_at),
            sends: i.sends,
            delivery: i.delivery.map(Into::into),
        }
    }
}

/// A new platform invitation: the only answer with its token.
#[derive(SimpleObject, Debug)]
pub struct CreatedPlatformInvitation {
    pub token: String,
    pub link: String,
    pub invitation: PlatformInvitation,
}

impl From<guestlist_app::PlatformInvitationCreated> for CreatedPlatformInvitation {
    fn from(c: guestlist_app::PlatformInvitationCreated) -> Self {
        CreatedPlatformInvitation {
            token: c.token,
            link: c.link,
            invitation: c.invitation.into(),
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct ReferralCounts {
    pub invited: u32,
    pub joined: u32,
    pub pending: u32,
    pub expired: u32,
    pub revoked: u32,
}

#[derive(SimpleObject, Debug)]
pub struct Referrals {
    pub inviter: String,
    pub counts: ReferralCounts,
    pub invitations: Vec<PlatformInvitation>,
    /// The user ids who signed up through the inviter's invitations.
    pub joined: Vec<String>,
}

impl From<guestlist_app::Referrals> for Referrals {
    fn from(r: guestlist_app::Referrals) -> Self {
        let c = r.counts;
        Referrals {
            inviter: r.inviter,
            counts: ReferralCounts {
                invited: c.invited,
                joined: c.joined,
                pending: c.pending,
                expired: c.expired,
                revoked: c.revoked,
            },
            invitations: r.invitations.into_iter().map(|(v, _)| v.into()).collect(),
            joined: r
                .joined
                .into_iter()
                .map(|s| s.user_id.to_string())
                .collect(),
        }
    }
}
