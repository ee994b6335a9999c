//! The pages over HTTP, as a browser sends them (cookies, forms, redirects), on the
//! engine under test: the sign-in handoff and its session, the forms' protections,
//! and what each page says. The browser suite (`scripts/browser.sh`) clicks through
//! the same flows in Chromium.

use std::collections::HashMap;
use std::time::Duration;

use guestlist_api as api;
use guestlist_server::{PagesConfig, ServerOptions};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

use crate::helpers::{Setup, TestApp, invite_req};

const LOGIN: &str = "https://app.example.com/login?return_to={return_to}";

pub(crate) fn with_host_login() -> PagesConfig {
    PagesConfig {
        login_url: Some(LOGIN.into()),
        after_join_url: "chatapp://spaces/{space}".into(),
        signup_url: Some("https://app.example.com/register?invitation={token}".into()),
        ..PagesConfig::default()
    }
}

/// A browser: keeps cookies, follows no redirect (the tests look at each one).
pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    pub(crate) http: reqwest::Client,
    pub(crate) cookies: HashMap<String, String>,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of the first `name="…" value="…"` input.
    pub(crate) fn input(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no input {name} in {}", self.body))
            + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    pub(crate) fn says(&self, attr: &str) -> Option<String> {
        let marker = format!("{attr}=\"");
        let start = self.body.find(&marker)? + marker.len();
        Some(self.body[start..].split('"').next()?.to_owned())
    }
}

impl<'a> Browser<'a> {
    pub(crate) fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let res = req
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        let page = Page {
            status: res.status(),
            headers: res.headers().clone(),
            body: String::new(),
        };
        for c in page.set_cookies() {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        Page {
            body: res.text().await.unwrap(),
            ..page
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(self.app.url(path));
        self.send(req).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self
            .http
            .post(self.app.url(path))
            .header("origin", format!("http://{}", self.app.addr))
            .header("sec-fetch-site", "same-origin")
            .form(form);
        self.send(req).await
    }

    /// Signs in through the host handoff as `token` would, starting from `next`;
    /// returns where the callback sends the visitor.
    pub(crate) async fn sign_in_with(&mut self, next: &str, token: &str) -> Page {
        let start = self
            .get(&format!("/auth/sign-in?next={}", urlencode(next)))
            .await;
        assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
        let to_host = start.location().to_owned();
        let return_to = decode(
            to_host
                .strip_prefix("https://app.example.com/login?return_to=")
                .unwrap_or_else(|| panic!("sent to the host's login: {to_host}")),
        );
        let path = return_to
            .strip_prefix(&self.app.url(""))
            .expect("back to this service (its public URL)")
            .to_owned();
        // The host posts the token back cross-site, as an auto-submitted form.
        let req = self
            .http
            .post(self.app.url(&path))
            .header("origin", "https://app.example.com")
            .header("sec-fetch-site", "cross-site")
            .form(&[("token", token)]);
        self.send(req).await
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn public_url_of(app: &TestApp) -> String {
    format!("http://{}", app.addr)
}

/// A server whose public URL is where it listens (the handoff's return address is
/// built from it).
pub(crate) async fn spawn(pages: PagesConfig) -> TestApp {
    TestApp::spawn_setup(Setup {
        options: ServerOptions {
            pages,
            ..ServerOptions::default()
        },
        own_public_url: true,
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn a_visitor_signs_in_at_the_host_comes_back_and_joins() {
    let app = spawn(with_host_login()).await;
    let admin = app.space_with_admin("acme/", "root").await;
    let link = app.invite(&admin, invite_req("acme/")).await;
    let mut b = Browser::new(&app);

    let landing = b.get(&format!("/i/{}", link.code)).await;
    assert_eq!(landing.status, StatusCode::OK);
    assert!(landing.body.contains("Sign in to join"), "{}", landing.body);
    assert!(
        !landing.body.contains("id=\"join\""),
        "no join button signed out"
    );

    let back = b
        .sign_in_with(&format!("/i/{}", link.code), &app.token("ada"))
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(
        back.location(),
        format!("/i/{}", link.code),
        "back where they were"
    );
    let session = back.cookie("gl_session").expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(session.contains(attr), "{attr} in {session}");
    }
    assert!(
        !session.contains("Secure"),
        "plain http: not Secure ({session})"
    );
    assert!(
        back.cookie("gl_signin")
            .is_some_and(|c| c.contains("Max-Age=0")),
        "the sign-in state is spent"
    );

    let landing = b.get(&format!("/i/{}", link.code)).await;
    let csrf = landing.input("csrf");
    let joined = b
        .post(&format!("/i/{}/join", link.code), &[("csrf", &csrf)])
        .await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.body);
    assert_eq!(joined.says("data-outcome").as_deref(), Some("joined"));
    assert!(
        joined
            .body
            .contains("href=\"chatapp:&#x2f;&#x2f;spaces&#x2f;acme%2F\""),
        "Continue leads to the host's deep link: {}",
        joined.body
    );
    let member = app.platform().get_member("acme/", "ada").await.unwrap();
    assert_eq!(member.role, "member");
}

#[tokio::test]
async fn the_callback_refuses_what_was_not_started_here_and_machine_keys() {
    let app = spawn(with_host_login()).await;
    let mut b = Browser::new(&app);
    // No sign-in was started in this browser: a token posted by another site is
    // refused (it would sign the visitor in as someone else).
    let req = b
        .http
        .post(app.url("/auth/callback?state=guess"))
        .form(&[("token", app.token("mallory"))]);
    let forged = b.send(req).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert!(forged.cookie("gl_session").is_none());

    // Started here, but the state in the URL is another one.
    b.get("/auth/sign-in?next=%2Fme").await;
    let req = b
        .http
        .post(app.url("/auth/callback?state=another"))
        .form(&[("token", app.token("mallory"))]);
    assert_eq!(b.send(req).await.status, StatusCode::UNAUTHORIZED);

    // An API key is for machines, and a bad token is refused.
    let key = app.platform_key().to_owned();
    let with_key = b.sign_in_with("/me", &key).await;
    assert_eq!(with_key.status, StatusCode::UNAUTHORIZED);
    let bad = b.sign_in_with("/me", "not.a.token").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(!b.cookies.contains_key("gl_session"), "never signed in");

    // `next` is a path of this service only: no open redirect.
    for next in ["https://evil.example/", "//evil.example/x", "/\\evil"] {
        let back = b.sign_in_with(next, &app.token("ada")).await;
        assert_eq!(back.location(), "/me", "{next} is not followed");
    }
}

#[tokio::test]
async fn a_new_sign_in_replaces_the_session_and_signing_out_ends_it() {
    let app = spawn(with_host_login()).await;
    let mut b = Browser::new(&app);
    b.sign_in_with("/me", &app.token("ada")).await;
    let first = b.cookies["gl_session"].clone();
    assert_eq!(b.get("/me").await.status, StatusCode::OK);

    b.sign_in_with("/me", &app.token("ada")).await;
    let second = b.cookies["gl_session"].clone();
    assert_ne!(first, second, "rotated at sign-in");
    let mut stale = Browser::new(&app);
    stale.cookies.insert("gl_session".into(), first);
    let me = stale.get("/me").await;
    assert_eq!(
        me.status,
        StatusCode::SEE_OTHER,
        "the replaced session is over"
    );
    assert!(me.location().starts_with("/auth/sign-in"));

    let csrf = b.get("/me").await.input("csrf");
    let out = b.post("/auth/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(
        out.cookie("gl_session")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    // A copy of the cookie kept elsewhere no longer signs anyone in.
    let mut copy = Browser::new(&app);
    copy.cookies.insert("gl_session".into(), second);
    assert_eq!(copy.get("/me").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn forms_refuse_other_sites_and_other_sessions_and_change_nothing() {
    let app = spawn(with_host_login()).await;
    let admin = app.space_with_admin("acme/", "root").await;
    let link = app.invite(&admin, invite_req("acme/")).await;
    let mut b = Browser::new(&app);
    b.sign_in_with("/me", &app.token("ada")).await;
    let csrf = b.get(&format!("/i/{}", link.code)).await.input("csrf");
    let join = format!("/i/{}/join", link.code);

    // Another site's form, with the visitor's cookie and even the right token.
    for (origin, site) in [
        ("https://evil.example", "cross-site"),
        ("https://evil.example", "same-origin"),
        (public_url_of(&app).as_str(), "same-site"),
    ] {
        let req = b
            .http
            .post(app.url(&join))
            .header("origin", origin)
            .header("sec-fetch-site", site)
            .form(&[("csrf", csrf.as_str())]);
        let refused = b.send(req).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{origin} {site}");
        assert_eq!(refused.says("data-problem").as_deref(), Some("forbidden"));
    }
    // Another session's form token, or none.
    let mut other = Browser::new(&app);
    other.sign_in_with("/me", &app.token("bob")).await;
    let others = other.get("/me").await.input("csrf");
    assert_eq!(
        b.post(&join, &[("csrf", &others)]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(b.post(&join, &[]).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        b.post(&join, &[("csrf", &csrf), ("extra", "1")])
            .await
            .status,
        StatusCode::BAD_REQUEST,
        "an unknown field is refused"
    );
    assert!(
        app.platform().get_member("acme/", "ada").await.is_err(),
        "no refusal joined anyone"
    );
    // The same form from this site goes through.
    let ok = b.post(&join, &[("csrf", &csrf)]).await;
    assert_eq!(ok.says("data-outcome").as_deref(), Some("joined"));
}

#[tokio::test]
async fn every_state_of_a_link_reads_as_its_own_page_and_revoked_reads_as_unknown() {
    let app = spawn(with_host_login()).await;
    let admin = app.space_with_admin("acme/", "root").await;
    let mut once = invite_req("acme/");
    once.max_uses = Some(1);
    let once = app.invite(&admin, once).await;
    app.user("first")
        .join_invite(&once.code, None)
        .await
        .unwrap();
    let revoked = app.invite(&admin, invite_req("acme/")).await;
    admin.revoke_invite(&revoked.code).await.unwrap();
    let mut lapsed = invite_req("acme/");
    lapsed.description = Some("lapsed".into());
    let lapsed = app.invite(&admin, lapsed).await;
    app.exec("UPDATE invites SET expires_at = 1 WHERE description = 'lapsed'")
        .await;

    let mut b = Browser::new(&app);
    let exhausted = b.get(&format!("/i/{}", once.code)).await;
    assert_eq!(exhausted.status, StatusCode::GONE);
    assert_eq!(exhausted.says("data-problem").as_deref(), Some("exhausted"));
    let expired = b.get(&format!("/i/{}", lapsed.code)).await;
    assert_eq!(expired.says("data-problem").as_deref(), Some("expired"));
    let gone = b.get(&format!("/i/{}", revoked.code)).await;
    let unknown = b.get("/i/nosuchcode1").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone.body.replace(&revoked.code, ""),
        unknown.body.replace("nosuchcode1", ""),
        "revoked and unknown read the same"
    );
}

#[tokio::test]
async fn the_invitation_page_explains_who_may_answer_and_leaves_it_pending() {
    let app = spawn(with_host_login()).await;
    let admin = app.space_with_admin("acme/", "root").await;
    let inv = admin
        .create_invitation(
            &api::CreateInvitationRequest {
                space: "acme/".into(),
                email: Some("ada@example.com".into()),
                username: None,
                user_id: None,
                role: None,
                expires_in_seconds: None,
                message: Some("<b>hi</b>".into()),
            },
            None,
        )
        .await
        .unwrap()
        .invitation
        .unwrap();
    let mail = app
        .smtp
        .wait_for(1, Duration::from_secs(10))
        .await
        .remove(0);
    let token = mail.find_after("token=", 32).expect("the token");
    let page = format!("/invitations/accept?token={token}");

    let mut someone = Browser::new(&app);
    let signed_out = someone.get(&page).await;
    assert_eq!(
        signed_out.says("data-binding").as_deref(),
        Some("signed_out")
    );
    assert!(
        signed_out.body.contains("&lt;b&gt;hi&lt;&#x2f;b&gt;"),
        "escaped message"
    );
    let claims_token = |sub: &str, email: &str, verified: bool| {
        guestlist_app::mint_token(
            app.jwt_secret(),
            &guestlist_app::Claims {
                sub: sub.into(),
                email: Some(email.into()),
                email_verified: verified,
                preferred_username: None,
                exp: (time::OffsetDateTime::now_utc().unix_timestamp() + 600) as u64,
                nbf: None,
                aud: None,
            },
        )
        .unwrap()
    };
    someone
        .sign_in_with(&page, &claims_token("eve", "eve@example.com", true))
        .await;
    let mismatch = someone.get(&page).await;
    assert_eq!(mismatch.says("data-binding").as_deref(), Some("mismatch"));
    assert!(
        mismatch.body.contains("for someone else"),
        "{}",
        mismatch.body
    );
    // Posting anyway is refused in words, and nothing changes.
    let csrf = mismatch.input("csrf");
    let refused = someone
        .post("/invitations/accept", &[("csrf", &csrf), ("token", &token)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.says("data-problem").as_deref(),
        Some("email_mismatch")
    );

    let mut unverified = Browser::new(&app);
    unverified
        .sign_in_with(&page, &claims_token("ada", "ada@example.com", false))
        .await;
    let p = unverified.get(&page).await;
    assert_eq!(p.says("data-binding").as_deref(), Some("email_unverified"));
    assert_eq!(
        admin.get_invitation(inv.id).await.unwrap().status,
        api::InvitationStatus::Pending,
        "still pending"
    );

    let mut ada = Browser::new(&app);
    ada.sign_in_with(&page, &claims_token("ada", "ada@example.com", true))
        .await;
    let p = ada.get(&page).await;
    assert_eq!(p.says("data-binding").as_deref(), Some("matches"));
    let csrf = p.input("csrf");
    let done = ada
        .post("/invitations/accept", &[("csrf", &csrf), ("token", &token)])
        .await;
    assert_eq!(
        done.says("data-outcome").as_deref(),
        Some("joined"),
        "{}",
        done.body
    );
    assert_eq!(
        admin.get_invitation(inv.id).await.unwrap().status,
        api::InvitationStatus::Accepted
    );
    let again = ada.get(&page).await;
    assert_eq!(again.says("data-status").as_deref(), Some("accepted"));
}

#[tokio::test]
async fn the_signup_page_hands_over_a_valid_invitation_and_reads_every_other_alike() {
    let app = spawn(with_host_login()).await;
    let platform = app.platform();
    let made = platform
        .create_platform_invitation(&api::CreatePlatformInvitationRequest {
            email: None,
            max_uses: Some(1),
            expires_in: None,
        })
        .await
        .unwrap();
    let mut b = Browser::new(&app);
    let valid = b.get(&format!("/signup?invitation={}", made.token)).await;
    assert_eq!(valid.status, StatusCode::OK);
    assert!(
        valid.body.contains(&format!(
            "href=\"https:&#x2f;&#x2f;app.example.com&#x2f;register?invitation={}\"",
            made.token
        )),
        "{}",
        valid.body
    );
    platform
        .revoke_platform_invitation(made.invitation.id)
        .await
        .unwrap();
    let revoked = b.get(&format!("/signup?invitation={}", made.token)).await;
    let unknown = b
        .get(&format!("/signup?invitation={}", "x".repeat(32)))
        .await;
    assert_eq!(revoked.status, StatusCode::GONE);
    assert_eq!(
        revoked.body, unknown.body,
        "revoked and unknown read the same"
    );
}

#[tokio::test]
async fn me_lists_what_waits_and_answers_it() {
    let app = spawn(with_host_login()).await;
    let admin = app.space_with_admin("acme/", "root").await;
    let added = admin
        .add_member(
            "acme/",
            &api::AddMemberRequest {
                user_id: Some("ada".into()),
                email: None,
                role: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(added.outcome, api::AddOutcome::Pending);
    let mut b = Browser::new(&app);
    b.sign_in_with("/me", &app.token("ada")).await;
    let me = b.get("/me").await;
    assert!(me.body.contains("data-kind=\"add\""), "{}", me.body);
    let csrf = me.input("csrf");
    let id = added.membership.unwrap().id;
    let done = b
        .post(&format!("/me/memberships/{id}/accept"), &[("csrf", &csrf)])
        .await;
    assert_eq!(done.location(), "/me?notice=add_accepted");
    let me = b.get(done.location()).await;
    assert!(me.body.contains("Membership accepted."));
    assert!(!me.body.contains("data-kind=\"add\""));
    assert_eq!(
        app.platform()
            .get_member("acme/", "ada")
            .await
            .unwrap()
            .role,
        "member"
    );

    // Leaving asks first, then leaves.
    let ask = b.get("/me/leave?space=acme%2F").await;
    assert_eq!(ask.status, StatusCode::OK);
    let left = b
        .post("/me/leave", &[("csrf", &csrf), ("space", "acme/")])
        .await;
    assert_eq!(left.location(), "/me?notice=left");
    assert!(app.platform().get_member("acme/", "ada").await.is_err());
}

#[tokio::test]
async fn the_development_sign_in_is_there_only_when_turned_on() {
    let off = spawn(PagesConfig::default()).await;
    let mut b = Browser::new(&off);
    let page = b.get("/auth/sign-in?next=%2Fme").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    let req =
        b.http
            .post(off.url("/auth/dev"))
            .form(&[("state", "x"), ("user", "ada"), ("email", "")]);
    assert_eq!(b.send(req).await.status, StatusCode::UNAUTHORIZED);

    let on = spawn(PagesConfig {
        dev_sign_in: true,
        ..PagesConfig::default()
    })
    .await;
    let mut b = Browser::new(&on);
    let form = b.get("/auth/sign-in?next=%2Fme").await;
    assert_eq!(form.status, StatusCode::OK);
    let state = form.input("state");
    let bad = b
        .post(
            "/auth/dev",
            &[("state", &state), ("user", "key:x"), ("email", "")],
        )
        .await;
    assert_eq!(
        bad.status,
        StatusCode::BAD_REQUEST,
        "a key's name is no user id"
    );
    let ok = b
        .post(
            "/auth/dev",
            &[
                ("state", &state),
                ("user", "ada"),
                ("email", "ada@example.com"),
            ],
        )
        .await;
    assert_eq!(ok.location(), "/me");
    assert!(b.get("/me").await.body.contains("ada@example.com"));
}

#[tokio::test]
async fn pages_carry_the_security_headers_and_assets_are_local() {
    let app = spawn(PagesConfig::default()).await;
    let mut b = Browser::new(&app);
    let p = b.get("/i/nosuchcode1").await;
    let csp = p.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(
        !csp.contains("script-src"),
        "no script allowed at all: {csp}"
    );
    assert_eq!(p.headers["x-frame-options"], "DENY");
    assert_eq!(p.headers["referrer-policy"], "same-origin");
    assert!(
        !p.body.contains("http://") && !p.body.contains("https://"),
        "no other origin"
    );
    let css = b.get("/assets/guestlist.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(b.get("/assets/nope.js").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn me_shows_referrals_and_sends_one_when_the_gate_lets_users_invite() {
    let app = spawn(with_host_login()).await;
    let mut b = Browser::new(&app);
    b.sign_in_with("/me", &app.token("ada")).await;
    let me = b.get("/me").await;
    assert!(
        !me.body.contains("id=\"referrals\""),
        "no referrals while users may not invite"
    );
    let csrf = me.input("csrf");
    let refused = b
        .post(
            "/me/referrals",
            &[("csrf", &csrf), ("email", "bo@example.com")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    app.platform()
        .set_signup_config(&api::GateSettings {
            mode: "invite_only".into(),
            cap: None,
            user_invitations: true,
            user_quota: Some(5),
            quota_period_days: None,
        })
        .await
        .unwrap();
    let sent = b
        .post(
            "/me/referrals",
            &[("csrf", &csrf), ("email", "bo@example.com")],
        )
        .await;
    assert_eq!(sent.location(), "/me?notice=referral_sent", "{}", sent.body);
    let me = b.get("/me?notice=referral_sent").await;
    assert!(me.body.contains("Invitation sent."));
    assert!(
        me.body.contains("Invited 1 · joined 0 · pending 1"),
        "{}",
        me.body
    );
    let bad = b
        .post(
            "/me/referrals",
            &[("csrf", &csrf), ("email", "not an address")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.says("data-problem").as_deref(), Some("invalid_input"));
}

#[tokio::test]
async fn an_unknown_query_parameter_is_refused_with_a_page_that_names_it() {
    let app = spawn(with_host_login()).await;
    let mut b = Browser::new(&app);
    b.sign_in_with("/me", &app.token("ada")).await;
    let p = b.get("/me?colour=red").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_eq!(p.says("data-problem").as_deref(), Some("invalid_input"));
    assert!(p.body.contains("colour"), "{}", p.body);
    assert!(
        p.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}
