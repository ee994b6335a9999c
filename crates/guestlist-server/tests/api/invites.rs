use guestlist_client::{EventQuery, InviteQuery, api};
use std::collections::HashSet;

use crate::helpers::{TestApp, code, invite_req};

#[tokio::test]
async fn a_created_invite_previews_and_admits_a_new_member() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let created = t
        .invite(
            &alice,
            api::CreateInviteRequest {
                max_uses: Some(5),
                description: Some("launch".into()),
                ..invite_req("acme/")
            },
        )
        .await;
    assert_eq!(created.code.len(), 10);
    assert!(created.code.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(
        created.link,
        format!("https://chat.example.com/i/{}", created.code)
    );
    assert_eq!(created.invite.role, "member");

    let preview = t.client.preview_invite(&created.code).await.unwrap();
    assert_eq!(preview.space, "acme/");
    assert_eq!(preview.member_count, 1);
    assert_eq!(preview.inviter, "alice");
    assert_eq!(preview.uses_left, Some(5));

    let joined = t
        .user("bob")
        .join_invite(&created.code, None)
        .await
        .unwrap();
    assert_eq!(joined.outcome, api::JoinOutcome::Joined);
    let m = joined.membership.unwrap();
    assert_eq!(
        (m.user_id.as_str(), m.role.as_str(), m.source.as_str()),
        ("bob", "member", "invite_link")
    );
    assert_eq!(m.invite_id, Some(created.invite.id));

    assert_eq!(
        t.client
            .preview_invite(&created.code)
            .await
            .unwrap()
            .member_count,
        2
    );
    let listed = alice.list_invites(&InviteQuery::default()).await.unwrap();
    assert_eq!(listed.invites[0].uses, 1);
    let events = alice
        .list_events(&EventQuery {
            kind: Some("member.joined"),
            ..Default::default()
        })
        .await
        .unwrap();
    let joined_event = events
        .events
        .iter()
        .find(|e| e.subject.as_deref() == Some("bob"))
        .unwrap();
    assert_eq!(
        joined_event.data["invite_id"],
        created.invite.id.to_string()
    );
}

#[tokio::test]
async fn narrowing_lands_in_a_space_beneath_the_invites() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    t.child_space(&alice, "acme/eng/", None).await;
    let inv = t
        .invite(
            &alice,
            api::CreateInviteRequest {
                allow_narrowing: true,
                ..invite_req("acme/")
            },
        )
        .await;
    let r = t
        .user("bob")
        .join_invite(&inv.code, Some("acme/eng/"))
        .await
        .unwrap();
    assert_eq!(
        (r.outcome, r.space.as_str()),
        (api::JoinOutcome::Joined, "acme/eng/")
    );
    // Bob is a member of acme/eng/ only.
    assert_eq!(code(t.user("bob").get_space("acme/").await), "not_found");
    assert_eq!(
        t.user("bob")
            .get_space("acme/eng/")
            .await
            .unwrap()
            .your_permissions,
        vec!["read", "write"]
    );
}

#[tokio::test]
async fn narrowing_out_of_scope_is_refused_and_consumes_nothing() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    t.space("acmecorp/", api::JoinMode::InviteOnly, None).await;
    for sub in ["acme/eng/", "acme/ops/"] {
        t.child_space(&alice, sub, None).await;
    }
    let wide = t
        .invite(
            &alice,
            api::CreateInviteRequest {
                allow_narrowing: true,
                ..invite_req("acme/eng/")
            },
        )
        .await;
    let bob = t.user("bob");
    // A textual prefix is not a subtree.
    assert_eq!(
        code(bob.join_invite(&wide.code, Some("acmecorp/")).await),
        "out_of_scope"
    );
    // A sibling: the wrong parent.
    assert_eq!(
        code(bob.join_invite(&wide.code, Some("acme/ops/")).await),
        "out_of_scope"
    );
    // Upwards.
    assert_eq!(
        code(bob.join_invite(&wide.code, Some("acme/")).await),
        "out_of_scope"
    );
    // Traversal never parses.
    assert_eq!(
        code(bob.join_invite(&wide.code, Some("acme/eng/../")).await),
        "invalid_input"
    );
    assert_eq!(
        code(bob.join_invite(&wide.code, Some("acme/eng/..")).await),
        "invalid_input"
    );
    // Without allow_narrowing even a real child is out of scope.
    let fixed = t.invite(&alice, invite_req("acme/")).await;
    assert_eq!(
        code(bob.join_invite(&fixed.code, Some("acme/eng/")).await),
        "out_of_scope"
    );

    let page = alice.list_invites(&InviteQuery::default()).await.unwrap();
    assert!(
        page.invites.iter().all(|i| i.uses == 0),
        "no use was consumed"
    );
}

#[tokio::test]
async fn only_invite_managers_create_invites_and_never_above_their_rights() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let inv = t.invite(&alice, invite_req("acme/")).await;
    t.user("bob").join_invite(&inv.code, None).await.unwrap();
    // A plain member cannot create invites.
    let r = t.user("bob").create_invite(&invite_req("acme/")).await;
    assert_eq!(
        r.as_ref().unwrap_err().status().map(|s| s.as_u16()),
        Some(403)
    );
    assert_eq!(code(r), "forbidden");
    // An outsider learns nothing about the space.
    assert_eq!(
        code(t.user("mallory").create_invite(&invite_req("acme/")).await),
        "not_found"
    );

    // A custom role with manage_invites, but not admin.
    alice
        .create_role(
            "acme/",
            &api::Role {
                name: "inviter".into(),
                permissions: vec!["read".into(), "write".into(), "manage_invites".into()],
            },
        )
        .await
        .unwrap();
    alice.change_role("acme/", "bob", "inviter").await.unwrap();
    let bob = t.user("bob");
    let ok = bob
        .create_invite(&api::CreateInviteRequest {
            role: Some("member".into()),
            ..invite_req("acme/")
        })
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    let r = bob
        .create_invite(&api::CreateInviteRequest {
            role: Some("admin".into()),
            ..invite_req("acme/")
        })
        .await;
    assert_eq!(
        r.as_ref().unwrap_err().status().map(|s| s.as_u16()),
        Some(403)
    );
    assert_eq!(code(r), "forbidden");
}

#[tokio::test]
async fn unknown_and_malformed_codes_are_not_found() {
    let t = TestApp::spawn().await;
    t.space_with_admin("acme/", "alice").await;
    let bob = t.user("bob");
    for bad in [
        "AAAAAAAAAA",
        "short",
        "has-dash-xx",
        "x".repeat(40).as_str(),
    ] {
        assert_eq!(code(bob.join_invite(bad, None).await), "not_found", "{bad}");
        assert_eq!(
            code(t.client.preview_invite(bad).await),
            "not_found",
            "{bad}"
        );
    }
}

#[tokio::test]
async fn an_exhausted_invite_refuses_with_its_own_code() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let inv = t
        .invite(
            &alice,
            api::CreateInviteRequest {
                max_uses: Some(1),
                ..invite_req("acme/")
            },
        )
        .await;
    t.user("bob").join_invite(&inv.code, None).await.unwrap();
    // Bob clicking the single-use link again is not an error: he is in.
    let again = t.user("bob").join_invite(&inv.code, None).await.unwrap();
    assert_eq!(again.outcome, api::JoinOutcome::AlreadyMember);
    assert_eq!(again.membership.map(|m| m.user_id), Some("bob".to_owned()));
    let r = t.user("carol").join_invite(&inv.code, None).await;
    assert_eq!(
        r.as_ref().unwrap_err().status().map(|s| s.as_u16()),
        Some(410)
    );
    assert_eq!(code(r), "exhausted");
    assert_eq!(code(t.client.preview_invite(&inv.code).await), "exhausted");
    let listed = alice
        .list_invites(&InviteQuery {
            state: Some("exhausted"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.invites.len(), 1);
    assert_eq!(listed.invites[0].uses, 1);
}

#[tokio::test]
async fn an_expired_invite_refuses_with_its_own_code() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let inv = t
        .invite(
            &alice,
            api::CreateInviteRequest {
                expires_in_seconds: Some(1),
                ..invite_req("acme/")
            },
        )
        .await;
    assert!(inv.invite.expires_at.is_some());
    t.user("dan").join_invite(&inv.code, None).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // Once lapsed, it admits nobody new; someone it admitted is told they are in.
    let again = t.user("dan").join_invite(&inv.code, None).await.unwrap();
    assert_eq!(again.outcome, api::JoinOutcome::AlreadyMember);
    assert_eq!(
        code(t.user("bob").join_invite(&inv.code, None).await),
        "expired"
    );
    assert_eq!(code(t.client.preview_invite(&inv.code).await), "expired");
    let listed = alice
        .list_invites(&InviteQuery {
            state: Some("expired"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        listed.invites.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![inv.invite.id]
    );
    assert_eq!(listed.invites[0].uses, 1);
}

#[tokio::test]
async fn a_revoked_code_reads_as_unknown_except_to_its_managers() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let inv = t.invite(&alice, invite_req("acme/")).await;
    // Outsiders cannot revoke, and cannot tell the invite exists.
    assert_eq!(
        code(t.user("mallory").revoke_invite(&inv.code).await),
        "not_found"
    );
    assert_eq!(
        code(
            t.user("mallory")
                .revoke_invite(&inv.invite.id.to_string())
                .await
        ),
        "not_found"
    );

    let revoked = alice.revoke_invite(&inv.code).await.unwrap();
    assert_eq!(revoked.state, api::InviteState::Revoked);
    assert!(revoked.revoked_at.is_some());
    // Idempotent.
    assert_eq!(
        alice
            .revoke_invite(&inv.invite.id.to_string())
            .await
            .unwrap()
            .state,
        api::InviteState::Revoked
    );

    let unknown = t
        .user("bob")
        .join_invite("ZZZZZZZZZZ", None)
        .await
        .unwrap_err();
    let gone = t
        .user("bob")
        .join_invite(&inv.code, None)
        .await
        .unwrap_err();
    assert_eq!(
        format!("{gone}"),
        format!("{unknown}"),
        "a revoked code answers exactly like an unknown one"
    );
    assert_eq!(code(t.client.preview_invite(&inv.code).await), "not_found");
    // The admin is told the truth.
    assert_eq!(code(alice.join_invite(&inv.code, None).await), "revoked");
    // Kept for audit.
    let listed = alice
        .list_invites(&InviteQuery {
            state: Some("revoked"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.invites.len(), 1);
    let events = alice
        .list_events(&EventQuery {
            kind: Some("invite.revoked"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.events.len(), 1, "one event, though revoked twice");
}

#[tokio::test]
async fn redeeming_as_a_member_consumes_nothing_and_never_downgrades() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let viewer_link = t
        .invite(
            &alice,
            api::CreateInviteRequest {
                role: Some("viewer".into()),
                ..invite_req("acme/")
            },
        )
        .await;
    let member_link = t
        .invite(
            &alice,
            api::CreateInviteRequest {
                role: Some("member".into()),
                max_uses: Some(3),
                ..invite_req("acme/")
            },
        )
        .await;
    let bob = t.user("bob");
    assert_eq!(
        bob.join_invite(&viewer_link.code, None)
            .await
            .unwrap()
            .outcome,
        api::JoinOutcome::Joined
    );
    // Same rights again: already a member, no use counted.
    let again = bob.join_invite(&viewer_link.code, None).await.unwrap();
    assert_eq!(again.outcome, api::JoinOutcome::AlreadyMember);
    // A link granting more raises the role (and counts a use).
    let up = bob.join_invite(&member_link.code, None).await.unwrap();
    assert_eq!(
        (up.outcome, up.membership.unwrap().role.as_str()),
        (api::JoinOutcome::Upgraded, "member")
    );
    // A link granting less changes nothing.
    let down = bob.join_invite(&viewer_link.code, None).await.unwrap();
    assert_eq!(
        (down.outcome, down.membership.unwrap().role.as_str()),
        (api::JoinOutcome::AlreadyMember, "member")
    );
    // The admin redeeming a member link stays admin.
    let admin = alice.join_invite(&member_link.code, None).await.unwrap();
    assert_eq!(
        (admin.outcome, admin.membership.unwrap().role.as_str()),
        (api::JoinOutcome::AlreadyMember, "admin")
    );

    let page = alice.list_invites(&InviteQuery::default()).await.unwrap();
    let uses = |id| page.invites.iter().find(|i| i.id == id).unwrap().uses;
    assert_eq!(uses(viewer_link.invite.id), 1);
    assert_eq!(uses(member_link.invite.id), 1);
    let members = alice.list_members("acme/", None, None).await.unwrap();
    assert_eq!(members.members.len(), 2);
}

#[tokio::test]
async fn invite_pages_walk_every_row_once_even_when_timestamps_tie() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let mut created = HashSet::new();
    for _ in 0..23 {
        created.insert(t.invite(&alice, invite_req("acme/")).await.invite.id);
    }
    // Force every row onto one millisecond.
    t.exec("UPDATE invites SET created_at = 1700000000000")
        .await;
    // The scope index keeps a copy of each creation time (never changed in operation).
    t.exec("UPDATE invite_scopes SET created_at = 1700000000000")
        .await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = alice
            .list_invites(&InviteQuery {
                after: after.as_deref(),
                limit: Some(5),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(page.invites.len() <= 5);
        seen.extend(page.invites.iter().map(|i| i.id));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 23, "no row repeated");
    assert_eq!(
        seen.iter().copied().collect::<HashSet<_>>(),
        created,
        "no row skipped"
    );
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "ties are ordered by id");
    assert_eq!(
        code(
            alice
                .list_invites(&InviteQuery {
                    limit: Some(101),
                    ..Default::default()
                })
                .await
        ),
        "invalid_input"
    );
    assert_eq!(
        code(
            alice
                .list_invites(&InviteQuery {
                    after: Some("garbage"),
                    ..Default::default()
                })
                .await
        ),
        "invalid_input"
    );
}

#[tokio::test]
async fn invite_lists_filter_and_show_each_manager_only_their_spaces() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let zed = t.space_with_admin("zeta/", "zed").await;
    t.child_space(&alice, "acme/eng/", None).await;
    let top = t.invite(&alice, invite_req("acme/")).await;
    let eng = t.invite(&alice, invite_req("acme/eng/")).await;
    let z = t.invite(&zed, invite_req("zeta/")).await;
    alice.revoke_invite(&top.code).await.unwrap();

    let ids = |p: api::InvitePage| p.invites.into_iter().map(|i| i.id).collect::<Vec<_>>();
    let listed = |q: InviteQuery<'static>| {
        let alice = alice.clone();
        async move { ids(alice.list_invites(&q).await.unwrap()) }
    };
    assert_eq!(
        listed(InviteQuery::default()).await,
        vec![eng.invite.id, top.invite.id]
    );
    let by_space = InviteQuery {
        space: Some("acme/eng/"),
        ..Default::default()
    };
    assert_eq!(listed(by_space).await, vec![eng.invite.id]);
    let active = InviteQuery {
        state: Some("active"),
        ..Default::default()
    };
    assert_eq!(listed(active).await, vec![eng.invite.id]);
    let by_zed = InviteQuery {
        created_by: Some("zed"),
        ..Default::default()
    };
    assert_eq!(listed(by_zed).await, Vec::<uuid::Uuid>::new());
    // A filter can only narrow: asking for another's space shows nothing.
    assert!(
        alice
            .list_invites(&InviteQuery {
                space: Some("zeta/"),
                ..Default::default()
            })
            .await
            .unwrap()
            .invites
            .is_empty()
    );
    assert_eq!(
        ids(zed.list_invites(&InviteQuery::default()).await.unwrap()),
        vec![z.invite.id]
    );
    assert!(
        t.user("nobody")
            .list_invites(&InviteQuery::default())
            .await
            .unwrap()
            .invites
            .is_empty()
    );
    assert_eq!(
        ids(t
            .platform()
            .list_invites(&InviteQuery::default())
            .await
            .unwrap())
        .len(),
        3
    );
    assert_eq!(
        code(
            alice
                .list_invites(&InviteQuery {
                    state: Some("weird"),
                    ..Default::default()
                })
                .await
        ),
        "invalid_input"
    );

    // Lists never carry codes.
    let raw = reqwest::Client::new()
        .get(t.url("/api/v1/invites"))
        .bearer_auth(t.token("alice"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!raw.contains(&eng.code) && !raw.contains(&top.code));
}

#[tokio::test]
async fn a_manager_can_copy_a_live_link_again_but_nobody_else_can() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let inv = t.invite(&alice, invite_req("acme/")).await;
    let again = alice
        .show_invite_link(&inv.invite.id.to_string())
        .await
        .unwrap();
    assert_eq!(
        (again.code.as_str(), again.link.as_str()),
        (inv.code.as_str(), inv.link.as_str())
    );
    assert_eq!(
        code(
            t.user("bob")
                .show_invite_link(&inv.invite.id.to_string())
                .await
        ),
        "not_found"
    );
    // An id is never a code: it redeems nothing.
    assert_eq!(
        code(
            t.user("bob")
                .join_invite(&inv.invite.id.to_string(), None)
                .await
        ),
        "not_found"
    );
    // The database holds no code.
    let hashes = t.column_bytes("SELECT code_hash FROM invites").await;
    assert_eq!(hashes.len(), 1);
    assert_ne!(hashes[0], inv.code.as_bytes());
    let events = t.column_text("SELECT data FROM events").await;
    assert!(events.iter().all(|d| !d.contains(&inv.code)));
}

#[tokio::test]
async fn preview_and_join_are_rate_limited_per_client() {
    let t = TestApp::spawn_with(guestlist_app::RateLimitConfig {
        preview_per_minute_per_ip: 3,
        join_per_minute_per_ip: 1000,
        per_minute_per_user: 2,
        signup_per_minute_per_ip: 1000,
    })
    .await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let inv = t.invite(&alice, invite_req("acme/")).await;
    for _ in 0..3 {
        t.client.preview_invite(&inv.code).await.unwrap();
    }
    let refused = t.client.preview_invite(&inv.code).await.unwrap_err();
    match &refused {
        guestlist_client::ClientError::Api {
            status,
            body,
            retry_after,
        } => {
            assert_eq!(status.as_u16(), 429);
            assert_eq!(body.error.code, "rate_limited");
            assert!(retry_after.is_some_and(|s| s >= 1), "Retry-After is set");
        }
        other => panic!("{other}"),
    }
    // Per user: bob's third join in a minute is refused even on another code.
    let bob = t.user("bob");
    bob.join_invite(&inv.code, None).await.unwrap();
    bob.join_invite(&inv.code, None).await.unwrap();
    assert_eq!(code(bob.join_invite(&inv.code, None).await), "rate_limited");
}

#[tokio::test]
async fn a_manager_of_two_subtrees_pages_through_both_merged_in_order() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let zed = t.space_with_admin("zeta/", "zed").await;
    t.child_space(&alice, "acme/eng/", None).await;
    t.platform()
        .provision_member("acme/eng/", "bob", "admin")
        .await
        .unwrap();
    t.platform()
        .provision_member("zeta/", "bob", "admin")
        .await
        .unwrap();
    let mut expected = Vec::new();
    for i in 0..12 {
        let (by, space) = match i % 3 {
            0 => (&alice, "acme/eng/"),
            1 => (&zed, "zeta/"),
            _ => (&alice, "acme/"),
        };
        let inv = t.invite(by, invite_req(space)).await;
        if space != "acme/" {
            expected.push(inv.invite.id);
        }
    }
    expected.reverse();
    let bob = t.user("bob");
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = bob
            .list_invites(&InviteQuery {
                after: after.as_deref(),
                limit: Some(3),
                ..Default::default()
            })
            .await
            .unwrap();
        seen.extend(page.invites.iter().map(|i| i.id));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(
        seen, expected,
        "both subtrees, newest first, nothing of acme/ itself"
    );
    let only_zeta = bob
        .list_invites(&InviteQuery {
            space: Some("zeta/"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(only_zeta.invites.len(), 4);
    // A filter wider than what bob manages still shows only what he manages.
    let wide = bob
        .list_invites(&InviteQuery {
            space: Some("acme/"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(wide.invites.iter().all(|i| i.space == "acme/eng/"));
    assert_eq!(wide.invites.len(), 4);
}

/// The field an `invalid_input` names; panics on success or another error.
fn field<T: std::fmt::Debug>(r: Result<T, guestlist_client::ClientError>) -> String {
    match r {
        Err(guestlist_client::ClientError::Api { body, .. })
            if body.error.code == "invalid_input" =>
        {
            body.error.field.unwrap_or_default()
        }
        other => panic!("expected invalid_input, got {other:?}"),
    }
}

#[tokio::test]
async fn a_chosen_code_redeems_is_shown_again_and_no_other_reads_like_it() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    let created = t
        .invite(
            &alice,
            api::CreateInviteRequest {
                code: Some("RustConf2026".into()),
                max_uses: Some(2),
                ..invite_req("acme/")
            },
        )
        .await;
    assert_eq!(created.code, "RustConf2026");
    assert_eq!(created.link, "https://chat.example.com/i/RustConf2026");
    assert_eq!(
        t.client
            .preview_invite("RustConf2026")
            .await
            .unwrap()
            .uses_left,
        Some(2)
    );
    let joined = t
        .user("bob")
        .join_invite("RustConf2026", None)
        .await
        .unwrap();
    assert_eq!(joined.outcome, api::JoinOutcome::Joined);
    // Shown again to its managers, by code or by id.
    let again = alice
        .show_invite_link(&created.invite.id.to_string())
        .await
        .unwrap();
    assert_eq!(again.code, "RustConf2026");
    let events = alice
        .list_events(&EventQuery {
            kind: Some("invite.created"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.events[0].data["code"], "chosen");
    assert!(
        !serde_json::to_string(&events)
            .unwrap()
            .contains("RustConf2026")
    );

    // Taken, or reading like a taken one (case, 0/O, 1/l): refused, nothing created.
    for lookalike in [
        "RustConf2026",
        "rustconf2026",
        "RustC0nf2O26",
        "RustConf2o26",
    ] {
        let r = alice
            .create_invite(&api::CreateInviteRequest {
                code: Some(lookalike.into()),
                ..invite_req("acme/")
            })
            .await;
        assert_eq!(
            r.as_ref().unwrap_err().status().map(|s| s.as_u16()),
            Some(409),
            "{lookalike}"
        );
        assert_eq!(code(r), "already_exists");
    }
    // Weak or malformed: invalid_input on `code`.
    for weak in [
        "short",
        "12345678",
        "abcdefgh",
        "aaaabbbb",
        "Passw0rd",
        "has-dash1",
        &"x".repeat(33),
    ] {
        let r = alice
            .create_invite(&api::CreateInviteRequest {
                code: Some(weak.into()),
                ..invite_req("acme/")
            })
            .await;
        assert_eq!(field(r), "code", "{weak}");
    }
    // A plain member still cannot create one.
    assert_eq!(
        code(
            t.user("bob")
                .create_invite(&api::CreateInviteRequest {
                    code: Some("BobsOwnLink".into()),
                    ..invite_req("acme/")
                })
                .await
        ),
        "forbidden"
    );
    let listed = alice.list_invites(&InviteQuery::default()).await.unwrap();
    assert_eq!(listed.invites.len(), 1, "nothing else was created");
    // A code generated for a new link still works beside it.
    let generated = t.invite(&alice, invite_req("acme/")).await;
    assert_eq!(generated.code.len(), 10);
    assert_eq!(
        alice.show_invite_link(&generated.code).await.unwrap().code,
        generated.code
    );
}

fn mirror(space: &str) -> api::MirrorInviteRequest {
    api::MirrorInviteRequest {
        space: space.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_legacy_link_mirrored_by_external_id_keeps_its_code_and_stays_consistent() {
    let t = TestApp::spawn().await;
    let alice = t.space_with_admin("acme/", "alice").await;
    t.space_with_admin("other/", "olga").await;
    let platform = t.platform();
    let first = api::MirrorInviteRequest {
        max_uses: Some(5),
        uses: 2,
        code: Some("LegacyCode42".into()),
        description: Some("from directives".into()),
        ..mirror("acme/")
    };
    let created = platform
        .mirror_invite("directive-17", &first)
        .await
        .unwrap();
    assert_eq!(created.outcome, api::MirrorOutcome::Created);
    assert_eq!(created.code.as_deref(), Some("LegacyCode42"));
    assert_eq!(created.invite.external_id.as_deref(), Some("directive-17"));
    assert_eq!(
        (created.invite.uses, created.invite.uses_left),
        (2, Some(3))
    );
    // The carried code redeems like a native one, with the uses it had left.
    t.user("bob")
        .join_invite("LegacyCode42", None)
        .await
        .unwrap();
    assert_eq!(
        t.client
            .preview_invite("LegacyCode42")
            .await
            .unwrap()
            .uses_left,
        Some(2)
    );

    // The same body again: nothing changes, no event; and the use made here stays.
    let before = alice
        .list_events(&EventQuery::default())
        .await
        .unwrap()
        .events
        .len();
    let again = platform
        .mirror_invite("directive-17", &first)
        .await
        .unwrap();
    assert_eq!(again.outcome, api::MirrorOutcome::Unchanged);
    assert_eq!(again.invite.uses, 3);
    assert!(again.code.is_none());
    assert_eq!(
        alice
            .list_events(&EventQuery::default())
            .await
            .unwrap()
            .events
            .len(),
        before
    );

    // Uses made in the other system raise the count; the limit and expiry follow.
    let moved = api::MirrorInviteRequest {
        uses: 4,
        max_uses: Some(6),
        ..first.clone()
    };
    let updated = alice.mirror_invite("directive-17", &moved).await.unwrap();
    assert_eq!(updated.outcome, api::MirrorOutcome::Updated);
    assert_eq!((updated.invite.uses, updated.invite.max_uses), (4, Some(6)));
    let ev = alice
        .list_events(&EventQuery {
            kind: Some("invite.updated"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ev.events[0].data["external_id"], "directive-17");
    assert_eq!(ev.events[0].data["uses"], 4);

    // An external id names a link within its space: the same id on another space is
    // another link (here refused, its code being this link's).
    t.child_space(&alice, "acme/eng/", None).await;
    assert_eq!(
        code(
            alice
                .mirror_invite(
                    "directive-17",
                    &api::MirrorInviteRequest {
                        space: "acme/eng/".into(),
                        ..moved.clone()
                    }
                )
                .await
        ),
        "already_exists"
    );
    // What cannot change, or is malformed, is refused and changes nothing: uses
    // past what any link may have (found by Schemathesis: it was taken).
    assert_eq!(
        field(
            alice
                .mirror_invite(
                    "directive-17",
                    &api::MirrorInviteRequest {
                        uses: 1_000_001,
                        ..moved.clone()
                    }
                )
                .await
        ),
        "uses"
    );
    assert_eq!(
        field(
            alice
                .mirror_invite(
                    "directive-17",
                    &api::MirrorInviteRequest {
                        role: Some("admin".into()),
                        ..moved.clone()
                    }
                )
                .await
        ),
        "role"
    );
    assert_eq!(
        field(
            alice
                .mirror_invite(
                    "directive-17",
                    &api::MirrorInviteRequest {
                        code: Some("OtherCode99".into()),
                        ..moved.clone()
                    }
                )
                .await
        ),
        "code"
    );
    assert_eq!(
        field(
            alice
                .mirror_invite(
                    "directive-17",
                    &api::MirrorInviteRequest {
                        max_uses: Some(3),
                        ..moved.clone()
                    }
                )
                .await
        ),
        "uses"
    );
    assert_eq!(
        field(
            alice
                .mirror_invite(
                    "directive-18",
                    &api::MirrorInviteRequest {
                        code: Some("bad code!".into()),
                        ..mirror("acme/")
                    }
                )
                .await
        ),
        "code"
    );
    // A carried code that another link has: refused, nothing created.
    let r = t
        .user("olga")
        .mirror_invite(
            "directive-18",
            &api::MirrorInviteRequest {
                code: Some("LegacyCode42".into()),
                ..mirror("other/")
            },
        )
        .await;
    assert_eq!(code(r), "already_exists");
    let res = alice
        .request(
            reqwest::Method::PUT,
            "/api/v1/invites/by-external-id/directive-19",
        )
        .json(&serde_json::json!({ "space": "acme/", "legacy_flag": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "an unknown field is refused");
    // Another space's admin cannot touch it; a member cannot mirror.
    assert_eq!(
        code(t.user("olga").mirror_invite("directive-17", &moved).await),
        "not_found"
    );
    assert_eq!(
        code(
            t.user("bob")
                .mirror_invite("directive-20", &mirror("acme/"))
                .await
        ),
        "forbidden"
    );

    // Revoked there: revoked here, with its event; it stays revoked.
    let revoked = alice
        .mirror_invite(
            "directive-17",
            &api::MirrorInviteRequest {
                revoked: true,
                ..moved.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(revoked.invite.state, api::InviteState::Revoked);
    assert_eq!(
        code(t.user("carol").join_invite("LegacyCode42", None).await),
        "not_found"
    );
    assert_eq!(
        field(alice.mirror_invite("directive-17", &moved).await),
        "revoked"
    );
    // Without a code, one is generated and shown this once.
    let fresh = alice
        .mirror_invite("directive-21", &mirror("acme/"))
        .await
        .unwrap();
    let code21 = fresh.code.unwrap();
    t.user("dan").join_invite(&code21, None).await.unwrap();
    let listed = alice.list_invites(&InviteQuery::default()).await.unwrap();
    assert_eq!(
        listed.invites.len(),
        2,
        "directive-17 and directive-21, nothing else"
    );
}
