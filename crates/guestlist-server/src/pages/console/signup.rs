//! The console's platform page (platform administrators): the sign-up gate (mode, cap
//! and seats left, users' invitations and their quota), the platform invitations, the
//! referral tree with its subtree revoke, and deprovisioning a user everywhere.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use guestlist_app::domain::{Error, Gate, UserId};
use guestlist_app::store::GateSettings;
use minijinja::context;
use serde::Deserialize;

use super::super::Query;
use super::super::invites::when;
use super::super::{Visitor, page};
use super::invites::state_word;
use super::spaces::Fields;
use super::{Confirm, confirm, here, render, user};
use crate::AppState;

const DAY: i64 = 86_400;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/platform", get(show))
        .route("/admin/platform/gate", post(set_gate))
        .route(
            "/admin/platform/referrals/revoke",
            get(confirm_revoke_subtree).post(revoke_subtree),
        )
        .route(
            "/admin/platform/deprovision",
            get(confirm_deprovision).post(deprovision),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowParams {
    root: Option<String>,
    /// Shown by `render`, which reads it from the URL.
    #[serde(rename = "notice")]
    _notice: Option<String>,
}

async fn show(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Query(p): Query<ShowParams>,
) -> Response {
    let result = async {
        let actor = user(&v)?;
        s.app.require_platform_admin(actor)?;
        let gate = s.app.gate().await?;
        let invitations = s
            .app
            .list_platform_invitations(actor, None, None, Some(50))
            .await?;
        let root = p.root.clone().filter(|r| !r.is_empty());
        let tree = match &root {
            Some(r) => Some(s.app.referral_tree(actor, Some(r.clone())).await?),
            None => None,
        };
        let mode = gate.gate.mode();
        Ok::<_, Error>(render(
            &s,
            &v,
            &uri,
            "console/platform.html",
            None,
            context! {
                gate => context! {
                    mode,
                    invite_only => gate.gate.invite_only,
                    cap => gate.gate.cap,
                    remaining => gate.remaining,
                    user_invitations => gate.settings.user_invitations,
                    user_quota => gate.settings.user_quota,
                    quota_period_days => gate.settings.quota_period_secs.map(|s| s / DAY),
                },
                invitations => invitations.invitations.iter().map(|i| context! {
                    id => i.invitation.id.to_string(),
                    email => i.invitation.email.as_ref().map(|e| e.to_string()),
                    invited_by => &i.invitation.invited_by,
                    uses => i.invitation.uses,
                    max_uses => i.invitation.max_uses,
                    state => state_word(i.state),
                    expires => when(i.invitation.expires_at),
                }).collect::<Vec<_>>(),
                root,
                tree => tree.map(|(root, nodes)| context! {
                    root,
                    nodes => nodes.iter().map(|(n, depth)| context! {
                        user => n.user_id.as_str(),
                        invited_by => &n.invited_by,
                        depth => depth,
                        since => when(Some(n.created_at)),
                    }).collect::<Vec<_>>(),
                }),
                modes => ["open", "invite_only", "capped"],
            },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

async fn set_gate(State(s): State<AppState>, v: Visitor, body: Bytes) -> Response {
    let result = async {
        let f = Fields::parse(
            &body,
            &[
                "csrf",
                "mode",
                "cap",
                "user_invitations",
                "user_quota",
                "quota_period_days",
            ],
        )?;
        let actor = v.acting(f.csrf())?;
        let mode = f.get("mode").unwrap_or("open");
        let cap = f.number("cap")?;
        let days: Option<i64> = f.number("quota_period_days")?;
        let settings = GateSettings {
            gate: Gate::parse(mode, cap)?,
            user_invitations: f.checked("user_invitations"),
            user_quota: f.number("user_quota")?,
            quota_period_secs: days.map(|d| d.saturating_mul(DAY)),
        };
        s.app.set_gate(actor, settings).await?;
        Ok::<_, Error>(Redirect::to("/admin/platform?notice=saved").into_response())
    }
    .await;
    page(&s, &v, "/admin/platform", result)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RootParams {
    root: String,
}

/// Revoking a subtree asks first.
async fn confirm_revoke_subtree(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Query(p): Query<RootParams>,
) -> Response {
    let result = async {
        let actor = user(&v)?;
        s.app.require_platform_admin(actor)?;
        Ok::<_, Error>(confirm(
            &s,
            &v,
            &uri,
            None,
            Confirm {
                what: "revoke_subtree",
                action: "/admin/platform/referrals/revoke".into(),
                back: "/admin/platform".into(),
                subject: &p.root,
                hidden: Some(("root", &p.root)),
            },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

async fn revoke_subtree(State(s): State<AppState>, v: Visitor, body: Bytes) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf", "root"])?;
        let actor = v.acting(f.csrf())?;
        let root = f
            .get("root")
            .ok_or_else(|| Error::invalid("root", "whose referrals"))?;
        s.app
            .revoke_referral_subtree(actor, root.to_owned())
            .await?;
        Ok::<_, Error>(Redirect::to("/admin/platform?notice=subtree_revoked").into_response())
    }
    .await;
    page(&s, &v, "/admin/platform", result)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserParams {
    user: String,
}

async fn confirm_deprovision(
    State(s): State<AppState>,
    v: Visitor,
    OriginalUri(uri): OriginalUri,
    Query(p): Query<UserParams>,
) -> Response {
    let result = async {
        let actor = user(&v)?;
        s.app.require_platform_admin(actor)?;
        let who = UserId::parse(p.user.trim()).map_err(|e| e.in_field("user"))?;
        Ok::<_, Error>(confirm(
            &s,
            &v,
            &uri,
            None,
            Confirm {
                what: "deprovision",
                action: "/admin/platform/deprovision".into(),
                back: "/admin/platform".into(),
                subject: who.as_str(),
                hidden: Some(("user", who.as_str())),
            },
        ))
    }
    .await;
    page(&s, &v, &here(&uri), result)
}

async fn deprovision(State(s): State<AppState>, v: Visitor, body: Bytes) -> Response {
    let result = async {
        let f = Fields::parse(&body, &["csrf", "user"])?;
        let actor = v.acting(f.csrf())?;
        let who = UserId::parse(f.get("user").unwrap_or("")).map_err(|e| e.in_field("user"))?;
        s.app.deprovision_user(actor, who).await?;
        Ok::<_, Error>(Redirect::to("/admin/platform?notice=deprovisioned").into_response())
    }
    .await;
    page(&s, &v, "/admin/platform", result)
}
