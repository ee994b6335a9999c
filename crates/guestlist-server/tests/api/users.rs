//! Identities, not guesses: who a user is known as (verified e-mail addresses and
//! usernames from their tokens, or set by the host) decides "already a member"; an
//! unverified address never matches. On both engines.

use guestlist_client::{ClientError, api};

use crate::helpers::{TestApp, code};

fn invite_email(space: &str, email: &str) -> api::CreateInvitationRequest {
    api::CreateInvitationRequest {
        space: space.into(),
        email: Some(email.into()),
        ..Default::default()
    }
}

fn field<T: std::fmt::Debug>(r: Result<T, ClientError>) -> String {
    match r {
        Err(ClientError::Api { body, .. }) => body.error.field.unwrap_or_default(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_member_invited_by_a_verified_secondary_address_is_already_a_member() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    t.platform()
        .provision_member("acme/", "bob", "member")
        .await
        .unwrap();
    // bob signs in with a verified work address, later with an unverified one.
    t.user_as("bob", Some("Bob.Work@Example.com"), true, None)
        .my_spaces(None, None)
        .await
        .unwrap();
    t.user_as("bob", Some("bob.home@example.com"), false, None)
        .my_spaces(None, None)
        .await
        .unwrap();

    let r = alice
        .create_invitation(&invite_email("acme/", "bob.work@example.com"), None)
        .await
        .unwrap();
    assert_eq!(r.outcome, api::InvitationOutcome::AlreadyMember);
    assert_eq!(r.membership.map(|m| m.user_id), Some("bob".to_owned()));
    // The unverified address names nobody: that person is invited.
    let r = alice
        .create_invitation(&invite_email("acme/", "bob.home@example.com"), None)
        .await
        .unwrap();
    assert_eq!(r.outcome, api::InvitationOutcome::Invited);
    let known = t.platform().user_identities("bob").await.unwrap();
    assert_eq!(known.emails, ["bob.work@example.com"]);
}

#[tokio::test]
async fn the_host_names_a_users_identities_up_front() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let platform = t.platform();
    let set = platform
        .set_user_identities(
            "carol",
            &api::SetIdentitiesRequest {
                emails: vec!["carol@example.com".into(), " Carol.Alt@Example.com ".into()],
                usernames: vec!["Carol".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(set.emails, ["carol.alt@example.com", "carol@example.com"]);
    assert_eq!(set.usernames, ["carol"]);

    // Guestlist has never seen carol: adding her by e-mail finds her (her consent
    // pending), and inviting her by another of her addresses is "already a member"
    // once she accepts.
    let added = alice
        .add_member(
            "acme/",
            &api::AddMemberRequest {
                user_id: None,
                email: Some("carol.alt@example.com".into()),
                role: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(added.outcome, api::AddOutcome::Pending);
    let pending = added.membership.expect("the pending membership");
    assert_eq!(pending.user_id, "carol");
    t.user("carol")
        .answer_membership(pending.id, true)
        .await
        .unwrap();
    for (email, username) in [(Some("carol@example.com"), None), (None, Some("CAROL"))] {
        let r = alice
            .create_invitation(
                &api::CreateInvitationRequest {
                    space: "acme/".into(),
                    email: email.map(str::to_owned),
                    username: username.map(str::to_owned),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            r.outcome,
            api::InvitationOutcome::AlreadyMember,
            "{email:?} {username:?}"
        );
    }

    // The host's list is the whole list: a new one replaces it.
    let replaced = platform
        .set_user_identities(
            "carol",
            &api::SetIdentitiesRequest {
                emails: vec!["carol@example.com".into()],
                usernames: vec![],
            },
        )
        .await
        .unwrap();
    assert_eq!(replaced.emails, ["carol@example.com"]);
    // What her own tokens vouch for stays: she signed in as "carol".
    assert_eq!(replaced.usernames, ["carol"]);

    // Only platform administrators set them; carol reads her own.
    let req = api::SetIdentitiesRequest::default();
    assert_eq!(
        code(alice.set_user_identities("carol", &req).await),
        "forbidden"
    );
    assert!(t.user("carol").user_identities("carol").await.is_ok());
    assert_eq!(code(alice.user_identities("carol").await), "forbidden");
    let bad = api::SetIdentitiesRequest {
        emails: vec!["not an address".into()],
        usernames: vec![],
    };
    assert_eq!(
        field(platform.set_user_identities("carol", &bad).await),
        "emails"
    );
    let many = api::SetIdentitiesRequest {
        emails: (0..21).map(|i| format!("c{i}@example.com")).collect(),
        usernames: vec![],
    };
    assert_eq!(
        field(platform.set_user_identities("carol", &many).await),
        "emails"
    );
}

#[tokio::test]
async fn graphql_sets_and_reads_identities_as_rest_does() {
    let t = TestApp::spawn().await;
    let set = t
        .graphql(
            Some(t.platform_key()),
            "mutation { setUserIdentities(userId: \"dee\", emails: [\"Dee@Example.com\"], usernames: []) { userId emails } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        set["data"]["setUserIdentities"],
        serde_json::json!({ "userId": "dee", "emails": ["dee@example.com"] }),
        "{set}"
    );
    let read = t
        .graphql(
            Some(&t.token("dee")),
            "{ userIdentities(userId: \"dee\") { emails } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        read["data"]["userIdentities"]["emails"][0], "dee@example.com",
        "{read}"
    );
    let refused = t
        .graphql(
            Some(&t.token("eve")),
            "mutation { setUserIdentities(userId: \"dee\", emails: [], usernames: []) { userId } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "forbidden",
        "{refused}"
    );
}
