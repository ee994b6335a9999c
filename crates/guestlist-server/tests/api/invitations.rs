//! Invitations addressed to one person: the provisioning lifecycle (seed 004), binding
//! to the addressee, real e-mail delivery through the outbox to an SMTP server on
//! 127.0.0.1, bulk, idempotency, and the races.

use std::time::Duration;

use guestlist_client::{Client, InvitationQuery, api};
use guestlist_testkit::smtp::Mail;

use crate::helpers::{Setup, TestApp, code};

const TOKEN_LEN: usize = 32;

fn to(space: &str, email: &str) -> api::CreateInvitationRequest {
    api::CreateInvitationRequest {
        space: space.into(),
        email: Some(email.into()),
        ..Default::default()
    }
}

fn token_of(mail: &Mail) -> String {
    mail.find_after("token=", TOKEN_LEN)
        .unwrap_or_else(|| panic!("no token in {}", mail.decoded()))
}

/// The mail to `addr` among those received, the latest first.
fn latest_to(app: &TestApp, addr: &str) -> Mail {
    app.smtp
        .mails()
        .into_iter()
        .rev()
        .find(|m| m.to.iter().any(|t| t == addr))
        .unwrap_or_else(|| panic!("no mail to {addr}"))
}

async fn invited(by: &Client, req: &api::CreateInvitationRequest) -> api::Invitation {
    let r = by.create_invitation(req, None).await.expect("invited");
    assert_eq!(r.outcome, api::InvitationOutcome::Invited);
    r.invitation.expect("the invitation")
}

/// Waits until the invitation's e-mail reaches `state`.
async fn delivery_reaches(by: &Client, id: uuid::Uuid, state: api::DeliveryState) -> api::Delivery {
    for _ in 0..200 {
        let i = by.get_invitation(id).await.unwrap();
        if let Some(d) = i.delivery.filter(|d| d.state == state) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the delivery never became {state:?}");
}

#[tokio::test]
async fn the_email_arrives_and_its_link_accepts_the_invitation() {
    let app = TestApp::spawn().await;
    let admin = app.space_with_admin("acme/", "root").await;
    let mut req = to("acme/", "  Ada@Example.COM ");
    req.message = Some("Welcome <aboard> & enjoy".into());
    let inv = invited(&admin, &req).await;
    assert_eq!(
        inv.email.as_deref(),
        Some("ada@example.com"),
        "trimmed, lower-cased"
    );
    assert_eq!(inv.status, api::InvitationStatus::Pending);
    assert_eq!(inv.role, "member");

    let mail = app
        .smtp
        .wait_for(1, Duration::from_secs(10))
        .await
        .remove(0);
    assert_eq!(mail.to, vec!["ada@example.com".to_owned()]);
    let text = mail.decoded();
    assert!(text.contains("invited you to acme"), "{text}");
    assert!(
        text.contains("&lt;aboard&gt; &amp; enjoy"),
        "the HTML part escapes: {text}"
    );
    let token = token_of(&mail);
    assert!(text.contains(&format!(
        "https://app.example.com/invitations/accept?token={token}"
    )));
    let sent = delivery_reaches(&admin, inv.id, api::DeliveryState::Sent).await;
    assert_eq!(sent.attempts, 1);
    assert!(sent.sent_at.is_some() && sent.last_error.is_none());

    let ada = app.user_as("ada", Some("ada@example.com"), true, None);
    let answer = ada.accept_invitation(&token).await.expect("accepted");
    assert_eq!(answer.outcome, Some(api::JoinOutcome::Joined));
    assert_eq!(answer.invitation.status, api::InvitationStatus::Accepted);
    let m = answer.membership.expect("a membership");
    assert_eq!(
        (m.user_id.as_str(), m.source.as_str(), m.role.as_str()),
        ("ada", "invitation", "member")
    );

    // Accepting again is an idempotent success, not an error.
    let again = ada.accept_invitation(&token).await.unwrap();
    assert_eq!(again.outcome, Some(api::JoinOutcome::AlreadyMember));

    // The token is in no list, no event, no stored row.
    let listed = serde_json::to_string(
        &admin
            .list_invitations(&InvitationQuery::default())
            .await
            .unwrap(),
    )
    .unwrap();
    let events = admin.list_events(&Default::default()).await.unwrap();
    let kinds: Vec<&str> = events.events.iter().map(|e| e.kind.as_str()).collect();
    for kind in ["invitation.created", "invitation.accepted", "member.joined"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let accepted = events
        .events
        .iter()
        .find(|e| e.kind == "invitation.accepted")
        .unwrap();
    assert_eq!(accepted.data["email"], "ada@example.com");
    assert_eq!(accepted.data["invited_by"], "root");
    assert!(!listed.contains(&token) && !serde_json::to_string(&events).unwrap().contains(&token));
    let stored = app.column_bytes("SELECT token_hash FROM invitations").await;
    assert_eq!(stored.len(), 1);
    assert!(!String::from_utf8_lossy(&stored[0]).contains(&token));
    assert!(
        app.column_text("SELECT recipient FROM mail_outbox")
            .await
            .iter()
            .all(|r| !r.contains(&token))
    );
}

/// The identity-governance connector's table (seed 004).
#[tokio::test]
async fn the_provisioning_lifecycle_has_idempotent_outcomes() {
    let app = TestApp::spawn().await;
    let admin = app.space_with_admin("gh/", "root").await;

    // New → invited (action required); again → already_invited, the same one.
    let first = invited(&admin, &to("gh/", "new@example.com")).await;
    let again = admin
        .create_invitation(&to("gh/", "NEW@example.com"), None)
        .await
        .unwrap();
    assert_eq!(again.outcome, api::InvitationOutcome::AlreadyInvited);
    assert_eq!(again.invitation.unwrap().id, first.id);
    // By username too: a pending invitation to that username is found by it.
    let by_name = api::CreateInvitationRequest {
        space: "gh/".into(),
        username: Some("Octo".into()),
        ..Default::default()
    };
    let octo = invited(&admin, &by_name).await;
    assert_eq!(octo.username.as_deref(), Some("octo"));
    let r = admin.create_invitation(&by_name, None).await.unwrap();
    assert_eq!(r.outcome, api::InvitationOutcome::AlreadyInvited);

    // A member → already_member, with the membership: by the e-mail they joined
    // with, and by user id.
    let link = app.invite(&admin, crate::helpers::invite_req("gh/")).await;
    app.user("mem").join_invite(&link.code, None).await.unwrap();
    let r = admin
        .create_invitation(&to("gh/", "Mem@Example.com"), None)
        .await
        .unwrap();
    assert_eq!(r.outcome, api::InvitationOutcome::AlreadyMember);
    assert_eq!(r.membership.unwrap().user_id, "mem");
    assert!(r.invitation.is_none());
    let by_id = api::CreateInvitationRequest {
        space: "gh/".into(),
        user_id: Some("root".into()),
        ..Default::default()
    };
    let r = admin.create_invitation(&by_id, None).await.unwrap();
    assert_eq!(r.outcome, api::InvitationOutcome::AlreadyMember);

    // Expired: listed as expired, its token refused; resend → pending with a new
    // token, the old one refused.
    let mut short = to("gh/", "late@example.com");
    short.expires_in_seconds = Some(1);
    let late = invited(&admin, &short).await;
    app.smtp.wait_for(2, Duration::from_secs(10)).await;
    let old_token = token_of(&latest_to(&app, "late@example.com"));
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let expired = admin
        .list_invitations(&InvitationQuery {
            status: Some("expired"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        expired.invitations.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![late.id]
    );
    let pending = admin
        .list_invitations(&InvitationQuery {
            status: Some("pending"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(pending.invitations.iter().all(|i| i.id != late.id));
    let late_user = app.user_as("late", Some("late@example.com"), true, None);
    assert_eq!(
        code(late_user.accept_invitation(&old_token).await),
        "expired"
    );

    let resent = admin
        .resend_invitation(late.id)
        .await
        .expect("an expired invitation is re-sent");
    assert_eq!(resent.status, api::InvitationStatus::Pending);
    assert_eq!(resent.sends, 2);
    assert!(resent.expires_at > late.expires_at);
    app.smtp.wait_for(3, Duration::from_secs(10)).await;
    let new_token = token_of(&latest_to(&app, "late@example.com"));
    assert_ne!(new_token, old_token);
    assert_eq!(
        code(late_user.accept_invitation(&old_token).await),
        "not_found"
    );
    let ok = late_user.accept_invitation(&new_token).await.unwrap();
    assert_eq!(ok.outcome, Some(api::JoinOutcome::Joined));

    // Inviting someone whose invitation expired sends it again (GitHub's behaviour).
    let mut brief = to("gh/", "twice@example.com");
    brief.expires_in_seconds = Some(1);
    let once = invited(&admin, &brief).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let r = admin
        .create_invitation(&to("gh/", "twice@example.com"), None)
        .await
        .unwrap();
    assert_eq!(r.outcome, api::InvitationOutcome::Invited);
    let reissued = r.invitation.unwrap();
    assert_eq!(
        (reissued.id, reissued.sends, reissued.status),
        (once.id, 2, api::InvitationStatus::Pending)
    );
}

#[tokio::test]
async fn only_the_addressee_can_answer_and_a_refusal_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.space_with_admin("acme/", "root").await;
    let inv = invited(&admin, &to("acme/", "ada@example.com")).await;
    let token = token_of(&app.smtp.wait_for(1, Duration::from_secs(10)).await[0]);

    let unverified = app.user_as("ada", Some("ada@example.com"), false, None);
    assert_eq!(
        code(unverified.accept_invitation(&token).await),
        "email_unverified"
    );
    let someone = app.user_as("eve", Some("eve@example.com"), true, None);
    assert_eq!(
        code(someone.accept_invitation(&token).await),
        "email_mismatch"
    );
    assert_eq!(
        code(someone.decline_invitation(&token).await),
        "email_mismatch"
    );
    assert_eq!(
        code(someone.answer_my_invitation(inv.id, true).await),
        "not_found"
    );
    let anonymous = app.client.anonymous();
    assert_eq!(
        code(anonymous.accept_invitation(&token).await),
        "unauthenticated"
    );
    assert_eq!(
        code(someone.accept_invitation("not-a-token").await),
        "not_found"
    );
    assert_eq!(
        code(someone.accept_invitation(&"A".repeat(TOKEN_LEN)).await),
        "not_found"
    );
    let still = admin.get_invitation(inv.id).await.unwrap();
    assert_eq!(still.status, api::InvitationStatus::Pending);
    assert_eq!(
        app.platform()
            .list_members("acme/", None, None)
            .await
            .unwrap()
            .members
            .len(),
        1
    );

    // Addressed by username: that username accepts, whatever its e-mail.
    let by_name = api::CreateInvitationRequest {
        space: "acme/".into(),
        username: Some("octo".into()),
        role: Some("viewer".into()),
        ..Default::default()
    };
    let octo_inv = invited(&admin, &by_name).await;
    assert!(octo_inv.delivery.is_none(), "no address, no e-mail");
    let octo = app.user_as("u-octo", None, false, Some("Octo"));
    let mine = octo.my_invitations().await.unwrap();
    assert_eq!(
        mine.invitations.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![octo_inv.id]
    );
    let r = octo.answer_my_invitation(octo_inv.id, true).await.unwrap();
    assert_eq!(r.outcome, Some(api::JoinOutcome::Joined));
    assert_eq!(r.membership.unwrap().role, "viewer");
    assert!(octo.my_invitations().await.unwrap().invitations.is_empty());

    // A full space refuses the accept, and the invitation stays pending.
    admin
        .update_space(
            "acme/",
            &api::UpdateSpaceRequest {
                member_limit: Some(Some(2)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ada = app.user_as("ada", Some("ada@example.com"), true, None);
    assert_eq!(
        code(ada.accept_invitation(&token).await),
        "member_limit_reached"
    );
    assert_eq!(
        admin.get_invitation(inv.id).await.unwrap().status,
        api::InvitationStatus::Pending
    );
}

#[tokio::test]
async fn decline_revoke_and_resend_follow_the_lifecycle() {
    let app = TestApp::spawn().await;
    let admin = app.space_with_admin("acme/", "root").await;
    let a = invited(&admin, &to("acme/", "a@example.com")).await;
    let b = invited(&admin, &to("acme/", "b@example.com")).await;
    app.smtp.wait_for(2, Duration::from_secs(10)).await;
    let (ta, tb) = (
        token_of(&latest_to(&app, "a@example.com")),
        token_of(&latest_to(&app, "b@example.com")),
    );

    let ua = app.user_as("ua", Some("a@example.com"), true, None);
    let d = ua.decline_invitation(&ta).await.unwrap();
    assert_eq!(
        (d.invitation.status, d.outcome),
        (api::InvitationStatus::Declined, None)
    );
    assert_eq!(code(ua.accept_invitation(&ta).await), "not_pending");
    assert_eq!(code(admin.revoke_invitation(a.id).await), "not_pending");
    assert_eq!(code(admin.resend_invitation(a.id).await), "not_pending");
    // After a decline the person may be invited anew.
    let r = admin
        .create_invitation(&to("acme/", "a@example.com"), None)
        .await
        .unwrap();
    assert_eq!(r.outcome, api::InvitationOutcome::Invited);
    assert_ne!(r.invitation.unwrap().id, a.id);

    // A pending one is re-sent at most once per interval.
    let limited = admin.resend_invitation(b.id).await.unwrap_err();
    assert_eq!(limited.code(), Some("rate_limited"));
    assert!(
        matches!(limited, guestlist_client::ClientError::Api { retry_after: Some(s), .. } if s > 0)
    );

    let revoked = admin.revoke_invitation(b.id).await.unwrap();
    assert_eq!(revoked.status, api::InvitationStatus::Revoked);
    assert_eq!(revoked.decided_by.as_deref(), Some("root"));
    let ub = app.user_as("ub", Some("b@example.com"), true, None);
    assert_eq!(
        code(ub.accept_invitation(&tb).await),
        "not_found",
        "a revoked token reads as unknown"
    );
    assert_eq!(code(admin.revoke_invitation(b.id).await), "not_pending");
    let listed = admin
        .list_invitations(&InvitationQuery {
            status: Some("revoked"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.invitations.len(), 1, "soft: kept for audit");

    // Outsiders learn nothing; bad input is refused with its field.
    let outsider = app.user("outsider");
    assert_eq!(code(outsider.get_invitation(b.id).await), "not_found");
    assert_eq!(
        code(
            outsider
                .create_invitation(&to("acme/", "x@example.com"), None)
                .await
        ),
        "not_found"
    );
    assert_eq!(
        code(
            admin
                .create_invitation(&to("acme/", "not-an-address"), None)
                .await
        ),
        "invalid_input"
    );
    let nobody = api::CreateInvitationRequest {
        space: "acme/".into(),
        ..Default::default()
    };
    assert_eq!(
        code(admin.create_invitation(&nobody, None).await),
        "invalid_input"
    );
    let mut forever = to("acme/", "x@example.com");
    forever.expires_in_seconds = Some(365 * 24 * 3600);
    assert_eq!(
        code(admin.create_invitation(&forever, None).await),
        "invalid_input"
    );
    // Nobody grants more than they hold.
    let manager = app.user("mgr");
    app.platform()
        .provision_member("acme/", "mgr", "member")
        .await
        .unwrap();
    let mut as_admin = to("acme/", "y@example.com");
    as_admin.role = Some("admin".into());
    assert_eq!(
        code(manager.create_invitation(&as_admin, None).await),
        "forbidden"
    );
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_answer() {
    let app = TestApp::spawn().await;
    let admin = app.space_with_admin("acme/", "root").await;
    let req = to("acme/", "ada@example.com");
    let first = admin.create_invitation(&req, Some("key-1")).await.unwrap();
    let retry = admin.create_invitation(&req, Some("key-1")).await.unwrap();
    assert_eq!(first.outcome, api::InvitationOutcome::Invited);
    assert_eq!(
        retry.outcome,
        api::InvitationOutcome::Invited,
        "the retry gets the first answer"
    );
    assert_eq!(retry, first, "the retry is the first answer, exactly");
    // Without the key, the same request is the idempotent already_invited.
    let plain = admin.create_invitation(&req, None).await.unwrap();
    assert_eq!(plain.outcome, api::InvitationOutcome::AlreadyInvited);
    let other = to("acme/", "bob@example.com");
    let e = admin
        .create_invitation(&other, Some("key-1"))
        .await
        .unwrap_err();
    // The same key with a different body: 422, as the Idempotency-Key draft says.
    assert_eq!(e.code(), Some("idempotency_key_reused"));
    // Whatever happens to the invitation after (here it is revoked), a retry with the
    // key answers as the first time did.
    let id = first.invitation.as_ref().unwrap().id;
    admin.revoke_invitation(id).await.unwrap();
    let again = admin.create_invitation(&req, Some("key-1")).await.unwrap();
    assert_eq!(again, first, "a later retry is still the first answer");
    // A day later the key is forgotten: the same request is simply answered again.
    app.exec("UPDATE idempotency_keys SET created_at = 0").await;
    assert_eq!(app.app.expire_idempotency_keys().await.unwrap(), 1);
    let later = admin.create_invitation(&req, Some("key-1")).await.unwrap();
    // (The revoked invitation stays for the audit; inviting again makes a new one.)
    assert_eq!(later.outcome, api::InvitationOutcome::Invited);
    assert_eq!(
        app.column_text("SELECT email FROM invitations").await,
        vec!["ada@example.com".to_owned(), "ada@example.com".to_owned()]
    );
}

#[tokio::test]
async fn bulk_answers_each_row_and_a_dry_run_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.space_with_admin("acme/", "root").await;
    invited(&admin, &to("acme/", "pending@example.com")).await;
    let row = |email: &str| api::Invitee {
        email: Some(email.into()),
        ..Default::default()
    };
    let mut req = api::BulkInvitationRequest {
        space: "acme/".into(),
        dry_run: true,
        rows: vec![
            row("one@example.com"),
            row("ONE@example.com"),
            row("pending@example.com"),
            row("broken"),
            api::Invitee {
                user_id: Some("root".into()),
                ..Default::default()
            },
            api::Invitee {
                email: Some("boss@example.com".into()),
                role: Some("nope".into()),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let dry = admin.bulk_invitations(&req, None).await.unwrap();
    assert!(dry.dry_run);
    let outcomes = |r: &api::BulkInvitationResult| {
        r.rows
            .iter()
            .map(|row| match (&row.outcome, &row.error) {
                (Some(o), _) => serde_json::to_value(o)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
                (None, Some(e)) => format!("error:{}", e.code),
                _ => unreachable!(),
            })
            .collect::<Vec<_>>()
    };
    let expected = [
        "invited",
        "already_invited",
        "already_invited",
        "error:invalid_input",
        "already_member",
        // A role the space does not define names nothing.
        "error:not_found",
    ];
    assert_eq!(outcomes(&dry), expected);
    assert_eq!(
        dry.summary,
        api::BulkSummary {
            invited: 1,
            already_invited: 2,
            already_member: 1,
            failed: 2
        }
    );
    assert_eq!(
        app.column_text("SELECT email FROM invitations").await.len(),
        1,
        "the dry run wrote nothing"
    );
    assert_eq!(
        app.column_text("SELECT recipient FROM mail_outbox")
            .await
            .len(),
        1
    );

    req.dry_run = false;
    let real = admin.bulk_invitations(&req, Some("bulk-1")).await.unwrap();
    assert_eq!(
        outcomes(&real),
        expected,
        "the dry run said what the real run did"
    );
    assert_eq!(
        real.rows[0].invitation.as_ref().unwrap().id,
        real.rows[1].invitation.as_ref().unwrap().id
    );
    assert_eq!(
        app.column_text("SELECT email FROM invitations").await.len(),
        2
    );
    app.smtp.wait_for(2, Duration::from_secs(10)).await;

    // 1,000 rows: more than the default body limit, within the bulk one.
    let many = api::BulkInvitationRequest {
        space: "acme/".into(),
        dry_run: true,
        role: Some("member".into()),
        rows: (0..1000)
            .map(|i| api::Invitee {
                email: Some(format!(
                    "someone-with-a-rather-long-name-{i:04}@example.com"
                )),
                role: Some("viewer".into()),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    assert!(serde_json::to_vec(&many).unwrap().len() > guestlist_server::MAX_BODY_BYTES);
    let r = admin.bulk_invitations(&many, None).await.unwrap();
    assert_eq!(r.summary.invited, 1000);
    let mut too_many = many.clone();
    too_many.rows.push(row("one-more@example.com"));
    assert_eq!(
        code(admin.bulk_invitations(&too_many, None).await),
        "invalid_input"
    );
}

#[tokio::test]
async fn mail_waits_out_an_smtp_outage_and_nothing_is_lost() {
    let app = TestApp::spawn().await;
    let admin = app.space_with_admin("acme/", "root").await;
    app.smtp.stop().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            invited(&admin, &to("acme/", &format!("p{n}@example.com")))
                .await
                .id,
        );
    }
    for id in &ids {
        // Tried, failed, and queued for another attempt with the error shown.
        for _ in 0..200 {
            let d = admin.get_invitation(*id).await.unwrap().delivery.unwrap();
            if d.attempts >= 2 {
                assert_eq!(d.state, api::DeliveryState::Queued);
                assert!(d.last_error.is_some());
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    assert!(app.smtp.mails().is_empty());
    app.smtp.restart().await;
    let mails = app.smtp.wait_for(3, Duration::from_secs(20)).await;
    for id in &ids {
        let d = delivery_reaches(&admin, *id, api::DeliveryState::Sent).await;
        assert!(d.attempts >= 2);
    }
    // Each exactly once; each token accepts.
    let mut to_whom: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to_whom.sort();
    assert_eq!(
        to_whom,
        ["p0@example.com", "p1@example.com", "p2@example.com"]
    );
    let p1 = app.user_as("p1", Some("p1@example.com"), true, None);
    p1.accept_invitation(&token_of(&latest_to(&app, "p1@example.com")))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_permanent_smtp_refusal_fails_the_message_at_once_and_a_temporary_one_is_retried() {
    let mut setup = Setup::default();
    setup.mail.max_attempts = 5;
    let app = TestApp::spawn_setup(setup).await;
    let admin = app.space_with_admin("acme/", "root").await;
    let refused = invited(&admin, &to("acme/", "refused@example.com")).await;
    let busy = invited(&admin, &to("acme/", "busy@example.com")).await;
    let fine = invited(&admin, &to("acme/", "fine@example.com")).await;
    // 550: failed on its first attempt, the server's reason shown.
    let d = delivery_reaches(&admin, refused.id, api::DeliveryState::Failed).await;
    assert_eq!(d.attempts, 1, "{d:?}");
    let reason = d.last_error.unwrap();
    assert!(
        reason.contains("refused by the SMTP server") && reason.contains("no such mailbox"),
        "{reason}"
    );
    // 451: tried again on the schedule until its last attempt.
    let d = delivery_reaches(&admin, busy.id, api::DeliveryState::Failed).await;
    assert_eq!(d.attempts, 5, "{d:?}");
    assert!(d.last_error.unwrap().contains("try again later"));
    // Neither held up the others.
    delivery_reaches(&admin, fine.id, api::DeliveryState::Sent).await;
}

/// An address the mail sender cannot send to is refused when it is given, naming the
/// field, and nothing is made: before, `a©b@example.com` and an emoji domain were
/// taken with 201 and then retried by the outbox.
#[tokio::test]
async fn an_address_the_mailer_cannot_send_to_is_refused_when_given_and_nothing_is_made() {
    let app = TestApp::spawn().await;
    let admin = app.space_with_admin("acme/", "root").await;
    for bad in [
        "a\u{a9}b@example.com",
        "ada@\u{1F600}.example.com",
        "ada@b\u{fc}cher.de",
        "a..da@example.com",
        "ada.@example.com",
        "ada@-example.com",
    ] {
        let e = admin
            .create_invitation(&to("acme/", bad), None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("invalid_input"), "{bad}: {e:?}");
        let guestlist_client::ClientError::Api { body, .. } = &e else {
            unreachable!()
        };
        assert_eq!(body.error.field.as_deref(), Some("email"), "{bad}");
    }
    let listed = admin
        .list_invitations(&InvitationQuery::default())
        .await
        .unwrap();
    assert!(listed.invitations.is_empty(), "{listed:?}");
    // The internationalised domain in its xn-- form is an address, and it is sent.
    let ok = invited(&admin, &to("acme/", "ada@xn--bcher-kva.de")).await;
    delivery_reaches(&admin, ok.id, api::DeliveryState::Sent).await;
}

#[tokio::test]
async fn a_message_is_marked_failed_after_its_last_attempt() {
    let mut setup = Setup::default();
    setup.mail.max_attempts = 2;
    setup.invitations.accept_url_template = "myapp://invite/{token}".into();
    let app = TestApp::spawn_setup(setup).await;
    let admin = app.space_with_admin("acme/", "root").await;
    app.smtp.stop().await;
    let inv = invited(&admin, &to("acme/", "ada@example.com")).await;
    let d = delivery_reaches(&admin, inv.id, api::DeliveryState::Failed).await;
    assert_eq!(d.attempts, 2);
    assert!(d.last_error.is_some());
    // A re-send after the outage goes out, with the app's deep link.
    app.smtp.restart().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let e = admin.resend_invitation(inv.id).await.unwrap_err();
    assert_eq!(
        e.code(),
        Some("rate_limited"),
        "still pending: the interval applies"
    );
    app.exec("UPDATE invitations SET last_sent_at = 0").await;
    admin.resend_invitation(inv.id).await.unwrap();
    let mail = app
        .smtp
        .wait_for(1, Duration::from_secs(10))
        .await
        .remove(0);
    let token = mail
        .find_after("myapp://invite/", TOKEN_LEN)
        .expect("a deep link");
    let ada = app.user_as("ada", Some("ada@example.com"), true, None);
    assert_eq!(
        ada.accept_invitation(&token).await.unwrap().outcome,
        Some(api::JoinOutcome::Joined)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_creates_for_one_address_make_one_invitation() {
    let app = TestApp::spawn().await;
    let admin = app.space_with_admin("acme/", "root").await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let admin = admin.clone();
            // Differently written, the same person.
            let email = if i % 2 == 0 {
                "Ada@Example.com"
            } else {
                " ada@example.com"
            };
            tokio::spawn(async move { admin.create_invitation(&to("acme/", email), None).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let r = t.await.unwrap().expect("every create succeeds");
        outcomes.push(r.outcome);
        ids.insert(r.invitation.unwrap().id);
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == api::InvitationOutcome::Invited)
            .count(),
        1
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == api::InvitationOutcome::AlreadyInvited)
            .count(),
        19
    );
    assert_eq!(ids.len(), 1, "all answer with the one invitation");
    assert_eq!(
        app.column_text("SELECT email FROM invitations").await.len(),
        1
    );
    assert_eq!(
        app.column_text("SELECT recipient FROM mail_outbox")
            .await
            .len(),
        1,
        "one e-mail"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_accepts_of_one_invitation_give_one_membership() {
    let app = TestApp::spawn().await;
    let admin = app.space_with_admin("acme/", "root").await;
    let inv = invited(&admin, &to("acme/", "ada@example.com")).await;
    let token = token_of(&app.smtp.wait_for(1, Duration::from_secs(10)).await[0]);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (ada, token) = (
                app.user_as("ada", Some("ada@example.com"), true, None),
                token.clone(),
            );
            tokio::spawn(async move { ada.accept_invitation(&token).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(
            t.await
                .unwrap()
                .expect("every accept succeeds")
                .outcome
                .unwrap(),
        );
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == api::JoinOutcome::Joined)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == api::JoinOutcome::AlreadyMember)
            .count(),
        9
    );
    let members = app
        .platform()
        .list_members("acme/", None, None)
        .await
        .unwrap()
        .members;
    assert_eq!(members.iter().filter(|m| m.user_id == "ada").count(), 1);
    assert_eq!(
        app.platform()
            .get_space("acme/")
            .await
            .unwrap()
            .member_count,
        2
    );
    let accepted = app
        .platform()
        .list_events(&guestlist_client::EventQuery {
            kind: Some("invitation.accepted"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(accepted.events.len(), 1);
    assert_eq!(
        guestlist_testkit::joined_events(&app.platform(), "acme/").await,
        2
    );
    assert_eq!(
        admin
            .get_invitation(inv.id)
            .await
            .unwrap()
            .decided_by
            .as_deref(),
        Some("ada")
    );
}

#[tokio::test]
async fn several_senders_deliver_each_message_once() {
    let app = TestApp::spawn().await;
    // Two more senders on the same outbox, as other replicas would run.
    for _ in 0..2 {
        let mailer = guestlist_workers::Mailer::new(app.mail.clone()).unwrap();
        guestlist_workers::spawn_sender(app.app.clone(), mailer);
    }
    let admin = app.space_with_admin("acme/", "root").await;
    let rows = (0..30)
        .map(|i| api::Invitee {
            email: Some(format!("p{i}@example.com")),
            ..Default::default()
        })
        .collect();
    let bulk = api::BulkInvitationRequest {
        space: "acme/".into(),
        rows,
        ..Default::default()
    };
    assert_eq!(
        admin
            .bulk_invitations(&bulk, None)
            .await
            .unwrap()
            .summary
            .invited,
        30
    );
    app.smtp.wait_for(30, Duration::from_secs(20)).await;
    // Give a duplicate time to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut to_whom: Vec<String> = app.smtp.mails().into_iter().flat_map(|m| m.to).collect();
    to_whom.sort();
    to_whom.dedup();
    assert_eq!((app.smtp.mails().len(), to_whom.len()), (30, 30));
}
