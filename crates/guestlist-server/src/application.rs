//! The composition root: what a running Guestlist is made of, built in one place and
//! used by `guestlist serve`, the API tests and (through the binary) the end-to-end
//! tests and the bench. Nothing else wires a store, the application, its background
//! workers and the front doors together.

use std::sync::Arc;
use std::time::Duration;

use guestlist_app::domain::{Error, SettingError};
use guestlist_app::store::Store;
use guestlist_app::{App, AppConfig};
use guestlist_store_postgres::{PgOptions, PgStore};
use guestlist_store_sqlite::{SqliteOptions, SqliteStore};
use guestlist_workers::{MailConfig, Mailer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{AppState, ServerOptions};

/// Which engine, and its settings.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(SqliteOptions),
    Postgres(PgOptions),
}

impl Database {
    /// The engine a URL names: `postgres://…` or `sqlite://FILE`, with default
    /// settings (adjust them on the returned value).
    pub fn from_url(url: &str) -> Result<Database, SettingError> {
        if guestlist_store_postgres::is_postgres_url(url) {
            return Ok(Database::Postgres(PgOptions::new(url)));
        }
        let path = guestlist_store_sqlite::path_from_url(url)
            .map_err(|e| SettingError::of("database_url", e))?;
        Ok(Database::Sqlite(SqliteOptions::new(path)))
    }

    /// Opens the store and applies pending migrations.
    pub async fn open(&self) -> Result<Arc<dyn Store>, StartupError> {
        Ok(match self {
            Database::Postgres(opts) => {
                Arc::new(PgStore::open(opts.clone()).await.map_err(opening)?)
            }
            Database::Sqlite(opts) => {
                Arc::new(SqliteStore::open(opts.clone()).await.map_err(opening)?)
            }
        })
    }
}

/// A store that would not open: a refused setting (the database or role missing)
/// names it; anything else is the database's.
fn opening(e: Error) -> StartupError {
    match e {
        Error::InvalidInput { field, message } => SettingError::new(field, message).into(),
        other => StartupError::Database(other),
    }
}

/// Why the service did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is refused: which, and why.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The database could not be opened or migrated.
    #[error("the database: {0}")]
    Database(Error),
    /// The application could not be made ready (an API key it was to ensure, say).
    #[error(transparent)]
    App(#[from] Error),
    /// The listener failed while serving.
    #[error("serving: {0}")]
    Serving(String),
}

/// Everything [`Application::build`] needs.
#[derive(Clone)]
pub struct Settings {
    pub database: Database,
    pub app: AppConfig,
    pub mail: MailConfig,
    pub server: ServerOptions,
    /// An API key that must exist: (name, key, platform admin). `serve --dev` prints
    /// one; tests use one.
    pub api_key: Option<(String, String, bool)>,
}

/// A built Guestlist: the store, the application, its background workers (the mail
/// outbox sender, the housekeeping ticks) and the state of its front doors.
pub struct Application {
    state: AppState,
    store: Arc<dyn Store>,
    workers: Vec<JoinHandle<()>>,
}

impl Application {
    /// Opens the store (migrating it), builds the application and starts its workers.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let mailer = Mailer::new(settings.mail.clone())?;
        let store = settings.database.open().await?;
        match Self::assemble(store.clone(), settings, mailer).await {
            Ok(built) => Ok(built),
            Err(e) => {
                store.close().await;
                Err(e)
            }
        }
    }

    async fn assemble(
        store: Arc<dyn Store>,
        settings: Settings,
        mailer: Mailer,
    ) -> Result<Application, StartupError> {
        let app = App::new(store.clone(), settings.app)?;
        if let Some((name, key, platform_admin)) = &settings.api_key {
            app.ensure_api_key(name, key, *platform_admin).await?;
        }
        match &settings.mail.smtp_url {
            Some(url) => {
                tracing::info!(smtp = %guestlist_app::redact_url(url), "delivering invitation e-mail over SMTP")
            }
            None => {
                tracing::info!(folder = %settings.mail.folder.display(), "no SMTP server configured: invitation e-mail goes to the mail folder")
            }
        }
        let issuers = app.issuer_status();
        if !issuers.is_empty() {
            let trusted: Vec<&str> = issuers.iter().map(|i| i.issuer.as_str()).collect();
            tracing::info!(issuers = ?trusted, "trusting user tokens from these identity providers");
        }
        let state = AppState::new(app.clone(), settings.server)?;
        let prefetch = {
            let app = app.clone();
            tokio::spawn(async move { app.prefetch_issuer_keys().await })
        };
        let mut workers = vec![
            guestlist_workers::spawn_sender(app.clone(), mailer),
            spawn_housekeeping(app.clone(), state.metrics.clone()),
            prefetch,
        ];
        workers.extend(guestlist_workers::webhooks::spawn(app, |e| {
            serde_json::to_value(crate::rest::events::event(e)).expect("an event serializes")
        })?);
        Ok(Application {
            state,
            store,
            workers,
        })
    }

    pub fn app(&self) -> &App {
        &self.state.app
    }

    /// The front doors' state (for [`crate::router`]).
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves on `listener` until `shutdown` resolves, drains within the shutdown
    /// grace, then stops the workers and closes the store.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let limits = self.state.options.http.clone();
        let router = crate::router(self.state());
        let served = crate::listen::serve_router(listener, router, limits, shutdown).await;
        self.stop().await;
        served
    }

    /// Stops the background workers and closes the store. An interrupted mail
    /// delivery is retried when its lease ends (at least once).
    pub async fn stop(self) {
        for w in &self.workers {
            w.abort();
        }
        self.store.close().await;
    }
}

fn spawn_housekeeping(
    app: App,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            n += 1;
            // The recorder keeps every histogram sample until they are folded into
            // the histograms: by a scrape of `/metrics`, or here. Without this, a
            // server nobody scrapes would grow by every request it serves.
            metrics.run_upkeep();
            // What the landing pages counted, in one write.
            if let Err(e) = app.flush_funnels().await {
                tracing::warn!(error = %e, "could not write the links' funnels");
            }
            // A pending invitation that lapsed is told once (invitation.expired).
            if let Err(e) = app.sweep_expired_invitations().await {
                tracing::warn!(error = %e, "could not record lapsed invitations");
            }
            // Lapsed sign-up claims give their seats back within seconds.
            if let Err(e) = app.sweep_signup_claims().await {
                tracing::warn!(error = %e, "could not release lapsed sign-up claims");
            }
            if n.is_multiple_of(12) {
                app.housekeeping();
                if let Err(e) = app.sweep_sessions().await {
                    tracing::warn!(error = %e, "could not forget expired sessions");
                }
                if let Err(e) = app.expire_idempotency_keys().await {
                    tracing::warn!(error = %e, "could not forget old idempotency keys");
                }
            }
        }
    })
}
