//! The admin console over HTTP, on the engine under test: who may enter which page,
//! its forms' protections, and platform administrators named in the configuration.
//! The browser suite (`tests/browser/console.test.mjs`) clicks through its flows.

use guestlist_api as api;
use guestlist_server::{PagesConfig, ServerOptions};
use reqwest::StatusCode;

use crate::helpers::{Setup, TestApp, invite_req};
use crate::pages::{Browser, spawn, with_host_login};

#[tokio::test]
async fn the_console_shows_the_spaces_one_runs_and_refuses_the_others_with_a_page() {
    let app = spawn(with_host_login()).await;
    app.space_with_admin("ours/", "ann").await;
    app.space_with_admin("theirs/", "bob").await;
    app.platform()
        .provision_member("theirs/", "mem", "member")
        .await
        .unwrap();
    let mut ann = Browser::new(&app);
    // Signed out, the console asks to sign in and comes back.
    let start = ann.get("/admin/spaces/ours%2F/members").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    assert_eq!(
        start.location(),
        "/auth/sign-in?next=%2Fadmin%2Fspaces%2Fours%252F%2Fmembers"
    );
    ann.sign_in_with("/admin", &app.token("ann")).await;
    let home = ann.get("/admin").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.body.contains("data-space=\"ours&#x2f;\""),
        "{}",
        home.body
    );
    assert!(!home.body.contains("theirs"), "not listed");
    for tab in [
        "",
        "/invites",
        "/invitations",
        "/members",
        "/requests",
        "/events",
    ] {
        let p = ann.get(&format!("/admin/spaces/theirs%2F{tab}")).await;
        assert!(
            matches!(p.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{tab}: {}",
            p.status
        );
        assert!(p.says("data-problem").is_some(), "{tab} says why");
    }
    assert_eq!(
        ann.get("/admin/platform").await.status,
        StatusCode::FORBIDDEN
    );

    // A plain member of a space does not run it either.
    let mut mem = Browser::new(&app);
    mem.sign_in_with("/admin", &app.token("mem")).await;
    assert!(!mem.get("/admin").await.body.contains("theirs"));
    assert_eq!(
        mem.get("/admin/spaces/theirs%2F").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn console_forms_need_this_sessions_token_and_a_refusal_changes_nothing() {
    let app = spawn(with_host_login()).await;
    app.space_with_admin("acme/", "ann").await;
    let mut ann = Browser::new(&app);
    ann.sign_in_with("/admin", &app.token("ann")).await;
    let page = ann.get("/admin/spaces/acme%2F/invites").await;
    let csrf = page.input("csrf");
    let form = "/admin/spaces/acme%2F/invites";
    assert_eq!(
        ann.post(form, &[("max_uses", "2")]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ann.post(form, &[("csrf", &csrf), ("nonsense", "1")])
            .await
            .status,
        StatusCode::BAD_REQUEST,
        "an unknown field is refused"
    );
    let req = ann
        .http
        .post(app.url(form))
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str()), ("max_uses", "2")]);
    assert_eq!(ann.send(req).await.status, StatusCode::FORBIDDEN);
    let listed = app
        .platform()
        .list_invites(&Default::default())
        .await
        .unwrap();
    assert!(listed.invites.is_empty(), "nothing was created");

    // The same form, as the console sends it: a link, shown once.
    let made = ann
        .post(
            form,
            &[("csrf", &csrf), ("max_uses", "2"), ("role", "member")],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert!(made.body.contains("id=\"link\""));
    // A code of the manager's choosing, from the same form; a weak one is refused.
    let chosen = ann
        .post(form, &[("csrf", &csrf), ("code", "AcmeLaunch26")])
        .await;
    assert_eq!(chosen.status, StatusCode::OK, "{}", chosen.body);
    assert!(
        chosen.body.contains("&#x2f;i&#x2f;AcmeLaunch26"),
        "{}",
        chosen.body
    );
    assert_eq!(
        app.client
            .preview_invite("AcmeLaunch26")
            .await
            .unwrap()
            .space,
        "acme/"
    );
    let weak = ann
        .post(form, &[("csrf", &csrf), ("code", "12345678")])
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST, "{}", weak.body);
    // A manager cannot grant more than they hold, from the console either.
    let mut viewer = Browser::new(&app);
    app.platform()
        .provision_member("acme/", "vic", "viewer")
        .await
        .unwrap();
    viewer.sign_in_with("/admin", &app.token("vic")).await;
    let csrf = viewer.get("/me").await.input("csrf");
    let refused = viewer
        .post(form, &[("csrf", &csrf), ("role", "admin")])
        .await;
    assert!(matches!(
        refused.status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));
}

#[tokio::test]
async fn a_platform_administrator_named_in_the_config_runs_the_gate() {
    let app = TestApp::spawn_setup(Setup {
        options: ServerOptions {
            pages: with_host_login(),
            ..ServerOptions::default()
        },
        own_public_url: true,
        platform_admins: vec!["boss".into()],
        ..Setup::default()
    })
    .await;
    let mut boss = Browser::new(&app);
    boss.sign_in_with("/admin/platform", &app.token("boss"))
        .await;
    let page = boss.get("/admin/platform").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.input("csrf");
    let saved = boss
        .post(
            "/admin/platform/gate",
            &[("csrf", &csrf), ("mode", "invite_only"), ("cap", "3")],
        )
        .await;
    assert_eq!(
        saved.location(),
        "/admin/platform?notice=saved",
        "{}",
        saved.body
    );
    let gate = app.anonymous().signup_config().await.unwrap();
    assert_eq!((gate.mode.as_str(), gate.cap), ("invite_only", Some(3)));
    // The same user id is a platform administrator over the API too (one rule).
    let space = app
        .user("boss")
        .create_space(&api::CreateSpaceRequest {
            path: "fromboss/".into(),
            name: None,
            join_mode: api::JoinMode::Open,
            member_limit: None,
        })
        .await;
    assert!(space.is_ok(), "{space:?}");
    // Deprovisioning asks first; the confirmation posts the user it names.
    app.space_with_admin("gone/", "leaver").await;
    let ask = boss.get("/admin/platform/deprovision?user=leaver").await;
    assert_eq!(ask.input("user"), "leaver");
    let done = boss
        .post(
            "/admin/platform/deprovision",
            &[("csrf", &ask.input("csrf")), ("user", "leaver")],
        )
        .await;
    assert_eq!(
        done.location(),
        "/admin/platform?notice=deprovisioned",
        "{}",
        done.body
    );
    assert!(app.platform().get_member("gone/", "leaver").await.is_err());
    // Named by the configuration, not by the session: the same session read by a
    // replica whose list no longer names boss is an ordinary user's at once.
    let session = boss.cookies["gl_session"].clone();
    let actor = app.app.session(&session).await.unwrap().unwrap();
    assert!(actor.is_platform_admin());
    let without_boss = guestlist_app::App::new(
        app.app.store().clone(),
        guestlist_app::AppConfig {
            jwt_secret: Some(app.jwt_secret().clone()),
            jwt_audience: None,
            issuers: Vec::new(),
            link_secret: guestlist_app::Secret::generate(),
            invite_url_template: "https://x.example/i/{code}".into(),
            code_length: 10,
            rate_limits: Default::default(),
            invitations: Default::default(),
            signup: Default::default(),
            sessions: Default::default(),
            platform_admins: Vec::new(),
            webhooks: Default::default(),
            scim: Default::default(),
        },
    )
    .unwrap();
    let demoted = without_boss.session(&session).await.unwrap().unwrap();
    assert!(
        !demoted.is_platform_admin(),
        "taken off the list: no longer an admin"
    );
    // Anyone else is not.
    let mut other = Browser::new(&app);
    other.sign_in_with("/admin", &app.token("ann")).await;
    assert_eq!(
        other.get("/admin/platform").await.status,
        StatusCode::FORBIDDEN
    );
    let _ = (PagesConfig::default(), invite_req("x/"));
}

#[tokio::test]
async fn a_links_funnel_counts_views_sign_ins_joins_and_requests_in_aggregate() {
    let app = spawn(with_host_login()).await;
    let admin = app.space_with_admin("acme/", "ann").await;
    let link = app.invite(&admin, invite_req("acme/")).await;
    let mut gated = invite_req("acme/");
    gated.requires_approval = true;
    let gated = app.invite(&admin, gated).await;

    let mut visitor = Browser::new(&app);
    visitor.get(&format!("/i/{}", link.code)).await;
    visitor.get(&format!("/i/{}", link.code)).await;
    let off = visitor.get(&format!("/i/{}/sign-in", link.code)).await;
    assert!(
        off.location().starts_with("/auth/sign-in?next=%2Fi%2F"),
        "{}",
        off.location()
    );
    visitor
        .sign_in_with(&format!("/i/{}", link.code), &app.token("vis"))
        .await;
    let csrf = visitor
        .get(&format!("/i/{}", link.code))
        .await
        .input("csrf");
    visitor
        .post(&format!("/i/{}/join", link.code), &[("csrf", &csrf)])
        .await;
    // Someone else asks through the link that needs approval.
    let mut asker = Browser::new(&app);
    asker
        .sign_in_with(&format!("/i/{}", gated.code), &app.token("ray"))
        .await;
    let csrf = asker.get(&format!("/i/{}", gated.code)).await.input("csrf");
    let asked = asker
        .post(&format!("/i/{}/join", gated.code), &[("csrf", &csrf)])
        .await;
    assert_eq!(asked.says("data-outcome").as_deref(), Some("requested"));
    // An API preview is not a landing-page view.
    app.anonymous().preview_invite(&link.code).await.unwrap();
    app.app.flush_funnels().await.unwrap();

    let mut ann = Browser::new(&app);
    ann.sign_in_with("/admin", &app.token("ann")).await;
    let list = ann.get("/admin/spaces/acme%2F/invites").await;
    let funnel_of = |id: uuid::Uuid| {
        let row = &list.body[list
            .body
            .find(&format!("data-invite=\"{id}\""))
            .expect("listed")..];
        let start = row.find("data-funnel=\"").unwrap() + "data-funnel=\"".len();
        row[start..].split('"').next().unwrap().to_owned()
    };
    // views, sign-ins, joins, requests
    assert_eq!(funnel_of(link.invite.id), "3 1 1 0", "{}", list.body);
    assert_eq!(funnel_of(gated.invite.id), "1 0 0 1");
    assert!(
        app.app.flush_funnels().await.unwrap() == 0,
        "nothing left to write"
    );
}

#[tokio::test]
async fn the_members_page_says_who_brought_each_member_in() {
    let app = spawn(with_host_login()).await;
    let admin = app.space_with_admin("acme/", "ann").await;
    let link = app.invite(&admin, invite_req("acme/")).await;
    app.user("bo").join_invite(&link.code, None).await.unwrap();
    admin
        .add_member(
            "acme/",
            &api::AddMemberRequest {
                user_id: Some("cy".into()),
                email: None,
                role: None,
            },
        )
        .await
        .unwrap();
    // Through an invitation, and through an approved request.
    let invited = admin
        .create_invitation(
            &api::CreateInvitationRequest {
                space: "acme/".into(),
                email: None,
                username: None,
                user_id: Some("di".into()),
                role: None,
                expires_in_seconds: None,
                message: None,
            },
            None,
        )
        .await
        .unwrap()
        .invitation
        .unwrap();
    app.user("di")
        .answer_my_invitation(invited.id, true)
        .await
        .unwrap();
    let mut gated = invite_req("acme/");
    gated.requires_approval = true;
    let gated = app.invite(&admin, gated).await;
    let asked = app.user("ed").join_invite(&gated.code, None).await.unwrap();
    let request = asked.join_request.expect("a request");
    app.platform()
        .decide_join_request(request.id, true)
        .await
        .unwrap();

    let mut ann = Browser::new(&app);
    ann.sign_in_with("/admin", &app.token("ann")).await;
    let page = ann.get("/admin/spaces/acme%2F/members").await;
    let row = |user: &str| {
        let at = page
            .body
            .find(&format!("data-member=\"{user}\""))
            .expect("listed");
        page.body[at..].split("</tr>").next().unwrap().to_owned()
    };
    assert!(
        row("bo").contains("data-brought-by=\"ann\""),
        "{}",
        row("bo")
    );
    assert!(
        row("ann").contains("data-brought-by=\"\""),
        "provisioned: nobody"
    );
    assert!(
        row("di").contains("data-brought-by=\"ann\""),
        "{}",
        row("di")
    );
    assert!(
        row("ed").contains("data-brought-by=\"key:test-platform\""),
        "{}",
        row("ed")
    );
    assert!(
        page.body.contains("data-pending=\"cy\""),
        "the pending add is shown"
    );
    assert!(page.body.contains("added by ann"));
    // A plain member may list members over the API, but not who brought whom.
    let bo = app.user("bo");
    assert!(bo.list_members("acme/", None, None).await.is_ok());
    assert!(
        app.app
            .who_brought(
                &guestlist_app::domain::Actor::User {
                    id: guestlist_app::domain::UserId::parse("bo").unwrap(),
                    email: None,
                    email_verified: false,
                    username: None,
                    platform_admin: false,
                },
                guestlist_app::domain::SpacePath::parse("acme/").unwrap(),
                vec![]
            )
            .await
            .is_err()
    );
}

#[tokio::test]
async fn webhooks_are_registered_tested_and_deleted_from_the_console() {
    let app = spawn(with_host_login()).await;
    app.space_with_admin("acme/", "ann").await;
    app.space_with_admin("other/", "olga").await;
    let mut ann = Browser::new(&app);
    ann.sign_in_with("/admin", &app.token("ann")).await;
    let list = ann.get("/admin/spaces/acme%2F/webhooks").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let csrf = list.input("csrf");
    // Nobody listens on port 9: every attempt fails, which the log shows.
    let made = ann
        .post(
            "/admin/spaces/acme%2F/webhooks",
            &[
                ("csrf", &csrf),
                ("url", "http://127.0.0.1:9/hook"),
                ("kinds", "member.joined"),
                ("kinds", "webhook.test"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let secret = made.input("secret");
    assert!(secret.starts_with("whsec_"), "shown once: {secret}");
    let hooks = app.user("ann").list_webhooks().await.unwrap().webhooks;
    assert_eq!(hooks.len(), 1);
    let id = hooks[0].id;
    assert_eq!(
        hooks[0].kinds.as_deref(),
        Some(&["member.joined".to_owned(), "webhook.test".to_owned()][..])
    );
    let list = ann.get("/admin/spaces/acme%2F/webhooks").await;
    assert!(list.body.contains(&id.to_string()));
    assert!(
        !list.body.contains(&secret),
        "the secret is not shown again"
    );
    // A test event: queued, attempted, its failure in the log.
    let sent = ann
        .post(&format!("/admin/webhooks/{id}/test"), &[("csrf", &csrf)])
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let mut shown = String::new();
    for _ in 0..100 {
        shown = ann.get(&format!("/admin/webhooks/{id}")).await.body;
        if shown.contains("could not connect") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(shown.contains("webhook.test"), "{shown}");
    assert!(shown.contains("could not connect"), "{shown}");
    // Another space's admin cannot open it.
    let mut olga = Browser::new(&app);
    olga.sign_in_with("/admin", &app.token("olga")).await;
    let p = olga.get(&format!("/admin/webhooks/{id}")).await;
    assert!(
        matches!(p.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{}",
        p.status
    );
    // Deleted, after a confirmation.
    let ask = ann.get(&format!("/admin/webhooks/{id}/delete")).await;
    assert_eq!(ask.status, StatusCode::OK);
    let gone = ann
        .post(&format!("/admin/webhooks/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert!(
        app.user("ann")
            .list_webhooks()
            .await
            .unwrap()
            .webhooks
            .is_empty()
    );
}
