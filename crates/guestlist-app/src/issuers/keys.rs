//! An issuer's keys: discovery, the JWKS fetched and refreshed (its `Cache-Control`
//! honoured), keys retired after their grace.

use super::*;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Header};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a fetched key set stays fresh without cache headers, and the bounds put
/// on a provider's `max-age`.
pub(super) const DEFAULT_FRESH: Duration = Duration::from_secs(3600);

pub(super) const MIN_FRESH: Duration = Duration::from_secs(60);

pub(super) const MAX_FRESH: Duration = Duration::from_secs(24 * 3600);

pub(super) const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an issuer's keys could not be fetched (logged, and shown on `/readyz`).
#[derive(Debug, thiserror::Error)]
pub(super) enum KeyFetchError {
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

pub(super) struct Key {
    pub(super) key: DecodingKey,
    /// The `alg` the JWK names, when it names one: a token must then use it.
    pub(super) alg: Option<Algorithm>,
    /// When the provider stopped publishing it.
    pub(super) removed_at: Option<Instant>,
}

#[derive(Default)]
pub(super) struct KeySet {
    pub(super) by_kid: HashMap<String, Arc<Key>>,
    /// Keys published without a `kid`, for tokens that carry none.
    pub(super) unnamed: Vec<Arc<Key>>,
    pub(super) fresh_until: Option<Instant>,
}

pub(super) struct Provider {
    pub(super) config: IssuerConfig,
    pub(super) algorithms: Vec<Algorithm>,
    pub(super) keys: Mutex<KeySet>,
    /// One refresh at a time; when the last one started.
    pub(super) refreshing: tokio::sync::Mutex<Option<Instant>>,
    pub(super) status: Mutex<(bool, Option<String>)>,
    pub(super) jwks_uri: Mutex<Option<String>>,
}

impl Provider {
    pub(super) fn key(&self, header: &Header) -> Option<Arc<Key>> {
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

    pub(super) fn stale(&self) -> bool {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.fresh_until.is_some_and(|t| Instant::now() >= t)
    }

    /// Fetches the key set unless another fetch started less than
    /// `refresh_min_interval_secs` ago (`force`: at start). Keeps the last good set
    /// when the provider cannot be reached.
    pub(super) async fn refresh(&self, http: &reqwest::Client, force: bool) {
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

    pub(super) async fn jwks_uri(&self, http: &reqwest::Client) -> Result<String, KeyFetchError> {
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

    pub(super) async fn fetch(
        &self,
        http: &reqwest::Client,
    ) -> Result<(JwkSet, Duration), KeyFetchError> {
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
    pub(super) fn install(&self, set: JwkSet, fresh_for: Duration) -> usize {
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

    pub(super) fn identity(&self, claims: &Value) -> Result<Identity, Refusal> {
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
pub(super) fn max_age(v: &str) -> Option<Duration> {
    v.split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

pub(super) fn parse_jwk(jwk: &Jwk) -> Option<Key> {
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
