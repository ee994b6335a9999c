//! `[[issuers]]`: a trusted identity provider's settings, its claim mapping, and their
//! checks.

use guestlist_domain::SettingError;
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};

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

pub(super) fn default_algorithms() -> Vec<String> {
    vec!["RS256".into()]
}

pub(super) fn default_leeway() -> u64 {
    30
}

pub(super) fn default_refresh_interval() -> u64 {
    10
}

pub(super) fn default_key_grace() -> u64 {
    300
}

pub(super) fn algorithm(name: &str) -> Option<Algorithm> {
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
