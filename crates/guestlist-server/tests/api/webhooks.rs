//! Events leaving the service, on both engines: webhooks verified by an independent
//! implementation of Standard Webhooks (the `standardwebhooks` package, run as a
//! receiver on 127.0.0.1), retries and disabling, the SSRF rule, who manages an
//! endpoint, the forward feed, the live stream, and the expiry sweeper.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use guestlist_api as api;
use guestlist_client::{Client, EventQuery};
use serde_json::{Value, json};

use crate::helpers::{Setup, TestApp, code, invite_req, python};

/// The Python receiver (tests/api/tools/receiver.py), killed when dropped.
struct Receiver {
    child: Child,
    port: u16,
    http: reqwest::Client,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    fn start() -> Receiver {
        let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/api/tools/receiver.py");
        let mut child = Command::new(python())
            .arg(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the receiver printed {line:?}, not its port"));
        Receiver {
            child,
            port,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/hook/{name}", self.port)
    }

    async fn control(&self, name: &str, conf: Value) {
        let res = self
            .http
            .post(format!("http://127.0.0.1:{}/control/{name}", self.port))
            .json(&conf)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }

    async fn received(&self, name: &str) -> Vec<Value> {
        self.http
            .get(format!("http://127.0.0.1:{}/received/{name}", self.port))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until `name` has received what `done` wants; the requests.
    async fn until(&self, name: &str, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        for _ in 0..300 {
            let got = self.received(name).await;
            if done(&got) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{name} never received {what}: {:#?}",
            self.received(name).await
        );
    }
}

fn of_kind<'a>(got: &'a [Value], kind: &str) -> Vec<&'a Value> {
    got.iter().filter(|r| r["body"]["type"] == kind).collect()
}

async fn endpoint(
    by: &Client,
    url: String,
    space: Option<&str>,
    kinds: Option<&[&str]>,
) -> api::WebhookWithSecret {
    by.create_webhook(&api::CreateWebhookRequest {
        url,
        description: Some("test".into()),
        kinds: kinds.map(|k| k.iter().map(|s| s.to_string()).collect()),
        space: space.map(str::to_owned),
    })
    .await
    .expect("the endpoint is registered")
}

async fn join(app: &TestApp, admin: &Client, space: &str, user: &str) {
    let invite = app.invite(admin, invite_req(space)).await;
    app.user(user)
        .join_invite(&invite.code, None)
        .await
        .expect("the join succeeds");
}

#[tokio::test]
async fn deliveries_verify_with_the_standard_webhooks_package_through_a_secret_rotation() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    let admin = app.space_with_admin("acme/", "alice").await;
    let hook = endpoint(&admin, rx.url("a"), Some("acme/"), Some(&["member.joined"])).await;
    assert!(hook.secret.starts_with("whsec_"), "{}", hook.secret);
    // The secret is shown once: never in a listing.
    let listed = serde_json::to_string(&admin.list_webhooks().await.unwrap()).unwrap();
    assert!(!listed.contains(&hook.secret));
    rx.control("a", json!({ "secrets": [hook.secret] })).await;

    join(&app, &admin, "acme/", "bob").await;
    let got = rx
        .until("a", "bob's member.joined", |g| {
            !of_kind(g, "member.joined").is_empty()
        })
        .await;
    let r = of_kind(&got, "member.joined")[0];
    assert_eq!(
        r["verified_by"],
        json!([0]),
        "the package verifies it: {r:#}"
    );
    assert_eq!(r["body"]["data"]["subject"], "bob");
    assert_eq!(r["body"]["data"]["space"], "acme/");
    // webhook-id is the event's id, as the feed shows it, and the payload carries its
    // sequence number.
    let feed = admin
        .list_events(&EventQuery {
            after: Some(0),
            kinds: Some("member.joined"),
            ..Default::default()
        })
        .await
        .unwrap();
    let joined = feed
        .events
        .iter()
        .find(|e| e.subject.as_deref() == Some("bob"))
        .unwrap();
    assert_eq!(r["webhook_id"], joined.id.to_string());
    assert_eq!(r["body"]["data"]["seq"], joined.seq);
    // Only the kinds asked for: the invite's creation was not sent.
    assert!(
        got.iter().all(|r| r["body"]["type"] == "member.joined"),
        "{got:#?}"
    );

    // A rotation: while the overlap lasts, both secrets sign each delivery.
    let rotated = admin.rotate_webhook_secret(hook.webhook.id).await.unwrap();
    assert_ne!(rotated.secret, hook.secret);
    assert!(rotated.webhook.previous_secret_until.is_some());
    rx.control("a", json!({ "secrets": [hook.secret, rotated.secret] }))
        .await;
    join(&app, &admin, "acme/", "carol").await;
    let got = rx
        .until("a", "carol's member.joined", |g| {
            of_kind(g, "member.joined").len() >= 2
        })
        .await;
    let r = of_kind(&got, "member.joined")[1];
    assert_eq!(r["body"]["data"]["subject"], "carol");
    assert_eq!(
        r["verified_by"],
        json!([0, 1]),
        "old and new both verify: {r:#}"
    );
    assert_eq!(r["signatures"], 2);
    // A receiver that knows neither secret verifies nothing (the check can fail).
    rx.control(
        "a",
        json!({ "secrets": ["whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="] }),
    )
    .await;
    join(&app, &admin, "acme/", "dan").await;
    let got = rx
        .until("a", "dan's member.joined", |g| {
            of_kind(g, "member.joined").len() >= 3
        })
        .await;
    assert_eq!(of_kind(&got, "member.joined")[2]["verified_by"], json!([]));
}

#[tokio::test]
async fn a_failing_receiver_gets_every_event_on_the_retry_schedule_and_410_disables_the_endpoint() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    let admin = app.space_with_admin("acme/", "alice").await;
    let hook = endpoint(
        &admin,
        rx.url("down"),
        Some("acme/"),
        Some(&["member.joined"]),
    )
    .await;
    // Down for a while: a 500, a reset connection, a 503 asking for a short wait.
    rx.control(
        "down",
        json!({ "secrets": [hook.secret], "script": [500, "reset", [503, 1]], "default": 200 }),
    )
    .await;
    join(&app, &admin, "acme/", "bob").await;
    let got = rx
        .until("down", "a 200 in the end", |g| {
            g.iter().any(|r| r["answered"] == 200)
        })
        .await;
    assert_eq!(got.len(), 4, "three failures, then delivered: {got:#?}");
    // The same webhook-id on every attempt, so the receiver can deduplicate.
    assert!(got.iter().all(|r| r["webhook_id"] == got[0]["webhook_id"]));
    assert!(got.iter().all(|r| r["verified_by"] == json!([0])));
    // Retry-After was honoured: the fourth attempt came at least a second after the third.
    let gap = got[3]["at"].as_f64().unwrap() - got[2]["at"].as_f64().unwrap();
    assert!(gap >= 0.95, "Retry-After: 1 honoured, waited {gap} s");
    // The delivery log tells the story, once the sender has recorded the answer the
    // receiver just gave (it records after the receiver answers: on a loaded machine
    // the test can read the log first).
    let mut log = admin
        .webhook_deliveries(hook.webhook.id, None, None)
        .await
        .unwrap();
    for _ in 0..100 {
        if log.deliveries[0].state == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        log = admin
            .webhook_deliveries(hook.webhook.id, None, None)
            .await
            .unwrap();
    }
    let d = &log.deliveries[0];
    assert_eq!(d.state, "delivered");
    assert_eq!(d.event_kind.as_deref(), Some("member.joined"));
    let statuses: Vec<Option<u16>> = d.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![Some(500), None, Some(503), Some(200)]);
    assert!(d.attempts[1].error.is_some());
    assert_eq!(d.attempts[3].response.as_deref(), Some("ok"));

    // The metrics count the attempts by outcome, and the lag of the successful one.
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "guestlist_webhook_attempts_total{outcome=\"retry\"}",
        "guestlist_webhook_attempts_total{outcome=\"delivered\"}",
        "guestlist_webhook_delivery_lag_seconds",
    ] {
        assert!(metrics.contains(name), "{name} is not in /metrics");
    }
    // A manual redeliver sends it again, with the same id.
    admin
        .redeliver_webhook(hook.webhook.id, d.id)
        .await
        .unwrap();
    rx.until("down", "the redelivery", |g| g.len() == 5).await;

    // 410 Gone: the endpoint is disabled, with an event, and nothing more is sent.
    rx.control("down", json!({ "script": [410] })).await;
    join(&app, &admin, "acme/", "carol").await;
    rx.until("down", "the 410", |g| {
        g.iter().any(|r| r["answered"] == 410)
    })
    .await;
    let mut disabled = None;
    for _ in 0..100 {
        let w = admin.get_webhook(hook.webhook.id).await.unwrap();
        if !w.enabled {
            disabled = Some(w);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let w = disabled.expect("410 disables the endpoint");
    assert!(w.disabled_reason.unwrap().contains("410"));
    let events = admin
        .list_events(&EventQuery {
            kind: Some("webhook.endpoint_disabled"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.events.len(), 1);
    assert_eq!(events.events[0].data["reason"], "gone");
    join(&app, &admin, "acme/", "dan").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rx.received("down").await.len();
    // Re-enabled by its owner, it receives again (from then on; replay recovers the rest).
    admin
        .update_webhook(
            hook.webhook.id,
            &api::UpdateWebhookRequest {
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let replayed = admin
        .replay_webhook(
            hook.webhook.id,
            &api::ReplayRequest {
                since_seq: Some(1),
                since: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        replayed.queued, 4,
        "bob, carol, dan's joins and alice's add are member.joined"
    );
    rx.until("down", "the replay", |g| g.len() >= before + 4)
        .await;
}

#[tokio::test]
async fn an_endpoint_failing_for_the_configured_period_is_disabled_with_an_event() {
    let app = TestApp::spawn_setup(Setup {
        webhooks: guestlist_app::WebhookConfig {
            disable_after: Duration::from_millis(300),
            retry_schedule: vec![Duration::from_millis(100); 20],
            ..crate::helpers::test_webhooks()
        },
        ..Setup::default()
    })
    .await;
    let rx = Receiver::start();
    let admin = app.space_with_admin("acme/", "alice").await;
    let hook = endpoint(&admin, rx.url("broken"), Some("acme/"), None).await;
    rx.control(
        "broken",
        json!({ "secrets": [hook.secret], "default": 500 }),
    )
    .await;
    join(&app, &admin, "acme/", "bob").await;
    let mut w = None;
    for _ in 0..100 {
        let got = admin.get_webhook(hook.webhook.id).await.unwrap();
        if !got.enabled {
            w = Some(got);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let w = w.expect("disabled after failing for the period");
    assert!(w.disabled_reason.unwrap().contains("continuously"));
    let events = admin
        .list_events(&EventQuery {
            kind: Some("webhook.endpoint_disabled"),
            ..Default::default()
        })
        .await
        .unwrap()
        .events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["reason"], "failing");
    assert_eq!(events[0].actor, guestlist_app::SYSTEM_ACTOR);
    // Enabled again by its owner, it is no longer counted as failing.
    let back = admin
        .update_webhook(
            hook.webhook.id,
            &api::UpdateWebhookRequest {
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(back.enabled && back.failing_since.is_none());
}

#[tokio::test]
async fn a_hanging_receiver_does_not_hold_up_another_endpoint() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start();
    let admin = app.space_with_admin("acme/", "alice").await;
    let slow = endpoint(
        &admin,
        rx.url("slow"),
        Some("acme/"),
        Some(&["member.joined"]),
    )
    .await;
    let fast = endpoint(
        &admin,
        rx.url("fast"),
        Some("acme/"),
        Some(&["member.joined"]),
    )
    .await;
    rx.control(
        "slow",
        json!({ "secrets": [slow.secret], "default": "hang" }),
    )
    .await;
    rx.control("fast", json!({ "secrets": [fast.secret] }))
        .await;
    for u in ["u1", "u2", "u3", "u4", "u5", "u6"] {
        join(&app, &admin, "acme/", u).await;
    }
    // Every join reaches the fast receiver while the slow one holds its attempts open.
    let got = rx.until("fast", "six joins", |g| g.len() >= 6).await;
    assert!(got.iter().all(|r| r["verified_by"] == json!([0])));
}

#[tokio::test]
async fn internal_targets_are_refused_after_resolution_too() {
    let app = TestApp::spawn_setup(Setup {
        webhooks: guestlist_app::WebhookConfig::default(),
        ..Setup::default()
    })
    .await;
    let admin = app.space_with_admin("acme/", "alice").await;
    for url in [
        "http://127.0.0.1/hook",
        "http://[::1]:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/hook",
        // A name that resolves to a private address is refused once resolved.
        "http://localhost:8080/hook",
        "ftp://example.com/hook",
        "http://user:pass@example.com/hook",
        "not a url",
    ] {
        let e = admin
            .create_webhook(&api::CreateWebhookRequest {
                url: url.into(),
                description: None,
                kinds: None,
                space: Some("acme/".into()),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("invalid_input"), "{url}: {e}");
        assert!(e.to_string().contains("url"), "{url}: {e}");
    }
    let long = format!("https://example.com/{}", "a".repeat(2_100));
    let e = admin
        .create_webhook(&api::CreateWebhookRequest {
            url: long,
            description: None,
            kinds: None,
            space: Some("acme/".into()),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("invalid_input"));
    // An unknown kind, an empty list, an unknown field: refused, nothing registered.
    let e = admin
        .create_webhook(&api::CreateWebhookRequest {
            url: "https://example.com/hook".into(),
            description: None,
            kinds: Some(vec!["member.exploded".into()]),
            space: Some("acme/".into()),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("invalid_input"));
    let res = admin
        .request(reqwest::Method::POST, "/api/v1/webhooks")
        .json(&json!({ "url": "https://example.com/hook", "space": "acme/", "secret": "mine" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(admin.list_webhooks().await.unwrap().webhooks.is_empty());
}

#[tokio::test]
async fn only_a_spaces_admins_manage_its_endpoints_and_everything_is_the_platforms() {
    let app = TestApp::spawn().await;
    let acme = app.space_with_admin("acme/", "alice").await;
    let other = app.space_with_admin("other/", "olga").await;
    app.platform()
        .provision_member("acme/", "mo", "member")
        .await
        .unwrap();
    let member = app.user("mo");
    let url = "http://127.0.0.1:9/hook".to_owned();
    let mine = endpoint(&acme, url.clone(), Some("acme/"), None).await;
    // A member who is not an admin, a stranger, and an admin without a space.
    assert_eq!(
        code(
            member
                .create_webhook(&api::CreateWebhookRequest {
                    url: url.clone(),
                    description: None,
                    kinds: None,
                    space: Some("acme/".into())
                })
                .await
        ),
        "forbidden"
    );
    assert_eq!(
        code(
            other
                .create_webhook(&api::CreateWebhookRequest {
                    url: url.clone(),
                    description: None,
                    kinds: None,
                    space: Some("acme/".into())
                })
                .await
        ),
        "not_found"
    );
    assert_eq!(
        code(
            acme.create_webhook(&api::CreateWebhookRequest {
                url: url.clone(),
                description: None,
                kinds: None,
                space: None
            })
            .await
        ),
        "forbidden"
    );
    // Another space's admin cannot see, change, rotate or delete it.
    assert_eq!(code(other.get_webhook(mine.webhook.id).await), "not_found");
    assert_eq!(
        code(other.rotate_webhook_secret(mine.webhook.id).await),
        "not_found"
    );
    assert_eq!(
        code(other.delete_webhook(mine.webhook.id).await),
        "not_found"
    );
    assert!(other.list_webhooks().await.unwrap().webhooks.is_empty());
    // The platform key registers one for everything, which space admins never see.
    let all = endpoint(&app.platform(), url.clone(), None, None).await;
    assert_eq!(code(acme.get_webhook(all.webhook.id).await), "not_found");
    let listed: Vec<_> = acme
        .list_webhooks()
        .await
        .unwrap()
        .webhooks
        .into_iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(listed, vec![mine.webhook.id]);
    let everything = app.platform().list_webhooks().await.unwrap().webhooks;
    assert_eq!(everything.len(), 2);
    // Deleted: gone for its owner too.
    acme.delete_webhook(mine.webhook.id).await.unwrap();
    assert_eq!(code(acme.get_webhook(mine.webhook.id).await), "not_found");
}

#[tokio::test]
async fn the_feed_resumes_with_no_gap_and_no_duplicate_and_shows_only_what_the_caller_administers()
{
    let app = TestApp::spawn().await;
    let acme = app.space_with_admin("acme/", "alice").await;
    let other = app.space_with_admin("other/", "olga").await;
    let invite = app.invite(&acme, invite_req("acme/")).await;
    let other_invite = app.invite(&other, invite_req("other/")).await;
    // Joins from many tasks at once, in both spaces.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (user, code) = if i % 2 == 0 {
            (app.user(&format!("a{i}")), invite.code.clone())
        } else {
            (app.user(&format!("o{i}")), other_invite.code.clone())
        };
        tasks.push(tokio::spawn(async move {
            user.join_invite(&code, None).await.unwrap()
        }));
    }
    // Follow the feed in small pages while they run.
    let mut seen: Vec<api::Event> = Vec::new();
    let mut after = 0;
    let follow = |page: api::EventPage, seen: &mut Vec<api::Event>| {
        let next = page.next_after.expect("the feed says where to resume");
        seen.extend(page.events);
        next
    };
    for _ in 0..400 {
        let page = acme
            .list_events(&EventQuery {
                after: Some(after),
                limit: Some(3),
                ..Default::default()
            })
            .await
            .unwrap();
        after = follow(page, &mut seen);
        if tasks.iter().all(|t| t.is_finished())
            && seen.iter().filter(|e| e.kind == "member.joined").count() >= 21
        {
            break;
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seqs: Vec<i64> = seen.iter().map(|e| e.seq).collect();
    let mut sorted = seqs.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seqs, sorted, "ascending, no duplicate");
    // Nothing of the other space, and nothing missing of this one.
    assert!(
        seen.iter().all(|e| e.space.as_deref() == Some("acme/")),
        "{seen:#?}"
    );
    let everything = app
        .platform()
        .list_events(&EventQuery {
            after: Some(0),
            limit: Some(100),
            space: Some("acme/"),
            ..Default::default()
        })
        .await
        .unwrap();
    let all_acme: Vec<i64> = everything.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, all_acme, "the admin's feed is the space's whole log");
    assert_eq!(
        seen.iter().filter(|e| e.kind == "member.joined").count(),
        21
    );
    // Kinds filter, and where to resume when nothing is new.
    let joins = acme
        .list_events(&EventQuery {
            after: Some(0),
            kinds: Some("member.joined"),
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(joins.events.iter().all(|e| e.kind == "member.joined"));
    let last = *seqs.last().unwrap();
    let empty = acme
        .list_events(&EventQuery {
            after: Some(last),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(empty.events.is_empty());
    assert_eq!(empty.next_after, Some(last));
    // A window: after and before together.
    let window = acme
        .list_events(&EventQuery {
            after: Some(seqs[1]),
            before: Some(seqs[4]),
            ..Default::default()
        })
        .await
        .unwrap();
    let got: Vec<i64> = window.events.iter().map(|e| e.seq).collect();
    assert_eq!(got, seqs[2..4].to_vec());
    // Bad input: refused, never ignored.
    for q in [
        "after=-1",
        "after=0&kinds=nope",
        "after=0&colour=blue",
        "after=x",
    ] {
        let res = acme
            .request(reqwest::Method::GET, &format!("/api/v1/events?{q}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{q}");
    }
}

#[tokio::test]
async fn the_feed_waits_for_a_smaller_number_still_in_flight() {
    // PostgreSQL draws numbers in one order and commits in another.
    let app = TestApp::spawn().await;
    if app.app.engine() != "postgres" {
        return;
    }
    let acme = app.space_with_admin("acme/", "alice").await;
    // Where the feed stands once what came before is final (other databases' work on
    // the same server can hold it back for a moment: transaction ids are server-wide).
    let logged = acme
        .list_events(&EventQuery::default())
        .await
        .unwrap()
        .events
        .len();
    let start = feed_once(&acme, 0, |p| p.events.len() == logged)
        .await
        .expect("the feed caught up with the log")
        .next_after
        .unwrap();
    // A transaction of our own draws the next number and holds it.
    let mut held = app.pg_connection().await.unwrap();
    for sql in [
        "BEGIN",
        "INSERT INTO events (id, kind, space_path, actor, data, created_at) \
         VALUES (gen_random_uuid(), 'space.updated', 'acme/', 'held', '{}', 0)",
    ] {
        sqlx::query(sql).execute(&mut held).await.unwrap();
    }
    // Meanwhile a join commits with a larger number.
    join(&app, &acme, "acme/", "bob").await;
    let page = acme
        .list_events(&EventQuery {
            after: Some(start),
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        page.events.is_empty(),
        "nothing past a number still in flight: {:#?}",
        page.events
    );
    assert_eq!(page.next_after, Some(start));
    sqlx::query("COMMIT").execute(&mut held).await.unwrap();
    // Now final; as above, other databases' transactions on the server may hold the
    // feed back for a moment more.
    // Every event of the join's transactions, not only the first of them: the feed
    // may show the earlier ones a moment before the later.
    let page = feed_once(&acme, start, |p| {
        p.events.iter().any(|e| e.kind == "member.joined")
    })
    .await
    .expect("the held event and the join reach the feed once committed");
    let kinds: Vec<&str> = page.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds[0], "space.updated", "the held event first: {kinds:?}");
    assert!(kinds.contains(&"member.joined"));
}

/// The forward feed after `after` once it shows what `enough` wants (other databases'
/// transactions on a shared PostgreSQL server may hold it back a moment: transaction
/// ids are server-wide); `None` after 5 s.
async fn feed_once(
    client: &guestlist_client::Client,
    after: i64,
    enough: impl Fn(&api::EventPage) -> bool,
) -> Option<api::EventPage> {
    for _ in 0..200 {
        let page = client
            .list_events(&EventQuery {
                after: Some(after),
                limit: Some(100),
                ..Default::default()
            })
            .await
            .unwrap();
        if enough(&page) {
            return Some(page);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    None
}

/// Reads `n` events from the stream (as SSE frames): their ids and kinds.
async fn read_stream(res: &mut reqwest::Response, n: usize) -> Vec<(i64, String, Value)> {
    let mut buf = String::new();
    let mut out = Vec::new();
    while out.len() < n {
        let chunk = tokio::time::timeout(Duration::from_secs(10), res.chunk())
            .await
            .expect("the stream goes on")
            .unwrap()
            .expect("the stream is open");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let (mut id, mut kind, mut data) = (None, None, None);
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("id: ").or(line.strip_prefix("id:")) {
                    id = Some(v.trim().parse::<i64>().unwrap());
                } else if let Some(v) = line.strip_prefix("event: ").or(line.strip_prefix("event:"))
                {
                    kind = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("data: ").or(line.strip_prefix("data:")) {
                    data = Some(serde_json::from_str::<Value>(v).unwrap());
                }
            }
            if let (Some(id), Some(kind), Some(data)) = (id, kind, data) {
                out.push((id, kind, data));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_stream_resumes_from_last_event_id_with_exactly_the_rest() {
    let app = TestApp::spawn().await;
    let acme = app.space_with_admin("acme/", "alice").await;
    let other = app.space_with_admin("other/", "olga").await;
    let token = app.token("alice");
    let http = reqwest::Client::new();
    let open = |last: Option<i64>| {
        let mut req = http
            .get(app.url("/api/v1/events/stream?after=0"))
            .bearer_auth(&token);
        if let Some(l) = last {
            req = req.header("last-event-id", l.to_string());
        }
        req.send()
    };
    for u in ["b1", "b2", "b3", "b4", "b5"] {
        join(&app, &acme, "acme/", u).await;
        join(&app, &other, "other/", &format!("x{u}")).await;
    }
    let mut res = open(None).await.unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.headers());
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let first = read_stream(&mut res, 4).await;
    drop(res);
    let last = first.last().unwrap().0;
    // Live events arrive on the resumed stream too.
    for u in ["c1", "c2"] {
        join(&app, &acme, "acme/", u).await;
        join(&app, &other, "other/", &format!("x{u}")).await;
    }
    // On a shared PostgreSQL server the feed may hold the newest events back a
    // moment: count what the stream owes only once it shows the last join.
    let everything = feed_once(&acme, 0, |p| {
        p.events
            .iter()
            .any(|e| e.kind == "member.joined" && e.subject.as_deref() == Some("c2"))
    })
    .await
    .expect("the joins reach the feed")
    .events;
    let rest: Vec<i64> = everything
        .iter()
        .map(|e| e.seq)
        .filter(|s| *s > last)
        .collect();
    let mut res = open(Some(last)).await.unwrap();
    let second = read_stream(&mut res, rest.len()).await;
    let got: Vec<i64> = second.iter().map(|e| e.0).collect();
    assert_eq!(got, rest, "exactly the rest, in order");
    let all: Vec<&(i64, String, Value)> = first.iter().chain(second.iter()).collect();
    assert!(
        all.iter().all(|e| e.2["space"] == "acme/"),
        "never another space's events"
    );
    assert!(
        all.iter()
            .any(|e| e.1 == "member.joined" && e.2["subject"] == "c2")
    );
    // A bad Last-Event-ID or an unknown parameter is refused before streaming.
    let res = http
        .get(app.url("/api/v1/events/stream"))
        .bearer_auth(&token)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = http
        .get(app.url("/api/v1/events/stream?colour=blue"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// With `[events] lifetime_secs`, a stream ends on its own after delivering what it
/// had, and the client resumes from its last id with exactly the rest.
#[tokio::test]
async fn a_stream_with_a_lifetime_closes_and_its_client_resumes_with_the_rest() {
    let mut setup = Setup::default();
    setup.options.events.lifetime_secs = 1;
    let app = TestApp::spawn_setup(setup).await;
    let acme = app.space_with_admin("acme/", "alice").await;
    for u in ["b1", "b2"] {
        join(&app, &acme, "acme/", u).await;
    }
    let token = app.token("alice");
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    let res = http
        .get(app.url("/api/v1/events/stream?after=0"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The whole answer arrives: the body ends.
    let body = tokio::time::timeout(Duration::from_secs(10), res.text())
        .await
        .expect("the stream closes at its lifetime")
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "not before it");
    let ids: Vec<i64> = body
        .lines()
        .filter_map(|l| l.strip_prefix("id:"))
        .map(|v| v.trim().parse().unwrap())
        .collect();
    let last = *ids.last().expect("the events it had");
    assert!(body.contains("event: member.joined"), "{body}");
    join(&app, &acme, "acme/", "b3").await;
    let mut res = http
        .get(app.url("/api/v1/events/stream"))
        .bearer_auth(&token)
        .header("last-event-id", last.to_string())
        .send()
        .await
        .unwrap();
    let mut rest = Vec::new();
    while !rest
        .iter()
        .any(|e: &(i64, String, Value)| e.2["subject"] == "b3")
    {
        assert!(rest.len() < 10, "{rest:?}");
        rest.extend(read_stream(&mut res, 1).await);
    }
    assert!(rest.iter().all(|e| e.0 > last), "{rest:?} after {last}");
}

#[tokio::test]
async fn a_lapsed_invitation_is_told_once() {
    let app = TestApp::spawn().await;
    let acme = app.space_with_admin("acme/", "alice").await;
    acme.create_invitation(
        &api::CreateInvitationRequest {
            space: "acme/".into(),
            email: Some("bea@example.com".into()),
            expires_in_seconds: Some(1),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let told = app.app.sweep_expired_invitations().await.unwrap();
    // The housekeeping tick may have told it first; either way, once.
    assert!(told <= 1);
    assert_eq!(app.app.sweep_expired_invitations().await.unwrap(), 0);
    let events = acme
        .list_events(&EventQuery {
            kind: Some("invitation.expired"),
            ..Default::default()
        })
        .await
        .unwrap()
        .events;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].actor, guestlist_app::SYSTEM_ACTOR);
}

/// A graphql-transport-ws client: connects, signs in with `connection_init`, and
/// subscribes; the socket.
async fn subscribe(
    app: &TestApp,
    token: &str,
    query: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    let mut req = app
        .url("/graphql/ws")
        .replace("http://", "ws://")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        res.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    let init =
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    ws.send(Message::text(init.to_string())).await.unwrap();
    let ack = ws.next().await.unwrap().unwrap();
    let ack: Value = serde_json::from_str(ack.to_text().unwrap()).unwrap();
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let sub = json!({"id": "1", "type": "subscribe", "payload": {"query": query}});
    ws.send(Message::text(sub.to_string())).await.unwrap();
    ws
}

/// The next `n` events a subscription sends (`next` messages).
async fn next_events(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    n: usize,
) -> Vec<Value> {
    use futures::StreamExt;
    let mut out = Vec::new();
    while out.len() < n {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("the subscription goes on")
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        match v["type"].as_str() {
            Some("next") => out.push(v["payload"]["data"]["events"].clone()),
            Some("ping") => {}
            other => panic!("unexpected {other:?}: {v}"),
        }
    }
    out
}

#[tokio::test]
async fn the_graphql_subscription_follows_the_log_and_shows_only_the_callers_spaces() {
    let app = TestApp::spawn().await;
    let acme = app.space_with_admin("acme/", "alice").await;
    let other = app.space_with_admin("other/", "olga").await;
    let query = "subscription { events(filter: {after: 0, kinds: [\"member.joined\"]}) { seq kind spacePrefix subject } }";
    let mut ws = subscribe(&app, &app.token("alice"), query).await;
    // History first (alice's own join), then live joins from both spaces.
    join(&app, &other, "other/", "xx").await;
    join(&app, &acme, "acme/", "bob").await;
    join(&app, &other, "other/", "yy").await;
    join(&app, &acme, "acme/", "carol").await;
    let got = next_events(&mut ws, 3).await;
    let subjects: Vec<&str> = got.iter().map(|e| e["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, vec!["alice", "bob", "carol"]);
    assert!(
        got.iter()
            .all(|e| e["spacePrefix"] == "acme/" && e["kind"] == "member.joined")
    );
    let seqs: Vec<i64> = got.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    // Olga, who runs other/ only, sees other/'s joins and never acme/'s.
    let mut ws = subscribe(
        &app,
        &app.token("olga"),
        "subscription { events(filter: {after: 0, kinds: [\"member.joined\"]}) { spacePrefix subject } }",
    )
    .await;
    let got = next_events(&mut ws, 3).await;
    let subjects: Vec<&str> = got.iter().map(|e| e["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, vec!["olga", "xx", "yy"]);
    // A bad filter is refused at once.
    let mut ws = subscribe(
        &app,
        &app.token("olga"),
        "subscription { events(filter: {kinds: [\"member.exploded\"]}) { seq } }",
    )
    .await;
    use futures::StreamExt;
    let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
    assert!(
        v["type"] == "error" || v["payload"]["errors"][0]["extensions"]["code"] == "invalid_input",
        "{v}"
    );
}

#[tokio::test]
async fn webhooks_are_managed_over_graphql_through_the_same_rules() {
    let app = TestApp::spawn().await;
    app.space_with_admin("acme/", "alice").await;
    app.space_with_admin("other/", "olga").await;
    let alice = app.token("alice");
    let made = app
        .graphql(
            Some(&alice),
            "mutation($url: String!) { createWebhook(input: {url: $url, space: \"acme/\", kinds: [\"member.joined\"]}) { secret webhook { id enabled kinds space } } }",
            json!({ "url": "http://127.0.0.1:9/hook" }),
        )
        .await;
    let w = &made["data"]["createWebhook"];
    assert!(
        w["secret"].as_str().unwrap().starts_with("whsec_"),
        "{made}"
    );
    assert_eq!(w["webhook"]["space"], "acme/");
    let id = w["webhook"]["id"].as_str().unwrap().to_owned();
    // Listed without its secret; another space's admin does not see it.
    let listed = app
        .graphql(Some(&alice), "{ webhooks { id url } }", json!({}))
        .await;
    assert_eq!(listed["data"]["webhooks"][0]["id"], id.as_str());
    let olga = app
        .graphql(
            Some(&app.token("olga")),
            "query($id: ID!) { webhook(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        olga["errors"][0]["extensions"]["code"], "not_found",
        "{olga}"
    );
    // The SSRF rule holds here too (loopback other than 127.0.0.1 is not allowed).
    let bad = app
        .graphql(
            Some(&alice),
            "mutation { createWebhook(input: {url: \"http://169.254.169.254/\", space: \"acme/\"}) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "invalid_input",
        "{bad}"
    );
    assert_eq!(bad["errors"][0]["extensions"]["field"], "url", "{bad}");
    let off = app
        .graphql(
            Some(&alice),
            "mutation($id: ID!) { updateWebhook(id: $id, input: {enabled: false, allKinds: true}) { enabled kinds } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        off["data"]["updateWebhook"],
        json!({"enabled": false, "kinds": null}),
        "{off}"
    );
}

#[tokio::test]
async fn a_graphql_subscription_ends_when_its_key_is_revoked() {
    use futures::StreamExt;
    let app = TestApp::spawn().await;
    let acme = app.space_with_admin("acme/", "alice").await;
    let key = app.app.create_api_key("feed", true, None).await.unwrap();
    let mut ws = subscribe(
        &app,
        &key,
        "subscription { events(filter: {after: 0, kinds: [\"member.joined\"]}) { subject } }",
    )
    .await;
    assert_eq!(next_events(&mut ws, 1).await[0]["subject"], "alice");
    app.app.revoke_api_key("feed").await.unwrap();
    join(&app, &acme, "acme/", "bob").await;
    // The next page is read for whoever the key names now: no one. The subscription
    // says so and completes; bob's join is never sent.
    let mut said = Vec::new();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("the subscription ends")
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        match v["type"].as_str() {
            Some("complete") => break,
            Some("ping") => {}
            _ => said.push(v),
        }
    }
    assert!(
        said.iter()
            .all(|v| v["payload"]["data"]["events"]["subject"] != "bob"),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|v| v["payload"]["errors"][0]["extensions"]["code"] == "unauthenticated"),
        "{said:?}"
    );
}
