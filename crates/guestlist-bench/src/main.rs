//! Guestlist's load generator. Not a test: run it by hand (docs/PERFORMANCE.md).
//!
//! It starts the release `guestlist` binary on a fresh SQLite file (or on
//! `--database-url`, or targets a running server with `--url`), prepares data through
//! the API or in bulk (`guestlist import`), drives HTTP with N concurrent keep-alive
//! clients for a bounded time, and reports throughput, p50/p99/max latency, the ratio
//! of each scenario to `floor`, and the server's peak RSS. Traffic goes to 127.0.0.1
//! only.

mod fixture_keys;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use guestlist_app::{Claims, Secret};
use guestlist_client::{Client, api};
use guestlist_testkit::server::{self, Replica};
use http::{HeaderValue, Method, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde::Serialize;

#[derive(Parser, Clone)]
// An option given twice takes its last value (scripts/bench.sh appends its own).
#[command(about = "Guestlist's load generator", args_override_self = true)]
struct Args {
    /// Scenarios to run: floor, preview, landing, create, join, join+webhooks, check,
    /// race, list, import (comma-separated)
    /// or all. `check` asks `GET /check` with HS256, RS256 and ES256 tokens (the latter
    /// two from the bench's own identity provider) and `POST /check` 100 at a time.
    /// `list` also measures how soon a server is ready on an existing database.
    #[arg(long, default_value = "all")]
    scenarios: String,
    /// How long each timed scenario runs.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Run the server on this database instead of a fresh SQLite file
    /// (an empty PostgreSQL database: postgres://…). `list` always uses SQLite files.
    #[arg(long)]
    database_url: Option<String>,
    /// Target a running server instead of starting one (needs --jwt-secret and --api-key).
    #[arg(long)]
    url: Option<String>,
    #[arg(long)]
    jwt_secret: Option<String>,
    /// A platform-admin API key of the running server.
    #[arg(long)]
    api_key: Option<String>,
    /// Stored invites for the list scenario (comma-separated).
    #[arg(long, default_value = "10000,100000,1000000")]
    list_sizes: String,
    /// Links in the import scenario's file (`guestlist import --from`).
    #[arg(long, default_value_t = 1_000_000)]
    import_rows: usize,
    /// Race trials.
    #[arg(long, default_value_t = 20)]
    race_trials: usize,
    /// Where to write the JSON report.
    #[arg(long, default_value = "bench-results.json")]
    out: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
struct Row {
    scenario: String,
    concurrency: usize,
    requests: usize,
    errors: usize,
    seconds: f64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Throughput relative to `floor` at the same concurrency.
    vs_floor: Option<f64>,
    /// The server's peak RSS during the scenario.
    peak_rss_mib: Option<f64>,
    /// The server's CPU time per request (all its threads, user and system).
    cpu_us: Option<f64>,
    /// The SQLite writer thread's CPU time per request: the serial part of a write.
    writer_us: Option<f64>,
    /// SQLite: writes per commit (the writer's batches, from `/metrics`).
    batch: Option<f64>,
    /// SQLite: the share of the scenario's time the writer spent in batches.
    writer_busy: Option<f64>,
    note: String,
}

struct Server {
    /// The server this run started (none when it targets `--url`); stopped on drop.
    replica: Option<Replica>,
    /// The bench's own identity provider the server trusts (none with `--url`).
    issuer: Option<String>,
    url: String,
    secret: Secret,
    api_key: String,
    _dir: Option<tempfile::TempDir>,
    /// CPU time (µs) of the server and of its writer when the scenario started.
    cpu_at_start: std::cell::Cell<(f64, f64)>,
    /// The writer's batch metrics when the scenario started, and when that was.
    batches_at_start: std::cell::Cell<(Batches, Option<Instant>)>,
}

/// The scenarios whose requests are writes: the writer's batches are theirs (in the
/// others it commits only the server's own background work).
const WRITE_SCENARIOS: [&str; 3] = ["create", "join", "join+webhooks"];

/// Sums of the SQLite writer's batch histograms on `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
struct Batches {
    count: f64,
    writes: f64,
    seconds: f64,
}

impl Server {
    fn pid(&self) -> Option<u32> {
        self.replica.as_ref().map(|r| r.child.id())
    }

    /// Resets the kernel's peak-RSS mark and notes the CPU time used so far, so the
    /// next readings (`finish`) cover one scenario.
    async fn start_scenario(&self) {
        if let Some(pid) = self.pid() {
            let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        }
        self.cpu_at_start.set(self.cpu_us().unwrap_or_default());
        let batches = self.batches().await.unwrap_or_default();
        self.batches_at_start.set((batches, Some(Instant::now())));
    }

    /// Fills in the server's peak RSS, CPU time per request and the writer's batches
    /// since `start_scenario`.
    async fn finish(&self, row: &mut Row) {
        row.peak_rss_mib = self.peak_rss_mib();
        if let ((before, Some(since)), Some(now)) =
            (self.batches_at_start.get(), self.batches().await)
            && WRITE_SCENARIOS.contains(&row.scenario.as_str())
            && now.count > before.count
        {
            row.batch = Some((now.writes - before.writes) / (now.count - before.count));
            row.writer_busy = Some((now.seconds - before.seconds) / since.elapsed().as_secs_f64());
        }
        let (Some((server, writer)), n) = (self.cpu_us(), row.requests.max(1) as f64) else {
            return;
        };
        let (server0, writer0) = self.cpu_at_start.get();
        row.cpu_us = Some((server - server0) / n);
        row.writer_us = (writer > 0.0).then(|| (writer - writer0) / n);
    }

    /// The writer's batch histograms, read from `/metrics` (none on PostgreSQL).
    async fn batches(&self) -> Option<Batches> {
        let text = reqwest::get(format!("{}/metrics", self.url))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let value = |name: &str| -> Option<f64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        };
        Some(Batches {
            count: value("guestlist_sqlite_write_batch_size_count")?,
            writes: value("guestlist_sqlite_write_batch_size_sum")?,
            seconds: value("guestlist_sqlite_write_batch_seconds_sum")?,
        })
    }

    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }

    /// CPU time in µs of the whole server, and of its SQLite writer thread (0 without
    /// one), from /proc (user + system, in the kernel's fixed 100 ticks per second).
    fn cpu_us(&self) -> Option<(f64, f64)> {
        let pid = self.pid()?;
        let ticks = |stat: String| -> Option<f64> {
            let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) * 10_000.0)
        };
        let server = ticks(std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
        let writer = std::fs::read_dir(format!("/proc/{pid}/task"))
            .ok()?
            .flatten()
            .find(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|c| c.trim() == "sqlite-writer")
            })
            .and_then(|t| ticks(std::fs::read_to_string(t.path().join("stat")).ok()?))
            .unwrap_or(0.0);
        Some((server, writer))
    }

    fn token(&self, sub: &str) -> String {
        let claims = Claims {
            sub: sub.into(),
            email: None,
            email_verified: false,
            preferred_username: None,
            exp: (time::OffsetDateTime::now_utc().unix_timestamp() + 24 * 3600) as u64,
            nbf: None,
            aud: None,
        };
        guestlist_app::mint_token(&self.secret, &claims).expect("a token")
    }

    /// A token of the bench's identity provider, signed with `alg` (RS256 or ES256).
    fn provider_token(&self, sub: &str, alg: jsonwebtoken::Algorithm) -> Option<String> {
        let issuer = self.issuer.as_ref()?;
        let (kid, pem) = match alg {
            jsonwebtoken::Algorithm::RS256 => (fixture_keys::RS256_KID, fixture_keys::RS256_PEM),
            _ => (fixture_keys::ES256_KID, fixture_keys::ES256_PEM),
        };
        let key = match alg {
            jsonwebtoken::Algorithm::RS256 => {
                jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes())
            }
            _ => jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes()),
        }
        .expect("the fixture key parses");
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = Some(kid.into());
        let claims = serde_json::json!({
            "iss": issuer, "aud": "guestlist-bench", "sub": sub,
            "exp": time::OffsetDateTime::now_utc().unix_timestamp() + 24 * 3600,
        });
        Some(jsonwebtoken::encode(&header, &claims, &key).expect("a token"))
    }

    fn client(&self, token: &str) -> Client {
        Client::new(&self.url).with_token(token)
    }
}

/// The release `guestlist` binary beside this one, built first when run through cargo.
fn server_binary() -> PathBuf {
    if std::env::var_os("CARGO").is_some() {
        let mut build = Command::new(std::env::var("CARGO").unwrap());
        build.args(["build", "--release", "--quiet", "-p", "guestlist"]);
        // What `cargo run` set for this package would reach build scripts (ring's
        // watches CARGO_MANIFEST_DIR) and make cargo rebuild half the tree each time.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_MANIFEST_")
                || matches!(
                    &*name,
                    "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE"
                )
            {
                build.env_remove(&*name);
            }
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building the server failed");
    }
    let me = std::env::current_exe().expect("own path");
    let bin = me.with_file_name("guestlist");
    assert!(
        bin.exists(),
        "{} is missing: cargo build --release -p guestlist",
        bin.display()
    );
    bin
}

/// Starts a server on `database_url` (a fresh SQLite file when `None`) and returns it
/// with the time from spawn to ready.
async fn start_server(
    bin: &Path,
    database_url: Option<String>,
    dir: tempfile::TempDir,
) -> (Server, Duration) {
    let secret = Secret::new("bench-secret-bench-secret-bench-secret-00");
    let db = database_url
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let issuer = serve_jwks().await;
    let config = server::write_config(
        dir.path(),
        &db,
        &secret,
        &format!(
            "log_format = \"json\"\n[[issuers]]\nissuer = \"{issuer}\"\njwks_url = \"{issuer}/keys\"\n\
             audiences = [\"guestlist-bench\"]\nalgorithms = [\"RS256\", \"ES256\"]\nuser_prefix = \"\"\n\
             [pages]\nlogin_url = \"http://127.0.0.1:9/login?return_to={{return_to}}\"\n\
             [webhooks]\nallow_targets = [\"127.0.0.1\"]\npoll_interval_ms = 50\n"
        ),
    );
    let name = format!("bench-{}", uuid::Uuid::now_v7().simple());
    let api_key = server::create_api_key(bin, &config, &name);
    let started = Instant::now();
    let replica = server::serve(
        bin,
        &config,
        server::free_port(),
        &dir.path().join("server.log"),
    );
    let ready = server::wait_ready(&replica.url, Duration::from_secs(60)).await;
    let took = started.elapsed();
    assert!(ready, "the server never became ready");
    (
        Server {
            url: replica.url.clone(),
            replica: Some(replica),
            issuer: Some(issuer),
            secret,
            api_key,
            _dir: Some(dir),
            cpu_at_start: Default::default(),
            batches_at_start: Default::default(),
        },
        took,
    )
}

/// The `i`-th request of a scenario.
type MakeRequest = Arc<dyn Fn(usize) -> Request + Send + Sync>;

type Request = http::Request<Full<Bytes>>;

/// Where the clients connect, and the requests they send there: HTTP/1.1 straight
/// over hyper's connection, built from parts made once (the `Authorization` value,
/// the JSON body), so that the generator takes as little of the shared cores as it
/// can (with a full HTTP client — its pool, URL parsing, per-request serialization —
/// `floor` measured about 30 % lower).
#[derive(Clone)]
struct Target {
    addr: String,
    host: HeaderValue,
    /// The server URL's path, if it has one (`/` is none), put before every request's.
    prefix: String,
}

impl Target {
    fn of(url: &str) -> Target {
        let uri: http::Uri = url.parse().expect("a server URL");
        let authority = uri.authority().expect("a server URL with a host").as_str();
        Target {
            addr: authority.to_owned(),
            host: HeaderValue::from_str(authority).unwrap(),
            prefix: uri.path().trim_end_matches('/').to_owned(),
        }
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        auth: Option<&HeaderValue>,
        json: Option<&Bytes>,
    ) -> Request {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.prefix))
            .header(header::HOST, self.host.clone());
        if let Some(auth) = auth {
            req = req.header(header::AUTHORIZATION, auth.clone());
        }
        let body = match json {
            Some(json) => {
                req = req.header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                json.clone()
            }
            None => Bytes::new(),
        };
        req.body(Full::new(body)).unwrap()
    }
}

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
}

/// A keep-alive HTTP/1.1 connection to the target.
async fn connect(target: &Target) -> std::io::Result<http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(&target.addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    Ok(sender)
}

/// Sends one request once the connection is ready; its status once the whole body has
/// arrived, or `None` when the connection failed.
async fn send(conn: &mut http1::SendRequest<Full<Bytes>>, req: Request) -> Option<u16> {
    conn.ready().await.ok()?;
    let res = conn.send_request(req).await.ok()?;
    let status = res.status().as_u16();
    res.into_body().collect().await.ok()?;
    Some(status)
}

/// Runs `concurrency` keep-alive clients for `seconds` (or until `limit` requests);
/// a response counts as an error unless `ok(status)`. Each client is one connection
/// (made again if the server closes it) sending one request at a time.
async fn drive(
    name: &str,
    target: &Target,
    concurrency: usize,
    seconds: u64,
    limit: Option<usize>,
    make: MakeRequest,
    ok: fn(u16) -> bool,
) -> Row {
    let counter = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers = (0..concurrency).map(|_| {
        let (target, make, counter) = (target.clone(), make.clone(), counter.clone());
        tokio::spawn(async move {
            let mut latencies: Vec<u32> = Vec::with_capacity(64 * 1024);
            let mut errors = 0usize;
            let mut conn = None;
            loop {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                if Instant::now() >= deadline || limit.is_some_and(|l| i >= l) {
                    break;
                }
                let req = make(i);
                let t = Instant::now();
                if conn
                    .as_ref()
                    .is_none_or(|c: &http1::SendRequest<_>| c.is_closed())
                {
                    conn = connect(&target).await.ok();
                }
                let status = match conn.as_mut() {
                    Some(c) => send(c, req).await,
                    None => None,
                };
                match status {
                    Some(status) if ok(status) => {}
                    Some(_) => errors += 1,
                    None => {
                        errors += 1;
                        conn = None;
                    }
                }
                latencies.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
            (latencies, errors)
        })
    });
    let mut all = Vec::new();
    let mut errors = 0;
    for w in futures::future::join_all(workers).await {
        let (l, e) = w.unwrap();
        all.extend(l);
        errors += e;
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        all[((all.len() as f64 * p) as usize).min(all.len() - 1)] as f64 / 1000.0
    };
    Row {
        scenario: name.to_owned(),
        concurrency,
        requests: all.len(),
        errors,
        seconds: secs,
        per_second: all.len() as f64 / secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: all.last().map(|m| *m as f64 / 1000.0).unwrap_or(0.0),
        vs_floor: None,
        peak_rss_mib: None,
        cpu_us: None,
        writer_us: None,
        batch: None,
        writer_busy: None,
        note: String::new(),
    }
}

fn print_row(r: &Row) {
    let us = |v: Option<f64>| v.map(|v| format!("{v:.0}")).unwrap_or_default();
    println!(
        "{:<22} {:>4} {:>9} {:>6} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>8} {:>6} {:>9} {:>5} {:>5} {}",
        r.scenario,
        r.concurrency,
        r.requests,
        r.errors,
        r.per_second,
        r.p50_ms,
        r.p99_ms,
        r.max_ms,
        r.vs_floor
            .map(|v| format!("{:.0}%", v * 100.0))
            .unwrap_or_default(),
        r.peak_rss_mib
            .map(|v| format!("{v:.1}"))
            .unwrap_or_default(),
        us(r.cpu_us),
        us(r.writer_us),
        r.batch.map(|v| format!("{v:.1}")).unwrap_or_default(),
        r.writer_busy
            .map(|v| format!("{:.0}%", v * 100.0))
            .unwrap_or_default(),
        r.note
    );
    let _ = std::io::stdout().flush();
}

/// A space `acme/` with `alice` as its admin; returns alice's token.
/// Serves the fixture keys' JWKS on 127.0.0.1: the bench's identity provider. Its URL
/// is the issuer.
async fn serve_jwks() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/keys",
        axum::routing::get(|| async {
            (
                [(header::CONTENT_TYPE, "application/json")],
                fixture_keys::JWKS,
            )
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn prepare(server: &Server) -> String {
    let platform = server.client(&server.api_key);
    platform
        .create_space(&api::CreateSpaceRequest {
            path: "acme/".into(),
            name: Some("Acme".into()),
            join_mode: api::JoinMode::InviteOnly,
            member_limit: None,
        })
        .await
        .expect("space");
    platform
        .provision_member("acme/", "alice", "admin")
        .await
        .expect("admin");
    server.token("alice")
}

/// A webhook receiver on 127.0.0.1 that answers 204 at once and keeps, per delivery,
/// the milliseconds from the event's commit (its `created_at`) to its arrival.
async fn lag_receiver() -> (Arc<std::sync::Mutex<Vec<f64>>>, String) {
    let lags: Arc<std::sync::Mutex<Vec<f64>>> = Arc::default();
    let kept = lags.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let kept = kept.clone();
            async move {
                let now = time::OffsetDateTime::now_utc();
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                if let Some(at) = v["data"]["created_at"].as_str().and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                }) {
                    kept.lock()
                        .unwrap()
                        .push((now - at).as_seconds_f64() * 1000.0);
                }
                http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (lags, url)
}

async fn invite(server: &Server, alice: &str, space: &str, max_uses: Option<u32>) -> String {
    server
        .client(alice)
        .create_invite(&api::CreateInviteRequest {
            space: space.into(),
            max_uses,
            ..Default::default()
        })
        .await
        .expect("invite")
        .code
}

/// Signs `token`'s user in to the pages as a browser would through the host handoff
/// (`[pages] login_url`): the session cookie to send.
async fn console_session(url: &str, token: &str) -> HeaderValue {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = http
        .get(format!("{url}/auth/sign-in?next=%2Fadmin"))
        .send()
        .await
        .unwrap();
    let cookie_of = |res: &reqwest::Response, name: &str| {
        res.headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .and_then(|c| c.split(';').next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {name} cookie"))
    };
    let state_cookie = cookie_of(&start, "gl_signin");
    let state = state_cookie
        .trim_start_matches("gl_signin=")
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    let back = http
        .post(format!("{url}/auth/callback?state={state}"))
        .header(header::COOKIE, state_cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status().as_u16(), 303, "signed in");
    HeaderValue::from_str(&cookie_of(&back, "gl_session")).unwrap()
}

/// Writes an export holding `n` invites on `acme/` (and alice as its admin), in the
/// format `guestlist import` reads.
fn write_bulk(path: &Path, n: usize) -> Vec<(i64, uuid::Uuid)> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let space = uuid::Uuid::now_v7();
    let t0: i64 = 1_700_000_000_000;
    let line = |table: &str, row: serde_json::Value| {
        serde_json::json!({ "table": table, "row": row }).to_string()
    };
    writeln!(
        f,
        "{}",
        line(
            "spaces",
            serde_json::json!({"id": space, "path": "acme/", "name": "Acme", "join_mode": "invite_only",
            "member_limit": null, "member_count": 1, "created_at": t0, "created_by": "key:bench"})
        )
    )
    .unwrap();
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let id = uuid::Uuid::now_v7();
        // Ten invites share each millisecond, as bursts of creation would.
        let created = t0 + (i / 10) as i64;
        keys.push((created, id));
        let hash: String = id
            .as_bytes()
            .iter()
            .chain(id.as_bytes())
            .map(|b| format!("{b:02x}"))
            .collect();
        writeln!(
            f,
            "{}",
            line(
                "invites",
                serde_json::json!({"id": id, "code_hash": hash, "space_id": space, "space_path": "acme/",
                "role": "member", "max_uses": null, "uses": 0, "expires_at": null, "description": null,
                "allow_narrowing": false, "created_by": "alice", "created_by_name": "alice", "created_at": created,
                "revoked_at": null, "revoked_by": null, "requires_approval": false, "auto_approve_domains": null})
            )
        )
        .unwrap();
    }
    for (created, id) in &keys {
        writeln!(
            f,
            "{}",
            line(
                "invite_scopes",
                serde_json::json!({"scope_path": "acme/", "created_at": created, "invite_id": id})
            )
        )
        .unwrap();
    }
    writeln!(
        f,
        "{}",
        line(
            "memberships",
            serde_json::json!({"id": uuid::Uuid::now_v7(), "space_id": space, "user_id": "alice", "role": "admin",
            "status": "active", "source": "provisioned", "invite_id": null, "created_at": t0, "updated_at": t0})
        )
    )
    .unwrap();
    keys
}

fn status_ok(s: u16) -> bool {
    (200..300).contains(&s)
}

fn not_found(s: u16) -> bool {
    s == 404
}

// One thread drives every client: enough for the highest rate measured here, and it
// leaves the rest of the machine's cores to the server.
#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    guestlist_app::install_tls_provider();
    let args = Args::parse();
    let wanted: Vec<&str> = args.scenarios.split(',').map(str::trim).collect();
    let want = |s: &str| wanted.contains(&"all") || wanted.contains(&s);
    let mut rows: Vec<Row> = Vec::new();
    let mut floors: Vec<(usize, f64)> = Vec::new();
    let mut facts = serde_json::Map::new();
    println!(
        "{:<22} {:>4} {:>9} {:>6} {:>10} {:>8} {:>8} {:>8} {:>7} {:>8} {:>6} {:>9} {:>5} {:>5}",
        "scenario",
        "c",
        "requests",
        "errors",
        "per_sec",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "floor",
        "rss_mib",
        "cpu_us",
        "writer_us",
        "batch",
        "busy"
    );

    let bin = if args.url.is_none() {
        Some(server_binary())
    } else {
        None
    };
    let server = match (&args.url, &bin) {
        (Some(url), _) => Server {
            replica: None,
            issuer: None,
            url: url.clone(),
            secret: Secret::new(args.jwt_secret.clone().expect("--url needs --jwt-secret")),
            api_key: args.api_key.clone().expect("--url needs --api-key"),
            _dir: None,
            cpu_at_start: Default::default(),
            batches_at_start: Default::default(),
        },
        (None, Some(bin)) => {
            start_server(bin, args.database_url.clone(), tempfile::tempdir().unwrap())
                .await
                .0
        }
        (None, None) => unreachable!(),
    };
    let alice = prepare(&server).await;
    let target = Target::of(&server.url);
    let secs = args.seconds;

    macro_rules! record {
        ($row:expr) => {{
            let mut row = $row;
            server.finish(&mut row).await;
            row.vs_floor = floors
                .iter()
                .find(|(c, _)| *c == row.concurrency)
                .map(|(_, f)| row.per_second / f);
            print_row(&row);
            rows.push(row);
        }};
    }

    if want("floor") {
        for c in [16, 64] {
            server.start_scenario().await;
            let t = target.clone();
            let row = drive(
                "floor",
                &target,
                c,
                secs,
                None,
                Arc::new(move |_| t.request(Method::GET, "/healthz", None, None)),
                status_ok,
            )
            .await;
            floors.push((c, row.per_second));
            record!(row);
        }
    }

    if want("preview") {
        let code = invite(&server, &alice, "acme/", None).await;
        for (name, path, ok) in [
            (
                "preview",
                format!("/api/v1/invites/{code}"),
                status_ok as fn(u16) -> bool,
            ),
            (
                "preview_unknown",
                "/api/v1/invites/ZZZZZZZZZZ".to_owned(),
                not_found as fn(u16) -> bool,
            ),
        ] {
            server.start_scenario().await;
            let t = target.clone();
            let make: MakeRequest = Arc::new(move |_| t.request(Method::GET, &path, None, None));
            record!(drive(name, &target, 64, secs, None, make, ok).await);
        }
    }

    if want("landing") {
        // The invite's page, as a visitor's browser asks for it (signed out): the same
        // preview, rendered from its template.
        let code = invite(&server, &alice, "acme/", None).await;
        server.start_scenario().await;
        let (t, path) = (target.clone(), format!("/i/{code}"));
        let make: MakeRequest = Arc::new(move |_| t.request(Method::GET, &path, None, None));
        record!(drive("landing", &target, 64, secs, None, make, status_ok).await);
    }

    if want("create") {
        server.start_scenario().await;
        let (t, auth) = (target.clone(), bearer(&alice));
        let body = Bytes::from(serde_json::json!({ "space": "acme/", "max_uses": 10 }).to_string());
        record!(
            drive(
                "create",
                &target,
                64,
                secs,
                None,
                Arc::new(move |_| t.request(
                    Method::POST,
                    "/api/v1/invites",
                    Some(&auth),
                    Some(&body)
                )),
                status_ok
            )
            .await
        );
    }

    if want("join") {
        for (c, prefix) in [(16usize, "j16-"), (64, "j64-")] {
            let code = invite(&server, &alice, "acme/", None).await;
            // Tokens are minted before the clock starts: one distinct user per request.
            let n = 40_000 * secs as usize / 8 * (c / 16).max(1);
            let tokens: Arc<Vec<HeaderValue>> = Arc::new(
                (0..n)
                    .map(|i| bearer(&server.token(&format!("{prefix}{i}"))))
                    .collect(),
            );
            let path = format!("/api/v1/invites/{code}/join");
            server.start_scenario().await;
            let t = target.clone();
            let mut row = drive(
                "join",
                &target,
                c,
                secs,
                Some(n),
                Arc::new(move |i| t.request(Method::POST, &path, Some(&tokens[i]), None)),
                status_ok,
            )
            .await;
            row.note = if args.database_url.as_deref().is_some_and(|u| u.starts_with("postgres")) {
                "durable: each acknowledged join is committed by PostgreSQL (as configured: fsync, synchronous_commit)"
            } else {
                "durable: each acknowledged join is committed with synchronous=FULL"
            }
            .into();
            record!(row);
        }
    }

    // The join scenario again with three webhook endpoints registered on a receiver in
    // this process: what delivering every join three times costs the joins, and how
    // long a join takes to reach a receiver (commit → received, from the payload's
    // created_at).
    if want("join+webhooks") {
        let c = 64;
        let baseline = rows
            .iter()
            .rev()
            .find(|r| r.scenario == "join" && r.concurrency == c)
            .map(|r| r.per_second);
        let (lags, hook) = lag_receiver().await;
        let admin = server.client(&alice);
        for _ in 0..3 {
            admin
                .create_webhook(&api::CreateWebhookRequest {
                    url: hook.clone(),
                    description: Some("bench".into()),
                    kinds: Some(vec!["member.joined".into()]),
                    space: Some("acme/".into()),
                })
                .await
                .expect("a webhook endpoint");
        }
        let code = invite(&server, &alice, "acme/", None).await;
        let n = 40_000 * secs as usize / 8 * (c / 16);
        let tokens: Arc<Vec<HeaderValue>> = Arc::new(
            (0..n)
                .map(|i| bearer(&server.token(&format!("jw-{i}"))))
                .collect(),
        );
        let path = format!("/api/v1/invites/{code}/join");
        server.start_scenario().await;
        let t = target.clone();
        let mut row = drive(
            "join+webhooks",
            &target,
            c,
            secs,
            Some(n),
            Arc::new(move |i| t.request(Method::POST, &path, Some(&tokens[i]), None)),
            status_ok,
        )
        .await;
        // Every join, three times: wait for the receiver to have them all.
        let want_deliveries = 3 * (row.requests - row.errors);
        let deadline = Instant::now() + Duration::from_secs(120);
        while lags.lock().unwrap().len() < want_deliveries && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut got = lags.lock().unwrap().clone();
        got.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            got.get(((got.len() as f64 * p) as usize).min(got.len().saturating_sub(1)))
                .copied()
                .unwrap_or(f64::NAN)
        };
        let (p50, p99) = (pct(0.50), pct(0.99));
        let ratio = baseline.map(|b| row.per_second / b);
        row.note = format!(
            "3 endpoints on a local receiver: {} of {} deliveries received; delivery lag (commit → received) p50 {:.0} ms, p99 {:.0} ms; {}",
            got.len(),
            want_deliveries,
            p50,
            p99,
            match ratio {
                Some(r) => format!("{:.0} % of join at c{c} in this run", r * 100.0),
                None => "run with join for the ratio".into(),
            }
        );
        facts.insert("webhook_deliveries".into(), serde_json::json!(got.len()));
        facts.insert("webhook_lag_p50_ms".into(), serde_json::json!(p50));
        facts.insert("webhook_lag_p99_ms".into(), serde_json::json!(p99));
        if let Some(r) = ratio {
            facts.insert("join_webhooks_vs_join".into(), serde_json::json!(r));
        }
        record!(row);
    }

    if want("check") {
        // May alice write in acme/? The question a host asks on every request of its own.
        let path = "/api/v1/check?space=acme/&permission=write".to_owned();
        let mut tokens = vec![("check", Some(alice.clone()))];
        tokens.push((
            "check_rs256",
            server.provider_token("alice", jsonwebtoken::Algorithm::RS256),
        ));
        tokens.push((
            "check_es256",
            server.provider_token("alice", jsonwebtoken::Algorithm::ES256),
        ));
        for (name, token) in tokens {
            let Some(token) = token else { continue };
            let (t, auth, path) = (target.clone(), bearer(&token), path.clone());
            // The first request fetches the provider's keys; later ones reuse them.
            server
                .client(&token)
                .check(None, "acme/", api::Permission::Write)
                .await
                .expect("check");
            server.start_scenario().await;
            let make: MakeRequest =
                Arc::new(move |_| t.request(Method::GET, &path, Some(&auth), None));
            record!(drive(name, &target, 64, secs, None, make, status_ok).await);
        }
        // Each token seen for the first time: what verifying a provider's signature costs
        // (repeated tokens are remembered, above). Minted before the clock starts.
        for (name, alg) in [
            ("check_rs256_first", jsonwebtoken::Algorithm::RS256),
            ("check_es256_first", jsonwebtoken::Algorithm::ES256),
        ] {
            let n = 3_000;
            let Some(tokens) = (0..n)
                .map(|i| {
                    server
                        .provider_token(&format!("cold-{name}-{i}"), alg)
                        .map(|t| bearer(&t))
                })
                .collect::<Option<Vec<HeaderValue>>>()
            else {
                continue;
            };
            let tokens = Arc::new(tokens);
            let (t, path) = (target.clone(), path.clone());
            server.start_scenario().await;
            let make: MakeRequest =
                Arc::new(move |i| t.request(Method::GET, &path, Some(&tokens[i]), None));
            let mut row = drive(name, &target, 64, secs, Some(n), make, status_ok).await;
            row.note = "every token new: its signature is verified".into();
            record!(row);
        }
        // A hundred questions at once, from the host's back end.
        let checks: Vec<api::CheckQuestion> = (0..100)
            .map(|i| api::CheckQuestion {
                user: Some(if i % 2 == 0 {
                    "alice".into()
                } else {
                    format!("user-{i}")
                }),
                space: "acme/".into(),
                permission: api::Permission::Read,
            })
            .collect();
        let body = Bytes::from(serde_json::to_string(&api::CheckBatchRequest { checks }).unwrap());
        let (t, auth) = (target.clone(), bearer(&server.api_key));
        server.start_scenario().await;
        let make: MakeRequest =
            Arc::new(move |_| t.request(Method::POST, "/api/v1/check", Some(&auth), Some(&body)));
        let mut row = drive("check_batch100", &target, 64, secs, None, make, status_ok).await;
        row.note = "100 questions per request".into();
        record!(row);
    }

    if want("race") {
        let mut overshoot = 0usize;
        let mut joined_per_trial = Vec::new();
        for trial in 0..args.race_trials {
            let code = invite(&server, &alice, "acme/", Some(10)).await;
            let racers: Vec<Client> = (0..200)
                .map(|i| server.client(&server.token(&format!("race{trial}-{i}"))))
                .collect();
            let results = futures::future::join_all(racers.into_iter().map(|c| {
                let code = code.clone();
                tokio::spawn(async move { c.join_invite(&code, None).await.is_ok() })
            }))
            .await;
            let joined = results
                .into_iter()
                .filter(|r| matches!(r, Ok(true)))
                .count();
            overshoot += joined.saturating_sub(10);
            joined_per_trial.push(joined);
        }
        let row = Row {
            scenario: "race".into(),
            concurrency: 200,
            requests: 200 * args.race_trials,
            errors: 0,
            seconds: 0.0,
            per_second: 0.0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
            vs_floor: None,
            peak_rss_mib: None,
            cpu_us: None,
            writer_us: None,
            batch: None,
            writer_busy: None,
            note: format!(
                "{} trials of 200 on a 10-use link: joined {:?}, overshoot {overshoot}",
                args.race_trials, joined_per_trial
            ),
        };
        facts.insert("race_overshoot".into(), overshoot.into());
        print_row(&row);
        rows.push(row);
    }
    drop(server);

    if want("list") && args.url.is_none() {
        let bin = bin.clone().expect("a server binary");
        for n in args
            .list_sizes
            .split(',')
            .filter_map(|s| s.trim().parse::<usize>().ok())
        {
            let dir = tempfile::tempdir().unwrap();
            let dump = dir.path().join("bulk.jsonl");
            let keys = write_bulk(&dump, n);
            let db = format!("sqlite://{}", dir.path().join("bench.db").display());
            let t = Instant::now();
            let out = Command::new(&bin)
                .args(["import", "--database-url", &db, "--input"])
                .arg(&dump)
                .env("RUST_LOG", "warn")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let import_secs = t.elapsed().as_secs_f64();
            let (server, ready) = start_server(&bin, Some(db), dir).await;
            let alice = server.token("alice");
            // Pages start at cursors spread across the whole table.
            let cursors: Arc<Vec<String>> = Arc::new(
                (0..1000)
                    .map(|i| {
                        let (ms, id) = keys[(i * 7919) % keys.len()];
                        let created_at =
                            time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
                                .unwrap();
                        guestlist_app::cursor_of(&guestlist_app::store::PageKey { created_at, id })
                    })
                    .collect(),
            );
            server.start_scenario().await;
            let target = Target::of(&server.url);
            let (t, auth) = (target.clone(), bearer(&alice));
            let c = cursors.clone();
            let mut row = drive(
                &format!("list@{n}"),
                &target,
                16,
                secs.min(5),
                None,
                Arc::new(move |i| {
                    let path = format!("/api/v1/invites?limit=50&after={}", c[i % c.len()]);
                    t.request(Method::GET, &path, Some(&auth), None)
                }),
                status_ok,
            )
            .await;
            server.finish(&mut row).await;
            row.note = format!(
                "page of 50; imported in {import_secs:.1} s; ready {:.0} ms after start",
                ready.as_secs_f64() * 1000.0
            );
            print_row(&row);
            rows.push(row);

            // The console's links list of that space, first page, as its admin's
            // browser asks for it (a session from the sign-in handoff).
            let cookie = console_session(&server.url, &alice).await;
            server.start_scenario().await;
            let t = target.clone();
            let mut row = drive(
                &format!("console@{n}"),
                &target,
                16,
                secs.min(5),
                None,
                Arc::new(move |_| {
                    let mut r = t.request(Method::GET, "/admin/spaces/acme%2F/invites", None, None);
                    r.headers_mut().insert(header::COOKIE, cookie.clone());
                    r
                }),
                status_ok,
            )
            .await;
            server.finish(&mut row).await;
            row.note = "the console's first page of 25 links, with their funnels".into();
            facts.insert(
                format!("ready_ms_at_{n}_invites"),
                (ready.as_secs_f64() * 1000.0).into(),
            );
            print_row(&row);
            rows.push(row);
        }
    }

    if want("import") {
        let bin = bin.clone().expect("a server binary");
        let (rows_per_sec, peak) = import_run(&bin, args.import_rows);
        println!(
            "{:<22} {:>4} {:>9} {:>6} {:>10.0}   guestlist import --from: {} links with live codes, peak RSS {:.1} MiB",
            "import", 1, args.import_rows, 0, rows_per_sec, args.import_rows, peak
        );
        facts.insert("import_rows".into(), args.import_rows.into());
        facts.insert("import_rows_per_sec".into(), rows_per_sec.round().into());
        facts.insert(
            "import_peak_rss_mib".into(),
            ((peak * 10.0).round() / 10.0).into(),
        );
    }

    let report = serde_json::json!({
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "engine": if args.database_url.as_deref().is_some_and(|u| u.starts_with("postgres")) { "postgres" } else { "sqlite" },
        "rows": rows,
        "facts": facts,
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("\nwrote {}", args.out.display());
}

/// `guestlist import --from` of `n` links (with their codes, uses and creators) into a
/// fresh SQLite database that already holds their space: rows per second over the
/// whole run, and the process's peak resident memory (MiB), read from /proc while it
/// runs.
fn import_run(bin: &Path, n: usize) -> (f64, f64) {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("legacy.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    writeln!(f, r#"{{"kind":"space","path":"legacy/"}}"#).unwrap();
    for i in 0..n {
        writeln!(
            f,
            r#"{{"kind":"link","external_id":"dir-{i}","space":"legacy/","code":"Legacy{i:08}x","max_uses":5,"uses":{},"created_by":"lena"}}"#,
            i % 5
        )
        .unwrap();
    }
    f.flush().unwrap();
    drop(f);
    let db = format!("sqlite://{}", dir.path().join("bench.db").display());
    let t = Instant::now();
    let mut child = Command::new(bin)
        .args(["import", "--database-url", &db, "--from"])
        .arg(&file)
        .env(
            "GUESTLIST_LINK_SECRET",
            "bench-link-secret-0123456789abcdef0123456789",
        )
        .env(
            "GUESTLIST_JWT_SECRET",
            "bench-jwt-secret-0123456789abcdef0123456789ab",
        )
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak_kib = 0.0f64;
    let status = loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            && let Some(kib) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let secs = t.elapsed().as_secs_f64();
    let out = child.wait_with_output().unwrap();
    assert!(status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains(&format!("created {}", n + 1)),
        "the import created every row: {summary}"
    );
    (n as f64 / secs, peak_kib / 1024.0)
}
