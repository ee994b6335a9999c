//! `guestlist import --from` against a live server's database (SQLite): 100,000 live
//! links with their codes in one run, a sample of them redeemed through the API, a
//! second run that changes nothing, a dry run that writes nothing, and the rows
//! refused (a colliding code, a bad code, an unknown space) reported with the rest
//! imported; CSV as well as JSON Lines.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use guestlist_app::Secret;
use guestlist_client::{Client, InviteQuery, api};
use guestlist_testkit::server;

use crate::{BIN, free_port, wait_ready};

const LINKS: usize = 100_000;

fn code(i: usize) -> String {
    format!("Legacy{i:07}x")
}

/// `guestlist import --from FILE …` with the test's config: (stdout, stderr).
fn import(config: &Path, file: &Path, extra: &[&str]) -> (String, String) {
    let out = Command::new(BIN)
        .args(["import", "--config"])
        .arg(config)
        .arg("--from")
        .arg(file)
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "import failed: {stdout}{stderr}");
    (stdout, stderr)
}

#[tokio::test]
async fn an_import_of_live_links_redeems_runs_twice_without_doubling_and_reports_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("guestlist.db").display());
    let secret = Secret::generate();
    let config = server::write_config(dir.path(), &db, &secret, "");
    let key = server::create_api_key(Path::new(BIN), &config, "backend");
    let replica = server::serve(
        Path::new(BIN),
        &config,
        free_port(),
        &dir.path().join("log"),
    );
    wait_ready(&replica.url, Duration::from_secs(30)).await;
    let platform = Client::new(&replica.url).with_token(&key);
    // A database that already has data: a space with its admin and a native link.
    platform
        .create_space(&api::CreateSpaceRequest {
            path: "acme/".into(),
            name: Some("Acme".into()),
            join_mode: api::JoinMode::InviteOnly,
            member_limit: None,
        })
        .await
        .unwrap();
    platform
        .provision_member("acme/", "alice", "admin")
        .await
        .unwrap();
    let alice =
        Client::new(&replica.url).with_token(guestlist_testkit::user_token(&secret, "alice"));
    let native = alice
        .create_invite(&api::CreateInviteRequest {
            space: "acme/".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    // The other system's file: a new space, a member, and its live links.
    let file = dir.path().join("legacy.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    writeln!(f, r#"{{"kind":"space","path":"legacy/","name":"Legacy"}}"#).unwrap();
    writeln!(
        f,
        r#"{{"kind":"member","space":"legacy/","user_id":"lena","role":"admin"}}"#
    )
    .unwrap();
    for i in 0..LINKS {
        let space = if i % 2 == 0 { "acme/" } else { "legacy/" };
        writeln!(
            f,
            r#"{{"kind":"link","external_id":"dir-{i}","space":"{space}","code":"{}","max_uses":3,"uses":{},"created_by":"lena"}}"#,
            code(i),
            i % 3
        )
        .unwrap();
    }
    // Refused: a code another link has, a code that is not one, an unknown space.
    writeln!(
        f,
        r#"{{"kind":"link","external_id":"dup","space":"acme/","code":"{}"}}"#,
        code(7)
    )
    .unwrap();
    writeln!(
        f,
        r#"{{"kind":"link","external_id":"bad","space":"acme/","code":"not a code"}}"#
    )
    .unwrap();
    writeln!(
        f,
        r#"{{"kind":"link","external_id":"lost","space":"nowhere/","code":"Nowhere12345"}}"#
    )
    .unwrap();
    f.flush().unwrap();
    drop(f);

    let report = dir.path().join("refused.jsonl");
    let (out, _) = import(&config, &file, &["--report", report.to_str().unwrap()]);
    assert_eq!(
        out.trim(),
        format!("created {}, updated 0, unchanged 0, refused 3", LINKS + 2),
        "the first run"
    );
    let refused: Vec<serde_json::Value> = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lines: Vec<u64> = refused
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    let n = LINKS as u64 + 2;
    assert_eq!(lines, vec![n + 1, n + 2, n + 3]);
    let codes: Vec<&str> = refused
        .iter()
        .map(|r| r["error"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["already_exists", "invalid_input", "not_found"]);
    assert_eq!(refused[1]["error"]["field"], "code");
    assert!(
        !std::fs::read_to_string(&report).unwrap().contains(&code(7)),
        "codes are not in the report"
    );

    // A sample of the imported codes redeem, with the uses they had left; the native
    // link still works.
    for (n, i) in [0usize, 1, 2, 9_999, 31_337, 54_321, 77_777, 99_998, 99_999]
        .into_iter()
        .enumerate()
    {
        let user = Client::new(&replica.url)
            .with_token(guestlist_testkit::user_token(&secret, &format!("u{n}")));
        let preview = user.preview_invite(&code(i)).await.unwrap();
        assert_eq!(preview.uses_left, Some(3 - (i % 3) as u32), "link {i}");
        let joined = user.join_invite(&code(i), None).await.unwrap();
        assert_eq!(joined.outcome, api::JoinOutcome::Joined, "link {i}");
        assert_eq!(joined.space, if i % 2 == 0 { "acme/" } else { "legacy/" });
    }
    Client::new(&replica.url)
        .with_token(guestlist_testkit::user_token(&secret, "nate"))
        .join_invite(&native.code, None)
        .await
        .unwrap();
    // Imported in plain text: its managers may see the code again.
    let lena = Client::new(&replica.url).with_token(guestlist_testkit::user_token(&secret, "lena"));
    let page = lena
        .list_invites(&InviteQuery {
            space: Some("legacy/"),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    let shown = lena
        .show_invite_link(&page.invites[0].id.to_string())
        .await
        .unwrap();
    assert!(shown.code.starts_with("Legacy"));
    assert_eq!(page.invites[0].created_by, "lena");

    // The same file again: nothing changes (the uses made here are kept).
    let (out, _) = import(&config, &file, &["--report", report.to_str().unwrap()]);
    assert_eq!(
        out.trim(),
        format!("created 0, updated 0, unchanged {}, refused 3", LINKS + 2),
        "the second run"
    );
    assert_eq!(
        platform.preview_invite(&code(0)).await.unwrap().uses_left,
        Some(2)
    );

    // A dry run of new rows writes nothing; CSV reads the same rows.
    let csv = dir.path().join("more.csv");
    std::fs::write(
        &csv,
        "external_id,space,code,max_uses,uses,revoked\nnew-1,acme/,FreshCode001,5,1,false\nnew-2,acme/,,,,\ndir-5,legacy/,Legacy0000005x,3,2,true\n",
    )
    .unwrap();
    let before = platform
        .list_events(&Default::default())
        .await
        .unwrap()
        .events[0]
        .seq;
    let (out, _) = import(&config, &csv, &["--dry-run"]);
    assert_eq!(
        out.trim(),
        "created 2, updated 1, unchanged 0, refused 0 (dry run: nothing written)"
    );
    assert_eq!(
        code_of(platform.preview_invite("FreshCode001").await),
        "not_found"
    );
    assert_eq!(
        platform
            .list_events(&Default::default())
            .await
            .unwrap()
            .events[0]
            .seq,
        before
    );
    let (out, _) = import(&config, &csv, &[]);
    assert_eq!(out.trim(), "created 2, updated 1, unchanged 0, refused 0");
    assert_eq!(
        platform
            .preview_invite("FreshCode001")
            .await
            .unwrap()
            .uses_left,
        Some(4)
    );
    assert_eq!(
        code_of(platform.preview_invite(&code(5)).await),
        "not_found",
        "revoked by the import"
    );

    // --all-or-nothing with a refused row imports nothing.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"kind\":\"link\",\"external_id\":\"aon-1\",\"space\":\"acme/\",\"code\":\"AllOrNone001\"}\n{\"kind\":\"link\",\"external_id\":\"aon-2\",\"space\":\"nowhere/\"}\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["import", "--config"])
        .arg(&config)
        .arg("--from")
        .arg(&bad)
        .arg("--all-or-nothing")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was imported"));
    assert_eq!(
        code_of(platform.preview_invite("AllOrNone001").await),
        "not_found"
    );
    // A transaction size it cannot use is refused, not quietly changed.
    for batch in ["0", "100001"] {
        let out = Command::new(BIN)
            .args(["import", "--config"])
            .arg(&config)
            .arg("--from")
            .arg(&bad)
            .args(["--batch", batch])
            .output()
            .unwrap();
        assert!(!out.status.success(), "--batch {batch}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--batch: 1 to 100000"), "{stderr}");
    }
    drop(replica);
}

fn code_of<T: std::fmt::Debug>(r: Result<T, guestlist_client::ClientError>) -> String {
    r.expect_err("an error")
        .code()
        .unwrap_or_default()
        .to_owned()
}
