//! GraphQL — The sign-up gate, platform invitations and referrals. Resolvers parse, call
//! one application function and render.

use async_graphql::{Context, Object, Result};

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
        Ok(CreatedPlatformInvitation {
            token: c.token,
            link: c.link,
            invitation: c.invitation.into(),
        })
    }
}
