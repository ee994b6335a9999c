//! The listener: accepts connections within a cap, serves each with timeouts, and on
//! shutdown drains them with a deadline. Without this, a client could hold the
//! process's file descriptors with idle or slowly dripped connections, and one
//! half-sent request could keep a stopping process alive forever.
//!
//! - **Header read**: a request's headers must arrive within
//!   `header_read_timeout_secs` of its first byte, however slowly they drip.
//! - **Body read**: its whole body within `body_read_timeout_secs` of the request's
//!   start (408 otherwise): a total, not a wait between chunks ([`DeadlineBody`]).
//! - **Idle**: a connection with no request in progress for `idle_timeout_secs` is
//!   closed (a new connection that sends nothing is idle too). A request is in
//!   progress until its answer is sent whole, so a streamed answer (an event stream)
//!   is never idle: it ends with its credential (docs/SECURITY.md).
//! - **Connections**: at most `max_connections` are served at once. Beyond it, a few
//!   more ([`HEALTH_OVERFLOW`]) are accepted to answer `/healthz` and `/readyz`
//!   only (anything else gets 503, and the connection is closed after one answer, or
//!   after 2 s without a request), so an orchestrator can still see the process
//!   alive; beyond those, new connections are closed at once.
//! - **Shutdown**: no new connection is accepted; in-flight requests get
//!   `shutdown_grace_secs` to finish, then every connection is dropped.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use guestlist_app::domain::{Error, SettingError};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::ApiError;

/// Connections accepted past `max_connections` to answer health checks only.
pub const HEALTH_OVERFLOW: usize = 32;
/// How long a connection in the health lane may take to send its one request.
const HEALTH_LANE_TIMEOUT: Duration = Duration::from_secs(2);
/// File descriptors kept free of connections: the database, logs, mail.
const RESERVED_FDS: u64 = 128;

/// The HTTP front door's limits (`[http]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpLimits {
    /// A request's headers must arrive within this long of its first byte.
    pub header_read_timeout_secs: u64,
    /// A request's body must arrive within this long (else 408 `request_timeout`).
    pub body_read_timeout_secs: u64,
    /// A connection with no request in progress is closed after this long.
    pub idle_timeout_secs: u64,
    /// Connections served at once; lowered at start to what the file-descriptor
    /// limit allows.
    pub max_connections: usize,
    /// On SIGTERM, in-flight requests get this long to finish (at most 300).
    pub shutdown_grace_secs: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            idle_timeout_secs: 60,
            max_connections: 10_000,
            shutdown_grace_secs: 20,
        }
    }
}

impl HttpLimits {
    /// Refuses values that would switch a protection off.
    pub fn validate(&self) -> Result<(), SettingError> {
        let positive = [
            (
                "http.header_read_timeout_secs",
                self.header_read_timeout_secs,
            ),
            ("http.body_read_timeout_secs", self.body_read_timeout_secs),
            ("http.idle_timeout_secs", self.idle_timeout_secs),
            ("http.max_connections", self.max_connections as u64),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(SettingError::new(name, "at least 1"));
            }
        }
        if self.shutdown_grace_secs > 300 {
            return Err(SettingError::new("http.shutdown_grace_secs", "at most 300"));
        }
        Ok(())
    }

    pub(crate) fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout_secs)
    }
}

/// Raises the soft limit of open files to the hard limit, and returns the number of
/// connections that fit under it with room to spare (at most `wanted`).
pub fn fit_connections(wanted: usize) -> usize {
    #[cfg(unix)]
    {
        // SAFETY: getrlimit/setrlimit only read and write the struct passed.
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return wanted;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                tracing::info!(
                    from = lim.rlim_cur,
                    to = lim.rlim_max,
                    "raised the open-file limit"
                );
                lim.rlim_cur = lim.rlim_max;
            }
        }
        let room = lim
            .rlim_cur
            .saturating_sub(RESERVED_FDS + HEALTH_OVERFLOW as u64);
        let fit = usize::try_from(room).unwrap_or(usize::MAX).max(1);
        if fit < wanted {
            tracing::warn!(
                wanted,
                serving = fit,
                open_file_limit = lim.rlim_cur,
                "http.max_connections lowered to fit the open-file limit"
            );
        }
        wanted.min(fit)
    }
    #[cfg(not(unix))]
    wanted
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains.
pub(crate) async fn serve_router(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    let serving = Arc::new(Semaphore::new(limits.max_connections));
    let overflow = Arc::new(Semaphore::new(HEALTH_OVERFLOW));
    // Draining: every connection is told to finish what it serves and close; each
    // holds a clone of `open`, so `closed` ends when the last one has.
    let (drain, draining) = tokio::sync::watch::channel(false);
    let (open, mut closed) = tokio::sync::mpsc::channel::<()>(1);
    let limits = Arc::new(limits);
    tokio::pin!(shutdown);
    let mut last_warned: Option<Instant> = None;
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors (or a connection reset before accept):
                    // wait a moment rather than spin; serving connections go on. Said
                    // at most once a second, not at every retry.
                    metrics::counter!("guestlist_http_accept_errors_total").increment(1);
                    if last_warned.is_none_or(|t: Instant| t.elapsed() >= Duration::from_secs(1)) {
                        tracing::warn!(error = %e, "accept failed");
                        last_warned = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let (permit, health_only) = match serving.clone().try_acquire_owned() {
            Ok(p) => (p, false),
            Err(_) => match overflow.clone().try_acquire_owned() {
                Ok(p) => (p, true),
                Err(_) => {
                    metrics::counter!("guestlist_http_connections_refused_total").increment(1);
                    drop(stream);
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let served = connection(
            stream,
            remote,
            router.clone(),
            health_only,
            &limits,
            draining.clone(),
        );
        let open = open.clone();
        tokio::spawn(async move {
            served.await;
            drop(permit);
            drop(open);
        });
    }
    drop(listener);
    let grace = Duration::from_secs(limits.shutdown_grace_secs);
    let _ = drain.send(true);
    drop(open);
    if tokio::time::timeout(grace, closed.recv()).await.is_err() {
        tracing::warn!(
            grace_secs = limits.shutdown_grace_secs,
            "connections still open after the shutdown grace: dropping them"
        );
    }
    Ok(())
}

/// One accepted connection, served to its end: the HTTP connection (upgrades allowed,
/// for GraphQL subscriptions), the watchdog that ends it when it sits idle or drips its
/// headers, and a graceful close when the server drains.
fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    health_only: bool,
    limits: &HttpLimits,
    mut draining: tokio::sync::watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let seen = activity.clone();
    let service = tower::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(remote));
        let router = router.clone();
        let seen = seen.clone();
        seen.begin();
        async move {
            // The request is in progress until its answer has been sent whole (or the
            // answer is dropped): a response being streamed — an event stream — is
            // never idle.
            let done = InFlight(seen);
            let req = req.map(Body::new);
            let health = matches!(req.uri().path(), "/healthz" | "/readyz");
            let res = if health_only && !health {
                Ok(ApiError(Error::Unavailable(
                    "too many connections: try again shortly".into(),
                ))
                .quiet())
            } else {
                router.oneshot(req).await
            };
            res.map(|r| r.map(|inner| Body::new(Answering { inner, _done: done })))
        }
    });
    let (mut header, mut idle) = (
        Duration::from_secs(limits.header_read_timeout_secs),
        Duration::from_secs(limits.idle_timeout_secs),
    );
    if health_only {
        // A health check sends its request at once: whoever holds a lane connection
        // without doing so gives it up quickly.
        header = header.min(HEALTH_LANE_TIMEOUT);
        idle = idle.min(HEALTH_LANE_TIMEOUT);
    }
    let http = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // A backstop: hyper counts from when it waits for a request, idle time
        // included; the watchdog enforces each limit on its own.
        .header_read_timeout(Some(header + idle))
        .keep_alive(!health_only)
        .serve_connection(io, hyper_util::service::TowerToHyperService::new(service))
        .with_upgrades();
    let watch = watchdog(activity, header, idle);
    async move {
        let mut http = std::pin::pin!(http);
        let drained = tokio::select! {
            _ = http.as_mut() => false,
            _ = watch => false,
            _ = draining.wait_for(|d| *d) => true,
        };
        if drained {
            http.as_mut().graceful_shutdown();
            let _ = http.await;
        }
    }
}

/// Resolves when the connection has been idle too long, or has taken too long to
/// send a request's headers (counted from their first byte: the first byte wakes it).
async fn watchdog(activity: Arc<Activity>, header: Duration, idle: Duration) {
    loop {
        let first_byte = activity.first_byte.notified();
        let now = activity.now_ms();
        let deadline = if activity.in_flight.load(Ordering::Acquire) > 0 {
            // A request is being served: its body has its own timeout.
            now + 1_000
        } else {
            match activity.first_byte_ms.load(Ordering::Acquire) {
                0 => activity.last_ms.load(Ordering::Acquire) + idle.as_millis() as u64,
                first => first + header.as_millis() as u64,
            }
        };
        if now >= deadline && activity.in_flight.load(Ordering::Acquire) == 0 {
            metrics::counter!("guestlist_http_connections_timed_out_total").increment(1);
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(deadline.saturating_sub(now).max(20))) => {}
            _ = first_byte => {}
        }
    }
}

/// Ends its request's time in flight when dropped: when the answer's body has been
/// sent whole, or dropped unsent.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// An answer's body, holding its request in flight until it is done.
struct Answering {
    inner: Body,
    _done: InFlight,
}

impl axum::body::HttpBody for Answering {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Why a request body was cut off: it did not arrive whole within
/// `body_read_timeout_secs` of the request's start (408 `request_timeout`).
#[derive(Debug)]
pub(crate) struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimedOut {}

/// A request body with one deadline for all of it: a body dripped a byte at a time
/// is cut off when the total time is up, however often bytes arrive.
pub(crate) struct DeadlineBody {
    inner: Body,
    until: tokio::time::Instant,
    /// Made at the first read: a request whose body is never read costs no timer.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl DeadlineBody {
    pub(crate) fn wrap(req: axum::extract::Request, within: Duration) -> axum::extract::Request {
        if axum::body::HttpBody::is_end_stream(req.body()) {
            return req;
        }
        let until = tokio::time::Instant::now() + within;
        req.map(|inner| {
            Body::new(DeadlineBody {
                inner,
                until,
                deadline: None,
            })
        })
    }
}

impl axum::body::HttpBody for DeadlineBody {
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        if self.inner.is_end_stream() {
            return Poll::Ready(None);
        }
        let until = self.until;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until)));
        if deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        Pin::new(&mut self.inner).poll_frame(cx).map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// What the watchdog knows of a connection, in milliseconds since it opened.
struct Activity {
    opened: Instant,
    /// Told when the first byte of a request arrives between requests.
    first_byte: tokio::sync::Notify,
    in_flight: AtomicUsize,
    /// When the first byte of a request not yet dispatched arrived (0: none).
    first_byte_ms: AtomicU64,
    /// When the last request ended (or the connection opened).
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            first_byte: tokio::sync::Notify::new(),
            in_flight: AtomicUsize::new(0),
            first_byte_ms: AtomicU64::new(0),
            last_ms: AtomicU64::new(1),
        }
    }

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64 + 1
    }

    fn begin(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.first_byte_ms.store(0, Ordering::Release);
    }

    fn end(&self) {
        self.last_ms.store(self.now_ms(), Ordering::Release);
        self.first_byte_ms.store(0, Ordering::Release);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Bytes arrived: between requests, they start the header clock.
    fn read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && self
                .first_byte_ms
                .compare_exchange(0, self.now_ms(), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.first_byte.notify_one();
        }
    }
}

/// A socket that tells its [`Activity`] when request bytes arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_file_limit_is_raised_and_connections_fit_under_it() {
        let fit = fit_connections(usize::MAX);
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct passed.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        assert_eq!(
            lim.rlim_cur, lim.rlim_max,
            "the soft limit is raised to the hard one"
        );
        assert!(
            (fit as u64) + RESERVED_FDS + HEALTH_OVERFLOW as u64
                <= lim.rlim_cur.max(RESERVED_FDS + HEALTH_OVERFLOW as u64 + 1)
        );
        assert_eq!(fit_connections(5), 5, "a smaller cap is kept");
    }

    #[test]
    fn limits_that_switch_a_protection_off_are_refused() {
        assert!(HttpLimits::default().validate().is_ok());
        for bad in [
            HttpLimits {
                idle_timeout_secs: 0,
                ..HttpLimits::default()
            },
            HttpLimits {
                max_connections: 0,
                ..HttpLimits::default()
            },
            HttpLimits {
                shutdown_grace_secs: 301,
                ..HttpLimits::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
