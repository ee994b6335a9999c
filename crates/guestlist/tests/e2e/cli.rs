//! The embedded default, as the README runs it: `guestlist serve` on SQLite with no
//! SMTP server writes invitation e-mail to the mail folder; `guestlist invite bulk`
//! invites a CSV file's people, can be run again safely, and the link in the written
//! message accepts the invitation.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use guestlist_client::{Client, InvitationQuery, api};
use guestlist_testkit::smtp::Mail;

use crate::{BIN, free_port, wait_ready};

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("guestlist runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `.eml` files written so far.
fn written(folder: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return vec![];
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| {
            let data = std::fs::read_to_string(e.path()).unwrap();
            let to = data
                .lines()
                .find_map(|l| l.strip_prefix("To: "))
                .unwrap_or_default()
                .to_owned();
            Mail {
                from: String::new(),
                to: vec![to],
                data,
            }
        })
        .collect()
}

#[tokio::test]
async fn bulk_invites_from_a_csv_and_the_mail_folder_link_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let secret = guestlist_app::Secret::generate();
    let folder = dir.path().join("mail");
    let config = dir.path().join("guestlist.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"sqlite://{db}\"\njwt_secret = \"{s}\"\nlink_secret = \"{s}\"\n\
             invitation_url_template = \"https://app.example.com/invitations/accept?token={{token}}\"\n[mail]\nfolder = \"{folder}\"\n",
            db = dir.path().join("g.db").display(),
            s = secret.expose(),
            folder = folder.display(),
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let key = stdout(&run(&[
        "api-key",
        "create",
        "--config",
        cfg,
        "--name",
        "ops",
        "--platform-admin",
    ]))
    .trim()
    .to_owned();
    assert!(key.starts_with("gl_"), "{key}");

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _server = guestlist_testkit::server::serve(
        std::path::Path::new(BIN),
        std::path::Path::new(cfg),
        port,
        &dir.path().join("serve.log"),
    );
    wait_ready(&url, Duration::from_secs(20)).await;
    let ops = Client::new(&url).with_token(&key);
    ops.create_space(&api::CreateSpaceRequest {
        path: "acme/".into(),
        name: Some("Acme".into()),
        join_mode: api::JoinMode::InviteOnly,
        member_limit: None,
    })
    .await
    .unwrap();

    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "email,role\nada@example.com,admin\n Bob@Example.com ,\nADA@example.com,\nnot-an-address,\n",
    )
    .unwrap();
    let bulk = |extra: &[&str]| {
        let mut args = vec![
            "invite",
            "bulk",
            "--url",
            &url,
            "--token",
            &key,
            "--csv",
            csv.to_str().unwrap(),
            "--space",
            "acme/",
            "--batch",
            "2",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let summary = |out: &Output| {
        let text = stdout(out);
        let n = |label: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(label))
                .and_then(|l| l.split_whitespace().last())
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("no {label:?} in {text}"))
        };
        (
            n("invited"),
            n("already invited"),
            n("already member"),
            n("failed"),
        )
    };

    let dry = bulk(&["--dry-run"]);
    assert!(stdout(&dry).contains("dry run"), "{}", stdout(&dry));
    assert_eq!(summary(&dry), (2, 1, 0, 1));
    assert!(!dry.status.success(), "a failed row fails the command");
    assert!(stdout(&dry).contains("not-an-address") && stdout(&dry).contains("invalid_input"));
    let none = ops
        .list_invitations(&InvitationQuery::default())
        .await
        .unwrap();
    assert!(none.invitations.is_empty(), "the dry run changed nothing");

    let real = bulk(&[]);
    assert_eq!(summary(&real), (2, 1, 0, 1), "{}", stdout(&real));
    // Run again (say, after a dropped connection): the same answers, nobody twice.
    let again = bulk(&[]);
    assert_eq!(summary(&again), (2, 1, 0, 1));
    let listed = ops
        .list_invitations(&InvitationQuery::default())
        .await
        .unwrap();
    let mut emails: Vec<_> = listed
        .invitations
        .iter()
        .filter_map(|i| i.email.clone())
        .collect();
    emails.sort();
    assert_eq!(emails, ["ada@example.com", "bob@example.com"]);
    let ada_inv = listed
        .invitations
        .iter()
        .find(|i| i.email.as_deref() == Some("ada@example.com"))
        .unwrap();
    assert_eq!(ada_inv.role, "admin");

    // No SMTP server configured: the messages are files in the mail folder.
    let mut mails = written(&folder);
    for _ in 0..100 {
        if mails.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        mails = written(&folder);
    }
    assert_eq!(mails.len(), 2);
    let to_ada = mails
        .iter()
        .find(|m| m.to[0].contains("ada@example.com"))
        .expect("ada's mail");
    let token = to_ada.find_after("?token=", 32).expect("the accept link");
    assert!(
        to_ada.data.contains(&format!(
            "https://app.example.com/invitations/accept?token={token}"
        )),
        "the file shows the link as written, for a newcomer to open"
    );

    let user_token = stdout(&run(&[
        "token",
        "--config",
        cfg,
        "--sub",
        "ada",
        "--email",
        "ada@example.com",
        "--email-verified",
    ]))
    .trim()
    .to_owned();
    let ada = Client::new(&url).with_token(user_token);
    let accepted = ada.accept_invitation(&token).await.unwrap();
    assert_eq!(accepted.outcome, Some(api::JoinOutcome::Joined));
    assert_eq!(accepted.membership.unwrap().role, "admin");
    let d = ops
        .get_invitation(ada_inv.id)
        .await
        .unwrap()
        .delivery
        .unwrap();
    assert_eq!(d.state, api::DeliveryState::Sent);
}

/// `guestlist token` finds the secrets `serve --dev` keeps beside its database, from
/// any folder, given the same database; without them it says what to pass.
#[test]
fn token_finds_the_dev_secrets_beside_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let secret = "a-dev-secret-that-is-long-enough-0123456789";
    std::fs::write(
        data.join("guestlist-dev.toml"),
        format!(
            "jwt_secret = \"{secret}\"\nlink_secret = \"{secret}\"\nadmin_api_key = \"gl_x\"\n"
        ),
    )
    .unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", data.join("guestlist.db").display());
    let out = Command::new(BIN)
        .args(["token", "--sub", "alice", "--database-url", &db])
        .current_dir(elsewhere.path())
        .env_remove("GUESTLIST_JWT_SECRET")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = stdout(&out);
    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    let claims =
        jsonwebtoken::decode::<serde_json::Value>(token.trim(), &key, &validation).unwrap();
    assert_eq!(claims.claims["sub"], "alice");

    let out = Command::new(BIN)
        .args(["token", "--sub", "alice"])
        .current_dir(elsewhere.path())
        .env_remove("GUESTLIST_JWT_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("guestlist-dev.toml") && err.contains("--database-url"),
        "{err}"
    );
}

#[test]
fn a_database_url_without_an_engine_is_refused_naming_the_setting_before_any_announcement() {
    let dir = tempfile::tempdir().unwrap();
    for (url, says) in [
        ("not a url", "not a database URL"),
        ("mysql://u:hunter2@db/guestlist", "\"mysql\""),
    ] {
        for command in [&["migrate"][..], &["serve", "--dev"][..]] {
            let out = Command::new(BIN)
                .args(command)
                .args(["--database-url", url])
                .current_dir(dir.path())
                .env_remove("GUESTLIST_DATABASE_URL")
                .output()
                .unwrap();
            assert!(!out.status.success(), "{command:?} {url}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("database_url") && err.contains(says) && !err.contains("hunter2"),
                "{command:?} {url}: {err}"
            );
            // Refused before anything was announced.
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(
                !said.contains("is serving") && !said.contains("token"),
                "{said}"
            );
        }
    }
    // No database was made in its name (only `--dev`'s own settings file).
    let made: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(made, ["guestlist-dev.toml"]);
}

#[test]
fn the_binary_says_what_it_is_and_which_file_it_read() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    let v = String::from_utf8_lossy(&out.stdout);
    // `guestlist 0.1.0 (<commit>, debug|release)`.
    let (_, stamp) = v.trim().split_once(" (").expect("a stamp");
    let (commit, profile) = stamp.trim_end_matches(')').split_once(", ").unwrap();
    assert!(
        !commit.is_empty() && ["debug", "release"].contains(&profile),
        "{v}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, "code_length = 12\n").unwrap();
    let out = Command::new(BIN)
        .args(["config", "show", "--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown
            .lines()
            .next()
            .unwrap()
            .contains(&*file.to_string_lossy()),
        "{shown}"
    );
    let out = Command::new(BIN)
        .args(["config", "show"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.starts_with("# no config file"), "{shown}");
}

#[test]
fn an_unspecified_bind_needs_a_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let secret = guestlist_app::Secret::generate();
    let db = format!("sqlite://{}", dir.path().join("g.db").display());
    let config = guestlist_testkit::server::write_config(dir.path(), &db, &secret, "");
    let out = Command::new(BIN)
        .args([
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--bind",
            "0.0.0.0:0",
        ])
        .env_remove("GUESTLIST_PUBLIC_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("public_url") && err.contains("0.0.0.0"),
        "{err}"
    );
}

#[tokio::test]
async fn an_api_key_revoked_from_the_cli_stops_at_once_and_takes_its_links_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let secret = guestlist_app::Secret::generate();
    let db = format!("sqlite://{}", dir.path().join("g.db").display());
    let config = guestlist_testkit::server::write_config(dir.path(), &db, &secret, "");
    let cfg = config.to_str().unwrap();
    let create = |name: &str| {
        stdout(&run(&[
            "api-key",
            "create",
            "--config",
            cfg,
            "--name",
            name,
            "--platform-admin",
        ]))
        .trim()
        .to_owned()
    };
    let (admin, backend) = (create("admin"), create("backend"));
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _server = guestlist_testkit::server::serve(
        std::path::Path::new(BIN),
        std::path::Path::new(cfg),
        port,
        &dir.path().join("serve.log"),
    );
    wait_ready(&url, Duration::from_secs(20)).await;
    let backend_client = Client::new(&url).with_token(&backend);
    backend_client
        .create_space(&api::CreateSpaceRequest {
            path: "acme/".into(),
            name: None,
            join_mode: api::JoinMode::InviteOnly,
            member_limit: None,
        })
        .await
        .unwrap();
    let link = backend_client
        .create_invite(&api::CreateInviteRequest {
            space: "acme/".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // public_url left unset: links point at where the server listens (`--bind`).
    assert!(link.link.starts_with(&format!("{url}/i/")), "{}", link.link);

    let listed = stdout(&run(&["api-key", "list", "--config", cfg]));
    assert!(listed.contains("backend\tplatform\tactive"), "{listed}");
    let revoked = run(&["api-key", "revoke", "--config", cfg, "--name", "backend"]);
    assert!(revoked.status.success(), "{revoked:?}");
    assert!(
        stdout(&revoked).contains("1 grants"),
        "{}",
        stdout(&revoked)
    );
    let listed = stdout(&run(&["api-key", "list", "--config", cfg]));
    assert!(listed.contains("backend\tplatform\trevoked"), "{listed}");
    // The running server refuses it from the next request on; its link is revoked.
    let refused = backend_client
        .list_spaces(None, None, None)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("unauthenticated"));
    let admin_client = Client::new(&url).with_token(&admin);
    let seen = admin_client
        .list_invites(&Default::default())
        .await
        .unwrap();
    assert_eq!(seen.invites[0].id, link.invite.id);
    assert_eq!(seen.invites[0].state, api::InviteState::Revoked);
    // Revoking it again, or a key that never was, says so and fails.
    let again = run(&["api-key", "revoke", "--config", cfg, "--name", "backend"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not found"));
}
