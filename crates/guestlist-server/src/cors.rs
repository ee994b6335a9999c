//! CORS for browser clients of the API (`[cors]` in the config file). None by default:
//! a browser may call Guestlist only from the origins the operator names.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use guestlist_app::domain::SettingError;
use serde::{Deserialize, Serialize};
use tower_http::cors::{AllowOrigin, CorsLayer};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins whose pages may call the API (`https://app.example.com`: scheme, host
    /// and port, no path), or `["*"]` for any origin (never with credentials). Empty:
    /// no CORS headers at all, and browsers refuse cross-origin calls.
    pub allowed_origins: Vec<String>,
    /// Let browsers send credentials (cookies, HTTP authentication) along. Bearer
    /// tokens in `Authorization` do not need it. Refused together with `"*"`.
    pub allow_credentials: bool,
    /// How long a browser may keep a preflight answer (seconds; 0 to 86,400).
    pub max_age_secs: u64,
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            allowed_origins: Vec::new(),
            allow_credentials: false,
            max_age_secs: 600,
        }
    }
}

const METHODS: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

impl CorsConfig {
    /// Refuses a configuration browsers would misread or that would open the API to
    /// every site with the user's credentials.
    pub fn validate(&self) -> Result<(), SettingError> {
        let wildcard = self.allowed_origins.iter().any(|o| o == "*");
        if wildcard && self.allowed_origins.len() > 1 {
            return Err(SettingError::new(
                "cors.allowed_origins",
                "\"*\" stands alone",
            ));
        }
        if wildcard && self.allow_credentials {
            return Err(SettingError::new(
                "cors.allow_credentials",
                "cannot be combined with allowed_origins = [\"*\"]: name the origins",
            ));
        }
        for o in self.allowed_origins.iter().filter(|o| *o != "*") {
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"))
                .ok_or_else(|| {
                    SettingError::new(
                        "cors.allowed_origins",
                        format!("{o:?} must start with https:// or http://"),
                    )
                })?;
            if rest.is_empty() || rest.contains('/') || HeaderValue::from_str(o).is_err() {
                return Err(SettingError::new(
                    "cors.allowed_origins",
                    format!("{o:?} must be an origin (scheme://host[:port]), without a path"),
                ));
            }
        }
        if self.max_age_secs > 86_400 {
            return Err(SettingError::new("cors.max_age_secs", "at most 86400"));
        }
        Ok(())
    }

    /// The layer, or `None` when no origin is allowed.
    pub(crate) fn layer(&self) -> Option<CorsLayer> {
        if self.allowed_origins.is_empty() {
            return None;
        }
        let origin = if self.allowed_origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(
                self.allowed_origins
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o).ok()),
            )
        };
        Some(
            CorsLayer::new()
                .allow_origin(origin)
                .allow_methods(METHODS)
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    HeaderName::from_static("idempotency-key"),
                    HeaderName::from_static("x-request-id"),
                ])
                .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
                .allow_credentials(self.allow_credentials)
                .max_age(Duration::from_secs(self.max_age_secs)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(origins: &[&str], credentials: bool) -> CorsConfig {
        CorsConfig {
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            allow_credentials: credentials,
            max_age_secs: 600,
        }
    }

    #[test]
    fn credentials_are_never_combined_with_a_wildcard_and_origins_are_origins() {
        assert!(with(&[], false).validate().is_ok());
        assert!(
            with(&["https://app.example.com", "http://localhost:5173"], true)
                .validate()
                .is_ok()
        );
        assert!(with(&["*"], false).validate().is_ok());
        assert!(with(&["*"], true).validate().is_err());
        assert!(with(&["*", "https://a.example"], false).validate().is_err());
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://a.example/x",
            "ftp://a",
            "https://",
        ] {
            assert!(with(&[bad], false).validate().is_err(), "{bad}");
        }
        assert!(with(&[], false).layer().is_none());
    }
}
