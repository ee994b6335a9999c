//! The test harness: the real server on port 0 over a fresh database, driven through
//! the typed client. The engine is SQLite (a new file per test), or PostgreSQL when
//! `GUESTLIST_TEST_POSTGRES_URL` names a server (a new database per test):
//! `scripts/test.sh` runs the whole suite both ways.

use std::net::SocketAddr;

use guestlist_app::{App, AppConfig, Claims, InvitationConfig, RateLimitConfig, Secret};
use guestlist_client::{Client, ClientError, api};
use guestlist_server::{Application, Database, Settings};
use guestlist_store_postgres::PgOptions;
use guestlist_store_sqlite::SqliteOptions;
use guestlist_testkit::smtp::SmtpSink;
use guestlist_workers::MailConfig;
use tokio::net::TcpListener;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: Client,
    /// The SMTP server invitation e-mail goes to.
    pub smtp: SmtpSink,
    pub app: App,
    /// The mail settings the sender runs with.
    pub mail: MailConfig,
    db: Db,
    jwt_secret: Secret,
    admin_key: String,
    /// Dropped with the test app: the server drains, stops its workers (the mail and
    /// webhook senders, the dispatcher) and closes its pool, so a test that makes many
    /// apps (the escalation properties) does not pile up their connections.
    _running: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

/// Generous limits, so that races are not cut short by the rate limiter.
/// What a test server is made with; `Setup::default()` is what `spawn` uses.
pub struct Setup {
    pub rate_limits: RateLimitConfig,
    pub options: guestlist_server::ServerOptions,
    pub invitations: InvitationConfig,
    /// Where the SMTP URL is ignored: the test's own sink is used.
    pub mail: MailConfig,
    /// The `aud` user tokens must carry.
    pub jwt_audience: Option<String>,
    /// Trusted identity providers (their JWKS served by the test).
    pub issuers: Vec<guestlist_app::IssuerConfig>,
    /// Make `options.public_url` the address the server listens on (the pages'
    /// sign-in handoff builds its return address from it).
    pub own_public_url: bool,
    /// Users who are platform administrators by configuration.
    pub platform_admins: Vec<String>,
    /// Webhook delivery: receivers on 127.0.0.1 allowed, a short retry schedule.
    pub webhooks: guestlist_app::WebhookConfig,
    /// SCIM provisioning.
    pub scim: guestlist_app::ScimConfig,
}

/// Webhooks as the tests run them: receivers on 127.0.0.1 are allowed, and the
/// retry schedule is shortened to fractions of a second.
pub fn test_webhooks() -> guestlist_app::WebhookConfig {
    use std::time::Duration;
    guestlist_app::WebhookConfig {
        retry_schedule: vec![
            Duration::from_millis(100),
            Duration::from_millis(200),
            Duration::from_millis(400),
        ],
        jitter_percent: 0,
        timeout: Duration::from_secs(2),
        lease: Duration::from_secs(5),
        allow_targets: vec!["127.0.0.1".parse().unwrap()],
        poll: Duration::from_millis(50),
        ..Default::default()
    }
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            rate_limits: relaxed_limits(),
            options: guestlist_server::ServerOptions::default(),
            invitations: InvitationConfig {
                accept_url_template: "https://app.example.com/invitations/accept?token={token}"
                    .into(),
                ..InvitationConfig::default()
            },
            // Quick retries, so an outage test takes a moment.
            mail: MailConfig {
                retry_base_ms: 50,
                retry_max_ms: 300,
                poll_interval_ms: 50,
                max_attempts: 1_000,
                timeout_secs: 5,
                ..MailConfig::default()
            },
            jwt_audience: None,
            issuers: Vec::new(),
            own_public_url: false,
            platform_admins: Vec::new(),
            webhooks: test_webhooks(),
            scim: Default::default(),
        }
    }
}

pub fn relaxed_limits() -> RateLimitConfig {
    RateLimitConfig {
        preview_per_minute_per_ip: 1_000_000,
        join_per_minute_per_ip: 1_000_000,
        per_minute_per_user: 1_000_000,
        signup_per_minute_per_ip: 1_000_000,
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(relaxed_limits()).await
    }

    pub async fn spawn_with(rate_limits: RateLimitConfig) -> TestApp {
        Self::spawn_full(rate_limits, guestlist_server::ServerOptions::default()).await
    }

    pub async fn spawn_full(
        rate_limits: RateLimitConfig,
        options: guestlist_server::ServerOptions,
    ) -> TestApp {
        Self::spawn_setup(Setup {
            rate_limits,
            options,
            ..Setup::default()
        })
        .await
    }

    /// The real wiring (`Application::build`, as `guestlist serve` runs it) on a fresh
    /// database, with an SMTP sink of its own, served on a free port.
    pub async fn spawn_setup(setup: Setup) -> TestApp {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (db, database) = Db::fresh(&dir).await;
        let jwt_secret = Secret::generate();
        let config = AppConfig {
            jwt_secret: Some(jwt_secret.clone()),
            jwt_audience: setup.jwt_audience,
            issuers: setup.issuers,
            link_secret: Secret::generate(),
            invite_url_template: "https://chat.example.com/i/{code}".into(),
            code_length: 10,
            rate_limits: setup.rate_limits,
            invitations: setup.invitations,
            signup: guestlist_app::SignupConfig {
                url_template: "https://app.example.com/signup?invitation={token}".into(),
                ..Default::default()
            },
            // As `guestlist serve` makes it, from the pages' settings.
            sessions: guestlist_app::SessionConfig {
                lifetime_secs: setup.options.pages.session_lifetime_secs,
                dev_sign_in: setup.options.pages.dev_sign_in,
            },
            platform_admins: setup.platform_admins,
            webhooks: setup.webhooks,
            scim: setup.scim,
        };
        let smtp = SmtpSink::start().await;
        let mail = MailConfig {
            smtp_url: Some(smtp.url()),
            ..setup.mail
        };
        let admin_key = guestlist_app::new_api_key().0;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().unwrap();
        let mut options = setup.options;
        if setup.own_public_url {
            options.public_url = format!("http://{addr}");
        }
        let built = Application::build(Settings {
            database,
            app: config,
            mail: mail.clone(),
            server: options,
            api_key: Some(("test-platform".into(), admin_key.clone(), true)),
        })
        .await
        .expect("the application builds");
        let app = built.app().clone();
        let (running, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(built.serve(listener, async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            client: Client::new(&format!("http://{addr}")),
            smtp,
            app,
            mail,
            db,
            jwt_secret,
            admin_key,
            _running: running,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The secret user tokens are signed with.
    pub fn jwt_secret(&self) -> &Secret {
        &self.jwt_secret
    }

    /// The platform-admin API key itself.
    pub fn platform_key(&self) -> &str {
        &self.admin_key
    }

    /// A caller with no credentials.
    pub fn anonymous(&self) -> Client {
        self.client.clone()
    }

    /// The host application's back end, with a platform-admin key.
    pub fn platform(&self) -> Client {
        self.client.with_token(&self.admin_key)
    }

    pub fn token(&self, sub: &str) -> String {
        guestlist_testkit::user_token(&self.jwt_secret, sub)
    }

    /// Posts a GraphQL request as `token` (or anonymously); returns the whole body.
    pub async fn graphql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: serde_json::Value,
    ) -> serde_json::Value {
        let mut req = reqwest::Client::new()
            .post(self.url("/graphql"))
            .json(&serde_json::json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        res.json().await.unwrap()
    }

    /// A token naming `sub`, with the e-mail and username of the test's choosing (an
    /// hour to live).
    pub fn token_as(
        &self,
        sub: &str,
        email: Option<&str>,
        email_verified: bool,
        username: Option<&str>,
    ) -> String {
        let claims = Claims {
            sub: sub.into(),
            email: email.map(str::to_owned),
            email_verified,
            preferred_username: username.map(str::to_owned),
            exp: (time::OffsetDateTime::now_utc().unix_timestamp() + 3600) as u64,
            nbf: None,
            aud: None,
        };
        guestlist_app::mint_token(&self.jwt_secret, &claims).expect("a token")
    }

    /// A signed-in user with the e-mail and username of their choosing.
    pub fn user_as(
        &self,
        sub: &str,
        email: Option<&str>,
        email_verified: bool,
        username: Option<&str>,
    ) -> Client {
        self.client
            .with_token(self.token_as(sub, email, email_verified, username))
    }

    /// A signed-in user.
    pub fn user(&self, sub: &str) -> Client {
        self.client.with_token(self.token(sub))
    }

    pub async fn space(
        &self,
        path: &str,
        join_mode: api::JoinMode,
        member_limit: Option<u32>,
    ) -> api::Space {
        self.platform()
            .create_space(&api::CreateSpaceRequest {
                path: path.into(),
                name: None,
                join_mode,
                member_limit,
            })
            .await
            .expect("the space is created")
    }

    /// A top-level space with `admin` as its first admin.
    pub async fn space_with_admin(&self, path: &str, admin: &str) -> Client {
        self.space(path, api::JoinMode::InviteOnly, None).await;
        self.platform()
            .provision_member(path, admin, "admin")
            .await
            .expect("the admin is added");
        self.user(admin)
    }

    /// A space beneath another, created by an admin of the parent.
    pub async fn child_space(
        &self,
        by: &Client,
        path: &str,
        member_limit: Option<u32>,
    ) -> api::Space {
        by.create_space(&api::CreateSpaceRequest {
            path: path.into(),
            name: None,
            join_mode: api::JoinMode::InviteOnly,
            member_limit,
        })
        .await
        .expect("the child space is created")
    }

    pub async fn invite(&self, by: &Client, req: api::CreateInviteRequest) -> api::InviteWithLink {
        by.create_invite(&req).await.expect("the invite is created")
    }

    /// A PostgreSQL connection of the test's own (`None` on SQLite).
    pub async fn pg_connection(&self) -> Option<sqlx::PgConnection> {
        match self.db.connect().await {
            Conn::Postgres(c) => Some(c),
            Conn::Sqlite(_) => None,
        }
    }

    /// Runs a statement on the database directly, for what the API does not expose.
    /// `{uuid}` in it stands for a new random id, in the engine's own type.
    pub async fn exec(&self, sql: &str) {
        match self.db.connect().await {
            Conn::Sqlite(mut c) => {
                let sql = sql.replace("{uuid}", "randomblob(16)");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
            Conn::Postgres(mut c) => {
                let sql = sql.replace("{uuid}", "gen_random_uuid()");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
        }
    }

    /// The plan the engine makes for `sql` (parameters `$1`, `$2`, …) once for any
    /// values of them, as a prepared statement is run: on PostgreSQL the generic plan
    /// of `PREPARE` (`args`, a list of SQL literals, only fill it in), on SQLite its
    /// query plan. One line per step.
    pub async fn generic_plan(&self, sql: &str, args: &str) -> String {
        match self.db.connect().await {
            Conn::Sqlite(mut c) => {
                let rows: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                        .fetch_all(&mut c)
                        .await
                        .unwrap();
                rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
            }
            Conn::Postgres(mut c) => {
                for step in [
                    "SET plan_cache_mode = force_generic_plan".to_owned(),
                    format!("PREPARE planned AS {sql}"),
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(step))
                        .execute(&mut c)
                        .await
                        .unwrap();
                }
                let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "EXPLAIN EXECUTE planned({args})"
                )))
                .fetch_all(&mut c)
                .await
                .unwrap();
                rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n")
            }
        }
    }

    /// Every event this service recorded, read back from the table and parsed as its
    /// kind's declared payload (`EventData::parse`: no unknown kind, no missing or
    /// undeclared field, no value of another type). Returns how many were checked.
    pub async fn events_conform(&self) -> Result<usize, String> {
        let kinds = self
            .column_text("SELECT kind FROM events ORDER BY seq")
            .await;
        let data = self
            .column_text("SELECT data FROM events ORDER BY seq")
            .await;
        for (kind, data) in kinds.iter().zip(&data) {
            guestlist_domain::events::EventData::parse(kind, data).map_err(|e| {
                format!("a recorded {kind} event {data} differs from its declaration: {e}")
            })?;
        }
        Ok(kinds.len())
    }

    /// Every value of a one-column query of a binary column.
    pub async fn column_bytes(&self, sql: &'static str) -> Vec<Vec<u8>> {
        self.column::<Vec<u8>>(sql).await
    }

    /// Every value of a one-column query of a text column.
    pub async fn column_text(&self, sql: &'static str) -> Vec<String> {
        self.column::<String>(sql).await
    }

    async fn column<T>(&self, sql: &'static str) -> Vec<T>
    where
        T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        match self.db.connect().await {
            Conn::Sqlite(mut c) => {
                let rows: Vec<(T,)> = sqlx::query_as(sql).fetch_all(&mut c).await.unwrap();
                rows.into_iter().map(|r| r.0).collect()
            }
            Conn::Postgres(mut c) => {
                let rows: Vec<(T,)> = sqlx::query_as(sql).fetch_all(&mut c).await.unwrap();
                rows.into_iter().map(|r| r.0).collect()
            }
        }
    }
}

/// The Python with the independent checkers that `scripts/test.sh` installs
/// (`target/pyenv`: PyJWT, standardwebhooks), or `GUESTLIST_TEST_PYTHON`.
pub fn python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("GUESTLIST_TEST_PYTHON") {
        return p.into();
    }
    let p =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/test.sh (it installs the checkers there) or set GUESTLIST_TEST_PYTHON",
        p.display()
    );
    p
}

pub fn invite_req(space: &str) -> api::CreateInviteRequest {
    api::CreateInviteRequest {
        space: space.into(),
        ..Default::default()
    }
}

/// The error code of a failed call; panics on success.
pub fn code<T: std::fmt::Debug>(r: Result<T, ClientError>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e
            .code()
            .unwrap_or_else(|| panic!("no error code in {e}"))
            .to_owned(),
    }
}

/// Where a test's data lives.
enum Db {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

/// A connection of a test's own to its database, past the service.
enum Conn {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

pub use guestlist_testkit::postgres_url;

impl Db {
    async fn connect(&self) -> Conn {
        match self {
            Db::Sqlite(path) => {
                use sqlx::ConnectOptions;
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                Conn::Sqlite(options.connect().await.unwrap())
            }
            Db::Postgres(url) => Conn::Postgres(
                <sqlx::PgConnection as sqlx::Connection>::connect(url)
                    .await
                    .unwrap(),
            ),
        }
    }

    async fn fresh(dir: &tempfile::TempDir) -> (Db, Database) {
        match postgres_url() {
            Some(admin_url) => {
                let url = guestlist_testkit::fresh_database(&admin_url).await;
                let mut opts = PgOptions::new(url.clone());
                opts.max_connections = 8;
                opts.connect_retry_for = std::time::Duration::ZERO;
                (Db::Postgres(url), Database::Postgres(opts))
            }
            None => {
                let path = dir.path().join("guestlist.db");
                (
                    Db::Sqlite(path.clone()),
                    Database::Sqlite(SqliteOptions::new(&path)),
                )
            }
        }
    }
}
