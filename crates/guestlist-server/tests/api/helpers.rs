//! The test harness: the real server on port 0 over a fresh SQLite file, driven
//! through the typed client.

use std::net::SocketAddr;
use std::sync::Arc;

use guestlist_app::{App, AppConfig, Claims, RateLimitConfig, Secret};
use guestlist_client::{Client, ClientError, api};
use guestlist_server::AppState;
use guestlist_store_sqlite::{SqliteOptions, SqliteStore};
use tokio::net::TcpListener;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: Client,
    pub db_path: std::path::PathBuf,
    jwt_secret: Secret,
    admin_key: String,
    _dir: tempfile::TempDir,
}

/// Generous limits, so that races are not cut short by the rate limiter.
pub fn relaxed_limits() -> RateLimitConfig {
    RateLimitConfig {
        preview_per_minute_per_ip: 1_000_000,
        join_per_minute_per_ip: 1_000_000,
        per_minute_per_user: 1_000_000,
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(relaxed_limits()).await
    }

    pub async fn spawn_with(rate_limits: RateLimitConfig) -> TestApp {
        let dir = tempfile::tempdir().expect("a temp dir");
        let db_path = dir.path().join("guestlist.db");
        let store = Arc::new(
            SqliteStore::open(SqliteOptions::new(&db_path))
                .await
                .expect("the store opens"),
        );
        let jwt_secret = Secret::generate();
        let config = AppConfig {
            jwt_secret: jwt_secret.clone(),
            link_secret: Secret::generate(),
            invite_url_template: "https://chat.example.com/i/{code}".into(),
            code_length: 10,
            rate_limits,
        };
        let app = App::new(store, config).expect("a valid config");
        let admin_key = app
            .create_api_key("test-platform", true)
            .await
            .expect("an API key");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().unwrap();
        let state = AppState::new(app.clone(), false);
        tokio::spawn(guestlist_server::serve(
            listener,
            state,
            std::future::pending(),
        ));
        TestApp {
            addr,
            client: Client::new(&format!("http://{addr}")),
            db_path,
            jwt_secret,
            admin_key,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The host application's back end, with a platform-admin key.
    pub fn platform(&self) -> Client {
        self.client.with_token(&self.admin_key)
    }

    pub fn token(&self, sub: &str) -> String {
        let claims = Claims {
            sub: sub.into(),
            email: Some(format!("{sub}@example.com")),
            email_verified: true,
            preferred_username: Some(sub.into()),
            exp: (time::OffsetDateTime::now_utc().unix_timestamp() + 3600) as u64,
        };
        guestlist_app::mint_token(&self.jwt_secret, &claims).unwrap()
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

    pub async fn invite(&self, by: &Client, req: api::CreateInviteRequest) -> api::InviteWithLink {
        by.create_invite(&req).await.expect("the invite is created")
    }

    /// A raw connection to the database file, for checks the API does not expose.
    pub async fn db(&self) -> sqlx::SqliteConnection {
        use sqlx::ConnectOptions;
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&self.db_path)
            .connect()
            .await
            .unwrap()
    }
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
