//! REST handlers for the sign-up gate, platform invitations, claims and referrals.
//! Thin: parse, call one application function, render.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use guestlist_api as api;
use guestlist_app::domain::{Gate, UserId};
use guestlist_app::store::{ClaimRow, GateSettings, PlatformInvitationRow, SignupRow};
use guestlist_app::{GateView, PlatformInvitationInput, PlatformInvitationView, ReferralState};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Auth, ClientIp, Json, Path, Query, caller};
use guestlist_app::domain::parse_id;

type Res<T> = Result<T, ApiError>;

/// This feature's routes, under `/api/v1`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/signup/config", get(get_config).put(set_config))
        .route(
            "/signup/invitations",
            post(create_invitation).get(list_invitations),
        )
        .route(
            "/signup/invitations/{ref}",
            get(verify).delete(revoke_invitation),
        )
        .route("/signup/invitations/{ref}/resend", post(resend_invitation))
        .route("/signup/claims", post(create_claim))
        .route("/signup/claims/{id}", axum::routing::delete(release_claim))
        .route("/signup/claims/{id}/confirm", post(confirm_claim))
        .route("/referrals", get(referrals))
        .route("/referrals/tree", get(tree))
        .route("/referrals/{user}/revoke", post(revoke_subtree))
}

const DAY: i64 = 24 * 3600;

fn config_of(g: &GateView) -> api::SignupConfig {
    api::SignupConfig {
        mode: g.gate.mode().to_owned(),
        cap: g.gate.cap,
        remaining: g.remaining,
    }
}

fn gate_view(g: GateView) -> api::GateView {
    api::GateView {
        config: config_of(&g),
        user_invitations: g.settings.user_invitations,
        user_quota: g.settings.user_quota,
        quota_period_days: g
            .settings
            .quota_period_secs
            .map(|s| u32::try_from(s / DAY).unwrap_or(u32::MAX)),
    }
}

fn invitation(v: PlatformInvitationView) -> api::PlatformInvitation {
    platform_invitation(v.invitation, v.state)
}

fn platform_invitation(
    i: PlatformInvitationRow,
    state: api::InviteState,
) -> api::PlatformInvitation {
    api::PlatformInvitation {
        id: i.id,
        email: i.email.map(|e| e.to_string()),
        state,
        max_uses: i.max_uses,
        uses: i.uses,
        reserved: i.reserved,
        expires_at: i.expires_at,
        invited_by: i.invited_by,
        created_at: i.created_at,
        revoked_at: i.revoked_at,
        sends: i.sends,
        delivery: i.delivery.map(super::invitations::delivery),
    }
}

fn claim(c: ClaimRow) -> api::Claim {
    api::Claim {
        id: c.id,
        email: c.email.to_string(),
        state: c.state.as_str().to_owned(),
        invitation_id: c.invitation_id,
        expires_at: c.expires_at,
        user_id: c.user_id.map(|u| u.to_string()),
    }
}

fn signup(s: SignupRow) -> api::Signup {
    api::Signup {
        user_id: s.user_id.to_string(),
        email: s.email.to_string(),
        invited_by: s.invited_by,
        invitation_id: s.invitation_id,
        signed_up_at: s.created_at,
    }
}

/// The gate: `{mode, cap, remaining}`. Public.
#[utoipa::path(get, path = "/api/v1/signup/config", tag = "signup",
    responses((status = 200, body = api::SignupConfig)))]
pub async fn get_config(State(s): State<AppState>) -> Res<Json<api::SignupConfig>> {
    Ok(Json(config_of(&s.app.gate().await?)))
}

/// Set the gate's mode and cap, and whether users may send platform invitations
/// (platform-admin keys).
#[utoipa::path(put, path = "/api/v1/signup/config", tag = "signup", request_body = api::GateSettings,
    responses((status = 200, body = api::GateView), (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_config(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(req): Json<api::GateSettings>,
) -> Res<Json<api::GateView>> {
    let settings = GateSettings {
        gate: Gate::parse(&req.mode, req.cap)?,
        user_invitations: req.user_invitations,
        user_quota: req.user_quota,
        quota_period_secs: req.quota_period_days.map(|d| i64::from(d) * DAY),
    };
    Ok(Json(gate_view(s.app.set_gate(&actor, settings).await?)))
}

/// Invite someone to the platform; `invited_by` is you. Platform admins always;
/// users when user invitations are on, within their quota.
#[utoipa::path(post, operation_id = "create_platform_invitation", path = "/api/v1/signup/invitations", tag = "signup", request_body = api::CreatePlatformInvitationRequest,
    responses((status = 201, body = api::PlatformInvitationWithToken), (status = 400, body = api::ErrorBody), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_invitation(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Json(req): Json<api::CreatePlatformInvitationRequest>,
) -> Res<impl IntoResponse> {
    let input = PlatformInvitationInput {
        email: req.email,
        max_uses: req.max_uses,
        expires_in_seconds: req.expires_in,
    };
    let created = s.app.create_platform_invitation(&actor, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(api::PlatformInvitationWithToken {
            token: created.token,
            link: created.link,
            invitation: invitation(created.invitation),
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Platform admins: only this inviter's.
    pub inviter: Option<String>,
    #[param(value_type = Option<guestlist_app::domain::formats::Cursor>)]
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Platform invitations, newest first: all of them for platform admins, your own for
/// users (when user invitations are on). Never tokens.
#[utoipa::path(get, operation_id = "list_platform_invitations", path = "/api/v1/signup/invitations", tag = "signup", params(ListParams),
    responses((status = 200, body = api::PlatformInvitationPage), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_invitations(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<ListParams>,
) -> Res<Json<api::PlatformInvitationPage>> {
    let page = s
        .app
        .list_platform_invitations(&actor, q.inviter, q.after, q.limit)
        .await?;
    Ok(Json(api::PlatformInvitationPage {
        invitations: page.invitations.into_iter().map(invitation).collect(),
        next: page.next,
    }))
}

/// Public: may this token be used to sign up now? Unknown, revoked, used, expired and
/// in-use tokens all answer `{"valid": false}`. Rate limited.
#[utoipa::path(get, operation_id = "verify_signup_token", path = "/api/v1/signup/invitations/{ref}", tag = "signup",
    params(("ref" = String, Path, description = "The invitation's token")),
    responses((status = 200, body = api::TokenCheck), (status = 429, body = api::ErrorBody)))]
pub async fn verify(
    State(s): State<AppState>,
    actor: Option<Auth>,
    ip: ClientIp,
    Path(token): Path<String>,
) -> Res<Json<api::TokenCheck>> {
    let check = s
        .app
        .verify_signup_token(&caller(actor, ip), &token)
        .await?;
    Ok(Json(api::TokenCheck {
        valid: check.valid,
        email: check.email.map(|e| e.to_string()),
    }))
}

/// Revoke a platform invitation (soft): its inviter or a platform admin.
#[utoipa::path(delete, operation_id = "revoke_platform_invitation", path = "/api/v1/signup/invitations/{ref}", tag = "signup",
    params(("ref" = Uuid, Path, description = "The invitation's id")),
    responses((status = 200, body = api::PlatformInvitation), (status = 404, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_invitation(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Res<Json<api::PlatformInvitation>> {
    let v = s
        .app
        .revoke_platform_invitation(&actor, parse_id(&id, "invitation")?)
        .await?;
    Ok(Json(invitation(v)))
}

/// Send a live platform invitation again: a new token (the old one is refused from
/// now on), e-mailed again when it is bound to an address. Its inviter or a platform
/// admin; at most once a minute.
#[utoipa::path(post, operation_id = "resend_platform_invitation", path = "/api/v1/signup/invitations/{ref}/resend", tag = "signup",
    params(("ref" = Uuid, Path, description = "The invitation's id")),
    responses((status = 200, body = api::PlatformInvitationWithToken), (status = 404, body = api::ErrorBody),
        (status = 410, body = api::ErrorBody), (status = 429, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn resend_invitation(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Res<Json<api::PlatformInvitationWithToken>> {
    let sent = s
        .app
        .resend_platform_invitation(&actor, parse_id(&id, "invitation")?)
        .await?;
    Ok(Json(api::PlatformInvitationWithToken {
        token: sent.token,
        link: sent.link,
        invitation: invitation(sent.invitation),
    }))
}

/// Reserve a sign-up seat (and the token's use) for a short time (platform-admin key:
/// the host's sign-up flow). Confirm it once the account exists, or release it; a
/// claim not confirmed in time lapses and frees its seat.
#[utoipa::path(post, path = "/api/v1/signup/claims", tag = "signup", request_body = api::ClaimRequest,
    responses((status = 201, body = api::Claim), (status = 403, body = api::ErrorBody), (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody), (status = 410, body = api::ErrorBody), (status = 429, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_claim(
    State(s): State<AppState>,
    actor: Auth,
    ip: ClientIp,
    Json(req): Json<api::ClaimRequest>,
) -> Res<impl IntoResponse> {
    let c = s
        .app
        .claim_signup(
            &caller(Some(actor), ip),
            &req.email,
            req.token.as_deref(),
            req.ttl_seconds,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(claim(c.claim))))
}

/// Make a claim final for the new account: records who invited it and emits
/// `invitation.accepted`. Repeating it for the same user is a success.
#[utoipa::path(post, path = "/api/v1/signup/claims/{id}/confirm", tag = "signup", request_body = api::ConfirmRequest,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = api::Claim), (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody),
        (status = 410, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn confirm_claim(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(req): Json<api::ConfirmRequest>,
) -> Res<Json<api::Claim>> {
    let c = s
        .app
        .confirm_signup(
            &actor,
            parse_id(&id, "claim")?,
            UserId::parse(&req.user_id)?,
        )
        .await?;
    Ok(Json(claim(c.claim)))
}

/// Give a claim's seat and token back. Idempotent.
#[utoipa::path(delete, path = "/api/v1/signup/claims/{id}", tag = "signup", params(("id" = Uuid, Path)),
    responses((status = 200, body = api::Claim), (status = 404, body = api::ErrorBody), (status = 409, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn release_claim(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Res<Json<api::Claim>> {
    let c = s
        .app
        .release_signup(&actor, parse_id(&id, "claim")?)
        .await?;
    Ok(Json(claim(c.claim)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReferralParams {
    /// Platform admins: whose referrals (default: yours).
    pub inviter: Option<String>,
}

/// Your referrals (or, for platform admins, `inviter`'s): each invitation with its
/// state, who joined, and the counts.
#[utoipa::path(get, path = "/api/v1/referrals", tag = "signup", params(ReferralParams),
    responses((status = 200, body = api::Referrals), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn referrals(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<ReferralParams>,
) -> Res<Json<api::Referrals>> {
    let r = s.app.referrals(&actor, q.inviter).await?;
    Ok(Json(api::Referrals {
        inviter: r.inviter,
        counts: api::ReferralCounts {
            invited: r.counts.invited,
            joined: r.counts.joined,
            pending: r.counts.pending,
            expired: r.counts.expired,
            revoked: r.counts.revoked,
        },
        invitations: r
            .invitations
            .into_iter()
            .map(|(v, state)| api::Referral {
                invitation: invitation(v),
                state: match state {
                    ReferralState::Pending => "pending",
                    ReferralState::Joined => "joined",
                    ReferralState::Expired => "expired",
                    ReferralState::Revoked => "revoked",
                }
                .to_owned(),
            })
            .collect(),
        joined: r.joined.into_iter().map(signup).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TreeParams {
    /// The user (or `key:<name>`) at the top; by default you.
    pub root: Option<String>,
}

/// Who invited whom, to any depth, below `root` (platform admins; `root` defaults to
/// you).
#[utoipa::path(get, path = "/api/v1/referrals/tree", tag = "signup", params(TreeParams),
    responses((status = 200, body = api::ReferralTree), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn tree(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<TreeParams>,
) -> Res<Json<api::ReferralTree>> {
    let (root, nodes) = s.app.referral_tree(&actor, q.root).await?;
    Ok(Json(api::ReferralTree {
        root,
        nodes: nodes
            .into_iter()
            .map(|(s, depth)| api::TreeNode {
                signup: signup(s),
                depth,
            })
            .collect(),
    }))
}

/// Revoke every live platform invitation sent by `user` or anyone below them in the
/// referral tree, in one call (platform admins).
#[utoipa::path(post, path = "/api/v1/referrals/{user}/revoke", tag = "signup", params(("user" = String, Path, description = "A user id, or `key:<name>`")),
    responses((status = 200, body = api::RevokedInvitations), (status = 403, body = api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_subtree(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(user): Path<String>,
) -> Res<Json<api::RevokedInvitations>> {
    let revoked = s.app.revoke_referral_subtree(&actor, user).await?;
    Ok(Json(api::RevokedInvitations {
        revoked: revoked.len(),
        invitations: revoked
            .into_iter()
            .map(|i| platform_invitation(i, api::InviteState::Revoked))
            .collect(),
    }))
}
