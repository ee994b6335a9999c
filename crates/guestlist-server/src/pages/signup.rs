//! `/signup?invitation=…`: the link of a sign-up invitation. Says whether it can be
//! used and who sent it, then hands the visitor to the host's sign-up page with the
//! token. Also `/me`'s form that sends one (a referral).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use guestlist_app::PlatformInvitationInput;
use guestlist_app::domain::Error;
use minijinja::context;
use serde::Deserialize;

use super::Query;
use super::{Form, Visitor, encode, form, page};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(show))
        .route("/me/referrals", post(send))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignupParams {
    invitation: String,
}

/// Unknown, used, revoked and expired read the same (as the API's `verify`).
async fn show(State(s): State<AppState>, v: Visitor, Query(p): Query<SignupParams>) -> Response {
    match s.app.verify_signup_token(&v.caller(), &p.invitation).await {
        Ok(check) => {
            let continue_url = s
                .pages
                .config
                .signup_url
                .as_ref()
                .filter(|_| check.valid)
                .map(|u| u.replace("{token}", &encode(&p.invitation)));
            s.pages.render(
                &v,
                if check.valid {
                    StatusCode::OK
                } else {
                    StatusCode::GONE
                },
                "signup.html",
                context! {
                    valid => check.valid,
                    inviter => check.invited_by,
                    email => check.email.map(|e| e.to_string()),
                    continue_url,
                },
            )
        }
        Err(e) => s.pages.problem(&v, e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferralForm {
    csrf: String,
    email: String,
}

async fn send(State(s): State<AppState>, v: Visitor, f: Form<ReferralForm>) -> Response {
    let result = async {
        let f = form(f)?;
        let actor = v.acting(&f.csrf)?;
        let input = PlatformInvitationInput {
            email: Some(f.email.trim().to_owned()),
            max_uses: None,
            expires_in_seconds: None,
        };
        s.app.create_platform_invitation(actor, input).await?;
        Ok::<_, Error>(Redirect::to("/me?notice=referral_sent").into_response())
    }
    .await;
    page(&s, &v, "/me", result)
}
