use guestlist_client::{EventQuery, api};

use crate::helpers::{TestApp, code, invite_req};

#[tokio::test]
async fn join_modes_decide_who_may_join_without_an_invite() {
    let t = TestApp::spawn().await;
    t.space("open/", api::JoinMode::Open, None).await;
    t.space("closed/", api::JoinMode::InviteOnly, None).await;
    t.space("asking/", api::JoinMode::Request, None).await;
    let bob = t.user("bob");
    let r = bob.join_space("open/").await.unwrap();
    assert_eq!(r.outcome, api::JoinOutcome::Joined);
    assert_eq!(r.membership.unwrap().source.as_str(), "open_join");
    assert_eq!(
        bob.join_space("open/").await.unwrap().outcome,
        api::JoinOutcome::AlreadyMember
    );
    assert_eq!(code(bob.join_space("closed/").await), "invite_required");
    assert_eq!(code(bob.join_space("asking/").await), "approval_required");
    assert_eq!(code(bob.join_space("missing/").await), "not_found");
    // API keys hold no memberships.
    assert_eq!(code(t.platform().join_space("open/").await), "forbidden");

    // An invite still admits into an invite_only space.
    t.platform()
        .provision_member("closed/", "alice", "admin")
        .await
        .unwrap();
    let inv = t.invite(&t.user("alice"), invite_req("closed/")).await;
    assert_eq!(
        bob.join_invite(&inv.code, None).await.unwrap().outcome,
        api::JoinOutcome::Joined
    );
}

#[tokio::test]
async fn only_a_platform_key_creates_top_level_spaces_and_parent_admins_create_children() {
    let t = TestApp::spawn().await;
    let req = |path: &str| api::CreateSpaceRequest {
        path: path.into(),
        name: None,
        join_mode: api::JoinMode::Open,
        member_limit: None,
    };
    assert_eq!(
        code(t.user("alice").create_space(&req("acme/")).await),
        "forbidden"
    );
    let alice = t.space_with_admin("acme/", "alice").await;
    assert_eq!(
        code(t.platform().create_space(&req("acme/")).await),
        "already_exists"
    );
    let child = alice.create_space(&req("acme/eng/")).await.unwrap();
    assert_eq!(
        child.your_permissions.len(),
        5,
        "admin rights are inherited down the tree"
    );
    assert_eq!(
        code(t.user("bob").create_space(&req("acme/ops/")).await),
        "not_found"
    );
    assert_eq!(
        code(alice.create_space(&req("nope/child/")).await),
        "not_found"
    );
    assert_eq!(
        code(alice.create_space(&req("acme/../x/")).await),
        "invalid_input"
    );

    let updated = alice
        .update_space(
            "acme/",
            &api::UpdateSpaceRequest {
                join_mode: Some(api::JoinMode::Request),
                member_limit: Some(Some(3)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (updated.join_mode, updated.member_limit),
        (api::JoinMode::Request, Some(3))
    );
    let cleared = alice
        .update_space(
            "acme/",
            &api::UpdateSpaceRequest {
                member_limit: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.member_limit, None);
    assert_eq!(
        cleared.join_mode,
        api::JoinMode::Request,
        "absent fields are kept"
    );
}

#[tokio::test]
async fn members_are_listed_in_pages_and_roles_change_within_the_managers_rights() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let inv = t.invite(&alice, invite_req("acme/")).await;
    for i in 0..7 {
        t.user(&format!("user{i}"))
            .join_invite(&inv.code, None)
            .await
            .unwrap();
    }
    let first = alice.list_members("acme/", None, Some(5)).await.unwrap();
    assert_eq!(first.members.len(), 5);
    assert_eq!(first.members[0].user_id, "alice");
    let second = alice
        .list_members("acme/", first.next.as_deref(), Some(5))
        .await
        .unwrap();
    assert_eq!(second.members.len(), 3);
    assert!(second.next.is_none());
    assert_eq!(
        code(t.user("outsider").list_members("acme/", None, None).await),
        "not_found"
    );

    let changed = alice.change_role("acme/", "user0", "viewer").await.unwrap();
    assert_eq!(changed.role, "viewer");
    // A member cannot manage members.
    assert_eq!(
        code(
            t.user("user1")
                .change_role("acme/", "user0", "member")
                .await
        ),
        "forbidden"
    );
    assert_eq!(
        code(alice.change_role("acme/", "user0", "no_such_role").await),
        "not_found"
    );
    assert_eq!(
        code(alice.change_role("acme/", "ghost", "member").await),
        "not_found"
    );
    let events = alice
        .list_events(&EventQuery {
            kind: Some("member.role_changed"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.events[0].data["from"], "member");
    assert_eq!(events.events[0].data["to"], "viewer");
}

#[tokio::test]
async fn the_last_admin_can_neither_leave_nor_be_demoted_or_removed() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    assert_eq!(
        code(alice.change_role("acme/", "alice", "member").await),
        "last_admin"
    );
    assert_eq!(
        code(alice.remove_member("acme/", "alice").await),
        "last_admin"
    );
    assert_eq!(code(alice.leave_space("acme/").await), "last_admin");

    t.platform()
        .provision_member("acme/", "bob", "admin")
        .await
        .unwrap();
    alice.change_role("acme/", "bob", "member").await.unwrap();
    t.platform()
        .provision_member("acme/", "carol", "admin")
        .await
        .unwrap();
    alice.leave_space("acme/").await.unwrap();
    let carol = t.user("carol");
    assert_eq!(
        code(carol.remove_member("acme/", "carol").await),
        "last_admin"
    );
    carol.remove_member("acme/", "bob").await.unwrap();
    let members = carol.list_members("acme/", None, None).await.unwrap();
    assert_eq!(
        members
            .members
            .iter()
            .map(|m| m.user_id.as_str())
            .collect::<Vec<_>>(),
        vec!["carol"]
    );
    assert_eq!(carol.get_space("acme/").await.unwrap().member_count, 1);
    let kinds: Vec<String> = carol
        .list_events(&EventQuery::default())
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(
        kinds.contains(&"member.left".to_owned()) && kinds.contains(&"member.removed".to_owned())
    );
}

#[tokio::test]
async fn the_audit_log_is_for_space_admins() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let inv = t.invite(&alice, invite_req("acme/")).await;
    t.user("bob").join_invite(&inv.code, None).await.unwrap();
    let mine = alice.list_events(&EventQuery::default()).await.unwrap();
    let kinds: Vec<&str> = mine.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "member.joined",
            "invite.created",
            "member.joined",
            "space.created"
        ]
    );
    assert!(
        mine.events.windows(2).all(|w| w[0].seq > w[1].seq),
        "newest first"
    );
    // A plain member sees nothing.
    assert!(
        t.user("bob")
            .list_events(&EventQuery::default())
            .await
            .unwrap()
            .events
            .is_empty()
    );
    // Paging by sequence.
    let page = alice
        .list_events(&EventQuery {
            limit: Some(3),
            ..Default::default()
        })
        .await
        .unwrap();
    let rest = alice
        .list_events(&EventQuery {
            before: page.next_before,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.events.len() + rest.events.len(), 4);
}

#[tokio::test]
async fn a_grant_means_what_its_role_meant_where_it_was_made() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    t.child_space(&alice, "acme/eng/", None).await;
    // "helper" reads on acme/, but a deeper space defines a stronger role by that name.
    alice
        .create_role(
            "acme/",
            &api::Role {
                name: "helper".into(),
                permissions: vec!["read".into()],
            },
        )
        .await
        .unwrap();
    alice
        .create_role(
            "acme/eng/",
            &api::Role {
                name: "helper".into(),
                permissions: vec!["read".into(), "write".into(), "manage_invites".into()],
            },
        )
        .await
        .unwrap();
    t.platform()
        .provision_member("acme/", "bob", "helper")
        .await
        .unwrap();
    let bob = t.user("bob");
    assert_eq!(
        bob.get_space("acme/eng/").await.unwrap().your_permissions,
        vec!["read"]
    );
    assert_eq!(
        code(bob.create_invite(&invite_req("acme/eng/")).await),
        "forbidden"
    );
    // Granted on acme/eng/ itself, the name means the deeper definition.
    t.platform()
        .provision_member("acme/eng/", "carol", "helper")
        .await
        .unwrap();
    assert!(
        t.user("carol")
            .create_invite(&invite_req("acme/eng/"))
            .await
            .is_ok()
    );
}
