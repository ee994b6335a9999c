//! The pages people open in a browser: where every link Guestlist hands out lands
//! (`/i/{code}`, `/invitations/accept?token=…`, `/signup?invitation=…`), the account
//! page `/me`, and the sign-in handoff (`auth.rs`). One file per feature, as REST has;
//! each handler parses, calls one application function and renders a template. No
//! rule lives here.
//!
//! Server-rendered HTML from minijinja templates (built in, each replaceable from
//! `pages.templates_dir`), every user-visible string in one catalogue per language
//! (`pages/strings/en.toml`), no script at all: every flow is a link or a form, and
//! the Content-Security-Policy allows no script. Forms that change state carry a
//! token derived from the session, and cross-site POSTs are refused by their
//! `Origin` / `Sec-Fetch-Site` before any handler runs.

mod auth;
mod console;
mod invitations;
mod invites;
mod me;
mod members;
mod requests;
mod signup;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use guestlist_app::domain::{Actor, Error, ErrorCode, SettingError};
use guestlist_app::{Caller, Secret};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::extract::ClientIp;

/// The pages' settings (`[pages]` in the configuration file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagesConfig {
    /// Serve the pages (and the sign-in handoff). Off: every link Guestlist hands out
    /// must lead into the host application instead.
    pub enabled: bool,
    /// Where the host application signs a visitor in: `{return_to}` is replaced by
    /// the (URL-encoded) address the host sends the visitor back to, with a form POST
    /// carrying `token` (a user token of the kind the API accepts). Unset: the
    /// development sign-in when `dev_sign_in` is on, else sign-in is unavailable.
    pub login_url: Option<String>,
    /// The host application's sign-up page, to which `/signup?invitation=…` hands the
    /// visitor: `{token}` is replaced by the sign-up invitation's token.
    pub signup_url: Option<String>,
    /// Where "Continue" leads after joining: `{space}` is replaced by the space's
    /// path (URL-encoded) and `{public_url}` by `public_url`. An app deep link works
    /// (`chatapp://spaces/{space}`).
    pub after_join_url: String,
    /// A session ends this long after sign-in (60 s to 30 days).
    pub session_lifetime_secs: i64,
    /// A sign-in form where anyone types a user id and an e-mail address: for
    /// `serve --dev` (which turns it on), never for production.
    pub dev_sign_in: bool,
    /// A folder whose files replace the built-in ones: any template
    /// (`landing.html`, `base.html`, …), `strings.toml` (some or all of the English
    /// catalogue's keys), and `assets/` (`guestlist.css`, `logo.svg`).
    pub templates_dir: Option<PathBuf>,
}

impl Default for PagesConfig {
    fn default() -> Self {
        PagesConfig {
            enabled: true,
            login_url: None,
            signup_url: None,
            after_join_url: "{public_url}/me".into(),
            session_lifetime_secs: 12 * 3600,
            dev_sign_in: false,
            templates_dir: None,
        }
    }
}

/// The built-in templates; `pages.templates_dir` may replace any of them.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../pages/templates/base.html")),
    (
        "landing.html",
        include_str!("../../pages/templates/landing.html"),
    ),
    (
        "outcome.html",
        include_str!("../../pages/templates/outcome.html"),
    ),
    (
        "problem.html",
        include_str!("../../pages/templates/problem.html"),
    ),
    (
        "invitation.html",
        include_str!("../../pages/templates/invitation.html"),
    ),
    (
        "signup.html",
        include_str!("../../pages/templates/signup.html"),
    ),
    ("me.html", include_str!("../../pages/templates/me.html")),
    (
        "leave.html",
        include_str!("../../pages/templates/leave.html"),
    ),
    (
        "sign_in.html",
        include_str!("../../pages/templates/sign_in.html"),
    ),
    (
        "signed_out.html",
        include_str!("../../pages/templates/signed_out.html"),
    ),
    (
        "console/_nav.html",
        include_str!("../../pages/templates/console/_nav.html"),
    ),
    (
        "console/home.html",
        include_str!("../../pages/templates/console/home.html"),
    ),
    (
        "console/space.html",
        include_str!("../../pages/templates/console/space.html"),
    ),
    (
        "console/invites.html",
        include_str!("../../pages/templates/console/invites.html"),
    ),
    (
        "console/invite_link.html",
        include_str!("../../pages/templates/console/invite_link.html"),
    ),
    (
        "console/confirm.html",
        include_str!("../../pages/templates/console/confirm.html"),
    ),
    (
        "console/invitations.html",
        include_str!("../../pages/templates/console/invitations.html"),
    ),
    (
        "console/bulk.html",
        include_str!("../../pages/templates/console/bulk.html"),
    ),
    (
        "console/requests.html",
        include_str!("../../pages/templates/console/requests.html"),
    ),
    (
        "console/members.html",
        include_str!("../../pages/templates/console/members.html"),
    ),
    (
        "console/events.html",
        include_str!("../../pages/templates/console/events.html"),
    ),
    (
        "console/webhooks.html",
        include_str!("../../pages/templates/console/webhooks.html"),
    ),
    (
        "console/webhook.html",
        include_str!("../../pages/templates/console/webhook.html"),
    ),
    (
        "console/webhook_secret.html",
        include_str!("../../pages/templates/console/webhook_secret.html"),
    ),
    (
        "console/platform.html",
        include_str!("../../pages/templates/console/platform.html"),
    ),
];

/// The English catalogue: every string a page shows.
const STRINGS_EN: &str = include_str!("../../pages/strings/en.toml");

/// Files served under `/assets/`: (name, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "guestlist.css",
        "text/css; charset=utf-8",
        include_bytes!("../../pages/assets/guestlist.css"),
    ),
    (
        "logo.svg",
        "image/svg+xml",
        include_bytes!("../../pages/assets/logo.svg"),
    ),
];

const SESSION_COOKIE: &str = "gl_session";
const SIGN_IN_COOKIE: &str = "gl_signin";

/// No script at all, styles and images from here only, forms post only here, and
/// no framing.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The pages' templates, strings and assets, loaded once at start.
pub(crate) struct Pages {
    env: minijinja::Environment<'static>,
    strings: Value,
    assets: BTreeMap<String, (&'static str, Vec<u8>)>,
    config: PagesConfig,
    /// `public_url` without a trailing slash.
    public_url: String,
    /// Cookies are `Secure` when the public URL is https.
    secure: bool,
}

/// The setting a refused template, asset or string names.
const TEMPLATES_DIR: &str = "pages.templates_dir";

impl Pages {
    pub(crate) fn new(config: PagesConfig, public_url: &str) -> Result<Pages, SettingError> {
        let dir = config.templates_dir.as_deref();
        let mut env = minijinja::Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_filter("fill", fill);
        env.add_filter("q", |s: String| encode(&s));
        for (name, builtin) in TEMPLATES {
            let text = match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(path) => std::fs::read_to_string(&path).map_err(|e| {
                    SettingError::new(TEMPLATES_DIR, format!("reading {}: {e}", path.display()))
                })?,
                None => (*builtin).to_owned(),
            };
            env.add_template_owned(*name, text)
                .map_err(|e| SettingError::new(TEMPLATES_DIR, format!("template {name}: {e}")))?;
        }
        let strings = strings(dir)?;
        let mut assets = BTreeMap::new();
        for (name, kind, bytes) in ASSETS {
            let bytes = match dir
                .map(|d| d.join("assets").join(name))
                .filter(|p| p.is_file())
            {
                Some(path) => std::fs::read(&path).map_err(|e| {
                    SettingError::new(TEMPLATES_DIR, format!("reading {}: {e}", path.display()))
                })?,
                None => bytes.to_vec(),
            };
            assets.insert((*name).to_owned(), (*kind, bytes));
        }
        if let Some(url) = &config.login_url
            && !url.contains("{return_to}")
        {
            return Err(SettingError::new(
                "pages.login_url",
                "must contain {return_to}",
            ));
        }
        if let Some(url) = &config.signup_url
            && !url.contains("{token}")
        {
            return Err(SettingError::new(
                "pages.signup_url",
                "must contain {token}",
            ));
        }
        let public_url = public_url.trim_end_matches('/').to_owned();
        Ok(Pages {
            env,
            strings: Value::from(minijinja::value::Serde(strings)),
            assets,
            secure: public_url.starts_with("https://"),
            public_url,
            config,
        })
    }

    /// Renders `template` with the catalogue, the visitor and `ctx`.
    fn render(&self, v: &Visitor, status: StatusCode, template: &str, ctx: Value) -> Response {
        let page = context! {
            t => self.strings.clone(),
            visitor => v.view(),
            csrf => v.csrf(),
            public_url => self.public_url.clone(),
            ..ctx
        };
        match self.env.get_template(template).and_then(|t| t.render(page)) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template, error = %e, "a page could not be rendered");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }

    /// The page for a refusal: its status and words come from its code, through the
    /// same mapping the API uses (`status_of`).
    fn problem(&self, v: &Visitor, e: Error) -> Response {
        guestlist_app::log_failure(&e, "pages");
        let code = e.code();
        let detail = matches!(code, ErrorCode::InvalidInput).then(|| e.public_message());
        self.render(
            v,
            crate::status_of(code),
            "problem.html",
            context! { code => code.as_str(), detail },
        )
    }

    /// Where "Continue" leads after joining `space`.
    fn after_join(&self, space: &str) -> String {
        self.config
            .after_join_url
            .replace("{public_url}", &self.public_url)
            .replace("{space}", &encode(space))
    }

    fn cookie(
        &self,
        name: &str,
        value: &str,
        max_age: i64,
        path: &str,
        cross_site: bool,
    ) -> HeaderValue {
        // The sign-in state must come back with the host's cross-site POST: over https
        // it is SameSite=None; over plain http a browser allows that only for Lax, so
        // the host must then be on the same site (see docs/PAGES.md).
        let same_site = if cross_site && self.secure {
            "None"
        } else {
            "Lax"
        };
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Max-Age={max_age}; Path={path}; HttpOnly; SameSite={same_site}{secure}"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=1; Max-Age=0"))
    }
}

/// The English catalogue, with `strings.toml` from the templates folder laid over it.
/// A key the catalogue does not have is an error (a typo would otherwise go unseen).
fn strings(dir: Option<&Path>) -> Result<toml::Table, SettingError> {
    let refused = |path: &Path, e: &dyn std::fmt::Display| {
        SettingError::new(TEMPLATES_DIR, format!("in {}: {e}", path.display()))
    };
    let mut base: toml::Table = toml::from_str(STRINGS_EN).expect("the built-in strings parse");
    if let Some(path) = dir.map(|d| d.join("strings.toml")).filter(|p| p.is_file()) {
        let text = std::fs::read_to_string(&path).map_err(|e| refused(&path, &e))?;
        let over: toml::Table = toml::from_str(&text).map_err(|e| refused(&path, &e))?;
        overlay(&mut base, over, "").map_err(|e| refused(&path, &e))?;
    }
    Ok(base)
}

/// What a `strings.toml` may not say.
#[derive(Debug, thiserror::Error)]
enum OverlayError {
    #[error("{0} must be a string")]
    NotAString(String),
    #[error("unknown string {0}")]
    Unknown(String),
}

fn overlay(base: &mut toml::Table, over: toml::Table, at: &str) -> Result<(), OverlayError> {
    for (key, value) in over {
        let name = format!("{at}{key}");
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => {
                overlay(b, o, &format!("{name}."))?
            }
            (Some(slot @ toml::Value::String(_)), v @ toml::Value::String(_)) => *slot = v,
            (Some(_), _) => return Err(OverlayError::NotAString(name)),
            (None, _) => return Err(OverlayError::Unknown(name)),
        }
    }
    Ok(())
}

/// `{{ t.x | fill(name=value) }}`: a catalogue string with its `{name}`s filled in,
/// in one pass (a value that itself holds `{name}` stays as it is). The result is
/// plain text, escaped like any other value.
fn fill(text: String, kwargs: minijinja::value::Kwargs) -> Result<String, minijinja::Error> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').map(|close| (&after[..close], close)) {
            Some((key, close)) if kwargs.has(key) => {
                let value: Value = kwargs.get(key)?;
                if !(value.is_none() || value.is_undefined()) {
                    out.push_str(&value.to_string());
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    // A string need not use every value given (an operator's wording may leave one
    // out): each counts as used.
    for key in kwargs.args() {
        let _: Value = kwargs.get(key)?;
    }
    Ok(out)
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The pages, their assets and the sign-in handoff.
pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let router = Router::new()
        .merge(auth::router())
        .merge(invites::router())
        .merge(invitations::router())
        .merge(requests::router())
        .merge(members::router())
        .merge(signup::router())
        .merge(me::router())
        .merge(console::router())
        .route("/", get(|| async { Redirect::to("/me") }))
        .route("/assets/{name}", get(asset))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            same_origin_posts,
        ))
        .layer(middleware::from_fn(page_headers));
    if state.pages.config.enabled {
        router
    } else {
        Router::new()
    }
}

async fn asset(
    State(s): State<AppState>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Response {
    match s.pages.assets.get(&name) {
        Some((kind, bytes)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            bytes.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Every page answer: the policy above, no sniffing, no framing, no referrer to
/// another origin (a link to the host must not carry a token in `Referer`; within
/// this origin it stays, or browsers send `Origin: null` with forms), and not cached
/// unless it says so.
async fn page_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Refuses a POST another site's page made the browser send: `Sec-Fetch-Site` must
/// be `same-origin` (or `none`: typed by the user), and an `Origin`, when sent, must
/// be this service's. The one exception is the host's sign-in callback, which is
/// cross-site by design and is bound to the visitor by its state instead.
async fn same_origin_posts(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() == Method::POST && req.uri().path() != auth::CALLBACK {
        let h = req.headers();
        let site_ok = h
            .get("sec-fetch-site")
            .is_none_or(|v| v == "same-origin" || v == "none");
        let origin_ok = h
            .get(header::ORIGIN)
            .is_none_or(|o| same_origin(o, h, &s.pages.public_url));
        if !site_ok || !origin_ok {
            tracing::info!("a cross-site form post was refused");
            let v = Visitor::anonymous(IpAddr::from([0, 0, 0, 0]));
            return s.pages.problem(
                &v,
                Error::Forbidden("cross-site form posts are refused".into()),
            );
        }
    }
    next.run(req).await
}

fn same_origin(origin: &HeaderValue, headers: &HeaderMap, public_url: &str) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if origin == public_url {
        return true;
    }
    // Reached at another address than public_url (localhost for 127.0.0.1, a
    // proxy): the origin must name the host the request was sent to.
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (origin.split_once("://"), host) {
        (Some((_, authority)), Some(host)) => authority == host,
        _ => false,
    }
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Who is looking at a page: signed in through a session, or not.
pub(crate) struct Visitor {
    actor: Option<Actor>,
    /// The session cookie's token, while it is valid.
    token: Option<Secret>,
    ip: IpAddr,
}

impl Visitor {
    fn anonymous(ip: IpAddr) -> Visitor {
        Visitor {
            actor: None,
            token: None,
            ip,
        }
    }

    fn caller(&self) -> Caller {
        Caller {
            actor: self.actor.clone(),
            client: self.ip,
        }
    }

    /// The form token of this session: derived from the cookie's secret, so a page
    /// of another site can neither read nor make it.
    fn csrf(&self) -> Option<String> {
        self.token.as_ref().map(|t| {
            let digest = Sha256::digest(format!("guestlist-form:{}", t.expose()).as_bytes());
            digest.iter().take(20).map(|b| format!("{b:02x}")).collect()
        })
    }

    /// The signed-in actor, or `unauthenticated`.
    fn actor(&self) -> Result<&Actor, Error> {
        self.actor
            .as_ref()
            .ok_or_else(|| Error::Unauthenticated("sign in first".into()))
    }

    /// The signed-in actor, if `form_token` is this session's.
    fn acting(&self, form_token: &str) -> Result<&Actor, Error> {
        let actor = self.actor()?;
        match self.csrf() {
            Some(expected)
                if guestlist_app::constant_time_eq(expected.as_bytes(), form_token.as_bytes()) =>
            {
                Ok(actor)
            }
            _ => Err(Error::Forbidden(
                "this form has expired: reload the page and try again".into(),
            )),
        }
    }

    fn view(&self) -> Value {
        match &self.actor {
            Some(a @ Actor::User { email, .. }) => context! {
                signed_in => true,
                user => a.label(),
                email => email.clone(),
            },
            _ => context! { signed_in => false, user => None::<String>, email => None::<String> },
        }
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, s)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(token) = cookie_value(&parts.headers, SESSION_COOKIE) else {
            return Ok(Visitor::anonymous(ip));
        };
        match s.app.session(token).await {
            Ok(Some(actor)) => Ok(Visitor {
                actor: Some(actor),
                token: Some(Secret::new(token.to_owned())),
                ip,
            }),
            Ok(None) => Ok(Visitor::anonymous(ip)),
            Err(e) => Err(s.pages.problem(&Visitor::anonymous(ip), e)),
        }
    }
}

/// A page's query parameters: an unknown or malformed one is refused with a page
/// (the API's `Query` answers in JSON), naming the parameter.
pub(crate) struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        match crate::extract::Query::<T>::from_request_parts(parts, s).await {
            Ok(q) => Ok(Query(q.0)),
            Err(e) => {
                let ClientIp(ip) = ClientIp::from_request_parts(parts, s)
                    .await
                    .map_err(IntoResponse::into_response)?;
                Err(s.pages.problem(&Visitor::anonymous(ip), e.0))
            }
        }
    }
}

/// Sends a signed-out visitor to sign in, coming back to `next`.
fn sign_in_first(next: &str) -> Response {
    Redirect::to(&format!("{}?next={}", auth::SIGN_IN, encode(next))).into_response()
}

/// A page answer, or the refusal's page; a signed-out visitor asked to sign in is
/// sent to sign in, coming back to `next`.
fn page(s: &AppState, v: &Visitor, next: &str, r: Result<Response, Error>) -> Response {
    match r {
        Ok(res) => res,
        Err(Error::Unauthenticated(_)) if v.actor.is_none() => sign_in_first(next),
        Err(e) => s.pages.problem(v, e),
    }
}

/// A form's fields, or the page that says what was wrong with them.
type Form<T> = Result<axum::Form<T>, axum::extract::rejection::FormRejection>;

fn form<T>(f: Form<T>) -> Result<T, Error> {
    f.map(|axum::Form(t)| t)
        .map_err(|e| Error::invalid("form", e.body_text()))
}

#[cfg(test)]
mod tests;
