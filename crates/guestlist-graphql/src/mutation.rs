use async_graphql::{Context, MaybeUndefined, Object, Result};
use guestlist_app::domain::{Error, Permission, Permissions, RoleName, UserId};
use guestlist_app::{CreateInvite, MembershipView, NewSpaceInput, SpacePatchInput};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::query::space_arg;
use crate::types::*;
use crate::{actor, app, caller, gql};

fn role_arg(s: &str) -> Result<RoleName> {
    RoleName::parse(s).map_err(gql)
}

fn user_arg(s: &str) -> Result<UserId> {
    UserId::parse(s).map_err(|_| {
        gql(Error::invalid(
            "userId",
            "1-255 characters with no control characters",
        ))
    })
}

/// `expiresAt` (RFC 3339) as the lifetime the application takes.
fn lifetime(expires_at: Option<&str>) -> Result<Option<i64>> {
    let Some(s) = expires_at else { return Ok(None) };
    let at = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        gql(Error::invalid(
            "expiresAt",
            "an RFC 3339 date-time, e.g. 2030-01-01T00:00:00Z",
        ))
    })?;
    let secs = (at - OffsetDateTime::now_utc()).whole_seconds();
    if secs < 1 {
        return Err(gql(Error::invalid("expiresAt", "must be in the future")));
    }
    Ok(Some(secs))
}

fn admitted(
    outcome: guestlist_app::AdmitOutcome,
    space: &str,
    role: &str,
    m: Option<MembershipView>,
) -> RedeemResult {
    let grant: Option<Member> = m.map(Into::into);
    RedeemResult {
        outcome: outcome.into(),
        space_prefix: space.to_owned(),
        role: grant
            .as_ref()
            .map(|g| g.role.clone())
            .unwrap_or_else(|| role.to_owned()),
        grant,
        join_request_id: None,
    }
}

/// An id argument; anything that is not one names nothing.
fn id_arg(id: &async_graphql::ID, what: &'static str) -> Result<uuid::Uuid> {
    guestlist_app::domain::parse_id(id.as_str(), what).map_err(gql)
}

pub struct Mutation;

#[Object]
impl Mutation {
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
            outcome: r.outcome.into(),
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
            outcome: match outcome {
                guestlist_app::AddOutcome::Pending => AddMemberOutcome::Pending,
                guestlist_app::AddOutcome::AlreadyPending => AddMemberOutcome::AlreadyPending,
                guestlist_app::AddOutcome::AlreadyMember => AddMemberOutcome::AlreadyMember,
                guestlist_app::AddOutcome::Joined => AddMemberOutcome::Joined,
            },
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
            join_mode: join_mode.unwrap_or(JoinMode::InviteOnly).into(),
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
            join_mode: join_mode.map(Into::into),
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
            permissions: crate::types::permissions(row.permissions),
        })
    }

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
        let actor = actor(ctx)?;
        let me = actor
            .user_id()
            .cloned()
            .ok_or_else(|| gql(Error::forbidden("an API key is not a member of anything")))?;
        app(ctx)?
            .remove_member(actor, space_arg(&space_prefix)?, me)
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
