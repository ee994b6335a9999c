//! `/me`: the account page. Everything waiting for the visitor (invitations, owners'
//! adds, their own join requests), their spaces and roles, and their referrals when
//! the sign-up gate lets users invite. The answers are posted to the features' own
//! files (`invitations.rs`, `requests.rs`, `members.rs`, `signup.rs`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use guestlist_app::domain::{Error, MembershipStatus};
use minijinja::context;
use serde::Deserialize;

use super::Query;
use super::invites::when;
use super::{Visitor, page};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/me", get(show))
}

/// What an action just did, said at the top of the page (a catalogue key).
const NOTICES: &[&str] = &[
    "invitation_accepted",
    "invitation_declined",
    "add_accepted",
    "add_declined",
    "request_cancelled",
    "left",
    "referral_sent",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeParams {
    notice: Option<String>,
}

async fn show(State(s): State<AppState>, v: Visitor, Query(p): Query<MeParams>) -> Response {
    let result = async {
        let actor = v.actor()?;
        let pending = s.app.my_pending(actor).await?;
        let spaces = s.app.memberships_of(actor, None, None, Some(100)).await?;
        let gate = s.app.gate().await?;
        let referrals = if gate.settings.user_invitations {
            Some(s.app.referrals(actor, None).await?)
        } else {
            None
        };
        let invitations: Vec<_> = pending
            .invitations
            .iter()
            .map(|i| {
                let i = &i.invitation;
                context! {
                    id => i.id.to_string(),
                    space => i.space_path.as_str(),
                    role => i.role.as_str(),
                    inviter => &i.created_by_name,
                    expires => when(Some(i.expires_at)),
                }
            })
            .collect();
        let adds: Vec<_> = pending
            .memberships
            .iter()
            .map(|m| {
                context! {
                    id => m.membership.id.to_string(),
                    space => m.space.as_str(),
                    role => m.membership.role.as_str(),
                }
            })
            .collect();
        let requests: Vec<_> = pending
            .join_requests
            .iter()
            .map(|r| {
                let r = &r.request;
                context! {
                    id => r.id.to_string(),
                    space => r.space_path.as_str(),
                    role => r.role.as_str(),
                    since => when(Some(r.created_at)),
                }
            })
            .collect();
        let memberships: Vec<_> = spaces
            .members
            .iter()
            .filter(|m| m.membership.status == MembershipStatus::Active)
            .map(|m| {
                context! {
                    space => m.space.as_str(),
                    space_q => super::encode(m.space.as_str()),
                    role => m.membership.role.as_str(),
                    source => m.membership.source.as_str(),
                    since => when(Some(m.membership.created_at)),
                }
            })
            .collect();
        let referrals = referrals.map(|r| {
            context! {
                invited => r.counts.invited,
                joined => r.counts.joined,
                pending => r.counts.pending,
                people => r.joined.iter().map(|j| context! {
                    user => j.user_id.as_str(),
                    since => when(Some(j.created_at)),
                }).collect::<Vec<_>>(),
            }
        });
        let notice = p.notice.filter(|n| NOTICES.contains(&n.as_str()));
        Ok::<_, Error>(s.pages.render(
            &v,
            StatusCode::OK,
            "me.html",
            context! {
                notice,
                invitations,
                adds,
                requests,
                memberships,
                more_spaces => spaces.next.is_some(),
                referrals,
            },
        ))
    }
    .await;
    page(&s, &v, "/me", result)
}
