//! Imports over REST, on both engines: a batch of spaces, members and live links is
//! applied row by row (a refused row changes nothing, the rest go on), a dry run
//! writes nothing, a second run changes nothing, and only a platform administrator
//! imports.

use guestlist_client::{EventQuery, api};
use serde_json::{Value, json};

use crate::helpers::{TestApp, code};

fn link(external_id: &str, space: &str, code: Option<&str>, uses: u32) -> api::ImportRow {
    api::ImportRow::Link {
        external_id: external_id.into(),
        space: space.into(),
        role: None,
        code: code.map(str::to_owned),
        code_hash: None,
        max_uses: Some(4),
        uses,
        expires_at: None,
        description: None,
        created_by: Some("lena".into()),
        revoked: false,
    }
}

fn outcomes(r: &api::ImportResponse) -> Vec<api::ImportOutcome> {
    r.results.iter().map(|r| r.outcome).collect()
}

#[tokio::test]
async fn an_import_applies_each_row_on_its_own_and_twice_changes_nothing() {
    use api::ImportOutcome::*;
    let t = TestApp::spawn().await;
    let platform = t.platform();
    let rows = api::ImportRequest {
        rows: vec![
            api::ImportRow::Space {
                path: "legacy/".into(),
                name: Some("Legacy".into()),
                join_mode: None,
                member_limit: None,
            },
            api::ImportRow::Member {
                space: "legacy/".into(),
                user_id: "lena".into(),
                role: Some("admin".into()),
            },
            link("d-1", "legacy/", Some("LegacyAbc123"), 1),
            link("d-2", "legacy/", None, 0),
            link("d-3", "legacy/", Some("LegacyAbc123"), 0),
            link("d-4", "nowhere/", Some("Nowhere12345"), 0),
            link("d-5", "legacy/", Some("short"), 0),
        ],
    };
    let before = platform
        .list_events(&EventQuery::default())
        .await
        .unwrap()
        .events
        .len();
    let dry = platform.import_rows(&rows, true).await.unwrap();
    assert!(dry.dry_run);
    assert_eq!(
        outcomes(&dry),
        vec![
            Created, Created, Created, Created, Refused, Refused, Refused
        ]
    );
    assert_eq!(
        code(t.client.preview_invite("LegacyAbc123").await),
        "not_found",
        "a dry run writes nothing"
    );
    assert_eq!(
        platform
            .list_events(&EventQuery::default())
            .await
            .unwrap()
            .events
            .len(),
        before
    );

    let done = platform.import_rows(&rows, false).await.unwrap();
    assert_eq!(
        outcomes(&done),
        vec![
            Created, Created, Created, Created, Refused, Refused, Refused
        ]
    );
    let errors: Vec<(String, Option<String>)> = done.results[4..]
        .iter()
        .map(|r| {
            let e = r.error.clone().unwrap();
            (e.code, e.field)
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            ("already_exists".into(), None),
            ("not_found".into(), None),
            ("invalid_input".into(), Some("code".into())),
        ]
    );
    assert_eq!(
        t.client
            .preview_invite("LegacyAbc123")
            .await
            .unwrap()
            .uses_left,
        Some(3)
    );
    t.user("bob")
        .join_invite("LegacyAbc123", None)
        .await
        .unwrap();
    // Imported links are the creator's, and the events say how the code came.
    let lena = t.user("lena");
    let created = lena
        .list_events(&EventQuery {
            kind: Some("invite.created"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.events.len(), 2);
    assert!(
        created
            .events
            .iter()
            .any(|e| e.data["code"] == "carried" && e.data["external_id"] == "d-1")
    );

    // Again: nothing changes, and the use made here is kept.
    let again = platform.import_rows(&rows, false).await.unwrap();
    assert_eq!(
        outcomes(&again),
        vec![
            Unchanged, Unchanged, Unchanged, Unchanged, Refused, Refused, Refused
        ]
    );
    assert_eq!(
        t.client
            .preview_invite("LegacyAbc123")
            .await
            .unwrap()
            .uses_left,
        Some(2)
    );

    // Only a platform administrator imports; an unknown field in a row is refused.
    assert_eq!(code(lena.import_rows(&rows, false).await), "forbidden");
    let res = platform
        .request(reqwest::Method::POST, "/api/v1/imports")
        .json(&json!({ "rows": [{ "kind": "link", "external_id": "x", "space": "legacy/", "legacy_flag": 1 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = platform
        .request(reqwest::Method::POST, "/api/v1/imports?dryrun=true")
        .json(&json!({ "rows": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "an unknown query parameter is refused");
    // One request carries at most 10,000 rows (a file imported by the CLI goes in
    // larger transactions); one more is refused whole, nothing applied.
    let space = |i: usize| api::ImportRow::Space {
        path: format!("bulk{i}/"),
        name: None,
        join_mode: None,
        member_limit: None,
    };
    let mut many = api::ImportRequest {
        rows: (0..10_000).map(space).collect(),
    };
    let dry = platform.import_rows(&many, true).await;
    assert_eq!(
        dry.unwrap().results.len(),
        10_000,
        "10,000 rows are one request"
    );
    many.rows.push(space(10_000));
    let res = platform
        .request(reqwest::Method::POST, "/api/v1/imports")
        .json(&many)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_input", "{body}");
    assert_eq!(body["error"]["field"], "rows", "{body}");
    assert_eq!(code(platform.get_space("bulk0/").await), "not_found");
}

/// The link imported into legacy/ under this external id.
async fn imported(platform: &guestlist_client::Client, external_id: &str) -> api::Invite {
    platform
        .list_invites(&guestlist_client::InviteQuery {
            space: Some("legacy/"),
            ..Default::default()
        })
        .await
        .unwrap()
        .invites
        .into_iter()
        .find(|i| i.external_id.as_deref() == Some(external_id))
        .unwrap_or_else(|| panic!("{external_id} was imported"))
}

#[tokio::test]
async fn codes_of_other_shapes_come_over_and_work_as_they_did() {
    use api::ImportOutcome::*;
    let t = TestApp::spawn().await;
    t.space("legacy/", api::JoinMode::InviteOnly, None).await;
    let platform = t.platform();
    // A system whose codes were UUIDs, one with short codes, one with long
    // URL-safe tokens; and what no link could carry.
    let uuid_code = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    let long = format!("tok_{}", "a-Z9".repeat(15));
    assert_eq!(long.len(), 64);
    let rows = api::ImportRequest {
        rows: vec![
            link("s-1", "legacy/", Some(uuid_code), 0),
            link("s-2", "legacy/", Some("ab-c_1"), 0),
            link("s-3", "legacy/", Some(&long), 0),
            link("s-4", "legacy/", Some("has.dot1"), 0),
            link("s-5", "legacy/", Some(&format!("{long}x")), 0),
            link("s-6", "legacy/", Some("abc-1"), 0),
        ],
    };
    let done = platform.import_rows(&rows, false).await.unwrap();
    assert_eq!(
        outcomes(&done),
        vec![Created, Created, Created, Refused, Refused, Refused]
    );
    for r in &done.results[3..] {
        let e = r.error.as_ref().unwrap();
        assert_eq!(
            (e.code.as_str(), e.field.as_deref()),
            ("invalid_input", Some("code"))
        );
    }
    // Each redeems as it did, and is shown again (it was given in plain text).
    for (user, c) in [
        ("ann", uuid_code),
        ("ben", "ab-c_1"),
        ("cid", long.as_str()),
    ] {
        assert_eq!(
            t.client.preview_invite(c).await.unwrap().uses_left,
            Some(4),
            "{c}"
        );
        let joined = t.user(user).join_invite(c, None).await.unwrap();
        assert_eq!(joined.outcome, api::JoinOutcome::Joined, "{c}");
        assert_eq!(platform.show_invite_link(c).await.unwrap().code, c);
    }
    // A UUID-shaped code is still a code where an id is also taken: revoked by it.
    let revoked = platform.revoke_invite(uuid_code).await.unwrap();
    assert_eq!(revoked.external_id.as_deref(), Some("s-1"));
    assert_eq!(code(t.client.preview_invite(uuid_code).await), "not_found");
    // And an id is still an id.
    let s2 = imported(&platform, "s-2").await;
    let by_id = platform.revoke_invite(&s2.id.to_string()).await.unwrap();
    assert_eq!(by_id.external_id.as_deref(), Some("s-2"));
    // Codes made here stay 8 to 32 letters and digits: a chosen code may not carry '-'.
    let chosen = platform
        .create_invite(&api::CreateInviteRequest {
            space: "legacy/".into(),
            code: Some("my-vanity-code".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(chosen), "invalid_input");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_code_carried_as_a_digest_redeems_and_is_never_shown() {
    use api::ImportOutcome::*;
    use sha2::Digest;
    let t = TestApp::spawn().await;
    t.space("legacy/", api::JoinMode::InviteOnly, None).await;
    let platform = t.platform();
    // The old system kept only digests of its codes: SHA-256 of one, SHA-512 of another.
    let sha256 = format!("sha256:{}", hex(&sha2::Sha256::digest(b"HashedCode0001")));
    let sha512 = format!(
        "SHA512:{}",
        hex(&sha2::Sha512::digest(b"HashedCode0002")).to_uppercase()
    );
    let hashed = |id: &str, digest: &str| {
        let mut row = link(id, "legacy/", None, 1);
        if let api::ImportRow::Link { code_hash, .. } = &mut row {
            *code_hash = Some(digest.to_owned());
        }
        row
    };
    let mut both = hashed("h-4", &sha256);
    if let api::ImportRow::Link { code, .. } = &mut both {
        *code = Some("HashedCode0004".into());
    }
    let rows = api::ImportRequest {
        rows: vec![
            hashed("h-1", &sha256),
            hashed("h-2", &sha512),
            hashed("h-3", "md5:0123456789abcdef0123456789abcdef"),
            both,
        ],
    };
    let done = platform.import_rows(&rows, false).await.unwrap();
    assert_eq!(outcomes(&done), vec![Created, Created, Refused, Refused]);
    assert_eq!(
        done.results[2].error.as_ref().unwrap().field.as_deref(),
        Some("code_hash")
    );
    assert_eq!(
        done.results[3].error.as_ref().unwrap().field.as_deref(),
        Some("code_hash")
    );

    // The codes people hold work here, with the uses they had left.
    for code in ["HashedCode0001", "HashedCode0002"] {
        assert_eq!(
            t.client.preview_invite(code).await.unwrap().uses_left,
            Some(3),
            "{code}"
        );
    }
    let joined = t
        .user("bob")
        .join_invite("HashedCode0001", None)
        .await
        .unwrap();
    assert_eq!(joined.outcome, api::JoinOutcome::Joined);
    assert_eq!(
        t.client
            .preview_invite("HashedCode0001")
            .await
            .unwrap()
            .uses_left,
        Some(2)
    );
    // A code that is not the digest's finds nothing.
    assert_eq!(
        code(t.client.preview_invite("HashedCode0003").await),
        "not_found"
    );

    // Never shown: the code was never known here.
    let h1 = imported(&platform, "h-1").await;
    assert_eq!(
        code(platform.show_invite_link(&h1.id.to_string()).await),
        "forbidden"
    );
    let events = platform
        .list_events(&EventQuery {
            kind: Some("invite.created"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        events.events.iter().all(|e| e.data["code"] == "hashed"),
        "{:?}",
        events.events
    );
    // Nothing of the digest or the code is in an event.
    let text = serde_json::to_string(&events.events).unwrap();
    assert!(!text.contains(&sha256[7..]) && !text.contains("HashedCode"));

    // Again: unchanged; and a mirror of it by its digest is unchanged too.
    let again = platform.import_rows(&rows, false).await.unwrap();
    assert_eq!(outcomes(&again)[..2], [Unchanged, Unchanged]);
    let mirrored = platform
        .mirror_invite(
            "h-1",
            &api::MirrorInviteRequest {
                space: "legacy/".into(),
                role: None,
                max_uses: Some(4),
                uses: 1,
                expires_at: None,
                description: None,
                code: None,
                code_hash: Some(sha256.clone()),
                revoked: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(mirrored.outcome, api::MirrorOutcome::Unchanged);
    assert!(mirrored.code.is_none());
}

#[tokio::test]
async fn pending_invitations_come_over_sent_by_their_inviter_and_twice_changes_nothing() {
    use api::ImportOutcome::*;
    let t = TestApp::spawn().await;
    let platform = t.platform();
    let in_three_days = time::OffsetDateTime::now_utc() + time::Duration::days(3);
    let invitation =
        |email: Option<&str>, user_id: Option<&str>, expires_at| api::ImportRow::Invitation {
            space: "legacy/".into(),
            email: email.map(str::to_owned),
            username: None,
            user_id: user_id.map(str::to_owned),
            role: None,
            expires_at,
            message: Some("Welcome over".into()),
            invited_by: Some("lena".into()),
            token: None,
        };
    let rows = api::ImportRequest {
        rows: vec![
            api::ImportRow::Space {
                path: "legacy/".into(),
                name: None,
                join_mode: None,
                member_limit: None,
            },
            api::ImportRow::Member {
                space: "legacy/".into(),
                user_id: "lena".into(),
                role: Some("admin".into()),
            },
            invitation(Some("ada@example.com"), None, Some(in_three_days)),
            // Already a member: nothing to carry.
            invitation(None, Some("lena"), None),
            // Lapsed there: no longer pending.
            invitation(
                Some("old@example.com"),
                None,
                Some(in_three_days - time::Duration::days(10)),
            ),
            // Nobody named.
            invitation(None, None, None),
        ],
    };
    let dry = platform.import_rows(&rows, true).await.unwrap();
    assert_eq!(
        outcomes(&dry),
        vec![Created, Created, Created, Unchanged, Refused, Refused]
    );
    let done = platform.import_rows(&rows, false).await.unwrap();
    assert_eq!(
        outcomes(&done),
        vec![Created, Created, Created, Unchanged, Refused, Refused]
    );
    assert_eq!(
        done.results[4].error.as_ref().unwrap().field.as_deref(),
        Some("expires_at")
    );

    // Pending here, sent by lena, expiring when it did there, its e-mail on its way.
    let lena = t.user("lena");
    let page = lena
        .list_invitations(&guestlist_client::InvitationQuery {
            space: Some("legacy/"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.invitations.len(), 1);
    let inv = &page.invitations[0];
    assert_eq!(
        (inv.email.as_deref(), inv.invited_by.as_str()),
        (Some("ada@example.com"), "lena")
    );
    assert_eq!(inv.status, api::InvitationStatus::Pending);
    assert!(
        (inv.expires_at - in_three_days).abs() < time::Duration::seconds(5),
        "{}",
        inv.expires_at
    );
    let mails = t.smtp.wait_for(1, std::time::Duration::from_secs(10)).await;
    assert!(
        mails
            .iter()
            .any(|m| m.to.iter().any(|a| a == "ada@example.com"))
    );

    // Again: nothing changes, no second invitation.
    let again = platform.import_rows(&rows, false).await.unwrap();
    assert_eq!(
        outcomes(&again),
        vec![Unchanged, Unchanged, Unchanged, Unchanged, Refused, Refused]
    );
    // The sponsor lifecycle holds: lena deprovisioned, her invitation goes.
    platform.deprovision_user("lena").await.unwrap();
    let inv = platform.get_invitation(inv.id).await.unwrap();
    assert_eq!(inv.status, api::InvitationStatus::Revoked);
}

#[tokio::test]
async fn an_invitation_keeps_the_token_its_person_was_sent() {
    use api::ImportOutcome::*;
    let t = TestApp::spawn().await;
    t.space("legacy/", api::JoinMode::InviteOnly, None).await;
    let platform = t.platform();
    let invitation =
        |email: &str, token: Option<&str>, expires_at: Option<time::OffsetDateTime>| {
            api::ImportRow::Invitation {
                space: "legacy/".into(),
                email: Some(email.into()),
                username: None,
                user_id: None,
                role: None,
                expires_at,
                message: None,
                invited_by: None,
                token: token.map(str::to_owned),
            }
        };
    let carried = |email: &str, token: &str| invitation(email, Some(token), None);
    let old_token = "inv_3f2504e0-4f89-11d3-9a0c";
    let rows = api::ImportRequest {
        rows: vec![
            carried("ada@example.com", old_token),
            carried("bea@example.com", "too-short"),
            carried("cy@example.com", "has spaces in it, sadly"),
            // Without a token: a new one, e-mailed.
            invitation("dee@example.com", None, None),
        ],
    };
    let done = platform.import_rows(&rows, false).await.unwrap();
    assert_eq!(outcomes(&done), vec![Created, Refused, Refused, Created]);
    for r in &done.results[1..3] {
        assert_eq!(r.error.as_ref().unwrap().field.as_deref(), Some("token"));
    }
    // The link ada holds works here; no new one was sent to her.
    let ada = t.user_as("ada", Some("ada@example.com"), true, None);
    let answer = ada.accept_invitation(old_token).await.unwrap();
    assert_eq!(answer.outcome, Some(api::JoinOutcome::Joined));
    assert_eq!(answer.invitation.status, api::InvitationStatus::Accepted);
    t.smtp.wait_for(1, std::time::Duration::from_secs(10)).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let to: Vec<String> = t.smtp.mails().into_iter().flat_map(|m| m.to).collect();
    assert_eq!(to, ["dee@example.com"], "none to ada: she has her link");
    // Again: unchanged (she is a member now).
    let again = platform.import_rows(&rows, false).await.unwrap();
    assert_eq!(outcomes(&again)[0], Unchanged);
    // Not a token it knows: unknown, as any.
    assert_eq!(
        code(ada.accept_invitation("inv_3f2504e0-4f89-11d3-0000").await),
        "not_found"
    );
    // Lapsed here before she answered, and imported again: renewed with the same
    // token, still without an e-mail.
    let eve_token = "eve-token-0123456789";
    let soon = |secs: Option<i64>| {
        let at = secs.map(|s| time::OffsetDateTime::now_utc() + time::Duration::seconds(s));
        invitation("eve@example.com", Some(eve_token), at)
    };
    let first = api::ImportRequest {
        rows: vec![soon(Some(2))],
    };
    assert_eq!(
        outcomes(&platform.import_rows(&first, false).await.unwrap()),
        [Created]
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let eve = t.user_as("eve", Some("eve@example.com"), true, None);
    assert_eq!(code(eve.accept_invitation(eve_token).await), "expired");
    let renewed = api::ImportRequest {
        rows: vec![soon(None)],
    };
    assert_eq!(
        outcomes(&platform.import_rows(&renewed, false).await.unwrap()),
        [Created]
    );
    let answer = eve.accept_invitation(eve_token).await.unwrap();
    assert_eq!(answer.outcome, Some(api::JoinOutcome::Joined));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let to: Vec<String> = t.smtp.mails().into_iter().flat_map(|m| m.to).collect();
    assert_eq!(to, ["dee@example.com"], "none to eve either");
}
