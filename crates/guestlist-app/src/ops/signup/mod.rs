//! The platform's sign-up gate: its mode and cap, platform invitations (referrals),
//! and two-phase sign-up claims. The host application owns accounts; this decides
//! whether a sign-up may happen and remembers who invited whom. The cap is one
//! conditional write on a counter of live reservations and confirmed sign-ups, so it
//! is never overshot under any concurrency.

mod claims;
mod gate;
mod platform_invitations;
mod referrals;

pub use claims::*;
pub use gate::*;
pub use platform_invitations::*;
pub use referrals::*;

use crate::secrets::TOKEN_LEN;
use crate::{App, Result};
use guestlist_domain::events::EventData;
use guestlist_domain::{Actor, Error};
use guestlist_store::NewEvent;

/// Longest a claim may hold its seat.
pub const MAX_CLAIM_TTL_SECS: i64 = 24 * 3600;

/// The largest sign-up cap.
pub const MAX_GATE_CAP: u32 = 1_000_000_000;

/// The most platform invitations a user's quota may allow.
pub const MAX_USER_QUOTA: u32 = 1_000_000;

/// The longest quota period, in days (ten years).
pub const MAX_QUOTA_PERIOD_DAYS: i64 = 3650;

pub const MAX_PLATFORM_INVITATION_USES: u32 = 10_000;

pub const MAX_PLATFORM_INVITATION_LIFETIME_SECS: i64 = 365 * 24 * 3600;

/// How sign-up behaves; the binary fills it from its configuration.
#[derive(Debug, Clone)]
pub struct SignupConfig {
    /// The sign-up link a platform invitation returns, with `{token}` in it.
    pub url_template: String,
    /// How long a claim holds its seat when the caller names no time.
    pub claim_ttl_secs: i64,
}

impl Default for SignupConfig {
    fn default() -> Self {
        SignupConfig {
            url_template: "http://127.0.0.1:7700/signup?invitation={token}".into(),
            claim_ttl_secs: 15 * 60,
        }
    }
}

fn platform_admin(actor: &Actor) -> Result<()> {
    if actor.is_platform_admin() {
        Ok(())
    } else {
        Err(Error::forbidden(
            "only a platform administrator can do this",
        ))
    }
}

fn event(actor: &Actor, subject: Option<&str>, data: impl Into<EventData>) -> NewEvent {
    crate::scope::event_on(None, actor, subject, data)
}

fn bounded(field: &str, v: Option<i64>, max: i64) -> Result<Option<i64>> {
    match v {
        None => Ok(None),
        Some(s) if (1..=max).contains(&s) => Ok(Some(s)),
        Some(_) => Err(Error::invalid(field, format!("1 to {max} seconds"))),
    }
}

impl App {
    fn signup_token_hash(&self, token: &str) -> Option<Vec<u8>> {
        let token = token.trim();
        (token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| self.0.keys.hash_token(token))
    }

    /// Refuses anyone but a platform administrator (a platform-admin key, or a user
    /// named in `platform_admins` or by their provider's claim): for the console's
    /// platform pages, which show what only they may change.
    pub fn require_platform_admin(&self, actor: &Actor) -> Result<()> {
        platform_admin(actor)
    }
}
