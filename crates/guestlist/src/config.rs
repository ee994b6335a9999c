//! Configuration: one typed struct. Precedence, lowest first: defaults in code, the
//! config file (`--config FILE`, or `./guestlist.toml` when present), `GUESTLIST_*`
//! environment variables, then command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use guestlist_app::{RateLimitConfig, Secret};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// `sqlite://guestlist.db` (the embedded default).
    pub database_url: String,
    /// Where users reach this service; the default invite link is built from it.
    /// Left at its default: `http://` and the address `bind` listens on (required when
    /// `bind` is an unspecified address).
    pub public_url: String,
    /// The link a created invite returns; `{code}` is replaced by the code and
    /// `{public_url}` by `public_url`. An app deep link works: `chatapp://invite/{code}`.
    pub invite_url_template: String,
    /// Length of new invite codes, 8-32.
    pub code_length: usize,
    /// HS256 secret of the host application's user tokens.
    pub jwt_secret: Option<String>,
    /// The `aud` the host application's tokens must carry. Unset: a token that
    /// carries any `aud` is refused (it was meant for another service).
    pub jwt_audience: Option<String>,
    /// Identity providers whose tokens are trusted, each verified against its JWKS.
    pub issuers: Vec<guestlist_app::IssuerConfig>,
    /// User ids of platform administrators (the admin console's platform pages, and
    /// everything a platform-admin key may do).
    pub platform_admins: Vec<String>,
    /// Key invite codes are derived from and hashed with. Keep it stable and secret.
    pub link_secret: Option<String>,
    /// Take client addresses from X-Forwarded-For (only behind your own proxy).
    pub trust_proxy_headers: bool,
    /// `text` or `json`.
    pub log_format: String,
    /// Answer GraphQL introspection queries.
    pub graphql_introspection: bool,
    /// Read connections to SQLite.
    pub sqlite_read_connections: u32,
    /// Most writes SQLite commits together in one transaction (group commit).
    pub sqlite_max_batch: usize,
    /// The SQLite writer's page cache, in MiB.
    pub sqlite_cache_mib: u32,
    /// PostgreSQL connections per process (N replicas open up to N times this).
    pub postgres_max_connections: u32,
    /// PostgreSQL cancels a statement that runs longer (milliseconds).
    pub postgres_statement_timeout_ms: u64,
    /// At start, keep retrying an unreachable PostgreSQL this long (seconds).
    pub postgres_connect_retry_secs: u64,
    pub rate_limits: RateLimitConfig,
    /// The accept link an invitation e-mail carries: `{token}` and `{public_url}` are
    /// replaced. An app deep link works: `myapp://invite/{token}`.
    pub invitation_url_template: String,
    /// Lifetime of an invitation when the inviter names none (at most 30 days).
    pub invitation_lifetime_secs: i64,
    /// A pending invitation may be re-sent at most this often.
    pub invitation_resend_interval_secs: i64,
    /// The sign-up link a platform invitation returns: `{token}` and `{public_url}`
    /// are replaced.
    pub signup_url_template: String,
    /// How long a sign-up claim holds its seat unless the request says otherwise.
    pub signup_claim_ttl_secs: i64,
    pub mail: guestlist_workers::MailConfig,
    /// `/metrics` answers only `Authorization: Bearer <this>` (unset: anyone who can
    /// reach it).
    pub metrics_token: Option<String>,
    /// The listener's timeouts and connection cap.
    pub http: guestlist_server::HttpLimits,
    /// Which browser origins may call the API (none by default).
    pub cors: guestlist_server::CorsConfig,
    /// The pages people open in a browser, and the sign-in handoff.
    pub pages: guestlist_server::PagesConfig,
    /// Webhook delivery: retries, timeouts, which addresses may be reached.
    pub webhooks: guestlist_server::WebhookSettings,
    /// The live event stream.
    pub events: guestlist_server::EventStreamConfig,
    /// SCIM provisioning: how an identity provider's users and groups map here.
    pub scim: guestlist_app::ScimConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: "127.0.0.1:7700".parse().expect("a valid address"),
            database_url: "sqlite://guestlist.db".into(),
            public_url: "http://127.0.0.1:7700".into(),
            invite_url_template: "{public_url}/i/{code}".into(),
            code_length: 10,
            jwt_secret: None,
            jwt_audience: None,
            issuers: Vec::new(),
            platform_admins: Vec::new(),
            link_secret: None,
            trust_proxy_headers: false,
            log_format: "text".into(),
            graphql_introspection: true,
            sqlite_read_connections: 4,
            sqlite_max_batch: 128,
            sqlite_cache_mib: 64,
            postgres_max_connections: 16,
            postgres_statement_timeout_ms: 10_000,
            postgres_connect_retry_secs: 60,
            rate_limits: RateLimitConfig::default(),
            invitation_url_template: "{public_url}/invitations/accept?token={token}".into(),
            invitation_lifetime_secs: 7 * 24 * 3600,
            invitation_resend_interval_secs: 60,
            signup_url_template: "{public_url}/signup?invitation={token}".into(),
            signup_claim_ttl_secs: 15 * 60,
            mail: guestlist_workers::MailConfig::default(),
            metrics_token: None,
            http: guestlist_server::HttpLimits::default(),
            cors: guestlist_server::CorsConfig::default(),
            pages: guestlist_server::PagesConfig::default(),
            webhooks: guestlist_server::WebhookSettings::default(),
            events: guestlist_server::EventStreamConfig::default(),
            scim: guestlist_app::ScimConfig::default(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |s: &Option<String>| s.as_ref().map(|_| "**redacted**");
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database_url", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("invite_url_template", &self.invite_url_template)
            .field("code_length", &self.code_length)
            .field("jwt_secret", &redact(&self.jwt_secret))
            .field("jwt_audience", &self.jwt_audience)
            .field("issuers", &self.issuers)
            .field("platform_admins", &self.platform_admins)
            .field("link_secret", &redact(&self.link_secret))
            .field("trust_proxy_headers", &self.trust_proxy_headers)
            .field("metrics_token", &redact(&self.metrics_token))
            .field("http", &self.http)
            .field("cors", &self.cors)
            .field("mail", &self.mail)
            .field("pages", &self.pages)
            .field("webhooks", &self.webhooks)
            .field("events", &self.events)
            .field("scim", &self.scim)
            .finish_non_exhaustive()
    }
}

pub use guestlist_app::redact_url;

impl Config {
    /// Defaults, then the file, then the environment (given as a lookup, for tests).
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, String> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("reading {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| format!("in {}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        config.apply_env(env)?;
        if !(1..=65_536).contains(&config.sqlite_cache_mib) {
            return Err(format!(
                "sqlite_cache_mib must be from 1 to 65536 (MiB), not {}",
                config.sqlite_cache_mib
            ));
        }
        Ok(config)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        let parse_err = |var: &str, v: &str| format!("{var}={v:?} is not valid");
        if let Some(v) = env("GUESTLIST_BIND") {
            self.bind = v.parse().map_err(|_| parse_err("GUESTLIST_BIND", &v))?;
        }
        if let Some(v) = env("GUESTLIST_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = env("GUESTLIST_PUBLIC_URL") {
            self.public_url = v;
        }
        if let Some(v) = env("GUESTLIST_INVITE_URL_TEMPLATE") {
            self.invite_url_template = v;
        }
        if let Some(v) = env("GUESTLIST_CODE_LENGTH") {
            self.code_length = v
                .parse()
                .map_err(|_| parse_err("GUESTLIST_CODE_LENGTH", &v))?;
        }
        if let Some(v) = env("GUESTLIST_JWT_SECRET") {
            self.jwt_secret = Some(v);
        }
        if let Some(v) = env("GUESTLIST_JWT_AUDIENCE") {
            self.jwt_audience = Some(v);
        }
        if let Some(v) = env("GUESTLIST_LINK_SECRET") {
            self.link_secret = Some(v);
        }
        if let Some(v) = env("GUESTLIST_TRUST_PROXY_HEADERS") {
            self.trust_proxy_headers = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = env("GUESTLIST_LOG_FORMAT") {
            self.log_format = v;
        }
        if let Some(v) = env("GUESTLIST_METRICS_TOKEN") {
            self.metrics_token = Some(v);
        }
        if let Some(v) = env("GUESTLIST_MAX_CONNECTIONS") {
            self.http.max_connections = v
                .parse()
                .map_err(|_| parse_err("GUESTLIST_MAX_CONNECTIONS", &v))?;
        }
        if let Some(v) = env("GUESTLIST_PLATFORM_ADMINS") {
            self.platform_admins = v
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
        }
        if let Some(v) = env("GUESTLIST_LOGIN_URL") {
            self.pages.login_url = Some(v);
        }
        if let Some(v) = env("GUESTLIST_SIGNUP_PAGE_URL") {
            self.pages.signup_url = Some(v);
        }
        if let Some(v) = env("GUESTLIST_AFTER_JOIN_URL") {
            self.pages.after_join_url = v;
        }
        if let Some(v) = env("GUESTLIST_WEBHOOK_ALLOW_TARGETS") {
            self.webhooks.allow_targets = v
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
        }
        if let Some(v) = env("GUESTLIST_WEBHOOKS_ENABLED") {
            self.webhooks.enabled = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = env("GUESTLIST_INVITATION_URL_TEMPLATE") {
            self.invitation_url_template = v;
        }
        if let Some(v) = env("GUESTLIST_SMTP_URL") {
            self.mail.smtp_url = Some(v);
        }
        if let Some(v) = env("GUESTLIST_MAIL_FROM") {
            self.mail.from = v;
        }
        if let Some(v) = env("GUESTLIST_MAIL_FOLDER") {
            self.mail.folder = v.into();
        }
        if let Some(v) = env("GUESTLIST_SQLITE_CACHE_MIB") {
            self.sqlite_cache_mib = v
                .parse()
                .map_err(|_| parse_err("GUESTLIST_SQLITE_CACHE_MIB", &v))?;
        }
        if let Some(v) = env("GUESTLIST_POSTGRES_MAX_CONNECTIONS") {
            self.postgres_max_connections = v
                .parse()
                .map_err(|_| parse_err("GUESTLIST_POSTGRES_MAX_CONNECTIONS", &v))?;
        }
        if let Some(v) = env("GUESTLIST_POSTGRES_STATEMENT_TIMEOUT_MS") {
            self.postgres_statement_timeout_ms = v
                .parse()
                .map_err(|_| parse_err("GUESTLIST_POSTGRES_STATEMENT_TIMEOUT_MS", &v))?;
        }
        if let Some(v) = env("GUESTLIST_POSTGRES_CONNECT_RETRY_SECS") {
            self.postgres_connect_retry_secs = v
                .parse()
                .map_err(|_| parse_err("GUESTLIST_POSTGRES_CONNECT_RETRY_SECS", &v))?;
        }
        Ok(())
    }

    pub fn invite_url_template(&self) -> String {
        self.invite_url_template
            .replace("{public_url}", self.public_url.trim_end_matches('/'))
    }

    pub fn invitation_url_template(&self) -> String {
        self.invitation_url_template
            .replace("{public_url}", self.public_url.trim_end_matches('/'))
    }

    pub fn signup_url_template(&self) -> String {
        self.signup_url_template
            .replace("{public_url}", self.public_url.trim_end_matches('/'))
    }

    pub fn jwt_secret(&self) -> Result<Secret, String> {
        secret("jwt_secret", "GUESTLIST_JWT_SECRET", &self.jwt_secret)
    }

    /// The shared HS256 secret when there is one; required unless identity providers
    /// are named (`[[issuers]]`).
    pub fn user_token_secret(&self) -> Result<Option<Secret>, String> {
        match (&self.jwt_secret, self.issuers.is_empty()) {
            (None, false) => Ok(None),
            _ => self.jwt_secret().map(Some),
        }
    }

    pub fn link_secret(&self) -> Result<Secret, String> {
        secret("link_secret", "GUESTLIST_LINK_SECRET", &self.link_secret)
    }

    /// The effective settings as TOML, with secrets and URL passwords replaced
    /// (`guestlist config show`).
    pub fn redacted_toml(&self) -> Result<String, String> {
        let hide = |s: &mut Option<String>| {
            if s.is_some() {
                *s = Some("**redacted**".into());
            }
        };
        let mut c = self.clone();
        hide(&mut c.jwt_secret);
        hide(&mut c.link_secret);
        hide(&mut c.metrics_token);
        c.database_url = redact_url(&c.database_url);
        c.mail.smtp_url = c.mail.smtp_url.as_deref().map(redact_url);
        toml::to_string(&c).map_err(|e| e.to_string())
    }

    /// The commented default configuration (`guestlist config`).
    pub fn commented_default() -> String {
        let d = Config::default();
        format!(
            r#"# Guestlist configuration. Precedence: defaults < this file < GUESTLIST_* env < flags.

# Address to listen on (GUESTLIST_BIND).
bind = "{bind}"
# sqlite://FILE is the embedded default; postgres://user:pass@host/db for replicas
# sharing one PostgreSQL (GUESTLIST_DATABASE_URL).
database_url = "{db}"
# Where users reach this service (GUESTLIST_PUBLIC_URL). Left at this default, it
# becomes http:// and the address `bind` listens on; required when `bind` is an
# unspecified address (0.0.0.0, [::]).
public_url = "{public}"
# The link returned for a new invite: {{code}} and {{public_url}} are replaced.
# An app deep link works too: "chatapp://invite/{{code}}" (GUESTLIST_INVITE_URL_TEMPLATE).
invite_url_template = "{tpl}"
# Length of new invite codes, 8-32 (GUESTLIST_CODE_LENGTH).
code_length = {len}
# HS256 secret of the host application's tokens (GUESTLIST_JWT_SECRET). Required
# unless identity providers are named below ([[issuers]]).
# jwt_secret = "..."
# The `aud` those tokens must carry (GUESTLIST_JWT_AUDIENCE). Unset: tokens carrying
# any `aud` are refused. `nbf` is checked when present, with 30 s of leeway.
# jwt_audience = "guestlist"
# User ids of platform administrators: they may do everything a platform-admin key
# may, and see the admin console's platform pages (an identity provider's claim can
# name others: [issuers.claims] admin). GUESTLIST_PLATFORM_ADMINS, comma-separated.
platform_admins = []
# Key invite codes are derived from and hashed with (GUESTLIST_LINK_SECRET). Required;
# keep it stable: with a new key old links still work but cannot be shown again.
# link_secret = "..."
# Trust X-Forwarded-For for client addresses, only behind your own proxy.
trust_proxy_headers = false
# "text" or "json" (GUESTLIST_LOG_FORMAT).
log_format = "text"
# Answer GraphQL introspection queries (turn off to hide the schema).
graphql_introspection = true
sqlite_read_connections = {rc}
# Most queued writes committed in one durable transaction (group commit).
sqlite_max_batch = {mb}
# The SQLite writer's page cache in MiB (GUESTLIST_SQLITE_CACHE_MIB): pages of large
# indexes found here are not read again; an import of 10^6 links runs faster with 128.
sqlite_cache_mib = {scm}
# PostgreSQL pool size per process, statement timeout, and how long to wait for an
# unreachable database at start (GUESTLIST_POSTGRES_MAX_CONNECTIONS, …).
postgres_max_connections = {pmc}
postgres_statement_timeout_ms = {pst}
postgres_connect_retry_secs = {pcr}

# The accept link an invitation e-mail carries: {{token}} and {{public_url}} are
# replaced; an app deep link works too: "myapp://invite/{{token}}"
# (GUESTLIST_INVITATION_URL_TEMPLATE).
invitation_url_template = "{itpl}"
# Default lifetime of an invitation (at most 30 days), and how often a pending one
# may be re-sent.
invitation_lifetime_secs = {ilife}
invitation_resend_interval_secs = {iresend}
# The sign-up link a platform invitation returns ({{token}}, {{public_url}}), and how long
# a sign-up claim holds its seat by default.
signup_url_template = "{stpl}"
signup_claim_ttl_secs = {sttl}
# /metrics answers only "Authorization: Bearer <token>" when set (GUESTLIST_METRICS_TOKEN);
# unset, anyone who can reach the port can read it.
# metrics_token = "..."

# Identity providers whose users' tokens are trusted, verified against their keys
# (JWKS: jwks_url, or found at {{issuer}}/.well-known/openid-configuration). Repeat the
# table for several issuers. Three lines point Guestlist at an OIDC provider:
# [[issuers]]
# issuer = "https://your-tenant.eu.auth0.com/"
# audiences = ["https://guestlist.example.com"]
# Optional, with their defaults:
# algorithms = ["RS256"]              # also RS384, RS512, PS256-512, ES256, ES384, EdDSA
# leeway_secs = 30                    # clock difference tolerated on exp and nbf
# refresh_min_interval_secs = 10      # an unknown kid refreshes the keys at most this often
# key_grace_secs = 300                # a key the provider stops publishing, accepted this long
# user_prefix = "okta:"               # its user `alice` is `okta:alice` here. Required when
#                                     #   tokens have more than one source (jwt_secret and an
#                                     #   issuer, or two issuers): the same prefix on two
#                                     #   issuers shares their users, "" shares jwt_secret's
# [issuers.claims]                    # which claims say who the user is (dotted: nested)
# user_id = "sub"
# email = "email"
# email_verified = "email_verified"
# username = "preferred_username"
# admin = "roles"                     # a claim that makes a platform administrator:
# admin_value = "guestlist-admin"     #   true, equal to admin_value, or a list holding it

[rate_limits]
preview_per_minute_per_ip = {pv}
join_per_minute_per_ip = {jn}
per_minute_per_user = {pu}
# Sign-up claims come from your back end: forward users' addresses or raise this.
signup_per_minute_per_ip = {su}

[http]
# A request's headers must arrive within this of its first byte; its body within
# body_read_timeout_secs (else 408); a connection with no request in progress is
# closed after idle_timeout_secs.
header_read_timeout_secs = {hh}
body_read_timeout_secs = {hb}
idle_timeout_secs = {hi}
# Connections served at once (GUESTLIST_MAX_CONNECTIONS); lowered at start to fit the
# open-file limit, which is raised to its hard limit. Past it, {overflow} more are
# accepted for /healthz and /readyz only; the rest are closed at once.
max_connections = {hm}
# On SIGTERM, in-flight requests get this long to finish (at most 300 s).
shutdown_grace_secs = {hg}

[cors]
# Origins whose pages may call the API from a browser ("https://app.example.com":
# scheme, host, port; no path), or ["*"] for any. Empty (the default): no CORS, and
# browsers refuse cross-origin calls. Bearer tokens need no credentials; set
# allow_credentials only for cookies, and never with "*".
allowed_origins = []
allow_credentials = false
# How long a browser may keep a preflight answer (seconds).
max_age_secs = {cmax}

[mail]
# SMTP server (GUESTLIST_SMTP_URL): "smtp://host:25", "smtp://user:pass@host:587?tls=required"
# (STARTTLS) or "smtps://user:pass@host:465". Unset: e-mails are written as .eml files
# to `folder` (GUESTLIST_MAIL_FOLDER) and the log says where.
# smtp_url = "smtp://127.0.0.1:25"
from = "{mfrom}"
folder = "{mfolder}"
# A folder with any of invitation.subject.txt, invitation.txt, invitation.html (an
# invitation to a space) and signup_invitation.subject.txt, .txt, .html (to sign up):
# minijinja templates used instead of the built-in ones.
# templates_dir = "mail-templates"
# Retries: attempt n+1 waits retry_base_ms × 2^(n-1), at most retry_max_ms; after
# max_attempts the message is marked failed.
max_attempts = {mmax}
retry_base_ms = {mbase}
retry_max_ms = {mcap}
poll_interval_ms = {mpoll}
lease_secs = {mlease}
timeout_secs = {mtimeout}

[pages]
# The pages every link lands on (/i/{{code}}, /invitations/accept, /signup) and the
# account page /me. Off: point the URL templates above into your application.
enabled = true
# Where your application signs a visitor in (GUESTLIST_LOGIN_URL). {{return_to}} is
# replaced by the URL-encoded address to send them back to, with a form POST of
# `token` (a user token, as the API takes). See docs/PAGES.md for the host's side.
# login_url = "https://app.example.com/login?return_to={{return_to}}"
# Your application's sign-up page for a sign-up invitation, {{token}} replaced
# (GUESTLIST_SIGNUP_PAGE_URL).
# signup_url = "https://app.example.com/register?invitation={{token}}"
# Where "Continue" leads after joining: {{space}} (URL-encoded) and {{public_url}} are
# replaced; an app deep link works (GUESTLIST_AFTER_JOIN_URL).
after_join_url = "{pjoin}"
# A browser session ends this long after sign-in (60 s to 30 days).
session_lifetime_secs = {plife}
# Anyone may sign in as anyone by typing a user id: `serve --dev` turns it on.
dev_sign_in = false
# A folder whose templates, strings.toml and assets/ replace the built-in ones.
# templates_dir = "page-templates"

[webhooks]
# Dispatch and deliver from this process (GUESTLIST_WEBHOOKS_ENABLED). Endpoints can be
# managed either way; with several replicas any number may deliver (each attempt is
# leased to one).
enabled = {wen}
# The wait after each failed attempt in turn, in seconds; after the last, the delivery
# is failed. The default follows the Standard Webhooks recommendation.
retry_schedule_secs = {wsched}
# Up to this percentage of each wait is added at random.
jitter_percent = {wjit}
# One attempt's limit; an answer later than this is a failure. Redirects are never followed.
timeout_secs = {wto}
# An endpoint failing without a success this long is disabled (an event says so);
# its owner enables it again.
disable_after_secs = {wdis}
# After a secret rotation the previous secret keeps signing this long.
rotation_overlap_secs = {wrot}
# Internal addresses (loopback, private, link-local, metadata) are refused as targets,
# after DNS resolution too, unless listed here as CIDR blocks ("10.0.0.0/8",
# "127.0.0.1"). GUESTLIST_WEBHOOK_ALLOW_TARGETS, comma-separated; `serve --dev` adds
# loopback.
allow_targets = []
# How long an attempt holds its delivery (longer than timeout_secs), how often the
# dispatcher and sender look for work, and how many attempts run at once (per endpoint).
lease_secs = {wlease}
poll_interval_ms = {wpoll}
concurrency = {wconc}
per_endpoint = {wper}

[events]
# The live stream (/api/v1/events/stream): how often it looks for new events, its
# heartbeat, and how many events it holds for a slow reader (one that then takes none
# for 10 s is disconnected, and resumes with Last-Event-ID). A stream is closed after
# lifetime_secs (0: never), and its client resumes with Last-Event-ID.
poll_interval_ms = {epoll}
heartbeat_secs = {ehb}
stream_buffer = {ebuf}
lifetime_secs = {elife}

[scim]
# SCIM 2.0 at /scim/v2, for an identity provider holding a SCIM key
# (`guestlist api-key create --name okta --scim acme/`): see docs/SCIM.md.
# Which attribute of a new SCIM user is its user id here (the `sub` of your tokens):
# "userName", "externalId", or "id" (a new UUID). Fixed when the user is created.
user_id = "{scuid}"
# The role a group's members hold in its space.
member_role = "{scrole}"
# A group posted for a space that does not exist creates it under the key's space
# (false: refused).
create_groups = {sccreate}
# Most resources one list answers.
max_results = {scmax}
"#,
            scuid = match d.scim.user_id {
                guestlist_app::ScimUserId::UserName => "userName",
                guestlist_app::ScimUserId::ExternalId => "externalId",
                guestlist_app::ScimUserId::Id => "id",
            },
            scrole = d.scim.member_role,
            sccreate = d.scim.create_groups,
            scmax = d.scim.max_results,
            wen = d.webhooks.enabled,
            wsched = toml::Value::Array(
                d.webhooks
                    .retry_schedule_secs
                    .iter()
                    .map(|s| toml::Value::Float(*s))
                    .collect()
            ),
            wjit = d.webhooks.jitter_percent,
            wto = d.webhooks.timeout_secs,
            wdis = d.webhooks.disable_after_secs,
            wrot = d.webhooks.rotation_overlap_secs,
            wlease = d.webhooks.lease_secs,
            wpoll = d.webhooks.poll_interval_ms,
            wconc = d.webhooks.concurrency,
            wper = d.webhooks.per_endpoint,
            epoll = d.events.poll_interval_ms,
            ehb = d.events.heartbeat_secs,
            ebuf = d.events.stream_buffer,
            elife = d.events.lifetime_secs,
            pjoin = d.pages.after_join_url,
            plife = d.pages.session_lifetime_secs,
            hh = d.http.header_read_timeout_secs,
            hb = d.http.body_read_timeout_secs,
            hi = d.http.idle_timeout_secs,
            hm = d.http.max_connections,
            hg = d.http.shutdown_grace_secs,
            cmax = d.cors.max_age_secs,
            overflow = guestlist_server::HEALTH_OVERFLOW,
            itpl = d.invitation_url_template,
            ilife = d.invitation_lifetime_secs,
            iresend = d.invitation_resend_interval_secs,
            stpl = d.signup_url_template,
            sttl = d.signup_claim_ttl_secs,
            mfrom = d.mail.from,
            mfolder = d.mail.folder.display(),
            mmax = d.mail.max_attempts,
            mbase = d.mail.retry_base_ms,
            mcap = d.mail.retry_max_ms,
            mpoll = d.mail.poll_interval_ms,
            mlease = d.mail.lease_secs,
            mtimeout = d.mail.timeout_secs,
            bind = d.bind,
            db = d.database_url,
            public = d.public_url,
            tpl = d.invite_url_template,
            len = d.code_length,
            rc = d.sqlite_read_connections,
            mb = d.sqlite_max_batch,
            scm = d.sqlite_cache_mib,
            pmc = d.postgres_max_connections,
            pst = d.postgres_statement_timeout_ms,
            pcr = d.postgres_connect_retry_secs,
            pv = d.rate_limits.preview_per_minute_per_ip,
            jn = d.rate_limits.join_per_minute_per_ip,
            pu = d.rate_limits.per_minute_per_user,
            su = d.rate_limits.signup_per_minute_per_ip,
        )
    }
}

fn secret(field: &str, var: &str, value: &Option<String>) -> Result<Secret, String> {
    match value {
        Some(v) if v.len() >= 32 => Ok(Secret::new(v.clone())),
        Some(_) => Err(format!("{field} must be at least 32 characters")),
        None => Err(format!(
            "no {field}: set {var} or {field} in the config file (or run `guestlist serve --dev`)"
        )),
    }
}

/// Secrets `serve --dev` makes once and keeps beside the database.
#[derive(Serialize, Deserialize)]
pub struct DevSecrets {
    pub jwt_secret: String,
    pub link_secret: String,
    pub admin_api_key: String,
}

pub const DEV_SECRETS_FILE: &str = "guestlist-dev.toml";

impl DevSecrets {
    /// Beside the database: `serve --dev`, `token` and `api-key create` given the same
    /// database (the default `./guestlist.db`, or `--database-url sqlite://DIR/FILE`)
    /// find the same secrets. With PostgreSQL, in the working directory.
    pub fn path(config: &Config) -> PathBuf {
        let folder = config
            .database_url
            .strip_prefix("sqlite://")
            .map(|f| f.split('?').next().unwrap_or(f))
            .and_then(|f| Path::new(f).parent().map(Path::to_path_buf))
            .unwrap_or_default();
        folder.join(DEV_SECRETS_FILE)
    }

    pub fn read(config: &Config) -> Option<DevSecrets> {
        let text = std::fs::read_to_string(Self::path(config)).ok()?;
        toml::from_str(&text).ok()
    }

    pub fn read_or_create(config: &Config) -> Result<DevSecrets, String> {
        if let Some(s) = Self::read(config) {
            return Ok(s);
        }
        let s = DevSecrets {
            jwt_secret: Secret::generate().expose().to_owned(),
            link_secret: Secret::generate().expose().to_owned(),
            admin_api_key: guestlist_app::new_api_key().0,
        };
        let text = format!(
            "# Made by `guestlist serve --dev`: local secrets for trying Guestlist. Never use in production.\n{}",
            toml::to_string(&s).map_err(|e| e.to_string())?
        );
        write_private(&Self::path(config), &text)?;
        Ok(s)
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .map_err(|e| format!("creating {}: {e}", path.display()))?;
    f.write_all(text.as_bytes()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_environment_overrides_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("g.toml");
        std::fs::write(
            &file,
            "code_length = 12\npublic_url = \"https://file.example\"\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            env(&[("GUESTLIST_PUBLIC_URL", "https://env.example")]),
        )
        .unwrap();
        assert_eq!(c.code_length, 12, "from the file");
        assert_eq!(c.public_url, "https://env.example", "env beats the file");
        assert_eq!(c.bind.port(), 7700, "default kept");
        assert_eq!(c.invite_url_template(), "https://env.example/i/{code}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = Config::load(None, env(&[("GUESTLIST_BIND", "nope")]))
            .err()
            .unwrap();
        assert!(err.contains("GUESTLIST_BIND"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("g.toml");
        std::fs::write(&file, "no_such_key = 1\n").unwrap();
        assert!(Config::load(Some(&file), env(&[])).is_err());
    }

    #[test]
    fn the_commented_default_parses_to_the_defaults() {
        let parsed: Config = toml::from_str(&Config::commented_default()).unwrap();
        let d = Config::default();
        assert_eq!(parsed.bind, d.bind);
        assert_eq!(parsed.code_length, d.code_length);
        assert_eq!(
            parsed.rate_limits.join_per_minute_per_ip,
            d.rate_limits.join_per_minute_per_ip
        );
        assert_eq!(parsed.invitation_url_template, d.invitation_url_template);
        assert_eq!(parsed.mail.max_attempts, d.mail.max_attempts);
        assert_eq!(parsed.mail.folder, d.mail.folder);
    }

    #[test]
    fn three_lines_point_guestlist_at_an_oidc_provider() {
        // The commented example, uncommented: the three lines, then the whole table.
        let example: String = Config::commented_default()
            .lines()
            .skip_while(|l| *l != "# [[issuers]]")
            .take_while(|l| l.starts_with("# "))
            .map(|l| l.trim_start_matches("# ").split("  #").next().unwrap_or(""))
            .filter(|l| !l.starts_with("Optional"))
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: Config = toml::from_str(&example).unwrap();
        let i = &parsed.issuers[0];
        assert_eq!(i.issuer, "https://your-tenant.eu.auth0.com/");
        assert_eq!(i.audiences, ["https://guestlist.example.com"]);
        assert_eq!(i.claims.admin_value.as_deref(), Some("guestlist-admin"));
        assert!(i.validate().is_ok());
        let three: Config = toml::from_str(
            "[[issuers]]\nissuer = \"https://id.example.com/\"\naudiences = [\"guestlist\"]\n",
        )
        .unwrap();
        assert_eq!(three.issuers[0].algorithms, ["RS256"]);
        assert_eq!(three.issuers[0].claims.user_id, "sub");
        assert!(
            three.user_token_secret().unwrap().is_none(),
            "no shared secret needed"
        );
        assert!(
            toml::from_str::<Config>(
                "[[issuers]]\nissuer = \"https://x/\"\naudiences = []\nalgo = 1\n"
            )
            .is_err()
        );
        // Without either, user tokens cannot be verified.
        assert!(Config::default().user_token_secret().is_err());
    }

    #[test]
    fn the_effective_settings_print_without_their_secrets() {
        let c = Config {
            jwt_secret: Some("j".repeat(40)),
            link_secret: Some("l".repeat(40)),
            metrics_token: Some("m-token-value".into()),
            database_url: "postgres://gl:pg-password@db/guestlist".into(),
            ..Config::default()
        };
        let shown = c.redacted_toml().unwrap();
        for secret in ["jjjj", "llll", "m-token-value", "pg-password"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        // Every setting is there, and it reads back.
        let back: Config = toml::from_str(&shown).unwrap();
        assert_eq!(back.bind, c.bind);
        assert_eq!(back.cors, c.cors);
        assert_eq!(back.http, c.http);
    }

    #[test]
    fn the_sqlite_cache_is_set_from_the_environment_within_its_bounds() {
        let with = |v: &'static str| {
            Config::load(None, move |k| {
                (k == "GUESTLIST_SQLITE_CACHE_MIB").then(|| v.to_owned())
            })
        };
        assert_eq!(Config::default().sqlite_cache_mib, 64);
        assert_eq!(with("128").unwrap().sqlite_cache_mib, 128);
        for bad in ["0", "65537", "lots"] {
            let e = with(bad).unwrap_err();
            assert!(
                e.contains("SQLITE_CACHE_MIB") || e.contains("sqlite_cache_mib"),
                "{e}"
            );
        }
    }

    #[test]
    fn secrets_never_print() {
        let c = Config {
            jwt_secret: Some("x".repeat(40)),
            database_url: "postgres://u:pw@h/db".into(),
            ..Config::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains(&"x".repeat(40)) && !shown.contains("pw"));
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert!(
            Config::default()
                .jwt_secret()
                .unwrap_err()
                .contains("GUESTLIST_JWT_SECRET")
        );
    }
}
