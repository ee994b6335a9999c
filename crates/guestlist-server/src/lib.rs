//! Guestlist's HTTP front doors: REST under `/api/v1`, GraphQL, the OpenAPI document,
//! and the operational endpoints. All thin: the rules live in `guestlist-app`. The
//! listener's limits and timeouts are in `listen.rs`.

mod application;
mod cors;
mod error;
mod extract;
mod graphql;
mod listen;
mod openapi;
mod pages;
mod rest;
mod scim;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

pub use application::{Application, Database, Settings, StartupError};
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::HeaderName;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
pub use cors::CorsConfig;
pub use error::{ApiError, status_of};
use guestlist_app::App;
use guestlist_app::domain::{Error, SettingError};
pub use guestlist_workers::WebhookSettings;
pub use listen::{HEALTH_OVERFLOW, HttpLimits, fit_connections};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
pub use openapi::openapi_json;
pub use pages::PagesConfig;
pub use rest::imports::{import_result, import_row};

/// `[events]`: the live stream (`/api/v1/events/stream`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventStreamConfig {
    /// How often a stream looks for new events (milliseconds).
    pub poll_interval_ms: u64,
    /// A comment line is sent this often, so proxies keep the stream open.
    pub heartbeat_secs: u64,
    /// Events a stream may hold for a slow reader; when they are all waiting and it
    /// takes none for 10 s, it is disconnected (and resumes with Last-Event-ID).
    pub stream_buffer: usize,
    /// A stream is closed after this many seconds (0: it lasts while its client
    /// reads), and its client resumes with Last-Event-ID, as `EventSource` does by
    /// itself: so load balancers can move long-lived clients, and a run of a fuzzer
    /// reads whole answers.
    pub lifetime_secs: u64,
}

impl Default for EventStreamConfig {
    fn default() -> Self {
        EventStreamConfig {
            poll_interval_ms: 250,
            heartbeat_secs: 15,
            stream_buffer: 1_000,
            lifetime_secs: 0,
        }
    }
}

impl EventStreamConfig {
    pub fn poll(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.poll_interval_ms.max(10))
    }

    /// When a stream opened now is closed, if ever.
    pub fn closes_at(&self) -> Option<tokio::time::Instant> {
        (self.lifetime_secs > 0).then(|| {
            tokio::time::Instant::now() + std::time::Duration::from_secs(self.lifetime_secs)
        })
    }
}

/// The GraphQL schema in SDL, as committed in `schema.graphql`.
pub fn graphql_sdl() -> String {
    guestlist_graphql::sdl()
}
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

/// Request bodies above this are refused with 413 `payload_too_large`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The bulk invitation route takes up to 1,000 rows: this much.
pub const BULK_BODY_BYTES: usize = 1024 * 1024;
/// An import request takes up to 10,000 rows: this much.
pub const IMPORT_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How the front doors are exposed.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_proxy_headers: bool,
    /// Serve the GraphiQL page at `GET /graphql` (`serve --dev`).
    pub graphiql: bool,
    /// Answer GraphQL introspection queries.
    pub introspection: bool,
    /// `/metrics` answers only requests bearing this token (`None`: anyone).
    pub metrics_token: Option<String>,
    /// The listener's timeouts and connection cap.
    pub http: HttpLimits,
    /// Which browser origins may call the API.
    pub cors: CorsConfig,
    /// Where people reach this service: the pages' links, cookies and origin checks.
    pub public_url: String,
    /// The pages people open in a browser.
    pub pages: PagesConfig,
    /// The live event stream.
    pub events: EventStreamConfig,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            trust_proxy_headers: false,
            graphiql: false,
            introspection: true,
            metrics_token: None,
            http: HttpLimits::default(),
            cors: CorsConfig::default(),
            public_url: "http://127.0.0.1:7700".into(),
            pages: PagesConfig::default(),
            events: EventStreamConfig::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub options: ServerOptions,
    graphql: guestlist_graphql::GuestlistSchema,
    metrics: PrometheusHandle,
    pages: Arc<pages::Pages>,
}

impl AppState {
    /// Fails when the pages' templates folder has a template that does not parse.
    pub fn new(app: App, options: ServerOptions) -> Result<Self, SettingError> {
        let graphql = guestlist_graphql::schema(Some(app.clone()), options.introspection);
        let pages = Arc::new(pages::Pages::new(
            options.pages.clone(),
            &options.public_url,
        )?);
        Ok(AppState {
            app,
            options,
            graphql,
            metrics: metrics_handle(),
            pages,
        })
    }
}

/// The process-wide Prometheus recorder (installed once, shared by every router).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (an embedding application).
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

pub fn router(state: AppState) -> Router {
    let body_timeout = state.options.http.body_read_timeout();
    let cors = state.options.cors.layer();
    let request_id = HeaderName::from_static("x-request-id");
    let router = Router::new()
        .nest(
            "/api/v1",
            rest::router().route_layer(middleware::from_fn(extract::strict_query)),
        )
        .nest("/scim/v2", scim::router())
        .merge(pages::router(&state))
        .route("/api/openapi.json", get(openapi_route))
        .route("/graphql", post(graphql::execute).get(graphql::graphiql))
        .route("/graphql/ws", get(graphql::subscriptions))
        .route("/graphiql/{asset}", get(graphql::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_route))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower::util::MapRequestLayer::new(move |req| {
            listen::DeadlineBody::wrap(req, body_timeout)
        }))
        .layer(middleware::from_fn(track_metrics))
        .layer(middleware::map_response(no_store))
        .layer(CatchPanicLayer::custom(|_| ApiError(Error::internal("a handler panicked")).into_response()))
        .layer(
            // The route, not the path: a path may hold an invite code (`/i/{code}`,
            // `/api/v1/invites/{code}`), and no code reaches the log.
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                let route = req
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", |p| p.as_str());
                tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([axum::http::header::AUTHORIZATION]))
        .with_state(state);
    // Outermost: a preflight is answered before routing, and every answer (errors
    // too) carries the headers a browser needs to read it.
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// Answers may carry a code, a token, a secret or someone's address: none is kept by
/// a browser or a proxy, unless the route says it may be (vendored assets).
async fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    if !h.contains_key(axum::http::header::CACHE_CONTROL) {
        h.insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    res
}

async fn not_found() -> ApiError {
    ApiError(Error::NotFound("route"))
}

async fn method_not_allowed() -> ApiError {
    ApiError(Error::MethodNotAllowed)
}

async fn openapi_route() -> impl IntoResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        DOCUMENT.get_or_init(openapi_json).as_str(),
    )
}

async fn healthz(State(s): State<AppState>) -> extract::Json<guestlist_api::Health> {
    extract::Json(guestlist_api::Health {
        status: "ok".into(),
        engine: s.app.engine().into(),
        identity_providers: Vec::new(),
    })
}

async fn readyz(State(s): State<AppState>) -> Response {
    match s.app.ready().await {
        Ok(()) => extract::Json(guestlist_api::Health {
            status: "ready".into(),
            engine: s.app.engine().into(),
            identity_providers: s
                .app
                .issuer_status()
                .into_iter()
                .map(|i| guestlist_api::IdentityProvider {
                    issuer: i.issuer,
                    keys: i.keys,
                    reachable: i.reachable,
                    last_error: i.last_error,
                })
                .collect(),
        })
        .into_response(),
        Err(e) => ApiError(Error::Unavailable(e.to_string())).into_response(),
    }
}

async fn metrics_route(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(expected) = &s.options.metrics_token {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !guestlist_app::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return ApiError(Error::Unauthenticated("a metrics token is required".into()))
                .into_response();
        }
    }
    s.metrics.render().into_response()
}

async fn track_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("guestlist_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("guestlist_http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}

/// Listens at once, then serves the application when `starting` yields it. Until then
/// `/healthz` answers 200 and everything else (`/readyz` included) 503 `unavailable`,
/// so a replica started before its database is up is visibly alive but not ready,
/// and is not restarted by its orchestrator. An error from `starting` stops serving.
pub async fn serve_when_ready(
    listener: TcpListener,
    limits: HttpLimits,
    starting: impl std::future::Future<Output = Result<Application, StartupError>>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StartupError> {
    use tower::ServiceExt;
    let ready: Arc<OnceLock<Router>> = Arc::new(OnceLock::new());
    let cell = ready.clone();
    let front = Router::new().fallback_service(tower::service_fn(move |req: Request| {
        let cell = cell.clone();
        async move {
            match cell.get() {
                Some(app) => app.clone().oneshot(req).await,
                None if req.uri().path() == "/healthz" => {
                    Ok(extract::Json(guestlist_api::Health {
                        status: "starting".into(),
                        engine: "-".into(),
                        identity_providers: Vec::new(),
                    })
                    .into_response())
                }
                None => Ok(ApiError(Error::Unavailable("starting".into())).quiet()),
            }
        }
    }));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(listen::serve_router(listener, front, limits, async move {
        let _ = stop_rx.await;
    }));
    tokio::pin!(shutdown);
    tokio::pin!(starting);
    let outcome = tokio::select! {
        state = &mut starting => match state {
            Ok(application) => {
                let _ = ready.set(router(application.state()));
                tracing::info!(engine = application.app().engine(), "ready");
                (&mut shutdown).await;
                Ok(Some(application))
            }
            Err(e) => Err(e),
        },
        _ = &mut shutdown => Ok(None),
    };
    let _ = stop_tx.send(());
    let drained = server
        .await
        .map_err(|e| StartupError::Serving(e.to_string()));
    // Requests drained (or their grace is up): now the workers and the store.
    let outcome = match outcome {
        Ok(Some(application)) => {
            application.stop().await;
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    drained?.map_err(|e| StartupError::Serving(e.to_string()))?;
    outcome
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
