//! Every door, the same rules: each finding of the security pass across the doors
//! added since the first one (GraphQL input, SCIM, import and mirror, invitations
//! reissued, webhooks, streams, API keys), as an attacker would try it, on both
//! engines. Each test failed on the code before the fix.

use std::time::Duration;

use guestlist_client::{EventQuery, api};
use serde_json::{Value, json};
use sha2::Digest;

use crate::helpers::{TestApp, code, invite_req};

/// The process still answers.
async fn alive(t: &TestApp) {
    let ok = reqwest::get(t.url("/healthz")).await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
}

#[tokio::test]
async fn graphql_nesting_far_beyond_the_limit_is_refused_and_the_process_survives() {
    let t = TestApp::spawn().await;
    // 500 overflowed a debug build's worker stack; past ~800 the GraphQL parser gives
    // up by itself. Both are refused by the measure, before the parser.
    for deep in [500, 2_000] {
        for query in [
            // Lists in an argument, unauthenticated (the attacker's 4 KB).
            format!(
                "{{inviteLinkPreview(token:{}\"x\"{}){{spacePrefix}}}}",
                "[".repeat(deep),
                "]".repeat(deep)
            ),
            // Input objects.
            format!(
                "{{inviteLinkPreview(token:{}1{}){{spacePrefix}}}}",
                "{a:".repeat(deep),
                "}".repeat(deep)
            ),
            // Selection sets.
            format!("{{{}a{}}}", "a{".repeat(deep), "}".repeat(deep)),
        ] {
            let r = t.graphql(None, &query, json!({})).await;
            assert_eq!(r["errors"][0]["extensions"]["code"], "invalid_input", "{r}");
            assert!(
                r["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("deeper than 64"),
                "{r}"
            );
            alive(&t).await;
        }
    }
    // At the limit the parser is given it (and answers what is wrong with it).
    let at_limit = format!(
        "{{inviteLinkPreview(token:{}\"x\"{}){{spacePrefix}}}}",
        "[".repeat(62),
        "]".repeat(62)
    );
    let r = t.graphql(None, &at_limit, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "invalid_input", "{r}");
    assert!(
        !r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("deeper than"),
        "{r}"
    );
    // Variables nested 10,000 deep in the JSON body: refused by the JSON parser.
    let body = format!(
        "{{\"query\":\"query($v:String){{inviteLinkPreview(token:$v){{spacePrefix}}}}\",\"variables\":{{\"v\":{}1{}}}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let r = reqwest::Client::new()
        .post(t.url("/graphql"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_input", "{body}");
    alive(&t).await;
}

/// A SCIM request with the key's bearer.
async fn scim(
    t: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<String>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, t.url(&format!("/scim/v2{path}")))
        .bearer_auth(key);
    if let Some(b) = body {
        req = req.header("content-type", "application/scim+json").body(b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A SCIM refusal: 400 with its `scimType`.
fn refused_as(status: u16, body: &Value, scim_type: &str) {
    assert_eq!(
        (status, body["scimType"].as_str()),
        (400, Some(scim_type)),
        "{body}"
    );
}

async fn scim_key(t: &TestApp, name: &str, root: &str) -> String {
    t.app
        .create_api_key(
            name,
            false,
            Some(guestlist_domain::SpacePath::parse(root).unwrap()),
        )
        .await
        .unwrap()
}

async fn scim_user(t: &TestApp, key: &str, user_name: &str, email: &str) -> String {
    let (status, body) = scim(
        t,
        key,
        reqwest::Method::POST,
        "/Users",
        Some(
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "emails": [{ "value": email, "type": "work", "primary": true }],
                "active": true,
            })
            .to_string(),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn scim_filters_and_paths_nested_far_beyond_the_limit_are_refused_and_the_process_survives() {
    let t = TestApp::spawn().await;
    t.space("acme/", api::JoinMode::InviteOnly, None).await;
    let key = scim_key(&t, "acme-idp", "acme/").await;
    let id = scim_user(&t, &key, "ada", "ada@acme.test").await;
    let nested = |n: usize| format!("{}userName eq \"a\"{}", "(".repeat(n), ")".repeat(n));
    // POST .search, as in the report, and the same filter in a query.
    let (status, body) = scim(
        &t,
        &key,
        reqwest::Method::POST,
        "/Users/.search",
        Some(
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": nested(1_000),
            })
            .to_string(),
        ),
    )
    .await;
    refused_as(status, &body, "invalidFilter");
    alive(&t).await;
    let q: String = form_urlencoded::byte_serialize(nested(1_000).as_bytes()).collect();
    let (status, body) = scim(
        &t,
        &key,
        reqwest::Method::GET,
        &format!("/Users?filter={q}"),
        None,
    )
    .await;
    refused_as(status, &body, "invalidFilter");
    // A chain of 2,000 comparisons nests the tree it would build.
    let chain = vec!["userName eq \"a\""; 2_000].join(" or ");
    let (status, body) = scim(
        &t,
        &key,
        reqwest::Method::POST,
        "/Users/.search",
        Some(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": chain }).to_string()),
    )
    .await;
    refused_as(status, &body, "invalidFilter");
    alive(&t).await;
    // A PATCH path's value filter.
    let path = format!(
        "emails[{}type eq \"work\"{}].value",
        "(".repeat(1_000),
        ")".repeat(1_000)
    );
    let (status, body) = scim(
        &t,
        &key,
        reqwest::Method::PATCH,
        &format!("/Users/{id}"),
        Some(
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "path": path, "value": "x@acme.test" }],
            })
            .to_string(),
        ),
    )
    .await;
    refused_as(status, &body, "invalidPath");
    // JSON nested 10,000 deep.
    let (status, _) = scim(
        &t,
        &key,
        reqwest::Method::POST,
        "/Users",
        Some(format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        )),
    )
    .await;
    assert_eq!(status, 400);
    alive(&t).await;
}

#[tokio::test]
async fn a_scim_key_never_binds_another_tenants_person() {
    let t = TestApp::spawn().await;
    t.space_with_admin("acme/", "aaron").await;
    let victim_admin = t.space_with_admin("victimcorp/", "vadmin").await;
    let acme_key = scim_key(&t, "acme-idp", "acme/").await;
    let victim_key = scim_key(&t, "victim-idp", "victimcorp/").await;

    // vic signed in with a verified address; acme's SCIM key then creates mallory
    // with it.
    let vic = t.user_as("vic", Some("ceo@victimcorp.test"), true, None);
    vic.my_spaces(None, None).await.unwrap();
    scim_user(&t, &acme_key, "mallory", "ceo@victimcorp.test").await;
    // victimcorp's admin adds the address as admin: it is vic's, not mallory's.
    let added = victim_admin
        .add_member(
            "victimcorp/",
            &api::AddMemberRequest {
                email: Some("ceo@victimcorp.test".into()),
                role: Some("admin".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(added.membership.unwrap().user_id, "vic");

    // The other order: acme's key asserts an address first. It counts only within
    // acme/: victimcorp's admin finds no account for it, acme's admin finds mallory2.
    scim_user(&t, &acme_key, "mallory2", "cfo@victimcorp.test").await;
    let add_cfo = api::AddMemberRequest {
        email: Some("cfo@victimcorp.test".into()),
        role: Some("admin".into()),
        ..Default::default()
    };
    assert_eq!(
        code(victim_admin.add_member("victimcorp/", &add_cfo).await),
        "not_found"
    );
    let in_acme = t
        .user("aaron")
        .add_member(
            "acme/",
            &api::AddMemberRequest {
                role: Some("member".into()),
                ..add_cfo.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(in_acme.membership.unwrap().user_id, "mallory2");
    // Nor does an addressed invitation into victimcorp/ take mallory2 for a member.
    let invited = victim_admin
        .create_invitation(
            &api::CreateInvitationRequest {
                space: "victimcorp/".into(),
                email: Some("cfo@victimcorp.test".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(invited.outcome, api::InvitationOutcome::Invited);

    // Another tenant's key cannot take acme's assertion; the person's own verified
    // token can, from any key.
    scim_user(&t, &victim_key, "cfo-victim", "cfo@victimcorp.test").await;
    let held = t.platform().user_identities("mallory2").await.unwrap();
    assert_eq!(held.emails, vec!["cfo@victimcorp.test".to_owned()]);
    let cfo = t.user_as("cfo", Some("cfo@victimcorp.test"), true, None);
    cfo.my_spaces(None, None).await.unwrap();
    let added = victim_admin
        .add_member("victimcorp/", &add_cfo)
        .await
        .unwrap();
    assert_eq!(added.membership.unwrap().user_id, "cfo");
    // And acme's key, replacing mallory2's list, cannot take it back.
    let held = t.platform().user_identities("cfo").await.unwrap();
    assert_eq!(held.emails, vec!["cfo@victimcorp.test".to_owned()]);
}

fn sha(alg: &str, code: &str) -> String {
    let digest = match alg {
        "sha512" => sha2::Sha512::digest(code.as_bytes()).to_vec(),
        _ => sha2::Sha256::digest(code.as_bytes()).to_vec(),
    };
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{alg}:{hex}")
}

#[tokio::test]
async fn a_code_is_one_links_in_every_form_and_every_path_checks_chosen_codes() {
    let t = TestApp::spawn().await;
    t.space_with_admin("victim/", "vera").await;
    let eve = t.space_with_admin("evil/", "eve").await;
    let platform = t.platform();

    // The platform imports victim/'s link by the old system's digest of its code.
    let carried = platform
        .mirror_invite(
            "v1",
            &api::MirrorInviteRequest {
                space: "victim/".into(),
                code_hash: Some(sha("sha256", "VictimCode77")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(carried.outcome, api::MirrorOutcome::Created);
    // evil/'s admin cannot take the code, chosen or mirrored.
    let chosen = api::CreateInviteRequest {
        code: Some("VictimCode77".into()),
        ..invite_req("evil/")
    };
    assert_eq!(code(eve.create_invite(&chosen).await), "already_exists");
    let mirrored = api::MirrorInviteRequest {
        space: "evil/".into(),
        code: Some("VictimCode77".into()),
        ..Default::default()
    };
    assert_eq!(
        code(eve.mirror_invite("e1", &mirrored).await),
        "already_exists"
    );
    // Redemptions of the old code land in victim/.
    let joined = t
        .user("joe")
        .join_invite("VictimCode77", None)
        .await
        .unwrap();
    assert_eq!(joined.space, "victim/");

    // The other order: a code chosen first, then another system's digest of it.
    let mut first = invite_req("evil/");
    first.code = Some("EveFirst4242".into());
    eve.create_invite(&first).await.unwrap();
    for alg in ["sha256", "sha512"] {
        let late = api::MirrorInviteRequest {
            space: "victim/".into(),
            code_hash: Some(sha(alg, "EveFirst4242")),
            ..Default::default()
        };
        assert_eq!(
            code(platform.mirror_invite(&format!("v-{alg}"), &late).await),
            "already_exists"
        );
    }

    // The mirror holds carried codes to the guessability rules chosen codes have.
    for guessable in ["password", "aaaaaaaa", "12345678", "pass-word"] {
        let r = eve
            .mirror_invite(
                "e2",
                &api::MirrorInviteRequest {
                    space: "evil/".into(),
                    code: Some(guessable.into()),
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(code(r), "invalid_input", "{guessable}");
    }

    // External ids name links within their space: evil/ cannot squat victim/'s.
    let mirror_on = |space: &str| api::MirrorInviteRequest {
        space: space.into(),
        ..Default::default()
    };
    let squat = eve
        .mirror_invite("shared-7", &mirror_on("evil/"))
        .await
        .unwrap();
    assert_eq!(squat.outcome, api::MirrorOutcome::Created);
    let theirs = platform
        .mirror_invite("shared-7", &mirror_on("victim/"))
        .await
        .unwrap();
    assert_eq!(theirs.outcome, api::MirrorOutcome::Created);
    assert_ne!(theirs.invite.id, squat.invite.id);
    assert_eq!(theirs.invite.space, "victim/");
}

#[tokio::test]
async fn reissue_resend_and_revoke_go_through_the_grant_ceiling() {
    let t = TestApp::spawn().await;
    // alice is admin of acme/; carol (the report's ivan) may only invite
    // ([read, manage_invites]).
    let (alice, ivan) = crate::security::acme(&t).await;
    let to = |role: &str, secs: Option<i64>| api::CreateInvitationRequest {
        space: "acme/".into(),
        email: Some("x@e.com".into()),
        role: Some(role.into()),
        expires_in_seconds: secs,
        ..Default::default()
    };
    // alice invites x as admin; it expires.
    let admin_inv = alice
        .create_invitation(&to("admin", Some(1)), None)
        .await
        .unwrap()
        .invitation
        .unwrap();
    // While it is pending, ivan can neither resend nor revoke it.
    assert_eq!(
        code(ivan.resend_invitation(admin_inv.id).await),
        "forbidden"
    );
    assert_eq!(
        code(ivan.revoke_invitation(admin_inv.id).await),
        "forbidden"
    );
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        code(ivan.resend_invitation(admin_inv.id).await),
        "forbidden"
    );
    // ivan invites x as viewer: a viewer invitation, never the admin one revived.
    let state = alice.get_invitation(admin_inv.id).await.unwrap();
    assert_eq!(state.status, api::InvitationStatus::Expired, "{state:?}");
    let r = ivan
        .create_invitation(&to("viewer", None), None)
        .await
        .unwrap();
    assert_eq!(r.outcome, api::InvitationOutcome::Invited);
    let inv = r.invitation.unwrap();
    assert_eq!(inv.role, "viewer");
    assert_ne!(inv.id, admin_inv.id);
    let old = alice.get_invitation(admin_inv.id).await.unwrap();
    assert_eq!(old.status, api::InvitationStatus::Revoked);
    assert_eq!(old.role, "admin");
    let ev = alice
        .list_events(&EventQuery {
            kind: Some("invitation.revoked"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ev.events[0].data["reason"], "superseded");
    // Within his ceiling, ivan resends and revokes as before.
    assert_eq!(
        ivan.revoke_invitation(inv.id).await.unwrap().status,
        api::InvitationStatus::Revoked
    );
}

#[tokio::test]
async fn a_webhook_endpoint_ends_with_its_owners_rights_and_another_admin_takes_it_over() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    t.platform()
        .provision_member("acme/", "bea", "admin")
        .await
        .unwrap();
    let bea = t.user("bea");
    let hook = bea
        .create_webhook(&api::CreateWebhookRequest {
            url: "http://127.0.0.1:9/hook".into(),
            description: None,
            kinds: None,
            space: Some("acme/".into()),
        })
        .await
        .unwrap()
        .webhook;
    assert!(hook.enabled);
    // bea is demoted: her endpoint stops, with an event saying why.
    alice.change_role("acme/", "bea", "member").await.unwrap();
    let now = alice.get_webhook(hook.id).await.unwrap();
    assert!(!now.enabled, "{now:?}");
    let ev = alice
        .list_events(&EventQuery {
            kind: Some("webhook.endpoint_disabled"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ev.events[0].data["reason"], "sponsor_demoted");
    assert_eq!(ev.events[0].data["owner"], "bea");
    // alice takes it over by enabling it: hers from now on.
    let taken = alice
        .update_webhook(
            hook.id,
            &api::UpdateWebhookRequest {
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(taken.enabled);
    assert_eq!(taken.created_by, "alice");

    // A key's endpoint ends when the key is revoked, with the key's links.
    let key = t.app.create_api_key("ops", true, None).await.unwrap();
    let ops = t.anonymous().with_token(&key);
    let ops_hook = ops
        .create_webhook(&api::CreateWebhookRequest {
            url: "http://127.0.0.1:9/ops".into(),
            description: None,
            kinds: None,
            space: None,
        })
        .await
        .unwrap()
        .webhook;
    let link = ops.create_invite(&invite_req("acme/")).await.unwrap();
    let ended = t.app.revoke_api_key("ops").await.unwrap();
    let listed = t
        .platform()
        .list_invites(&Default::default())
        .await
        .unwrap();
    assert_eq!(listed.invites[0].id, link.invite.id);
    assert_eq!(listed.invites[0].state, api::InviteState::Revoked);
    assert_eq!(ended, 2);
    assert_eq!(code(ops.list_webhooks().await), "unauthenticated");
    assert!(!t.platform().get_webhook(ops_hook.id).await.unwrap().enabled);
    // (A revoked code reads as unknown to strangers.)
    assert_eq!(
        code(t.user("joe").join_invite(&link.code, None).await),
        "not_found"
    );
    assert!(matches!(
        t.app.revoke_api_key("ops").await,
        Err(guestlist_domain::Error::NotFound(_))
    ));
}

#[tokio::test]
async fn answers_that_carry_a_secret_are_never_stored() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let res = reqwest::Client::new()
        .post(t.url("/api/v1/invites"))
        .bearer_auth(t.token("alice"))
        .json(&invite_req("acme/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    drop(alice);
    let scim = reqwest::get(t.url("/scim/v2/ServiceProviderConfig"))
        .await
        .unwrap();
    assert_eq!(scim.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn deprovisioning_ends_page_sessions_and_forgets_the_identities_that_named_them() {
    use crate::pages::{Browser, spawn, with_host_login};
    let t = spawn(with_host_login()).await;
    let admin = t.space_with_admin("acme/", "root").await;
    let token = t.token_as("gone", Some("gone@acme.test"), true, None);
    let mut b = Browser::new(&t);
    let back = b.sign_in_with("/me", &token).await;
    assert_eq!(back.status.as_u16(), 303, "{}", back.body);
    assert_eq!(b.get("/me").await.status.as_u16(), 200);
    let add = api::AddMemberRequest {
        email: Some("gone@acme.test".into()),
        ..Default::default()
    };

    t.platform().deprovision_user("gone").await.unwrap();
    // The session is gone: /me asks to sign in again.
    let me = b.get("/me").await;
    assert_ne!(me.status.as_u16(), 200, "{}", me.body);
    // The address no longer names them.
    assert_eq!(code(admin.add_member("acme/", &add).await), "not_found");
    // Seen again with a verified token, it does.
    t.anonymous()
        .with_token(&token)
        .my_spaces(None, None)
        .await
        .unwrap();
    let added = admin.add_member("acme/", &add).await.unwrap();
    assert_eq!(added.membership.unwrap().user_id, "gone");
}
