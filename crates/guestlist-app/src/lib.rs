//! The application layer. Every front door (REST, GraphQL, pages, CLI) calls the
//! functions on [`App`]; each is one operation run in one transaction of the store,
//! with the events it appends. No rule lives anywhere else.

mod auth;
mod ceiling;
mod issuers;
mod limits;
mod ops;
pub mod outbox;
mod paging;
mod scope;
mod secrets;
pub mod targets;
#[cfg(test)]
mod use_cases;

use std::net::IpAddr;
use std::sync::Arc;

pub use auth::{Claims, mint_token};
pub use guestlist_domain as domain;
use guestlist_domain::{Actor, Error};
pub use guestlist_domain::{AddOutcome, InvitationOutcome, JoinOutcome};
pub use guestlist_store as store;
use guestlist_store::Store;
pub use issuers::{ClaimMapping, IssuerConfig, IssuerStatus};
pub use limits::RateLimitConfig;
use limits::RateLimits;
pub use ops::events::{EventFilter, EventPage, FeedFilter, FeedPage};
pub use ops::imports::{
    ImportOutcome, ImportRow, MAX_IMPORT_BATCH, MAX_IMPORT_TRANSACTION, PendingElsewhere,
};
pub use ops::invitations::{
    BulkResult, Decision, InvitationConfig, InvitationFilter, InvitationInput, InvitationPage,
    InvitationPreview, InvitationResult, InvitationView, InviteeInput, MAX_BULK_ROWS,
    MAX_INVITATION_LIFETIME_SECS, Response as InvitationResponse, invitees_from_csv,
};
pub use ops::invites::InviteView;
pub use ops::invites::{
    CreateInvite, InviteCreated, InviteFilter, InvitePage, InvitePreview, MirrorInvite, Mirrored,
    Redeemed,
};
pub use ops::mail::{OutgoingMail, SpaceInvitation};
pub use ops::members::{CheckAnswer, CheckInput, MAX_CHECKS, MemberPage, MembershipView};
pub use ops::requests::{
    Account, Deprovisioned, JoinRequestPage, JoinRequestView, Pending, RequestResult,
};
pub use ops::scim::{
    ScimCaller, ScimChange, ScimConfig, ScimKind, ScimList, ScimQuery, ScimResource, ScimUserId,
};
pub use ops::sessions::{MAX_SESSION_LIFETIME_SECS, SessionConfig, SignedIn};
pub use ops::signup::{
    ClaimView, GateView, PlatformInvitationCreated, PlatformInvitationInput,
    PlatformInvitationPage, PlatformInvitationView, ReferralCounts, ReferralState, Referrals,
    SignupConfig, TokenCheck,
};
pub use ops::spaces::{NewSpaceInput, SpacePage, SpacePatchInput, SpaceView};
pub use ops::webhooks::{
    AttemptReport, Attempted, DeliveryPage, DeliveryView, Dispatched, EndpointInput,
    EndpointSecret, EndpointUpdate, MAX_REPLAY, OutgoingWebhook, ReplayFrom, Replayed,
    WebhookConfig,
};
pub use paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, encode as cursor_of};
pub use scope::Check;
pub use scope::SYSTEM_ACTOR;
pub use secrets::{Secret, constant_time_eq, new_api_key, redact_url};
use time::OffsetDateTime;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The settings the application layer needs; the binary builds it from its config.
#[derive(Clone)]
pub struct AppConfig {
    /// HS256 secret the host application signs its users' tokens with (`--dev`, simple
    /// setups); `None` when only identity providers are trusted.
    pub jwt_secret: Option<Secret>,
    /// Trusted identity providers: their tokens are verified against their JWKS.
    pub issuers: Vec<IssuerConfig>,
    /// The `aud` the host application's tokens must carry; `None`: tokens carrying
    /// any `aud` are refused.
    pub jwt_audience: Option<String>,
    /// Key from which invite codes are derived and hashed. Keep it stable: with a new
    /// key, existing links still redeem but can no longer be shown again.
    pub link_secret: Secret,
    /// Template of the link a created invite returns, with `{code}` in it:
    /// `https://chat.example.com/i/{code}` or `chatapp://invite/{code}`.
    pub invite_url_template: String,
    /// Length of new invite codes (8-32).
    pub code_length: usize,
    pub rate_limits: RateLimitConfig,
    pub invitations: InvitationConfig,
    pub signup: SignupConfig,
    /// The pages' browser sessions.
    pub sessions: SessionConfig,
    /// Users who are platform administrators (as a key with `platform_admin` is),
    /// named by user id; an identity provider's claim can make others so too.
    pub platform_admins: Vec<String>,
    pub webhooks: WebhookConfig,
    /// SCIM provisioning (`[scim]`).
    pub scim: ScimConfig,
}

/// Who is calling and from where. Rate limits key on both.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Option<Actor>,
    pub client: IpAddr,
}

/// The bearer credential a long-lived connection signed in with (a GraphQL
/// WebSocket): what it opens stays open only while this still authenticates.
#[derive(Clone)]
pub struct Credential(pub String);

#[derive(Clone)]
pub struct App(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    config: AppConfig,
    keys: Arc<secrets::Keys>,
    tokens: auth::TokenVerifier,
    /// The identities last recorded per user seen in a token.
    seen: ops::users::Seen,
    limits: RateLimits,
    mail_queued: Arc<tokio::sync::Notify>,
    /// Landing-page views and sign-ins not yet written (`flush_funnels`).
    funnels: ops::invites::Funnels,
}

impl App {
    pub fn new(store: Arc<dyn Store>, config: AppConfig) -> Result<Self> {
        if !(guestlist_domain::invite::MIN_CODE_LEN..=guestlist_domain::invite::MAX_CODE_LEN)
            .contains(&config.code_length)
        {
            return Err(Error::invalid(
                "code_length",
                "invite codes are 8 to 32 characters",
            ));
        }
        if !config.invite_url_template.contains("{code}") {
            return Err(Error::invalid(
                "invite_url_template",
                "the template must contain {code}",
            ));
        }
        if !config.invitations.accept_url_template.contains("{token}") {
            return Err(Error::invalid(
                "invitation_url_template",
                "the template must contain {token}",
            ));
        }
        if !(1..=ops::invitations::MAX_INVITATION_LIFETIME_SECS)
            .contains(&config.invitations.default_lifetime_secs)
        {
            return Err(Error::invalid(
                "invitation_lifetime_secs",
                "1 second to 30 days",
            ));
        }
        if !config.signup.url_template.contains("{token}") {
            return Err(Error::invalid(
                "signup_url_template",
                "the template must contain {token}",
            ));
        }
        if !(60..=MAX_SESSION_LIFETIME_SECS).contains(&config.sessions.lifetime_secs) {
            return Err(Error::invalid(
                "session_lifetime_secs",
                "1 minute to 30 days",
            ));
        }
        config.webhooks.validate()?;
        let keys = Arc::new(secrets::Keys::derive(&config.link_secret));
        let limits = RateLimits::new(&config.rate_limits)?;
        let tokens = auth::TokenVerifier::new(
            config.jwt_secret.as_ref(),
            config.jwt_audience.as_deref(),
            &config.issuers,
        )
        .map_err(|e| Error::invalid(e.setting, e.reason))?;
        Ok(App(Arc::new(Inner {
            store,
            config,
            keys,
            tokens,
            seen: Default::default(),
            limits,
            mail_queued: Arc::default(),
            funnels: Default::default(),
        })))
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.0.store
    }

    pub fn engine(&self) -> &'static str {
        self.0.store.engine()
    }

    /// Fetches every trusted issuer's keys (at start; failures are logged and shown by
    /// [`App::issuer_status`], and the service keeps answering).
    pub async fn prefetch_issuer_keys(&self) {
        self.0.tokens.issuers.prefetch().await;
    }

    /// The trusted identity providers and whether their keys could be fetched.
    pub fn issuer_status(&self) -> Vec<IssuerStatus> {
        self.0.tokens.issuers.status()
    }

    pub async fn ready(&self) -> Result<()> {
        self.0.store.ready().await
    }

    /// Forgets rate-limit state of clients not seen lately; call now and then.
    pub fn housekeeping(&self) {
        self.0.limits.forget_idle();
    }

    fn store_ref(&self) -> &dyn Store {
        &*self.0.store
    }

    fn invite_link(&self, code: &str) -> String {
        self.0.config.invite_url_template.replace("{code}", code)
    }
}

/// Makes ring this process's TLS crypto provider (for the HTTPS the service and its
/// tools speak: identity providers' keys). Idempotent.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Now, at the millisecond precision storage keeps.
pub(crate) fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

/// Logs a failed request's cause, the same way for every front door: an internal
/// fault as an error, a passing one (the database unavailable, contention) as a
/// warning, and a refusal of the caller's request not at all. The cause goes to the
/// log, never to the caller.
pub fn log_failure(e: &Error, door: &'static str) {
    match e {
        Error::Internal(_) => tracing::error!(door, code = %e.code(), cause = ?e, "request failed"),
        Error::Unavailable(_) | Error::Contention(_) => {
            tracing::warn!(door, code = %e.code(), cause = ?e, "request failed")
        }
        _ => {}
    }
}
