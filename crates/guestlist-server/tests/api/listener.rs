//! The listener's limits, from a raw socket as a slow or hostile client would use it:
//! dripped headers and bodies, idle connections, more connections than the cap, a
//! shutdown with a half-sent request in flight, and `/metrics` behind a token.
//!
//! Each limit is set to a second or two here; the outer `tokio::time::timeout`s only
//! keep a broken server from hanging the suite (they are ten times the limit).

use std::time::Duration;

use guestlist_server::{
    Application, Database, HEALTH_OVERFLOW, HttpLimits, ServerOptions, Settings,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{Setup, TestApp};

const BOUND: Duration = Duration::from_secs(15);

fn limits() -> HttpLimits {
    HttpLimits {
        header_read_timeout_secs: 1,
        body_read_timeout_secs: 1,
        idle_timeout_secs: 1,
        max_connections: 10_000,
        shutdown_grace_secs: 1,
    }
}

async fn spawn(http: HttpLimits) -> TestApp {
    TestApp::spawn_setup(Setup {
        options: ServerOptions {
            http,
            ..ServerOptions::default()
        },
        ..Setup::default()
    })
    .await
}

/// Reads until the server closes the connection; returns what it sent.
async fn until_closed(s: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(BOUND, s.read(&mut buf)).await {
            Err(_) => panic!("the server kept the connection open"),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => all.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

/// One request on its own connection; the response's status line and body.
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    until_closed(&mut s).await
}

#[tokio::test]
async fn dripped_headers_idle_connections_and_slow_bodies_are_cut() {
    let t = spawn(limits()).await;
    // Headers at a byte every 300 ms: cut once a second has passed since the first.
    let mut drip = TcpStream::connect(t.addr).await.unwrap();
    let dripping = async {
        for b in b"GET /healthz HTTP/1.1\r\nHost: example\r\nX-Slow: yes\r\n\r\n" {
            if drip.write_all(&[*b]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        false
    };
    let cut = tokio::time::timeout(BOUND, dripping)
        .await
        .expect("bounded");
    assert!(cut, "the whole dripped request was accepted");

    // A connection that sends nothing, and one kept alive after a request.
    let mut silent = TcpStream::connect(t.addr).await.unwrap();
    assert_eq!(until_closed(&mut silent).await, "");
    let mut kept = TcpStream::connect(t.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = until_closed(&mut kept).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    // A body promised and never sent: 408, and the connection ends.
    let mut slow = TcpStream::connect(t.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/spaces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"pa",
        t.platform_key()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let answered = until_closed(&mut slow).await;
    assert!(answered.starts_with("HTTP/1.1 408"), "{answered}");
    assert!(answered.contains("\"request_timeout\""), "{answered}");
}

#[tokio::test]
async fn past_the_connection_cap_health_checks_are_still_answered() {
    let t = spawn(HttpLimits {
        max_connections: 4,
        idle_timeout_secs: 60,
        header_read_timeout_secs: 60,
        ..limits()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(t.addr).await.unwrap());
    }
    // Let the server accept them before the next ones arrive.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = get(t.addr, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let api = get(t.addr, "/api/v1/spaces/acme%2F").await;
    assert!(api.starts_with("HTTP/1.1 503"), "{api}");
    assert!(api.contains("\"unavailable\""), "{api}");

    // The health lane is bounded too: past it, connections are closed unanswered.
    let mut lane = Vec::new();
    for _ in 0..HEALTH_OVERFLOW {
        lane.push(TcpStream::connect(t.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = get(t.addr, "/healthz").await;
    assert_eq!(
        refused, "",
        "past the health lane a connection gets nothing"
    );

    // Once connections go, the API is served again.
    drop(held);
    drop(lane);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let served = get(t.addr, "/api/v1/spaces/acme%2F").await;
    assert!(served.starts_with("HTTP/1.1 401"), "{served}");
}

#[tokio::test]
async fn shutdown_drains_within_its_grace_despite_a_half_sent_request() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let built = Application::build(Settings {
        database: Database::Sqlite(guestlist_store_sqlite::SqliteOptions::new(
            dir.path().join("g.db"),
        )),
        app: guestlist_app::AppConfig {
            jwt_secret: Some(guestlist_app::Secret::generate()),
            jwt_audience: None,
            issuers: Vec::new(),
            link_secret: guestlist_app::Secret::generate(),
            invite_url_template: "https://chat.example.com/i/{code}".into(),
            code_length: 10,
            rate_limits: Default::default(),
            invitations: Default::default(),
            signup: Default::default(),
            sessions: Default::default(),
            platform_admins: Vec::new(),
            webhooks: Default::default(),
            scim: Default::default(),
        },
        mail: guestlist_workers::MailConfig {
            folder: dir.path().join("mail"),
            ..Default::default()
        },
        server: ServerOptions {
            http: HttpLimits {
                header_read_timeout_secs: 600,
                body_read_timeout_secs: 600,
                idle_timeout_secs: 600,
                ..limits()
            },
            ..ServerOptions::default()
        },
        api_key: None,
    })
    .await
    .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(built.serve(listener, async move {
        let _ = stopped.await;
    }));
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"POST /api/v1/spaces HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        .await
        .unwrap();
    let ok = get(addr, "/healthz").await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    stop.send(()).unwrap();
    tokio::time::timeout(BOUND, server)
        .await
        .expect("the server stopped within its grace")
        .unwrap()
        .unwrap();
    // No new connection is served after it stopped.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let t = TestApp::spawn_setup(Setup {
        options: ServerOptions {
            metrics_token: Some("s3cret-metrics-token".into()),
            ..ServerOptions::default()
        },
        ..Setup::default()
    })
    .await;
    let http = reqwest::Client::new();
    let anonymous = http.get(t.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let wrong = http
        .get(t.url("/metrics"))
        .bearer_auth("s3cret-metrics-tokeX")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let right = http
        .get(t.url("/metrics"))
        .bearer_auth("s3cret-metrics-token")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status().as_u16(), 200);
}

/// Reads from `s` until `within` passes: `Ok(bytes)` if still open then, `Err(bytes)`
/// if the server closed it first.
async fn open_for(s: &mut TcpStream, within: Duration) -> Result<String, String> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return Ok(String::from_utf8_lossy(&all).into_owned()),
            Ok(Ok(0)) | Ok(Err(_)) => return Err(String::from_utf8_lossy(&all).into_owned()),
            Ok(Ok(n)) => all.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn limits_are_totals_from_the_first_byte_on_every_route_family() {
    // Idle is long here: each cut below must come from its own limit, well before.
    let t = spawn(HttpLimits {
        idle_timeout_secs: 30,
        header_read_timeout_secs: 1,
        body_read_timeout_secs: 2,
        ..limits()
    })
    .await;
    let key = t.platform_key().to_owned();
    for (method, path) in [
        ("GET", "/api/v1/spaces/acme%2F"),
        ("POST", "/graphql"),
        ("GET", "/scim/v2/Users"),
        ("GET", "/i/abcdefgh12"),
        ("GET", "/console"),
    ] {
        // Headers: a connection that waits, then drips, is cut a second after its
        // first byte (the idle clock does not run while headers arrive).
        let mut drip = TcpStream::connect(t.addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = std::time::Instant::now();
        let request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nX-Slow: yes\r\n\r\n");
        let mut cut = false;
        for b in request.as_bytes() {
            if drip.write_all(&[*b]).await.is_err() {
                cut = true;
                break;
            }
            if started.elapsed() > Duration::from_secs(6) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            cut || open_for(&mut drip, Duration::from_millis(10))
                .await
                .is_err(),
            "{path}: dripped headers were not cut"
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{path}: headers cut after {:?}, not at their 1 s limit",
            started.elapsed()
        );

        // Body: a byte every 300 ms keeps arriving, but the whole body is due within
        // 2 s of the request's start (or, where the route never reads it, the
        // connection ends once the answer is out).
        let slow = TcpStream::connect(t.addr).await.unwrap();
        let (mut rd, mut wr) = slow.into_split();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
        );
        wr.write_all(head.as_bytes()).await.unwrap();
        let started = std::time::Instant::now();
        let dripper = tokio::spawn(async move {
            for _ in 0..200 {
                if wr.write_all(b" ").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(BOUND, rd.read(&mut buf)).await {
                Err(_) => panic!("{path}: a dripped body held the connection"),
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            }
        }
        dripper.abort();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path}: a dripped body held the connection {:?}",
            started.elapsed()
        );
        let answer = String::from_utf8_lossy(&answer).into_owned();
        if method == "POST" {
            assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        }
    }
    // Still serving.
    let ok = get(t.addr, "/healthz").await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}

#[tokio::test]
async fn an_event_stream_is_not_idle_and_ends_with_its_credential() {
    let t = spawn(limits()).await;
    let key = t.app.create_api_key("streamer", true, None).await.unwrap();
    let mut s = TcpStream::connect(t.addr).await.unwrap();
    s.write_all(
        format!(
            "GET /api/v1/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // Three times the idle timeout: the stream is an answer in progress, not idle.
    let seen = open_for(&mut s, Duration::from_secs(3))
        .await
        .unwrap_or_else(|got| panic!("the stream was cut while open: {got}"));
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    // The key is revoked: the stream ends at its next poll.
    t.app.revoke_api_key("streamer").await.unwrap();
    let started = std::time::Instant::now();
    let _ = tokio::time::timeout(BOUND, until_closed(&mut s)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the stream outlived its key by {:?}",
        started.elapsed()
    );
}
