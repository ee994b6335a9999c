//! Webhooks from the binary: a server killed with SIGKILL during a burst of joins
//! delivers every acknowledged join once it is back (on SQLite here, on PostgreSQL in
//! the replicas' test), and three replicas on one PostgreSQL deliver each event, never
//! the same one from two replicas at once.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use guestlist_app::Secret;
use guestlist_client::{Client, api};
use guestlist_testkit::server::{self, Replica};

use crate::{BIN, free_port, wait_ready};

/// What the receiver saw: every delivery's webhook-id and subject, and whether two
/// deliveries of one id were ever in flight at once.
#[derive(Default)]
struct Seen {
    deliveries: Vec<(String, String)>,
    in_flight: HashMap<String, usize>,
    overlaps: usize,
    forged: usize,
}

#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Seen>>,
    secret: Arc<Mutex<Option<String>>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let secret = r.secret.lock().unwrap().clone().unwrap_or_default();
    let verified = standardwebhooks::Webhook::new(&secret)
        .and_then(|w| w.verify(&body, &headers))
        .is_ok();
    {
        let mut s = r.seen.lock().unwrap();
        if !verified {
            s.forged += 1;
        }
        let n = s.in_flight.entry(id.clone()).or_default();
        *n += 1;
        if *n > 1 {
            s.overlaps += 1;
        }
    }
    // Long enough that two replicas attempting one delivery at once would overlap.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let subject = event["data"]["subject"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut s = r.seen.lock().unwrap();
    *s.in_flight.get_mut(&id).unwrap() -= 1;
    s.deliveries.push((id, subject));
    StatusCode::NO_CONTENT
}

async fn start_receiver() -> (Receiver, String) {
    let r = Receiver {
        seen: Arc::default(),
        secret: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (r, url)
}

const WEBHOOKS: &str = "[webhooks]\nallow_targets = [\"127.0.0.1\"]\npoll_interval_ms = 50\n\
    retry_schedule_secs = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]\njitter_percent = 0\nlease_secs = 20\n";

async fn endpoint(admin: &Client, url: &str, r: &Receiver) {
    let made = admin
        .create_webhook(&api::CreateWebhookRequest {
            url: url.into(),
            description: None,
            kinds: Some(vec!["member.joined".into()]),
            space: Some("acme/".into()),
        })
        .await
        .unwrap();
    *r.secret.lock().unwrap() = Some(made.secret);
}

async fn acme(platform: &Client) {
    platform
        .create_space(&api::CreateSpaceRequest {
            path: "acme/".into(),
            name: None,
            join_mode: api::JoinMode::InviteOnly,
            member_limit: None,
        })
        .await
        .unwrap();
    platform
        .provision_member("acme/", "alice", "admin")
        .await
        .unwrap();
}

/// Waits until the receiver has a delivery for every subject in `want`.
async fn until_delivered(r: &Receiver, want: &HashSet<String>, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let got: HashSet<String> = r
            .seen
            .lock()
            .unwrap()
            .deliveries
            .iter()
            .map(|(_, s)| s.clone())
            .collect();
        let missing: Vec<&String> = want.difference(&got).collect();
        if missing.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} acknowledged joins never delivered: {:?}",
            missing.len(),
            missing.iter().take(10).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Duplicates are allowed only as the same webhook-id: one id per subject.
fn check_ids(r: &Receiver) {
    let s = r.seen.lock().unwrap();
    let mut by_subject: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (id, subject) in &s.deliveries {
        by_subject.entry(subject).or_default().insert(id);
    }
    for (subject, ids) in by_subject {
        assert_eq!(
            ids.len(),
            1,
            "{subject}'s join came with several webhook-ids: {ids:?}"
        );
    }
    assert_eq!(s.forged, 0, "every delivery verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_mid_burst_delivers_every_acknowledged_join_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("g.db").display());
    killed_mid_burst(dir, &db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it"]
async fn a_postgres_replica_killed_mid_burst_delivers_every_acknowledged_join_after_restart() {
    let admin_url =
        guestlist_testkit::postgres_url().expect("GUESTLIST_TEST_POSTGRES_URL names a server");
    let db =
        guestlist_testkit::create_database(&admin_url, &guestlist_testkit::database_name()).await;
    killed_mid_burst(tempfile::tempdir().unwrap(), &db).await;
}

/// SIGKILL during a burst of joins with an endpoint registered, then a restart on the
/// same database: every acknowledged join's member.joined arrives.
async fn killed_mid_burst(dir: tempfile::TempDir, db: &str) {
    let secret = Secret::generate();
    let config = server::write_config(dir.path(), db, &secret, WEBHOOKS);
    let admin_key = server::create_api_key(Path::new(BIN), &config, "backend");
    let start = || {
        server::serve(
            Path::new(BIN),
            &config,
            free_port(),
            &dir.path().join("log"),
        )
    };
    let replica: Replica = start();
    wait_ready(&replica.url, Duration::from_secs(30)).await;
    let platform = Client::new(&replica.url).with_token(&admin_key);
    acme(&platform).await;
    let alice =
        Client::new(&replica.url).with_token(guestlist_testkit::user_token(&secret, "alice"));
    let (r, url) = start_receiver().await;
    endpoint(&alice, &url, &r).await;
    let code = alice
        .create_invite(&api::CreateInviteRequest {
            space: "acme/".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .code;
    // A burst of joins from 16 tasks; the server is killed in the middle of it.
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (url, code, secret, acked) = (
            replica.url.clone(),
            code.clone(),
            secret.clone(),
            acknowledged.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let user = format!("u{t}x{i}");
                let c = Client::new(&url).with_token(guestlist_testkit::user_token(&secret, &user));
                match c.join_invite(&code, None).await {
                    Ok(_) => {
                        acked.lock().unwrap().insert(user);
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < 150 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(replica); // SIGKILL
    for t in tasks {
        t.await.unwrap();
    }
    let want = acknowledged.lock().unwrap().clone();
    assert!(want.len() >= 150);
    let replica = start();
    wait_ready(&replica.url, Duration::from_secs(30)).await;
    until_delivered(&r, &want, Duration::from_secs(60)).await;
    check_ids(&r);

    // `guestlist events tail` shows the same joins from the terminal, one JSON line each.
    let mut tail = tokio::process::Command::new(BIN)
        .args([
            "events",
            "tail",
            "--after",
            "0",
            "--kinds",
            "member.joined",
            "--url",
            &replica.url,
            "--token",
            &admin_key,
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(tail.stdout.take().unwrap());
    let mut line = String::new();
    use tokio::io::AsyncBufReadExt;
    tokio::time::timeout(Duration::from_secs(10), lines.read_line(&mut line))
        .await
        .expect("tail prints")
        .unwrap();
    let first: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(first["kind"], "member.joined");
    assert_eq!(
        first["subject"], "alice",
        "the log from its start: alice's join first"
    );
    drop(replica);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it"]
async fn three_replicas_deliver_every_event_and_never_one_from_two_at_once() {
    let admin_url =
        guestlist_testkit::postgres_url().expect("GUESTLIST_TEST_POSTGRES_URL names a server");
    let db =
        guestlist_testkit::create_database(&admin_url, &guestlist_testkit::database_name()).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = Secret::generate();
    let config = server::write_config(
        dir.path(),
        &db,
        &secret,
        &format!("postgres_max_connections = 8\n{WEBHOOKS}"),
    );
    let replicas: Vec<Replica> = (0..3)
        .map(|i| {
            server::serve(
                Path::new(BIN),
                &config,
                free_port(),
                &dir.path().join(format!("r{i}.log")),
            )
        })
        .collect();
    for rep in &replicas {
        wait_ready(&rep.url, Duration::from_secs(30)).await;
    }
    let admin_key = server::create_api_key(Path::new(BIN), &config, "backend");
    let platform = Client::new(&replicas[0].url).with_token(&admin_key);
    acme(&platform).await;
    let alice =
        Client::new(&replicas[0].url).with_token(guestlist_testkit::user_token(&secret, "alice"));
    let (r, url) = start_receiver().await;
    endpoint(&alice, &url, &r).await;
    let code = alice
        .create_invite(&api::CreateInviteRequest {
            space: "acme/".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .code;
    // A live stream held on the third replica, started before the joins.
    let mut stream = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/events/stream?kinds=member.joined",
            replicas[2].url
        ))
        .bearer_auth(&admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    // 300 joins spread over the three replicas, 30 at a time.
    let mut want = HashSet::new();
    let mut tasks = Vec::new();
    for i in 0..300 {
        let user = format!("p{i}");
        want.insert(user.clone());
        let c = Client::new(&replicas[i % 3].url)
            .with_token(guestlist_testkit::user_token(&secret, &user));
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            c.join_invite(&code, None).await.unwrap()
        }));
        if tasks.len() == 30 {
            for t in tasks.drain(..) {
                t.await.unwrap();
            }
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    until_delivered(&r, &want, Duration::from_secs(60)).await;
    // The first join, made through the first replica, reached the stream on the third.
    let mut buf = String::new();
    while !buf.contains("\"subject\":\"p0\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("the stream on another replica carries the join")
            .unwrap()
            .expect("the stream is open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
    // Settle, then count: each event once (no replica delivered one another had).
    tokio::time::sleep(Duration::from_secs(1)).await;
    check_ids(&r);
    let s = r.seen.lock().unwrap();
    assert_eq!(s.overlaps, 0, "two replicas attempted one delivery at once");
    let ids: HashSet<&String> = s.deliveries.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 300);
    assert_eq!(s.deliveries.len(), 300, "each event delivered once");
}
