//! Tokens from identity providers (OpenID Connect): each trusted issuer's keys come
//! from its JWKS (named, or found through `/.well-known/openid-configuration`), parsed
//! once and kept. An unknown `kid` refreshes the set (at most once per
//! `refresh_min_interval_secs`, so a flood of made-up `kid`s cannot hammer the
//! provider); the set is also refreshed when its cache lifetime (the answer's
//! `Cache-Control: max-age`, within bounds) runs out. A failed fetch keeps the last
//! good set. A key the provider stops publishing is honoured `key_grace_secs` longer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use guestlist_domain::SettingError;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One trusted issuer (`[[issuers]]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The `iss` its tokens carry, exactly (`https://tenant.eu.auth0.com/`).
    pub issuer: String,
    /// Where its keys are; unset: discovered from
    /// `{issuer}/.well-known/openid-configuration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// Tokens must carry one of these in `aud`.
    pub audiences: Vec<String>,
    /// Signature algorithms accepted from this issuer: RS256, RS384, RS512, PS256,
    /// PS384, PS512, ES256, ES384 or EdDSA. Never HS*: a shared secret is not a
    /// provider's key.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Clock difference tolerated on `exp` and `nbf` (seconds, at most 300).
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// Which claims say who the user is.
    #[serde(default)]
    pub claims: ClaimMapping,
    /// An unknown `kid` refreshes the keys at most this often (seconds).
    #[serde(default = "default_refresh_interval")]
    pub refresh_min_interval_secs: u64,
    /// A key the provider stops publishing is still accepted this long (seconds).
    #[serde(default = "default_key_grace")]
    pub key_grace_secs: u64,
    /// What this issuer's user ids start with in Guestlist: its token's user id
    /// `alice` is user `{user_prefix}alice`. Each issuer's users are distinct from
    /// every other source's, so where tokens can come from more than one source (the
    /// shared secret and an issuer, or two issuers) every issuer must set it; two
    /// issuers with the same prefix share their users, and `""` shares the shared
    /// secret's. Unset is allowed only for the one and only source of tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_prefix: Option<String>,
}

/// Claim names; a dotted name reads a nested claim (`realm_access.roles`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimMapping {
    pub user_id: String,
    pub email: String,
    pub email_verified: String,
    pub username: String,
    /// A claim that makes its holder a platform administrator: true when it is
    /// `true`, equals `admin_value`, or is a list holding `admin_value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_value: Option<String>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            user_id: "sub".into(),
            email: "email".into(),
            email_verified: "email_verified".into(),
            username: "preferred_username".into(),
            admin: None,
            admin_value: None,
        }
    }
}

fn default_algorithms() -> Vec<String> {
    vec!["RS256".into()]
}

fn default_leeway() -> u64 {
    30
}

fn default_refresh_interval() -> u64 {
    10
}

fn default_key_grace() -> u64 {
    300
}

/// How long a fetched key set stays fresh without cache headers, and the bounds put
/// on a provider's `max-age`.
const DEFAULT_FRESH: Duration = Duration::from_secs(3600);
const MIN_FRESH: Duration = Duration::from_secs(60);
const MAX_FRESH: Duration = Duration::from_secs(24 * 3600);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

fn algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

impl IssuerConfig {
    pub fn validate(&self) -> Result<(), SettingError> {
        let at = |what: &str| format!("issuers[{}].{what}", self.issuer);
        if !(self.issuer.starts_with("https://") || self.issuer.starts_with("http://")) {
            return Err(SettingError::new(at("issuer"), "an http(s) URL"));
        }
        if let Some(u) = &self.jwks_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(SettingError::new(at("jwks_url"), "an http(s) URL"));
        }
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return Err(SettingError::new(
                at("audiences"),
                "name the audience(s) its tokens carry for this service",
            ));
        }
        if self.algorithms.is_empty() {
            return Err(SettingError::new(at("algorithms"), "at least one"));
        }
        for a in &self.algorithms {
            if algorithm(a).is_none() {
                return Err(SettingError::new(
                    at("algorithms"),
                    format!(
                        "{a:?} is not one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA"
                    ),
                ));
            }
        }
        if self.leeway_secs > 300 {
            return Err(SettingError::new(at("leeway_secs"), "at most 300"));
        }
        if let Some(prefix) = &self.user_prefix
            && (prefix.len() > 64
                || prefix.chars().any(|c| c.is_control() || c.is_whitespace())
                || prefix.starts_with(guestlist_domain::actor::KEY_LABEL_PREFIX))
        {
            return Err(SettingError::new(
                at("user_prefix"),
                "at most 64 characters, no spaces or control characters, not \"key:\"",
            ));
        }
        if self.claims.admin_value.is_some() && self.claims.admin.is_none() {
            return Err(SettingError::new(
                at("claims"),
                "admin_value needs admin (the claim)",
            ));
        }
        Ok(())
    }
}

/// Why an issuer's keys could not be fetched (logged, and shown on `/readyz`).
#[derive(Debug, thiserror::Error)]
enum KeyFetchError {
    #[error("discovery at {0}: {1}")]
    Discovery(String, String),
    #[error("discovery at {url} names the issuer {named:?}, not {expected:?}")]
    WrongIssuer {
        url: String,
        named: String,
        expected: String,
    },
    #[error("JWKS at {0}: {1}")]
    Jwks(String, String),
}

/// Who a provider's token says the caller is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Identity {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub username: Option<String>,
    pub platform_admin: bool,
    /// When the token expires (seconds since the epoch).
    pub expires: u64,
    /// The issuer and `kid` whose key verified it (a provider's token).
    pub verified_by: Option<(String, Option<String>)>,
}

/// Why a token was refused, for the log (never shown to the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    Malformed,
    UntrustedIssuer,
    AlgorithmNotAllowed,
    UnknownKey,
    Invalid(String),
    MissingClaim(&'static str),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Malformed => f.write_str("not a JWT"),
            Refusal::UntrustedIssuer => f.write_str("not from a trusted issuer"),
            Refusal::AlgorithmNotAllowed => f.write_str("an algorithm not allowed for its issuer"),
            Refusal::UnknownKey => f.write_str("signed with a key its issuer does not publish"),
            Refusal::Invalid(why) => write!(f, "invalid: {why}"),
            Refusal::MissingClaim(c) => write!(f, "without the {c} claim"),
        }
    }
}

struct Key {
    key: DecodingKey,
    /// The `alg` the JWK names, when it names one: a token must then use it.
    alg: Option<Algorithm>,
    /// When the provider stopped publishing it.
    removed_at: Option<Instant>,
}

#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, Arc<Key>>,
    /// Keys published without a `kid`, for tokens that carry none.
    unnamed: Vec<Arc<Key>>,
    fresh_until: Option<Instant>,
}

/// A provider's state as `/readyz` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssuerStatus {
    pub issuer: String,
    /// Keys held now.
    pub keys: usize,
    /// Whether its keys were ever fetched.
    pub reachable: bool,
    /// The last fetch's error, if it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

struct Provider {
    config: IssuerConfig,
    algorithms: Vec<Algorithm>,
    keys: Mutex<KeySet>,
    /// One refresh at a time; when the last one started.
    refreshing: tokio::sync::Mutex<Option<Instant>>,
    status: Mutex<(bool, Option<String>)>,
    jwks_uri: Mutex<Option<String>>,
}

/// Every trusted issuer, and the HTTP client that fetches their keys.
pub(crate) struct Issuers {
    providers: Vec<Arc<Provider>>,
    http: reqwest::Client,
}

impl Issuers {
    /// `shared_secret`: whether tokens without a trusted issuer are taken too (the
    /// host's HS256 secret), another source of user ids.
    pub fn new(configs: &[IssuerConfig], shared_secret: bool) -> Result<Issuers, SettingError> {
        for c in configs {
            c.validate()?;
        }
        let sources = configs.len() + usize::from(shared_secret);
        if sources > 1
            && let Some(c) = configs.iter().find(|c| c.user_prefix.is_none())
        {
            return Err(SettingError::new(
                format!("issuers[{}].user_prefix", c.issuer),
                format!(
                    "tokens come from {sources} sources (the issuers{}), \
                     so whose user `alice` is would be ambiguous: give each issuer its own \
                     user_prefix (\"okta:\"), the same one to issuers that share users, \
                     or \"\" to share the shared secret's users",
                    if shared_secret { " and jwt_secret" } else { "" }
                ),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(c) = configs.iter().find(|c| !seen.insert(c.issuer.as_str())) {
            return Err(SettingError::new(
                format!("issuers[{}]", c.issuer),
                "named twice",
            ));
        }
        crate::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| SettingError::new("issuers", format!("building the JWKS client: {e}")))?;
        let providers = configs
            .iter()
            .map(|c| {
                Arc::new(Provider {
                    algorithms: c.algorithms.iter().filter_map(|a| algorithm(a)).collect(),
                    jwks_uri: Mutex::new(c.jwks_url.clone()),
                    config: c.clone(),
                    keys: Mutex::default(),
                    refreshing: tokio::sync::Mutex::new(None),
                    status: Mutex::new((false, None)),
                })
            })
            .collect();
        Ok(Issuers { providers, http })
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// Whether `iss` is one of the trusted issuers.
    pub fn trusts(&self, iss: &str) -> bool {
        self.providers.iter().any(|p| p.config.issuer == iss)
    }

    /// Fetches every provider's keys now (at start, in the background); failures are
    /// logged and kept for `/readyz`.
    pub async fn prefetch(&self) {
        for p in &self.providers {
            p.refresh(&self.http, true).await;
        }
    }

    pub fn status(&self) -> Vec<IssuerStatus> {
        self.providers
            .iter()
            .map(|p| {
                let (reachable, last_error) =
                    p.status.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let keys = p.keys.lock().unwrap_or_else(|e| e.into_inner());
                IssuerStatus {
                    issuer: p.config.issuer.clone(),
                    keys: keys.by_kid.len() + keys.unnamed.len(),
                    reachable,
                    last_error,
                }
            })
            .collect()
    }

    /// Verifies a token from a trusted issuer (`iss`) and reads who it names.
    pub async fn verify(
        &self,
        token: &str,
        header: &Header,
        iss: &str,
    ) -> Result<Identity, Refusal> {
        let p = self
            .providers
            .iter()
            .find(|p| p.config.issuer == iss)
            .ok_or(Refusal::UntrustedIssuer)?;
        if !p.algorithms.contains(&header.alg) {
            return Err(Refusal::AlgorithmNotAllowed);
        }
        let key = match p.key(header) {
            Some(k) => k,
            None => {
                // Unknown: the provider may have rotated. Refresh (rate-limited), look again.
                p.refresh(&self.http, false).await;
                p.key(header).ok_or(Refusal::UnknownKey)?
            }
        };
        if key.alg.is_some_and(|a| a != header.alg) {
            return Err(Refusal::AlgorithmNotAllowed);
        }
        if p.stale() {
            // Keep answering with the keys held; renew them behind the request.
            let (p, http) = (p.clone(), self.http.clone());
            tokio::spawn(async move { p.refresh(&http, false).await });
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = p.config.leeway_secs;
        validation.validate_nbf = true;
        validation.set_issuer(&[&p.config.issuer]);
        validation.set_audience(&p.config.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<Value>(token, &key.key, &validation)
            .map_err(|e| Refusal::Invalid(e.to_string()))?
            .claims;
        let mut identity = p.identity(&claims)?;
        if let Some(prefix) = &p.config.user_prefix {
            identity.sub.insert_str(0, prefix);
        }
        identity.verified_by = Some((p.config.issuer.clone(), header.kid.clone()));
        Ok(identity)
    }

    /// Whether the key that verified a token (issuer, `kid`) is still one to trust.
    pub fn key_usable(&self, iss: &str, kid: Option<&str>) -> bool {
        let header = Header {
            kid: kid.map(str::to_owned),
            ..Default::default()
        };
        self.providers
            .iter()
            .find(|p| p.config.issuer == iss)
            .is_some_and(|p| p.key(&header).is_some())
    }
}

/// A claim by dotted name.
fn claim<'a>(claims: &'a Value, name: &str) -> Option<&'a Value> {
    name.split('.').try_fold(claims, |v, part| v.get(part))
}

impl Provider {
    fn key(&self, header: &Header) -> Option<Arc<Key>> {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let grace = Duration::from_secs(self.config.key_grace_secs);
        let usable = |k: &&Arc<Key>| k.removed_at.is_none_or(|t| t.elapsed() < grace);
        match &header.kid {
            Some(kid) => keys.by_kid.get(kid).filter(usable).cloned(),
            // No `kid`: only when exactly one key could have signed it.
            None => {
                let live: Vec<&Arc<Key>> = keys
                    .unnamed
                    .iter()
                    .chain(keys.by_kid.values())
                    .filter(usable)
                    .collect();
                (live.len() == 1).then(|| live[0].clone())
            }
        }
    }

    fn stale(&self) -> bool {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.fresh_until.is_some_and(|t| Instant::now() >= t)
    }

    /// Fetches the key set unless another fetch started less than
    /// `refresh_min_interval_secs` ago (`force`: at start). Keeps the last good set
    /// when the provider cannot be reached.
    async fn refresh(&self, http: &reqwest::Client, force: bool) {
        let mut last = self.refreshing.lock().await;
        let min = Duration::from_secs(self.config.refresh_min_interval_secs);
        if !force && last.is_some_and(|t| t.elapsed() < min) {
            return;
        }
        *last = Some(Instant::now());
        match self.fetch(http).await {
            Ok((set, fresh_for)) => {
                let n = self.install(set, fresh_for);
                *self.status.lock().unwrap_or_else(|e| e.into_inner()) = (true, None);
                tracing::info!(issuer = %self.config.issuer, keys = n, "fetched the issuer's keys");
            }
            Err(e) => {
                tracing::warn!(issuer = %self.config.issuer, error = %e, "could not fetch the issuer's keys; keeping the last ones");
                let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
                status.1 = Some(e.to_string());
            }
        }
    }

    async fn jwks_uri(&self, http: &reqwest::Client) -> Result<String, KeyFetchError> {
        if let Some(u) = self
            .jwks_uri
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Ok(u);
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        #[derive(Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let d: Discovery = http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| KeyFetchError::Discovery(url.clone(), e.to_string()))?
            .json()
            .await
            .map_err(|e| KeyFetchError::Discovery(url.clone(), e.to_string()))?;
        if d.issuer != self.config.issuer {
            return Err(KeyFetchError::WrongIssuer {
                url,
                named: d.issuer,
                expected: self.config.issuer.clone(),
            });
        }
        *self.jwks_uri.lock().unwrap_or_else(|e| e.into_inner()) = Some(d.jwks_uri.clone());
        Ok(d.jwks_uri)
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<(JwkSet, Duration), KeyFetchError> {
        let uri = self.jwks_uri(http).await?;
        let res = http
            .get(&uri)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| KeyFetchError::Jwks(uri.clone(), e.to_string()))?;
        let fresh_for = res
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .map_or(DEFAULT_FRESH, |a| a.clamp(MIN_FRESH, MAX_FRESH));
        let set: JwkSet = res
            .json()
            .await
            .map_err(|e| KeyFetchError::Jwks(uri.clone(), e.to_string()))?;
        Ok((set, fresh_for))
    }

    /// Replaces the keys with a fetched set; keys no longer published are marked
    /// removed (and dropped once their grace has passed). How many keys it holds.
    fn install(&self, set: JwkSet, fresh_for: Duration) -> usize {
        let now = Instant::now();
        let grace = Duration::from_secs(self.config.key_grace_secs);
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let mut by_kid: HashMap<String, Arc<Key>> = HashMap::new();
        let mut unnamed = Vec::new();
        for jwk in &set.keys {
            let Some(key) = parse_jwk(jwk) else {
                tracing::debug!(issuer = %self.config.issuer, kid = ?jwk.common.key_id, "skipping a key this service cannot use");
                continue;
            };
            match &jwk.common.key_id {
                Some(kid) => {
                    by_kid.insert(kid.clone(), Arc::new(key));
                }
                None => unnamed.push(Arc::new(key)),
            }
        }
        for (kid, old) in keys.by_kid.drain() {
            if by_kid.contains_key(&kid) {
                continue;
            }
            let removed_at = old.removed_at.unwrap_or(now);
            if now.duration_since(removed_at) < grace {
                by_kid.insert(
                    kid,
                    Arc::new(Key {
                        key: old.key.clone(),
                        alg: old.alg,
                        removed_at: Some(removed_at),
                    }),
                );
            }
        }
        keys.by_kid = by_kid;
        keys.unnamed = unnamed;
        keys.fresh_until = Some(now + fresh_for);
        keys.by_kid.len() + keys.unnamed.len()
    }

    fn identity(&self, claims: &Value) -> Result<Identity, Refusal> {
        let m = &self.config.claims;
        let text = |name: &str| {
            claim(claims, name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let sub = text(&m.user_id).ok_or(Refusal::MissingClaim("user id"))?;
        let email_verified = match claim(claims, &m.email_verified) {
            Some(Value::Bool(b)) => *b,
            // Some providers send it as a string.
            Some(Value::String(s)) => s == "true",
            _ => false,
        };
        let platform_admin = match (&m.admin, &m.admin_value) {
            (None, _) => false,
            (Some(c), None) => matches!(claim(claims, c), Some(Value::Bool(true))),
            (Some(c), Some(want)) => match claim(claims, c) {
                Some(Value::String(s)) => s == want,
                Some(Value::Array(list)) => list.iter().any(|v| v.as_str() == Some(want)),
                _ => false,
            },
        };
        Ok(Identity {
            sub,
            email: text(&m.email),
            email_verified,
            username: text(&m.username),
            platform_admin,
            // Required and checked by the validation before this.
            expires: claims.get("exp").and_then(Value::as_u64).unwrap_or(0),
            verified_by: None,
        })
    }
}

/// `max-age` of a `Cache-Control` value.
fn max_age(v: &str) -> Option<Duration> {
    v.split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn parse_jwk(jwk: &Jwk) -> Option<Key> {
    // Only signing keys: `use` absent or `sig`.
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature)
    {
        return None;
    }
    let alg = jwk
        .common
        .key_algorithm
        .and_then(|a| algorithm(&format!("{a:?}")));
    DecodingKey::from_jwk(jwk).ok().map(|key| Key {
        key,
        alg,
        removed_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_lifetimes_are_read_from_max_age() {
        assert_eq!(
            max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(max_age("no-store"), None);
    }

    #[test]
    fn an_issuer_config_refuses_shared_secret_algorithms_and_missing_audiences() {
        let ok = IssuerConfig {
            issuer: "https://id.example.com/".into(),
            jwks_url: None,
            audiences: vec!["guestlist".into()],
            algorithms: vec!["RS256".into(), "ES256".into(), "EdDSA".into()],
            leeway_secs: 30,
            claims: ClaimMapping::default(),
            refresh_min_interval_secs: 10,
            key_grace_secs: 300,
            user_prefix: Some("id:".into()),
        };
        assert!(ok.validate().is_ok());
        for bad in [
            IssuerConfig {
                algorithms: vec!["HS256".into()],
                ..ok.clone()
            },
            IssuerConfig {
                algorithms: vec!["none".into()],
                ..ok.clone()
            },
            IssuerConfig {
                audiences: vec![],
                ..ok.clone()
            },
            IssuerConfig {
                issuer: "id.example.com".into(),
                ..ok.clone()
            },
            IssuerConfig {
                leeway_secs: 3600,
                ..ok.clone()
            },
            IssuerConfig {
                user_prefix: Some("key:".into()),
                ..ok.clone()
            },
            IssuerConfig {
                user_prefix: Some("a b".into()),
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn several_sources_of_tokens_need_each_issuer_to_say_whose_users_it_names() {
        let one = |issuer: &str, prefix: Option<&str>| IssuerConfig {
            issuer: issuer.into(),
            jwks_url: None,
            audiences: vec!["guestlist".into()],
            algorithms: default_algorithms(),
            leeway_secs: 30,
            claims: ClaimMapping::default(),
            refresh_min_interval_secs: 10,
            key_grace_secs: 300,
            user_prefix: prefix.map(str::to_owned),
        };
        let a = "https://a.example.com/";
        let b = "https://b.example.com/";
        // The one and only source needs no prefix.
        assert!(Issuers::new(&[one(a, None)], false).is_ok());
        // A second source makes an unprefixed issuer ambiguous.
        let err = Issuers::new(&[one(a, None)], true).err().unwrap();
        assert!(err.setting.ends_with("user_prefix"), "{err}");
        assert!(Issuers::new(&[one(a, Some("a:")), one(b, None)], false).is_err());
        assert!(Issuers::new(&[one(a, Some("a:")), one(a, Some("b:"))], false).is_err());
        // Said explicitly: distinct, shared between issuers, or the shared secret's.
        assert!(Issuers::new(&[one(a, Some("a:")), one(b, Some("b:"))], true).is_ok());
        assert!(Issuers::new(&[one(a, Some("x:")), one(b, Some("x:"))], false).is_ok());
        assert!(Issuers::new(&[one(a, Some(""))], true).is_ok());
    }

    #[test]
    fn claims_are_mapped_with_nested_names_string_booleans_and_admin_values() {
        let p = Provider {
            config: IssuerConfig {
                issuer: "https://kc.example.com/realms/x".into(),
                jwks_url: None,
                audiences: vec!["guestlist".into()],
                algorithms: default_algorithms(),
                leeway_secs: 30,
                claims: ClaimMapping {
                    user_id: "uid".into(),
                    username: "profile.handle".into(),
                    admin: Some("realm_access.roles".into()),
                    admin_value: Some("guestlist-admin".into()),
                    ..ClaimMapping::default()
                },
                refresh_min_interval_secs: 10,
                key_grace_secs: 300,
                user_prefix: None,
            },
            algorithms: vec![Algorithm::RS256],
            keys: Mutex::default(),
            refreshing: tokio::sync::Mutex::new(None),
            status: Mutex::new((false, None)),
            jwks_uri: Mutex::new(None),
        };
        let id = p
            .identity(&serde_json::json!({
                "uid": "u-1", "email": "a@example.com", "email_verified": "true",
                "profile": { "handle": "ann" }, "realm_access": { "roles": ["x", "guestlist-admin"] }
            }))
            .unwrap();
        assert_eq!(
            id,
            Identity {
                sub: "u-1".into(),
                email: Some("a@example.com".into()),
                email_verified: true,
                username: Some("ann".into()),
                platform_admin: true,
                expires: 0,
                verified_by: None,
            }
        );
        let plain = p
            .identity(&serde_json::json!({ "uid": "u-2", "realm_access": { "roles": ["x"] } }))
            .unwrap();
        assert!(!plain.platform_admin && !plain.email_verified);
        assert_eq!(
            p.identity(&serde_json::json!({ "sub": "u-3" })),
            Err(Refusal::MissingClaim("user id"))
        );
    }
}
