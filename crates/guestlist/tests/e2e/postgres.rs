//! Several `guestlist` processes on one PostgreSQL: every guarantee of one process
//! holds across them. Needs a PostgreSQL server (`GUESTLIST_TEST_POSTGRES_URL`);
//! `scripts/test.sh` starts one and runs these with `--ignored`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use guestlist_app::Secret;
use guestlist_client::{Client, EventQuery, InviteQuery, api};
use guestlist_testkit::server::{self, Replica};
use guestlist_testkit::{all_members, count, joined_events, race};

use crate::{BIN, free_port, wait_ready};

struct Cluster {
    replicas: Vec<Replica>,
    /// The name of the cluster's database.
    database: String,
    secret: Secret,
    admin_key: String,
    dir: tempfile::TempDir,
}

impl Drop for Cluster {
    /// On a failure, shows what the replicas logged at WARN and above.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for i in 0..self.replicas.len() {
            let log = std::fs::read_to_string(self.dir.path().join(format!("r{i}.log")))
                .unwrap_or_default();
            for line in log
                .lines()
                .filter(|l| l.contains("ERROR") || l.contains("WARN"))
            {
                eprintln!("replica {i}: {line}");
            }
        }
    }
}

/// A config file with rate limits out of the way (the races come from one address).
fn write_config(dir: &tempfile::TempDir, database_url: &str, secret: &Secret) -> PathBuf {
    let mail = dir.path().join("mail");
    server::write_config(
        dir.path(),
        database_url,
        secret,
        &format!(
            "postgres_max_connections = 8\n[mail]\nfolder = \"{}\"",
            mail.display()
        ),
    )
}

fn start(config: &Path, log: &Path) -> Replica {
    server::serve(Path::new(BIN), config, free_port(), log)
}

async fn cluster(n: usize) -> Cluster {
    let admin_url =
        guestlist_testkit::postgres_url().expect("GUESTLIST_TEST_POSTGRES_URL names a server");
    let database = guestlist_testkit::database_name();
    let db = guestlist_testkit::create_database(&admin_url, &database).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = Secret::generate();
    let config = write_config(&dir, &db, &secret);
    // Replicas starting together race to migrate; the advisory lock makes it safe.
    let replicas: Vec<Replica> = (0..n)
        .map(|i| start(&config, &dir.path().join(format!("r{i}.log"))))
        .collect();
    for r in &replicas {
        wait_ready(&r.url, Duration::from_secs(30)).await;
    }
    let admin_key = server::create_api_key(Path::new(BIN), &config, "backend");
    Cluster {
        replicas,
        database,
        secret,
        admin_key,
        dir,
    }
}

impl Cluster {
    /// A client on replica `i % n`.
    fn on(&self, i: usize, token: &str) -> Client {
        Client::new(&self.replicas[i % self.replicas.len()].url).with_token(token)
    }

    fn user(&self, i: usize, sub: &str) -> Client {
        self.on(i, &guestlist_testkit::user_token(&self.secret, sub))
    }

    fn platform(&self) -> Client {
        self.on(0, &self.admin_key)
    }

    /// The space `acme/` with `alice` as its admin, who is returned (on replica 0).
    async fn acme_with_admin(&self, join_mode: api::JoinMode) -> Client {
        let platform = self.platform();
        platform
            .create_space(&api::CreateSpaceRequest {
                path: "acme/".into(),
                name: None,
                join_mode,
                member_limit: None,
            })
            .await
            .unwrap();
        platform
            .provision_member("acme/", "alice", "admin")
            .await
            .unwrap();
        self.user(0, "alice")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it"]
async fn three_replicas_on_one_postgres_keep_every_limit() {
    let c = cluster(3).await;
    let alice = c.acme_with_admin(api::JoinMode::InviteOnly).await;

    // 300 joins spread over three replicas on a 50-use link: exactly 50.
    let link = alice
        .create_invite(&api::CreateInviteRequest {
            space: "acme/".into(),
            max_uses: Some(50),
            ..Default::default()
        })
        .await
        .unwrap();
    let joins = (0..300)
        .map(|i| (c.user(i, &format!("racer{i}")), link.code.clone()))
        .collect();
    let results = race(joins).await;
    assert_eq!(count(&results, "joined"), 50, "{results:?}");
    assert_eq!(count(&results, "exhausted"), 250, "{results:?}");
    let stored = alice.list_invites(&InviteQuery::default()).await.unwrap();
    assert_eq!(stored.invites[0].uses, 50);

    // A member limit of 20 against 200 racers across replicas: exactly 20.
    alice
        .create_space(&api::CreateSpaceRequest {
            path: "acme/team/".into(),
            name: None,
            join_mode: api::JoinMode::InviteOnly,
            member_limit: Some(20),
        })
        .await
        .unwrap();
    let team = alice
        .create_invite(&api::CreateInviteRequest {
            space: "acme/team/".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let joins = (0..200)
        .map(|i| (c.user(i, &format!("teamer{i}")), team.code.clone()))
        .collect();
    let results = race(joins).await;
    assert_eq!(count(&results, "joined"), 20, "{results:?}");
    assert_eq!(count(&results, "member_limit_reached"), 180, "{results:?}");
    assert_eq!(
        alice.get_space("acme/team/").await.unwrap().member_count,
        20
    );

    // One user racing the same join on all three replicas: one membership.
    let solo = alice
        .create_invite(&api::CreateInviteRequest {
            space: "acme/".into(),
            max_uses: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    let joins = (0..30)
        .map(|i| (c.user(i, "solo"), solo.code.clone()))
        .collect();
    let results = race(joins).await;
    assert_eq!(count(&results, "joined"), 1, "{results:?}");
    assert_eq!(count(&results, "already_member"), 29, "{results:?}");

    // Exactly one member.joined per membership, on every space.
    let acme = all_members(&alice, "acme/").await;
    assert_eq!(acme.len(), 1 + 50 + 1);
    assert_eq!(acme.iter().filter(|m| m.user_id == "solo").count(), 1);
    assert_eq!(joined_events(&alice, "acme/").await, acme.len());
    let teamers = all_members(&alice, "acme/team/").await;
    assert_eq!(teamers.len(), 20);
    assert_eq!(joined_events(&alice, "acme/team/").await, 20);
}

/// Forwards every connection to `port` on 127.0.0.1 to `target`: PostgreSQL coming
/// up at an address where nothing listened before.
async fn forward(port: u16, target: String) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the port is still free");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it"]
async fn a_replica_started_before_its_database_comes_up_when_it_is_reachable() {
    guestlist_app::install_tls_provider();
    let admin_url =
        guestlist_testkit::postgres_url().expect("GUESTLIST_TEST_POSTGRES_URL names a server");
    let url = guestlist_testkit::fresh_database(&admin_url).await;
    // The replica is told an address where no server listens yet.
    let (scheme_user, rest) = url.split_once('@').expect("user@host in the URL");
    let (host_port, path) = rest.split_once('/').expect("a database in the URL");
    let port = free_port();
    let later = format!("{scheme_user}@127.0.0.1:{port}/{path}");
    let dir = tempfile::tempdir().unwrap();
    let secret = Secret::generate();
    let config = write_config(&dir, &later, &secret);
    let log = dir.path().join("r.log");
    let mut replica = start(&config, &log);

    // Alive but not ready while the server cannot be reached.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        replica.child.try_wait().unwrap().is_none(),
        "the replica keeps retrying instead of exiting"
    );
    let health = reqwest::get(format!("{}/healthz", replica.url))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let ready = reqwest::get(format!("{}/readyz", replica.url))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    let api = reqwest::get(format!("{}/api/v1/invites/AAAAAAAAAA", replica.url))
        .await
        .unwrap();
    assert_eq!(
        api.status().as_u16(),
        503,
        "requests fail cleanly while starting"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("PostgreSQL is not reachable yet"),
        "{logged}"
    );

    // The server comes up there: the replica becomes ready.
    forward(port, host_port.to_owned()).await;
    wait_ready(&replica.url, Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it"]
async fn a_replica_whose_database_does_not_exist_stops_at_once_saying_so() {
    let admin_url =
        guestlist_testkit::postgres_url().expect("GUESTLIST_TEST_POSTGRES_URL names a server");
    let missing = guestlist_testkit::with_database(&admin_url, &guestlist_testkit::database_name());
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&dir, &missing, &Secret::generate());
    let log = dir.path().join("r.log");
    let mut replica = start(&config, &log);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = replica.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still waiting for a database that does not exist"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!status.success());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("database_url") && logged.contains("does not exist"),
        "{logged}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it"]
async fn losing_the_database_mid_flight_answers_503_and_writes_nothing() {
    let c = cluster(1).await;
    let alice = c.acme_with_admin(api::JoinMode::Open).await;
    let link = alice
        .create_invite(&api::CreateInviteRequest {
            space: "acme/".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    // Cut the replica off: refuse new connections and end the ones it holds.
    let admin_url = guestlist_testkit::postgres_url().unwrap();
    let db = c.database.clone();
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {db} WITH ALLOW_CONNECTIONS false"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&db)
        .execute(&mut admin)
        .await
        .unwrap();

    let refused = c
        .user(0, "bob")
        .join_invite(&link.code, None)
        .await
        .unwrap_err();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(503), "{refused}");
    assert_eq!(refused.code(), Some("unavailable"));
    let ready = reqwest::get(format!("{}/readyz", c.replicas[0].url))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);

    // Back again: the replica recovers by itself, and the refused join left nothing.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {db} WITH ALLOW_CONNECTIONS true"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    wait_ready(&c.replicas[0].url, Duration::from_secs(20)).await;
    let stored = alice.list_invites(&InviteQuery::default()).await.unwrap();
    assert_eq!(stored.invites[0].uses, 0);
    assert_eq!(all_members(&alice, "acme/").await.len(), 1);
    let joined = c
        .user(0, "bob")
        .join_invite(&link.code, None)
        .await
        .unwrap();
    assert_eq!(joined.outcome, api::JoinOutcome::Joined);
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("guestlist runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it"]
async fn a_sqlite_deployment_moves_to_postgres_with_export_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let secret = Secret::generate();
    let sqlite_url = format!("sqlite://{}", dir.path().join("g.db").display());
    let sqlite_cfg = write_config(&dir, &sqlite_url, &secret);
    let sqlite_cfg_s = sqlite_cfg.to_str().unwrap().to_owned();

    // A SQLite deployment with some history.
    let replica = start(&sqlite_cfg, &dir.path().join("sqlite.log"));
    wait_ready(&replica.url, Duration::from_secs(20)).await;
    let out = cli(&[
        "api-key",
        "create",
        "--name",
        "backend",
        "--platform-admin",
        "--config",
        &sqlite_cfg_s,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let client = |token: &str| Client::new(&replica.url).with_token(token);
    let platform = client(&key);
    platform
        .create_space(&api::CreateSpaceRequest {
            path: "acme/".into(),
            name: Some("Acme".into()),
            join_mode: api::JoinMode::InviteOnly,
            member_limit: Some(10),
        })
        .await
        .unwrap();
    platform
        .provision_member("acme/", "alice", "admin")
        .await
        .unwrap();
    let alice = client(&guestlist_testkit::user_token(&secret, "alice"));
    let live = alice
        .create_invite(&api::CreateInviteRequest {
            space: "acme/".into(),
            max_uses: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    let dead = alice
        .create_invite(&api::CreateInviteRequest {
            space: "acme/".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    alice.revoke_invite(&dead.code).await.unwrap();
    client(&guestlist_testkit::user_token(&secret, "bob"))
        .join_invite(&live.code, None)
        .await
        .unwrap();
    let events_before = alice
        .list_events(&EventQuery {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap()
        .events;
    drop(replica);

    // Export, then import into a fresh PostgreSQL database.
    let dump = dir.path().join("dump.jsonl");
    let out = cli(&[
        "export",
        "--config",
        &sqlite_cfg_s,
        "--output",
        dump.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&dump).unwrap();
    assert!(!text.contains(&live.code), "an export holds no invite code");
    let admin_url =
        guestlist_testkit::postgres_url().expect("GUESTLIST_TEST_POSTGRES_URL names a server");
    let pg_url = guestlist_testkit::fresh_database(&admin_url).await;
    let out = cli(&[
        "import",
        "--database-url",
        &pg_url,
        "--input",
        dump.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Never into a database that holds data.
    let again = cli(&[
        "import",
        "--database-url",
        &pg_url,
        "--input",
        dump.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // The same service on PostgreSQL: same codes, members, limits, audit log.
    let pg_dir = tempfile::tempdir().unwrap();
    let pg_cfg = write_config(&pg_dir, &pg_url, &secret);
    let replica = start(&pg_cfg, &pg_dir.path().join("pg.log"));
    wait_ready(&replica.url, Duration::from_secs(20)).await;
    let client = |token: &str| Client::new(&replica.url).with_token(token);
    let alice = client(&guestlist_testkit::user_token(&secret, "alice"));
    let preview = Client::new(&replica.url)
        .preview_invite(&live.code)
        .await
        .unwrap();
    assert_eq!(
        (
            preview.space_name.as_str(),
            preview.member_count,
            preview.uses_left
        ),
        ("Acme", 2, Some(4))
    );
    assert_eq!(
        Client::new(&replica.url)
            .preview_invite(&dead.code)
            .await
            .unwrap_err()
            .code(),
        Some("not_found")
    );
    let carol = client(&guestlist_testkit::user_token(&secret, "carol"))
        .join_invite(&live.code, None)
        .await
        .unwrap();
    assert_eq!(carol.outcome, api::JoinOutcome::Joined);
    let members = all_members(&alice, "acme/").await;
    assert_eq!(
        members
            .iter()
            .map(|m| m.user_id.as_str())
            .collect::<Vec<_>>(),
        vec!["alice", "bob", "carol"]
    );
    assert_eq!(members[1].invite_id, Some(live.invite.id));
    assert_eq!(
        alice
            .show_invite_link(&live.invite.id.to_string())
            .await
            .unwrap()
            .code,
        live.code
    );
    let events_after = alice
        .list_events(&EventQuery {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap()
        .events;
    assert_eq!(
        events_after.len(),
        events_before.len() + 1,
        "the history came along, and grows"
    );
    assert!(
        events_after[0].seq > events_before[0].seq,
        "new events number after the imported ones"
    );
    assert_eq!(events_after[1..], events_before[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it"]
async fn migrate_applies_the_engine_the_url_names() {
    let admin_url =
        guestlist_testkit::postgres_url().expect("GUESTLIST_TEST_POSTGRES_URL names a server");
    let pg_url = guestlist_testkit::fresh_database(&admin_url).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["migrate", "--database-url", &pg_url])
        .current_dir(dir.path())
        .output()
        .expect("guestlist runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The schema is in PostgreSQL, and no SQLite file was made of the URL.
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&pg_url)
        .await
        .unwrap();
    let (tables,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name IN ('spaces', 'memberships', 'invites')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(tables, 3);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
