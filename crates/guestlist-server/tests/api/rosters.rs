//! Rosters with consent, join requests and links that need approval (seed 003), and
//! what a sponsor's leaving does to the invitations they sent.

use guestlist_client::{Client, EventQuery, api};

use crate::helpers::{TestApp, code, invite_req};

fn by_id(user: &str, role: Option<&str>) -> api::AddMemberRequest {
    api::AddMemberRequest {
        user_id: Some(user.into()),
        role: role.map(str::to_owned),
        ..Default::default()
    }
}

async fn request_space(app: &TestApp, path: &str, admin: &str, limit: Option<u32>) -> Client {
    app.space(path, api::JoinMode::Request, limit).await;
    app.platform()
        .provision_member(path, admin, "admin")
        .await
        .unwrap();
    app.user(admin)
}

#[tokio::test]
async fn an_owner_add_waits_for_the_users_consent() {
    let app = TestApp::spawn().await;
    let admin = app.space_with_admin("acme/", "root").await;
    let added = admin
        .add_member("acme/", &by_id("bob", Some("viewer")))
        .await
        .unwrap();
    assert_eq!(added.outcome, api::AddOutcome::Pending);
    let added_m = added.membership.clone().unwrap();
    assert_eq!(
        (added_m.status.as_str(), added_m.source.as_str()),
        ("pending", "owner_add")
    );
    let bob = app.user("bob");
    assert_eq!(
        code(bob.get_space("acme/").await),
        "not_found",
        "pending grants nothing"
    );
    assert_eq!(
        app.platform()
            .get_space("acme/")
            .await
            .unwrap()
            .member_count,
        1
    );
    let again = admin
        .add_member("acme/", &by_id("bob", None))
        .await
        .unwrap();
    assert_eq!(again.outcome, api::AddOutcome::AlreadyPending);
    let member = admin
        .add_member("acme/", &by_id("root", None))
        .await
        .unwrap();
    assert_eq!(member.outcome, api::AddOutcome::AlreadyMember);
    // Rights from a parent space: already a member, no error.
    app.child_space(&admin, "acme/eng/", None).await;
    let inherited = admin
        .add_member("acme/eng/", &by_id("root", None))
        .await
        .unwrap();
    assert_eq!(
        (inherited.outcome, inherited.membership),
        (api::AddOutcome::AlreadyMember, None)
    );

    // Only bob answers; everyone else is told it does not exist.
    assert_eq!(
        code(app.user("carol").answer_membership(added_m.id, true).await),
        "not_found"
    );
    let pending = bob.my_pending().await.unwrap();
    assert_eq!(
        pending.memberships.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![added_m.id]
    );
    let accepted = bob.answer_membership(added_m.id, true).await.unwrap();
    let m = accepted.membership.expect("active now");
    assert_eq!((m.status.as_str(), m.role.as_str()), ("active", "viewer"));
    assert_eq!(
        app.platform()
            .get_space("acme/")
            .await
            .unwrap()
            .member_count,
        2
    );
    assert_eq!(
        code(bob.answer_membership(added_m.id, true).await),
        "not_pending"
    );
    assert!(bob.my_pending().await.unwrap().memberships.is_empty());

    // By the e-mail of a known account (one that signed up through the gate).
    let platform = app.platform();
    let c = platform
        .claim_signup(&api::ClaimRequest {
            email: "dave@example.com".into(),
            token: None,
            ttl_seconds: None,
        })
        .await
        .unwrap();
    platform.confirm_signup(c.id, "dave").await.unwrap();
    let by_email = api::AddMemberRequest {
        email: Some("Dave@Example.com".into()),
        ..Default::default()
    };
    let dave_add = admin
        .add_member("acme/", &by_email)
        .await
        .unwrap()
        .membership
        .unwrap();
    assert_eq!(dave_add.user_id, "dave");
    let declined = app
        .user("dave")
        .answer_membership(dave_add.id, false)
        .await
        .unwrap();
    assert!(declined.membership.is_none());
    let members = platform
        .list_members("acme/", None, None)
        .await
        .unwrap()
        .members;
    assert!(members.iter().all(|m| m.user_id != "dave"));
    let unknown = api::AddMemberRequest {
        email: Some("nobody@example.com".into()),
        ..Default::default()
    };
    assert_eq!(code(admin.add_member("acme/", &unknown).await), "not_found");
    let both = api::AddMemberRequest {
        email: Some("x@example.com".into()),
        user_id: Some("x".into()),
        ..Default::default()
    };
    assert_eq!(
        code(admin.add_member("acme/", &both).await),
        "invalid_input"
    );
    // Nobody adds above their own rights, and outsiders learn nothing.
    assert_eq!(
        code(bob.add_member("acme/", &by_id("eve", None)).await),
        "forbidden"
    );
    assert_eq!(
        code(
            app.user("mallory")
                .add_member("acme/", &by_id("eve", None))
                .await
        ),
        "not_found"
    );
    admin.change_role("acme/", "bob", "member").await.unwrap();
    let mgr_role = api::Role {
        name: "manager".into(),
        permissions: vec!["read".into(), "write".into(), "manage_members".into()],
    };
    admin.create_role("acme/", &mgr_role).await.unwrap();
    admin.change_role("acme/", "bob", "manager").await.unwrap();
    assert_eq!(
        code(bob.add_member("acme/", &by_id("eve", Some("admin"))).await),
        "forbidden"
    );
}

#[tokio::test]
async fn join_requests_wait_for_a_manager() {
    let app = TestApp::spawn().await;
    let admin = request_space(&app, "club/", "root", None).await;
    let bob = app.user("bob");
    let asked = bob.ask_to_join("club/", Some("hi, I'm Bob")).await.unwrap();
    assert_eq!(asked.outcome, api::JoinOutcome::Requested);
    let request = asked.join_request.unwrap();
    assert_eq!(
        (request.status.as_str(), request.message.as_deref()),
        ("pending", Some("hi, I'm Bob"))
    );
    let again = bob.ask_to_join("club/", None).await.unwrap();
    assert_eq!(
        again.join_request.unwrap().id,
        request.id,
        "one pending request per user and space"
    );
    assert_eq!(bob.my_pending().await.unwrap().join_requests.len(), 1);

    // A pending owner-add blocks a request; adding someone who asked approves them.
    admin
        .add_member("club/", &by_id("carol", None))
        .await
        .unwrap();
    assert_eq!(
        code(app.user("carol").ask_to_join("club/", None).await),
        "pending_consent"
    );
    let dave = app.user("dave");
    dave.ask_to_join("club/", None).await.unwrap();
    let add = admin
        .add_member("club/", &by_id("dave", None))
        .await
        .unwrap();
    assert_eq!(
        (add.outcome, add.membership.unwrap().status.as_str()),
        (api::AddOutcome::Joined, "active")
    );

    let listed = admin
        .list_join_requests("club/", Some("pending"))
        .await
        .unwrap();
    assert_eq!(
        listed
            .requests
            .iter()
            .map(|r| r.user_id.as_str())
            .collect::<Vec<_>>(),
        ["bob"]
    );
    assert_eq!(
        code(bob.list_join_requests("club/", None).await),
        "not_found"
    );
    assert_eq!(
        code(bob.decide_join_request(request.id, true).await),
        "not_found"
    );

    let denied = admin.decide_join_request(request.id, false).await.unwrap();
    assert_eq!(
        (denied.request.status.as_str(), denied.membership),
        ("denied", None)
    );
    assert_eq!(
        code(admin.decide_join_request(request.id, true).await),
        "not_pending"
    );
    let second = bob
        .ask_to_join("club/", None)
        .await
        .unwrap()
        .join_request
        .unwrap();
    assert_ne!(second.id, request.id);
    assert_eq!(
        code(app.user("eve").cancel_join_request(second.id).await),
        "not_found"
    );
    assert_eq!(
        bob.cancel_join_request(second.id)
            .await
            .unwrap()
            .status
            .as_str(),
        "cancelled"
    );
    let third = bob
        .ask_to_join("club/", None)
        .await
        .unwrap()
        .join_request
        .unwrap();
    let approved = admin.decide_join_request(third.id, true).await.unwrap();
    let m = approved.membership.unwrap();
    assert_eq!(
        (m.user_id.as_str(), m.source.as_str()),
        ("bob", "join_request")
    );
    assert_eq!(
        bob.ask_to_join("club/", None).await.unwrap().outcome,
        api::JoinOutcome::AlreadyMember
    );

    // Other join modes.
    app.space("open/", api::JoinMode::Open, None).await;
    assert_eq!(
        bob.ask_to_join("open/", None).await.unwrap().outcome,
        api::JoinOutcome::Joined
    );
    app.space("closed/", api::JoinMode::InviteOnly, None).await;
    assert_eq!(
        code(bob.ask_to_join("closed/", None).await),
        "invite_required"
    );
    let kinds: Vec<String> = admin
        .list_events(&EventQuery::default())
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.kind)
        .collect();
    for k in [
        "join_request.created",
        "join_request.denied",
        "join_request.cancelled",
        "join_request.approved",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_approvals_respect_the_member_limit() {
    let app = TestApp::spawn().await;
    // The admin takes one of five seats.
    let admin = request_space(&app, "club/", "root", Some(5)).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let r = app
            .user(&format!("u{i}"))
            .ask_to_join("club/", None)
            .await
            .unwrap();
        ids.push(r.join_request.unwrap().id);
    }
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let admin = admin.clone();
            tokio::spawn(async move { admin.decide_join_request(id, true).await })
        })
        .collect();
    let (mut approved, mut full) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(d) => {
                assert_eq!(d.request.status.as_str(), "approved");
                approved += 1;
            }
            Err(e) => {
                assert_eq!(e.code(), Some("member_limit_reached"), "{e}");
                full += 1;
            }
        }
    }
    assert_eq!((approved, full), (4, 16));
    assert_eq!(
        app.platform()
            .get_space("club/")
            .await
            .unwrap()
            .member_count,
        5
    );
    let pending = admin
        .list_join_requests("club/", Some("pending"))
        .await
        .unwrap();
    assert_eq!(
        pending.requests.len(),
        16,
        "a refused approval leaves the request pending"
    );
}

#[tokio::test]
async fn a_link_can_require_approval_except_for_trusted_domains() {
    let app = TestApp::spawn().await;
    let admin = app.space_with_admin("acme/", "root").await;
    let mut req = invite_req("acme/");
    req.max_uses = Some(10);
    req.requires_approval = true;
    req.auto_approve_domains = vec!["Trusted.COM".into()];
    let link = app.invite(&admin, req).await;
    assert!(link.invite.requires_approval);
    assert_eq!(link.invite.auto_approve_domains, ["trusted.com"]);

    let eve = app.user_as("eve", Some("eve@example.com"), true, None);
    let r = eve.join_invite(&link.code, None).await.unwrap();
    assert_eq!(r.outcome, api::JoinOutcome::Requested);
    let request = r.join_request.unwrap();
    assert_eq!(request.invite_id, Some(link.invite.id));
    let again = eve.join_invite(&link.code, None).await.unwrap();
    assert_eq!(again.join_request.unwrap().id, request.id);
    let frank = app.user_as("frank", Some("frank@trusted.com"), true, None);
    assert_eq!(
        frank.join_invite(&link.code, None).await.unwrap().outcome,
        api::JoinOutcome::Joined
    );
    let gina = app.user_as("gina", Some("gina@trusted.com"), false, None);
    assert_eq!(
        gina.join_invite(&link.code, None).await.unwrap().outcome,
        api::JoinOutcome::Requested,
        "unverified"
    );
    let uses = admin
        .show_invite_link(&link.invite.id.to_string())
        .await
        .unwrap()
        .invite
        .uses;
    assert_eq!(
        uses, 3,
        "each request and join counts a use; asking again does not"
    );

    let d = admin.decide_join_request(request.id, true).await.unwrap();
    assert_eq!(d.membership.unwrap().user_id, "eve");
    // Someone an owner added already joins through the link at once (consent).
    admin
        .add_member("acme/", &by_id("hal", None))
        .await
        .unwrap();
    let hal = app.user_as("hal", Some("hal@example.com"), true, None);
    assert_eq!(
        hal.join_invite(&link.code, None).await.unwrap().outcome,
        api::JoinOutcome::Joined
    );
    let mut bad = invite_req("acme/");
    bad.auto_approve_domains = vec!["trusted.com".into()];
    assert_eq!(
        code(admin.create_invite(&bad).await),
        "invalid_input",
        "auto-approve needs requires_approval"
    );
}

#[tokio::test]
async fn a_removed_sponsor_takes_their_pending_invites_along() {
    let app = TestApp::spawn().await;
    let root = app.space_with_admin("acme/", "root").await;
    app.child_space(&root, "acme/eng/", None).await;
    app.platform()
        .provision_member("acme/", "spon", "admin")
        .await
        .unwrap();
    let spon = app.user("spon");
    let their_link = app.invite(&spon, invite_req("acme/eng/")).await;
    let their_invitation = spon
        .create_invitation(
            &api::CreateInvitationRequest {
                space: "acme/eng/".into(),
                email: Some("x@example.com".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap()
        .invitation
        .unwrap();
    let roots_link = app.invite(&root, invite_req("acme/")).await;

    root.remove_member("acme/", "spon").await.unwrap();
    let anyone = app.client.anonymous();
    assert_eq!(
        code(anyone.preview_invite(&their_link.code).await),
        "not_found"
    );
    assert!(
        anyone.preview_invite(&roots_link.code).await.is_ok(),
        "others' links stay"
    );
    assert_eq!(
        root.get_invitation(their_invitation.id)
            .await
            .unwrap()
            .status,
        api::InvitationStatus::Revoked
    );
    let events = root
        .list_events(&EventQuery::default())
        .await
        .unwrap()
        .events;
    let revoked: Vec<_> = events
        .iter()
        .filter(|e| e.kind.ends_with(".revoked") && e.data["reason"] == "sponsor_removed")
        .collect();
    assert_eq!(revoked.len(), 2, "{events:?}");

    // Deprovisioning: everything they were and sent, everywhere, in one call.
    app.platform()
        .provision_member("acme/eng/", "dep", "admin")
        .await
        .unwrap();
    app.space("other/", api::JoinMode::Request, None).await;
    let dep = app.user("dep");
    let dep_link = app.invite(&dep, invite_req("acme/eng/")).await;
    dep.ask_to_join("other/", None).await.unwrap();
    assert_eq!(
        code(app.user("x").deprovision_user("dep").await),
        "forbidden"
    );
    let d = app.platform().deprovision_user("dep").await.unwrap();
    assert_eq!(
        (
            d.memberships_removed,
            d.invites_revoked,
            d.platform_invitations_revoked,
            d.join_requests_cancelled
        ),
        (1, 1, 0, 1)
    );
    assert_eq!(
        code(anyone.preview_invite(&dep_link.code).await),
        "not_found"
    );
    assert_eq!(code(dep.get_space("acme/eng/").await), "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_of_one_user_make_one_request() {
    let app = TestApp::spawn().await;
    let admin = request_space(&app, "club/", "root", None).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let bob = app.user("bob");
            tokio::spawn(async move { bob.ask_to_join("club/", None).await })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let r = t.await.unwrap().expect("every ask succeeds");
        assert_eq!(r.outcome, api::JoinOutcome::Requested);
        ids.insert(r.join_request.unwrap().id);
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(
        admin
            .list_join_requests("club/", None)
            .await
            .unwrap()
            .requests
            .len(),
        1
    );
}
