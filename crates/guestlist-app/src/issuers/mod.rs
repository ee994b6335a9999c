//! Tokens from identity providers (OpenID Connect): each trusted issuer's keys come
//! from its JWKS (named, or found through `/.well-known/openid-configuration`), parsed
//! once and kept. An unknown `kid` refreshes the set (at most once per
//! `refresh_min_interval_secs`, so a flood of made-up `kid`s cannot hammer the
//! provider); the set is also refreshed when its cache lifetime (the answer's
//! `Cache-Control: max-age`, within bounds) runs out. A failed fetch keeps the last
//! good set. A key the provider stops publishing is honoured `key_grace_secs` longer.

mod config;
mod keys;

pub use config::*;
use keys::*;

use guestlist_domain::SettingError;
use jsonwebtoken::{Header, Validation};
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};

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

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::Algorithm;
    use std::time::Duration;

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
