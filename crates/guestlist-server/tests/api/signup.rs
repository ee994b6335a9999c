//! The platform sign-up gate (seed 003): modes, two-phase claims that never overshoot
//! the cap, platform invitations and referrals.

use std::time::Duration;

use guestlist_client::{Client, EventQuery, api};

use crate::helpers::{TestApp, code};

fn gate(mode: &str, cap: Option<u32>) -> api::GateSettings {
    api::GateSettings {
        mode: mode.into(),
        cap,
        ..Default::default()
    }
}

fn claim(email: &str, token: Option<&str>) -> api::ClaimRequest {
    api::ClaimRequest {
        email: email.into(),
        token: token.map(str::to_owned),
        ttl_seconds: None,
    }
}

/// Signs someone up all the way: claim, then confirm.
async fn sign_up(platform: &Client, email: &str, token: Option<&str>, user: &str) -> api::Claim {
    let c = platform
        .claim_signup(&claim(email, token))
        .await
        .expect("claimed");
    platform
        .confirm_signup(c.id, user)
        .await
        .expect("confirmed")
}

#[tokio::test]
async fn the_gate_admits_in_each_mode() {
    let app = TestApp::spawn().await;
    let platform = app.platform();
    let public = app.client.anonymous();
    let cfg = public.signup_config().await.unwrap();
    assert_eq!(
        (cfg.mode.as_str(), cfg.cap, cfg.remaining),
        ("open", None, None)
    );
    sign_up(&platform, "open@example.com", None, "u-open").await;

    platform
        .set_signup_config(&gate("invite_only", None))
        .await
        .unwrap();
    assert_eq!(
        code(platform.claim_signup(&claim("a@example.com", None)).await),
        "signup_closed"
    );
    let inv = platform
        .create_platform_invitation(&Default::default())
        .await
        .unwrap();
    sign_up(&platform, "a@example.com", Some(&inv.token), "u-a").await;

    platform
        .set_signup_config(&gate("capped", Some(3)))
        .await
        .unwrap();
    let cfg = public.signup_config().await.unwrap();
    assert_eq!(
        (cfg.mode.as_str(), cfg.cap, cfg.remaining),
        ("capped", Some(3), Some(1)),
        "two signed up"
    );
    sign_up(&platform, "b@example.com", None, "u-b").await;
    assert_eq!(
        code(platform.claim_signup(&claim("c@example.com", None)).await),
        "signup_closed"
    );

    // Invite-only with a cap: a token is needed and the cap still holds.
    platform
        .set_signup_config(&gate("invite_only", Some(4)))
        .await
        .unwrap();
    let inv = platform
        .create_platform_invitation(&api::CreatePlatformInvitationRequest {
            max_uses: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        code(platform.claim_signup(&claim("d@example.com", None)).await),
        "signup_closed"
    );
    sign_up(&platform, "d@example.com", Some(&inv.token), "u-d").await;
    assert_eq!(
        code(
            platform
                .claim_signup(&claim("e@example.com", Some(&inv.token)))
                .await
        ),
        "signup_closed"
    );

    // Only a platform admin sets the gate or claims; bad settings are refused.
    let user = app.user("someone");
    assert_eq!(
        code(user.set_signup_config(&gate("open", None)).await),
        "forbidden"
    );
    assert_eq!(
        code(user.claim_signup(&claim("f@example.com", None)).await),
        "forbidden"
    );
    assert_eq!(
        code(platform.set_signup_config(&gate("capped", None)).await),
        "invalid_input"
    );
    assert_eq!(
        code(platform.set_signup_config(&gate("closed", None)).await),
        "invalid_input"
    );
    assert_eq!(
        code(platform.claim_signup(&claim("not an address", None)).await),
        "invalid_input"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_claims_on_a_cap_of_ten_take_exactly_ten_seats() {
    let app = TestApp::spawn().await;
    let platform = app.platform();
    platform
        .set_signup_config(&gate("capped", Some(10)))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let p = platform.clone();
            tokio::spawn(async move {
                p.claim_signup(&claim(&format!("racer{i}@example.com"), None))
                    .await
            })
        })
        .collect();
    let (mut won, mut closed) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(c) => {
                assert_eq!(c.state, "reserved");
                won += 1;
            }
            Err(e) => {
                assert_eq!(e.code(), Some("signup_closed"), "{e}");
                closed += 1;
            }
        }
    }
    assert_eq!((won, closed), (10, 90));
    assert_eq!(
        app.platform().signup_config().await.unwrap().remaining,
        Some(0)
    );
    assert_eq!(
        app.column_text("SELECT email FROM signup_claims")
            .await
            .len(),
        10
    );
}

#[tokio::test]
async fn released_and_lapsed_claims_free_their_seats() {
    let app = TestApp::spawn().await;
    let platform = app.platform();
    platform
        .set_signup_config(&gate("capped", Some(1)))
        .await
        .unwrap();
    let a = platform
        .claim_signup(&claim("a@example.com", None))
        .await
        .unwrap();
    assert_eq!(
        code(platform.claim_signup(&claim("b@example.com", None)).await),
        "signup_closed"
    );
    let released = platform.release_signup(a.id).await.unwrap();
    assert_eq!(released.state, "released");
    platform
        .release_signup(a.id)
        .await
        .expect("releasing again is fine");
    assert_eq!(
        code(platform.confirm_signup(a.id, "u-a").await),
        "not_pending"
    );

    // A claim that is neither confirmed nor released lapses by itself.
    let mut short = claim("b@example.com", None);
    short.ttl_seconds = Some(1);
    let b = platform.claim_signup(&short).await.unwrap();
    assert_eq!(
        code(platform.claim_signup(&claim("c@example.com", None)).await),
        "signup_closed"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(code(platform.confirm_signup(b.id, "u-b").await), "expired");
    let c = platform
        .claim_signup(&claim("c@example.com", None))
        .await
        .expect("b's seat came back");
    platform.confirm_signup(c.id, "u-c").await.unwrap();
    let again = platform
        .confirm_signup(c.id, "u-c")
        .await
        .expect("a repeated confirm is a success");
    assert_eq!(again.state, "confirmed");
    assert_eq!(
        code(platform.confirm_signup(c.id, "someone-else").await),
        "not_pending"
    );
    assert_eq!(platform.signup_config().await.unwrap().remaining, Some(0));
    // E-mails are unique case-insensitively.
    platform
        .set_signup_config(&gate("open", None))
        .await
        .unwrap();
    assert_eq!(
        code(platform.claim_signup(&claim(" C@Example.COM", None)).await),
        "already_exists"
    );
    let d = platform
        .claim_signup(&claim("d@example.com", None))
        .await
        .unwrap();
    assert_eq!(
        code(platform.confirm_signup(d.id, "u-c").await),
        "already_exists",
        "one sign-up per user"
    );
}

#[tokio::test]
async fn tokens_open_the_gate_once_and_say_why_they_do_not() {
    let app = TestApp::spawn().await;
    let platform = app.platform();
    platform
        .set_signup_config(&gate("invite_only", None))
        .await
        .unwrap();
    let public = app.client.anonymous();
    let bound = platform
        .create_platform_invitation(&api::CreatePlatformInvitationRequest {
            email: Some("Ada@Example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        bound.link,
        format!("https://app.example.com/signup?invitation={}", bound.token)
    );
    let check = public.verify_signup_token(&bound.token).await.unwrap();
    assert_eq!(
        (check.valid, check.email.as_deref()),
        (true, Some("ada@example.com"))
    );
    assert_eq!(
        code(
            platform
                .claim_signup(&claim("eve@example.com", Some(&bound.token)))
                .await
        ),
        "email_mismatch"
    );
    let c = platform
        .claim_signup(&claim("ADA@example.com", Some(&bound.token)))
        .await
        .unwrap();
    assert!(
        !public
            .verify_signup_token(&bound.token)
            .await
            .unwrap()
            .valid,
        "held by a claim"
    );

    // A single-use token held by a claim: another claim fails clearly.
    let open = platform
        .create_platform_invitation(&Default::default())
        .await
        .unwrap();
    platform
        .claim_signup(&claim("first@example.com", Some(&open.token)))
        .await
        .unwrap();
    assert_eq!(
        code(
            platform
                .claim_signup(&claim("second@example.com", Some(&open.token)))
                .await
        ),
        "token_in_use"
    );

    platform.confirm_signup(c.id, "ada").await.unwrap();
    assert!(
        !public
            .verify_signup_token(&bound.token)
            .await
            .unwrap()
            .valid,
        "used"
    );
    assert_eq!(
        code(
            platform
                .claim_signup(&claim("ada2@example.com", Some(&bound.token)))
                .await
        ),
        "email_mismatch"
    );
    let used = platform
        .create_platform_invitation(&Default::default())
        .await
        .unwrap();
    sign_up(&platform, "u@example.com", Some(&used.token), "u").await;
    assert_eq!(
        code(
            platform
                .claim_signup(&claim("v@example.com", Some(&used.token)))
                .await
        ),
        "exhausted"
    );

    // The event carries the referral.
    let events = platform
        .list_events(&EventQuery {
            kind: Some("invitation.accepted"),
            ..Default::default()
        })
        .await
        .unwrap();
    let ada = events
        .events
        .iter()
        .find(|e| e.subject.as_deref() == Some("ada"))
        .expect("the event");
    assert_eq!(ada.data["email"], "ada@example.com");
    assert_eq!(ada.data["invited_by"], "key:test-platform");
    assert_eq!(ada.data["invitation_id"], bound.invitation.id.to_string());
    assert_eq!(ada.data["user_id"], "ada");

    // A revoked token never opens the gate; an unknown one neither.
    let revoked = platform
        .create_platform_invitation(&Default::default())
        .await
        .unwrap();
    platform
        .revoke_platform_invitation(revoked.invitation.id)
        .await
        .unwrap();
    assert!(
        !public
            .verify_signup_token(&revoked.token)
            .await
            .unwrap()
            .valid
    );
    assert_eq!(
        code(
            platform
                .claim_signup(&claim("w@example.com", Some(&revoked.token)))
                .await
        ),
        "not_found"
    );
    let unknown = "A".repeat(32);
    assert!(!public.verify_signup_token(&unknown).await.unwrap().valid);
    assert!(!public.verify_signup_token("short").await.unwrap().valid);
    assert_eq!(
        code(
            platform
                .claim_signup(&claim("w@example.com", Some(&unknown)))
                .await
        ),
        "not_found"
    );
    // No list shows a token.
    let listed =
        serde_json::to_string(&platform.list_platform_invitations(None).await.unwrap()).unwrap();
    assert!(!listed.contains(&open.token) && !listed.contains(&bound.token));
}

#[tokio::test]
async fn referrals_count_and_a_subtree_is_revoked_in_one_call() {
    let app = TestApp::spawn().await;
    let platform = app.platform();
    let alice = app.user("alice");
    assert_eq!(
        code(alice.create_platform_invitation(&Default::default()).await),
        "forbidden"
    );
    platform
        .set_signup_config(&api::GateSettings {
            mode: "invite_only".into(),
            user_invitations: true,
            user_quota: Some(3),
            ..Default::default()
        })
        .await
        .unwrap();
    sign_up(
        &platform,
        "alice@example.com",
        Some(
            &platform
                .create_platform_invitation(&Default::default())
                .await
                .unwrap()
                .token,
        ),
        "alice",
    )
    .await;
    let to_bob = alice
        .create_platform_invitation(&Default::default())
        .await
        .unwrap();
    let _pending = alice
        .create_platform_invitation(&Default::default())
        .await
        .unwrap();
    let expiring = alice
        .create_platform_invitation(&api::CreatePlatformInvitationRequest {
            expires_in: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        code(alice.create_platform_invitation(&Default::default()).await),
        "forbidden",
        "quota of 3"
    );
    sign_up(&platform, "bob@example.com", Some(&to_bob.token), "bob").await;
    let bob = app.user("bob");
    let to_carol = bob
        .create_platform_invitation(&Default::default())
        .await
        .unwrap();
    let bobs_pending = bob
        .create_platform_invitation(&Default::default())
        .await
        .unwrap();
    sign_up(
        &platform,
        "carol@example.com",
        Some(&to_carol.token),
        "carol",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(expiring.invitation.invited_by, "alice");

    let mine = alice.referrals(None).await.unwrap();
    assert_eq!(
        mine.counts,
        api::ReferralCounts {
            invited: 3,
            joined: 1,
            pending: 1,
            expired: 1,
            revoked: 0
        }
    );
    assert_eq!(
        mine.joined
            .iter()
            .map(|s| s.user_id.as_str())
            .collect::<Vec<_>>(),
        ["bob"]
    );
    assert_eq!(
        alice
            .list_platform_invitations(None)
            .await
            .unwrap()
            .invitations
            .len(),
        3,
        "her own"
    );
    assert_eq!(code(alice.referrals(Some("bob")).await), "forbidden");
    assert_eq!(code(alice.referral_tree("alice").await), "forbidden");

    let tree = platform.referral_tree("alice").await.unwrap();
    let nodes: Vec<(&str, u32)> = tree
        .nodes
        .iter()
        .map(|n| (n.signup.user_id.as_str(), n.depth))
        .collect();
    assert_eq!(nodes, [("bob", 1), ("carol", 2)]);
    assert_eq!(
        platform.referrals(Some("bob")).await.unwrap().counts.joined,
        1
    );

    // The moderator revokes alice's subtree: her live invitation and bob's.
    let revoked = platform.revoke_referral_subtree("alice").await.unwrap();
    let mut ids: Vec<_> = revoked.invitations.iter().map(|i| i.id).collect();
    ids.sort();
    let mut expected = vec![_pending.invitation.id, bobs_pending.invitation.id];
    expected.sort();
    assert_eq!(
        ids, expected,
        "only live ones: not the used, not the expired"
    );
    assert!(
        !app.client
            .anonymous()
            .verify_signup_token(&bobs_pending.token)
            .await
            .unwrap()
            .valid
    );
    assert_eq!(alice.referrals(None).await.unwrap().counts.revoked, 1);
    let events = platform
        .list_events(&EventQuery {
            kind: Some("platform_invitation.revoked"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.events.len(), 2);
}

#[tokio::test]
async fn claims_and_token_checks_are_rate_limited_per_client() {
    let app = TestApp::spawn_with(guestlist_app::RateLimitConfig {
        preview_per_minute_per_ip: 2,
        join_per_minute_per_ip: 1000,
        per_minute_per_user: 1000,
        signup_per_minute_per_ip: 2,
    })
    .await;
    let platform = app.platform();
    for i in 0..2 {
        platform
            .claim_signup(&claim(&format!("c{i}@example.com"), None))
            .await
            .unwrap();
    }
    let e = platform
        .claim_signup(&claim("c2@example.com", None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("rate_limited"));
    let public = app.client.anonymous();
    for _ in 0..2 {
        public.verify_signup_token(&"A".repeat(32)).await.unwrap();
    }
    assert_eq!(
        code(public.verify_signup_token(&"A".repeat(32)).await),
        "rate_limited"
    );
}

/// An e-mail-bound platform invitation goes out through the same outbox as space
/// invitations, to the SMTP server on 127.0.0.1: its link carries the token (never
/// stored), its delivery state shows, and a resend mails a new token and refuses the
/// old one. One without an address sends nothing.
#[tokio::test]
async fn an_email_bound_platform_invitation_is_mailed_and_can_be_resent() {
    let t = TestApp::spawn().await;
    let platform = t.platform();
    platform
        .set_signup_config(&gate("invite_only", None))
        .await
        .unwrap();
    let created = platform
        .create_platform_invitation(&api::CreatePlatformInvitationRequest {
            email: Some("Nia@Example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let id = created.invitation.id;
    let mails = t.smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mails[0].to, vec!["nia@example.com".to_owned()]);
    assert!(
        mails[0].decoded().contains("invited you to sign up"),
        "{}",
        mails[0].decoded()
    );
    let mailed = mails[0]
        .find_after("invitation=", 32)
        .unwrap_or_else(|| panic!("no token in {}", mails[0].decoded()));
    assert_eq!(
        mailed, created.token,
        "the e-mail carries the invitation's token"
    );
    assert!(created.link.ends_with(&mailed));

    // Its delivery shows in the list.
    let mut delivery = None;
    for _ in 0..200 {
        let page = platform.list_platform_invitations(None).await.unwrap();
        let row = page.invitations.into_iter().find(|i| i.id == id).unwrap();
        if row
            .delivery
            .as_ref()
            .is_some_and(|d| d.state == api::DeliveryState::Sent)
        {
            delivery = row.delivery;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let delivery = delivery.expect("the delivery became sent");
    assert_eq!(delivery.attempts, 1);
    assert!(delivery.sent_at.is_some());

    // Not again within a minute of the first send.
    assert_eq!(
        code(platform.resend_platform_invitation(id).await),
        "rate_limited"
    );
    t.exec("UPDATE platform_invitations SET last_sent_at = 0")
        .await;
    // A resend: a new token by e-mail, the old one refused from now on.
    let again = platform.resend_platform_invitation(id).await.unwrap();
    assert_ne!(again.token, created.token);
    assert_eq!(again.invitation.sends, 2);
    let mails = t.smtp.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(
        mails[1].find_after("invitation=", 32),
        Some(again.token.clone())
    );
    assert!(
        !t.client
            .verify_signup_token(&created.token)
            .await
            .unwrap()
            .valid
    );
    assert!(
        t.client
            .verify_signup_token(&again.token)
            .await
            .unwrap()
            .valid
    );
    // The mailed token signs Nia up.
    sign_up(&platform, "nia@example.com", Some(&again.token), "nia").await;
    // Used up: nothing to resend.
    t.exec("UPDATE platform_invitations SET last_sent_at = 0")
        .await;
    assert_eq!(
        code(platform.resend_platform_invitation(id).await),
        "exhausted"
    );

    // Without an address, nothing is mailed; a resend only changes the token.
    let plain = platform
        .create_platform_invitation(&api::CreatePlatformInvitationRequest::default())
        .await
        .unwrap();
    assert!(plain.invitation.delivery.is_none());
    t.exec("UPDATE platform_invitations SET last_sent_at = 0")
        .await;
    let renewed = platform
        .resend_platform_invitation(plain.invitation.id)
        .await
        .unwrap();
    assert_ne!(renewed.token, plain.token);
    assert!(renewed.invitation.delivery.is_none());
    assert!(
        !t.client
            .verify_signup_token(&plain.token)
            .await
            .unwrap()
            .valid
    );
    assert!(
        t.client
            .verify_signup_token(&renewed.token)
            .await
            .unwrap()
            .valid
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(t.smtp.mails().len(), 2);
}
