//! The attacker's findings of issue 18, each replayed as it was found: every one of
//! them answered with rights nobody entitled granted (or let someone else take an
//! invitation) before the fix, and is refused now.

use guestlist_client::{Client, EventQuery, api};
use serde_json::json;

use crate::helpers::{TestApp, code, invite_req};

/// The setup: the platform key creates `acme/` and `acme/eng/`, defines
/// `inviter` = [read, manage_invites] on `acme/`, names alice admin and carol inviter.
pub(crate) async fn acme(t: &TestApp) -> (Client, Client) {
    let alice = t.space_with_admin("acme/", "alice").await;
    t.child_space(&alice, "acme/eng/", None).await;
    t.platform()
        .create_role(
            "acme/",
            &api::Role {
                name: "inviter".into(),
                permissions: vec!["read".into(), "manage_invites".into()],
            },
        )
        .await
        .unwrap();
    t.platform()
        .provision_member("acme/", "carol", "inviter")
        .await
        .unwrap();
    (alice, t.user("carol"))
}

/// Every `invite.revoked` event, newest first.
async fn revocations(t: &TestApp) -> Vec<api::Event> {
    t.platform()
        .list_events(&EventQuery {
            kind: Some("invite.revoked"),
            ..Default::default()
        })
        .await
        .unwrap()
        .events
}

fn role(name: &str) -> api::CreateInviteRequest {
    api::CreateInviteRequest {
        role: Some(name.into()),
        ..invite_req("acme/")
    }
}

#[tokio::test]
async fn a_manager_cannot_see_or_revoke_the_code_of_a_link_granting_more_than_they_hold() {
    let t = TestApp::spawn().await;
    let (alice, carol) = acme(&t).await;
    assert_eq!(code(carol.create_invite(&role("admin")).await), "forbidden");
    let admin_link = t.invite(&alice, role("admin")).await;
    let id = admin_link.invite.id.to_string();

    // REST: neither by id nor by code; nor revoke it.
    assert_eq!(code(carol.show_invite_link(&id).await), "forbidden");
    assert_eq!(
        code(carol.show_invite_link(&admin_link.code).await),
        "forbidden"
    );
    assert_eq!(code(carol.revoke_invite(&id).await), "forbidden");
    // GraphQL: the same rule, the same code.
    let shown = t
        .graphql(
            Some(&t.token("carol")),
            "mutation($id: String!) { showInviteLink(id: $id) { token } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        shown["errors"][0]["extensions"]["code"], "forbidden",
        "{shown}"
    );
    assert!(shown["data"].is_null() || shown["data"]["showInviteLink"].is_null());
    // The link is untouched, and carol is still only an inviter.
    assert_eq!(
        alice.show_invite_link(&id).await.unwrap().invite.state,
        api::InviteState::Active
    );
    let members = alice
        .list_members("acme/", None, None)
        .await
        .unwrap()
        .members;
    let carol_row = members.iter().find(|m| m.user_id == "carol").unwrap();
    assert_eq!(carol_row.role, "inviter");

    // Within the ceiling it still works: a viewer link carol may see and revoke.
    let viewer_link = t.invite(&alice, role("viewer")).await;
    let vid = viewer_link.invite.id.to_string();
    assert_eq!(
        carol.show_invite_link(&vid).await.unwrap().code,
        viewer_link.code
    );
    carol.revoke_invite(&vid).await.unwrap();
}

#[tokio::test]
async fn lowering_a_sponsors_role_revokes_the_links_and_invitations_beyond_it() {
    let t = TestApp::spawn().await;
    let (alice, _) = acme(&t).await;
    t.platform()
        .provision_member("acme/", "dan", "admin")
        .await
        .unwrap();
    let dan = t.user("dan");
    let admin_link = t.invite(&dan, role("admin")).await;
    let member_link = t.invite(&dan, role("member")).await;
    let invitation = dan
        .create_invitation(
            &api::CreateInvitationRequest {
                space: "acme/".into(),
                email: Some("erin@example.com".into()),
                role: Some("admin".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap()
        .invitation
        .unwrap();

    // dan becomes a member: a member may not invite at all, so every live ticket he
    // made on acme/ goes, with an event each.
    t.platform()
        .change_role("acme/", "dan", "member")
        .await
        .unwrap();
    for link in [&admin_link, &member_link] {
        let id = link.invite.id.to_string();
        assert_eq!(code(alice.show_invite_link(&id).await), "revoked");
        // To anyone who does not manage the space, a revoked code reads as unknown.
        assert_eq!(code(dan.join_invite(&link.code, None).await), "not_found");
    }
    assert_eq!(
        alice.get_invitation(invitation.id).await.unwrap().status,
        api::InvitationStatus::Revoked
    );
    let members = alice
        .list_members("acme/", None, None)
        .await
        .unwrap()
        .members;
    assert_eq!(
        members.iter().find(|m| m.user_id == "dan").unwrap().role,
        "member"
    );
    let events = revocations(&t).await;
    assert_eq!(events.len(), 2, "{events:?}");
    for e in &events {
        assert_eq!(e.data["reason"], "sponsor_demoted");
        assert_eq!(e.data["sponsor"], "dan");
        assert_eq!(e.subject.as_deref(), Some("dan"));
    }

    // Lowered but still an inviter: only what now exceeds him goes.
    t.platform()
        .provision_member("acme/", "fay", "admin")
        .await
        .unwrap();
    let fay = t.user("fay");
    let fay_admin = t.invite(&fay, role("admin")).await;
    let fay_inviter = t.invite(&fay, role("inviter")).await;
    t.platform()
        .change_role("acme/", "fay", "inviter")
        .await
        .unwrap();
    let fay_admin_id = fay_admin.invite.id.to_string();
    assert_eq!(code(alice.show_invite_link(&fay_admin_id).await), "revoked");
    let joined = t
        .user("gus")
        .join_invite(&fay_inviter.code, None)
        .await
        .unwrap();
    assert_eq!(joined.outcome, api::JoinOutcome::Joined);
}

#[tokio::test]
async fn a_narrowed_link_grants_what_its_role_meant_where_it_was_made() {
    let t = TestApp::spawn().await;
    let (alice, carol) = acme(&t).await;
    for (space, perms) in [("acme/", vec!["read"]), ("acme/eng/", vec!["admin"])] {
        alice
            .create_role(
                space,
                &api::Role {
                    name: "helper".into(),
                    permissions: perms.into_iter().map(str::to_owned).collect(),
                },
            )
            .await
            .unwrap();
    }
    let link = t
        .invite(
            &carol,
            api::CreateInviteRequest {
                allow_narrowing: true,
                ..role("helper")
            },
        )
        .await;
    let stranger = t.user("stranger");
    assert_eq!(
        code(stranger.join_invite(&link.code, Some("acme/eng/")).await),
        "out_of_scope"
    );
    assert!(
        alice
            .list_members("acme/eng/", None, None)
            .await
            .unwrap()
            .members
            .is_empty(),
        "nobody joined acme/eng/"
    );
    // Where the name means what it meant, the link works.
    let joined = stranger.join_invite(&link.code, None).await.unwrap();
    assert_eq!(
        (joined.outcome, joined.role.as_str()),
        (api::JoinOutcome::Joined, "helper")
    );
}

#[tokio::test]
async fn a_user_can_never_pass_for_an_api_key() {
    let t = TestApp::spawn().await;
    let (alice, _) = acme(&t).await;
    // The platform key's own links and platform invitations.
    let keys_link = t.invite(&t.platform(), invite_req("acme/")).await;
    // A host token whose sub is the key's label is refused outright.
    let label = format!("key:{}", "test-platform");
    let impostor = t.user(&label);
    assert_eq!(code(impostor.leave_space("acme/").await), "unauthenticated");
    assert_eq!(
        code(impostor.list_platform_invitations(None).await),
        "unauthenticated"
    );
    // And no user id in the keys' namespace can be named anywhere.
    assert_eq!(
        code(
            t.platform()
                .provision_member("acme/", &label, "member")
                .await
        ),
        "invalid_input"
    );
    // The key's link is alive.
    assert_eq!(
        alice
            .show_invite_link(&keys_link.invite.id.to_string())
            .await
            .unwrap()
            .invite
            .state,
        api::InviteState::Active
    );
}

#[tokio::test]
async fn unicode_case_mappings_do_not_make_two_identities_one() {
    let t = TestApp::spawn().await;
    let (alice, _) = acme(&t).await;
    for (invited, other) in [
        ("kate", "\u{212A}ate"),
        ("\u{01C6}", "\u{01C5}"),
        ("\u{01C6}", "\u{01C4}"),
    ] {
        // An address is ASCII: one beyond it is refused when given, so it can
        // never be the look-alike of another.
        let invite_email = |local: &str| {
            let alice = alice.clone();
            let req = api::CreateInvitationRequest {
                space: "acme/".into(),
                email: Some(format!("{local}@example.com")),
                ..Default::default()
            };
            async move { alice.create_invitation(&req, None).await }
        };
        for form in [invited, other] {
            if !form.is_ascii() {
                assert_eq!(code(invite_email(form).await), "invalid_input", "{form}");
            }
        }
        let by_email = invite_email("kate").await.unwrap().invitation.unwrap();
        let by_name = alice
            .create_invitation(
                &api::CreateInvitationRequest {
                    space: "acme/".into(),
                    username: Some(invited.into()),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap()
            .invitation
            .unwrap();
        // A token claiming a look-alike of kate@example.com.
        let other_email = t.user_as(
            &format!("x-{other}"),
            Some(&format!("{}@example.com", other.replace('k', "\u{212A}"))),
            true,
            None,
        );
        let other_name = t.user_as(&format!("y-{other}"), None, false, Some(other));
        for (who, inv) in [(&other_email, &by_email), (&other_name, &by_name)] {
            assert!(who.my_invitations().await.unwrap().invitations.is_empty());
            assert_eq!(
                code(who.answer_my_invitation(inv.id, true).await),
                "not_found"
            );
        }
        // The addressee, in another ASCII case, is still the addressee.
        let real = t.user_as(
            &format!("z-{invited}"),
            Some("Kate@EXAMPLE.com"),
            true,
            None,
        );
        let mine = real.my_invitations().await.unwrap().invitations;
        assert_eq!(
            mine.iter().map(|i| i.id).collect::<Vec<_>>(),
            vec![by_email.id]
        );
    }
}

/// A user token with the claims of `extra` added.
fn token_with(t: &TestApp, extra: serde_json::Value) -> String {
    let exp = (time::OffsetDateTime::now_utc().unix_timestamp() + 3600) as u64;
    let mut claims = json!({ "sub": "tina", "exp": exp });
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(t.jwt_secret().expose().as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn tokens_not_yet_valid_for_another_audience_or_with_control_characters_are_refused() {
    let t = TestApp::spawn().await;
    t.space("open/", api::JoinMode::Open, None).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let join = |token: String| {
        let c = t.client.with_token(token);
        async move { c.join_space("open/").await }
    };
    join(token_with(&t, json!({}))).await.unwrap();
    for extra in [
        json!({ "nbf": now + 3600 }),
        json!({ "aud": "another-service" }),
        json!({ "preferred_username": "eve\r\nBcc: all@example.com" }),
        json!({ "email": "eve@example.com\n" }),
    ] {
        assert_eq!(
            code(join(token_with(&t, extra.clone())).await),
            "unauthenticated",
            "{extra}"
        );
    }
    join(token_with(&t, json!({ "nbf": now - 10 })))
        .await
        .unwrap();

    // With an audience configured, it is required and checked.
    let t = TestApp::spawn_setup(crate::helpers::Setup {
        jwt_audience: Some("guestlist".into()),
        ..Default::default()
    })
    .await;
    t.space("open/", api::JoinMode::Open, None).await;
    let join = |token: String| {
        let c = t.client.with_token(token);
        async move { c.join_space("open/").await }
    };
    join(token_with(&t, json!({ "aud": "guestlist" })))
        .await
        .unwrap();
    join(token_with(&t, json!({ "aud": ["other", "guestlist"] })))
        .await
        .unwrap();
    for extra in [json!({}), json!({ "aud": "other" })] {
        assert_eq!(
            code(join(token_with(&t, extra.clone())).await),
            "unauthenticated",
            "{extra}"
        );
    }
}

#[tokio::test]
async fn a_role_defined_to_mean_more_revokes_the_links_their_creators_cannot_give() {
    let t = TestApp::spawn().await;
    let (alice, carol) = acme(&t).await;
    let define = |space: &'static str, perms: &[&str]| {
        let role = api::Role {
            name: "helper".into(),
            permissions: perms.iter().map(|p| p.to_string()).collect(),
        };
        let alice = alice.clone();
        async move { alice.create_role(space, &role).await.unwrap() }
    };
    define("acme/", &["read"]).await;
    let link = t
        .invite(
            &carol,
            api::CreateInviteRequest {
                role: Some("helper".into()),
                ..invite_req("acme/eng/")
            },
        )
        .await;
    // helper now means admin on acme/eng/: carol could never have given that.
    define("acme/eng/", &["admin"]).await;
    let id = link.invite.id.to_string();
    assert_eq!(code(alice.show_invite_link(&id).await), "revoked");
    assert_eq!(
        code(t.user("sam").join_invite(&link.code, None).await),
        "not_found"
    );
    let events = revocations(&t).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].data["reason"], "role_defined");
    assert_eq!(events[0].data["sponsor"], "carol");
}

#[tokio::test]
async fn lowering_an_adders_role_withdraws_their_pending_adds_beyond_it() {
    let t = TestApp::spawn().await;
    let (alice, _) = acme(&t).await;
    t.platform()
        .provision_member("acme/eng/", "dan", "admin")
        .await
        .unwrap();
    let dan = t.user("dan");
    let add = |user: &'static str, role: &'static str| {
        let dan = dan.clone();
        async move {
            dan.add_member(
                "acme/eng/",
                &api::AddMemberRequest {
                    user_id: Some(user.into()),
                    role: Some(role.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
        }
    };
    add("erin", "admin").await;
    add("finn", "viewer").await;
    // dan keeps manage_members but not admin: his admin add goes, his viewer add stays.
    alice
        .create_role(
            "acme/",
            &api::Role {
                name: "steward".into(),
                permissions: vec!["read".into(), "write".into(), "manage_members".into()],
            },
        )
        .await
        .unwrap();
    alice
        .change_role("acme/eng/", "dan", "steward")
        .await
        .unwrap();
    let erin = t.user("erin").my_pending().await.unwrap();
    assert!(erin.memberships.is_empty(), "{erin:?}");
    let finn = t.user("finn").my_pending().await.unwrap();
    assert_eq!(finn.memberships.len(), 1);
    let withdrawn = t
        .platform()
        .list_events(&EventQuery {
            kind: Some("member.add_withdrawn"),
            ..Default::default()
        })
        .await
        .unwrap()
        .events;
    assert_eq!(withdrawn.len(), 1, "{withdrawn:?}");
    assert_eq!(withdrawn[0].data["reason"], "sponsor_demoted");
    assert_eq!(withdrawn[0].data["sponsor"], "dan");
    // Deprovisioned, dan can hand out nothing: his last pending add goes too.
    t.platform().deprovision_user("dan").await.unwrap();
    let finn = t.user("finn").my_pending().await.unwrap();
    assert!(finn.memberships.is_empty(), "{finn:?}");
}

async fn preflight(t: &TestApp, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, t.url("/api/v1/check"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn browsers_may_call_from_the_configured_origins_only() {
    // By default: no CORS at all.
    let closed = TestApp::spawn().await;
    let r = preflight(&closed, "https://app.example.com").await;
    assert!(r.headers().get("access-control-allow-origin").is_none());

    let t = TestApp::spawn_setup(crate::helpers::Setup {
        options: guestlist_server::ServerOptions {
            cors: guestlist_server::CorsConfig {
                allowed_origins: vec!["https://app.example.com".into()],
                allow_credentials: false,
                max_age_secs: 600,
            },
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    // An allowed origin's preflight is answered with what it may send.
    let r = preflight(&t, "https://app.example.com").await;
    assert!(r.status().is_success(), "{}", r.status());
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    let allowed_headers = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed_headers.contains("authorization"),
        "{allowed_headers}"
    );
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("GET")
    );
    assert_eq!(h["access-control-max-age"], "600");
    assert!(h.get("access-control-allow-credentials").is_none());
    // A refused origin gets no grant, so the browser blocks the call.
    let r = preflight(&t, "https://evil.example").await;
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // The actual call carries the header too, errors included.
    let r = reqwest::Client::new()
        .get(t.url("/api/v1/check?space=acme/&permission=read"))
        .header("origin", "https://app.example.com")
        .bearer_auth(t.token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let r = reqwest::Client::new()
        .get(t.url("/api/v1/check?space=acme/&permission=read"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
}
