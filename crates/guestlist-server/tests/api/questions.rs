//! The host's questions about membership: `check` (one or a batch), one member, a
//! user's memberships, and the spaces a caller can see. On both engines.

use guestlist_client::{ClientError, api};
use serde_json::json;

use crate::helpers::{TestApp, code};

fn field<T: std::fmt::Debug>(r: Result<T, ClientError>) -> String {
    match r {
        Err(ClientError::Api { body, .. }) => body.error.field.unwrap_or_default(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn q(user: Option<&str>, space: &str, permission: api::Permission) -> api::CheckQuestion {
    api::CheckQuestion {
        user: user.map(str::to_owned),
        space: space.into(),
        permission,
    }
}

#[tokio::test]
async fn check_answers_with_the_deciding_grant_through_inheritance_custom_roles_and_revocation() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    t.child_space(&alice, "acme/eng/", None).await;
    t.child_space(&alice, "acme/eng/infra/", None).await;
    alice
        .create_role(
            "acme/",
            &api::Role {
                name: "moderator".into(),
                permissions: vec!["read".into(), "manage_members".into()],
            },
        )
        .await
        .unwrap();
    let platform = t.platform();
    // The viewer grant first: a grant below one that already covers it would be
    // answered `already_member` and not made.
    platform
        .provision_member("acme/eng/infra/", "bob", "viewer")
        .await
        .unwrap();
    platform
        .provision_member("acme/eng/", "bob", "moderator")
        .await
        .unwrap();
    use api::Permission::*;

    // Inherited from the root: alice's admin decides, on acme/.
    let a = platform
        .check(Some("alice"), "acme/eng/infra/", ManageMembers)
        .await
        .unwrap();
    assert!(a.allowed);
    assert_eq!(
        (a.role.as_deref(), a.granted_on.as_deref()),
        (Some("admin"), Some("acme/"))
    );

    // A custom role granted on acme/eng/ reaches below it; the nearest grant that
    // carries the right decides (bob's viewer on infra/ does not carry it).
    let b = platform
        .check(Some("bob"), "acme/eng/infra/", ManageMembers)
        .await
        .unwrap();
    assert!(b.allowed);
    assert_eq!(
        (b.role.as_deref(), b.granted_on.as_deref()),
        (Some("moderator"), Some("acme/eng/"))
    );
    let b_read = platform
        .check(Some("bob"), "acme/eng/infra/", Read)
        .await
        .unwrap();
    assert_eq!(
        (b_read.role.as_deref(), b_read.granted_on.as_deref()),
        (Some("viewer"), Some("acme/eng/infra/"))
    );
    // Not above the grant, and not a right the role lacks.
    assert!(
        !platform
            .check(Some("bob"), "acme/", Read)
            .await
            .unwrap()
            .allowed
    );
    let denied = platform
        .check(Some("bob"), "acme/eng/", Admin)
        .await
        .unwrap();
    assert_eq!(
        (denied.allowed, denied.role, denied.granted_on),
        (false, None, None)
    );

    // Revoked: removed from acme/eng/, bob keeps only what infra/ grants.
    alice.remove_member("acme/eng/", "bob").await.unwrap();
    assert!(
        !platform
            .check(Some("bob"), "acme/eng/infra/", ManageMembers)
            .await
            .unwrap()
            .allowed
    );
    assert!(
        platform
            .check(Some("bob"), "acme/eng/infra/", Read)
            .await
            .unwrap()
            .allowed
    );
    // Demoted: the role's rights are gone.
    platform
        .provision_member("acme/", "carol", "admin")
        .await
        .unwrap();
    alice.change_role("acme/", "carol", "member").await.unwrap();
    assert!(
        !platform
            .check(Some("carol"), "acme/eng/", Admin)
            .await
            .unwrap()
            .allowed
    );
    assert!(
        platform
            .check(Some("carol"), "acme/eng/", Write)
            .await
            .unwrap()
            .allowed
    );

    // A space that does not exist is a "no", not an error.
    assert!(
        !platform
            .check(Some("alice"), "nope/", Read)
            .await
            .unwrap()
            .allowed
    );
}

#[tokio::test]
async fn users_check_themselves_and_platform_keys_check_anyone() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    use api::Permission::*;
    // A user about themselves, named or not.
    let me = alice.check(None, "acme/", Admin).await.unwrap();
    assert_eq!((me.user.as_str(), me.allowed), ("alice", true));
    assert!(
        alice
            .check(Some("alice"), "acme/", Admin)
            .await
            .unwrap()
            .allowed
    );
    // Not about someone else; a platform key must say whom.
    assert_eq!(
        code(alice.check(Some("bob"), "acme/", Read).await),
        "forbidden"
    );
    assert_eq!(
        code(t.user("bob").check(Some("alice"), "acme/", Read).await),
        "forbidden"
    );
    assert_eq!(field(t.platform().check(None, "acme/", Read).await), "user");
    // Bad input names its field; unknown parameters are refused.
    assert_eq!(
        field(t.platform().check(Some("key:x"), "acme/", Read).await),
        "user"
    );
    assert_eq!(
        field(t.platform().check(Some("a"), "no path", Read).await),
        "space"
    );
    let raw = reqwest::Client::new()
        .get(t.url("/api/v1/check?user=alice&space=acme/&permission=fly"))
        .bearer_auth(t.platform_key())
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["field"], "permission", "{body}");
    let raw = reqwest::Client::new()
        .get(t.url("/api/v1/check?user=alice&space=acme/&permission=read&perm=admin"))
        .bearer_auth(t.platform_key())
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    // Anonymous callers are not told anything.
    assert_eq!(
        code(t.anonymous().check(Some("alice"), "acme/", Read).await),
        "unauthenticated"
    );
}

#[tokio::test]
async fn a_batch_answers_in_order_and_is_bounded() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    t.child_space(&alice, "acme/eng/", None).await;
    use api::Permission::*;
    let platform = t.platform();
    let answers = platform
        .check_batch(&api::CheckBatchRequest {
            checks: vec![
                q(Some("alice"), "acme/eng/", Admin),
                q(Some("bob"), "acme/eng/", Read),
                q(Some("alice"), "gone/", Read),
                q(Some("alice"), "acme/", Write),
            ],
        })
        .await
        .unwrap()
        .results;
    let got: Vec<(&str, &str, bool)> = answers
        .iter()
        .map(|a| (a.user.as_str(), a.space.as_str(), a.allowed))
        .collect();
    assert_eq!(
        got,
        [
            ("alice", "acme/eng/", true),
            ("bob", "acme/eng/", false),
            ("alice", "gone/", false),
            ("alice", "acme/", true),
        ]
    );
    let many = api::CheckBatchRequest {
        checks: (0..101).map(|_| q(Some("alice"), "acme/", Read)).collect(),
    };
    assert_eq!(field(platform.check_batch(&many).await), "checks");
    let none = api::CheckBatchRequest { checks: vec![] };
    assert_eq!(field(platform.check_batch(&none).await), "checks");
    // One question about someone else refuses the whole batch for a user.
    let mixed = api::CheckBatchRequest {
        checks: vec![q(None, "acme/", Read), q(Some("bob"), "acme/", Read)],
    };
    assert_eq!(code(alice.check_batch(&mixed).await), "forbidden");
}

#[tokio::test]
async fn one_member_is_found_by_those_who_may_read_and_by_themselves() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    // An owner's add waits for bob's consent: bob sees his pending membership.
    alice
        .add_member(
            "acme/",
            &api::AddMemberRequest {
                user_id: Some("bob".into()),
                email: None,
                role: None,
            },
        )
        .await
        .unwrap();
    let bob = t.user("bob");
    let mine = bob.get_member("acme/", "bob").await.unwrap();
    assert_eq!(
        (mine.user_id.as_str(), mine.status.as_str()),
        ("bob", "pending")
    );
    let seen = alice.get_member("acme/", "bob").await.unwrap();
    assert_eq!(seen.role, "member");
    // bob (pending) cannot read the space: alice's membership is not his to see.
    assert_eq!(code(bob.get_member("acme/", "alice").await), "not_found");
    assert_eq!(code(alice.get_member("acme/", "nobody").await), "not_found");
    assert_eq!(
        code(t.user("eve").get_member("acme/", "eve").await),
        "not_found"
    );
    assert_eq!(code(alice.get_member("nope/", "alice").await), "not_found");
}

#[tokio::test]
async fn a_users_memberships_are_paged_for_them_and_for_platform_keys() {
    let t = TestApp::spawn().await;
    let platform = t.platform();
    for s in ["a/", "b/", "c/"] {
        t.space(s, api::JoinMode::InviteOnly, None).await;
        platform
            .provision_member(s, "dana", "member")
            .await
            .unwrap();
    }
    let dana = t.user("dana");
    let first = dana.my_spaces(None, Some(2)).await.unwrap();
    let rest = dana
        .my_spaces(first.next.as_deref(), Some(2))
        .await
        .unwrap();
    let spaces: Vec<String> = first
        .members
        .iter()
        .chain(&rest.members)
        .map(|m| m.space.clone())
        .collect();
    assert_eq!(spaces, ["a/", "b/", "c/"]);
    assert!(rest.next.is_none());
    assert_eq!(first.members[0].source.as_str(), "provisioned");
    let theirs = platform.user_memberships("dana", None, None).await.unwrap();
    assert_eq!(theirs.members.len(), 3);
    assert_eq!(
        code(t.user("eve").user_memberships("dana", None, None).await),
        "forbidden"
    );
    assert_eq!(code(platform.my_spaces(None, None).await), "forbidden");
    assert!(
        t.user("eve")
            .my_spaces(None, None)
            .await
            .unwrap()
            .members
            .is_empty()
    );
}

#[tokio::test]
async fn spaces_are_listed_as_far_as_the_caller_can_read() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    t.child_space(&alice, "acme/eng/", None).await;
    t.space_with_admin("other/", "olga").await;
    let paths = |p: &api::SpacePage| p.spaces.iter().map(|s| s.path.clone()).collect::<Vec<_>>();
    let all = t.platform().list_spaces(None, None, None).await.unwrap();
    assert_eq!(paths(&all), ["acme/", "acme/eng/", "other/"]);
    let hers = alice.list_spaces(None, None, None).await.unwrap();
    assert_eq!(paths(&hers), ["acme/", "acme/eng/"]);
    assert!(
        hers.spaces[1]
            .your_permissions
            .contains(&"admin".to_string())
    );
    let under = t
        .platform()
        .list_spaces(Some("acme/eng/"), None, None)
        .await
        .unwrap();
    assert_eq!(paths(&under), ["acme/eng/"]);
    assert!(
        alice
            .list_spaces(Some("other/"), None, None)
            .await
            .unwrap()
            .spaces
            .is_empty()
    );
    let page = t.platform().list_spaces(None, None, Some(2)).await.unwrap();
    let next = t
        .platform()
        .list_spaces(None, page.next.as_deref(), Some(2))
        .await
        .unwrap();
    assert_eq!(paths(&next), ["other/"]);
    assert!(
        t.user("eve")
            .list_spaces(None, None, None)
            .await
            .unwrap()
            .spaces
            .is_empty()
    );
    assert_eq!(
        field(alice.list_spaces(Some("bad path"), None, None).await),
        "under"
    );
}

#[tokio::test]
async fn graphql_asks_the_same_questions() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    t.child_space(&alice, "acme/eng/", None).await;
    let body = t
        .graphql(
            Some(&t.token("alice")),
            "query($s: String!) { check(spacePrefix: $s, permission: ADMIN) { userId allowed role grantedOn }
               checks(questions: [{spacePrefix: \"acme/\", permission: READ}, {spacePrefix: \"x/\", permission: READ}]) { allowed }
               member(spacePrefix: \"acme/\", userId: \"alice\") { role status }
               mySpaces { edges { node { space role } } }
               spaces(under: \"acme/\") { edges { node { path } } } }",
            json!({ "s": "acme/eng/" }),
        )
        .await;
    assert_eq!(body["errors"], serde_json::Value::Null, "{body}");
    let d = &body["data"];
    assert_eq!(
        d["check"],
        json!({ "userId": "alice", "allowed": true, "role": "admin", "grantedOn": "acme/" })
    );
    assert_eq!(
        d["checks"],
        json!([{ "allowed": true }, { "allowed": false }])
    );
    assert_eq!(d["member"], json!({ "role": "admin", "status": "active" }));
    assert_eq!(
        d["mySpaces"]["edges"][0]["node"],
        json!({ "space": "acme/", "role": "admin" })
    );
    assert_eq!(d["spaces"]["edges"].as_array().unwrap().len(), 2);
    let other = t
        .graphql(
            Some(&t.token("alice")),
            "{ check(userId: \"bob\", spacePrefix: \"acme/\", permission: READ) { allowed } }",
            json!({}),
        )
        .await;
    assert_eq!(
        other["errors"][0]["extensions"]["code"], "forbidden",
        "{other}"
    );
}
