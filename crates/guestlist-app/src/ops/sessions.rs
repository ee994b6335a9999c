//! Browser sessions: the pages' sign-in. Guestlist keeps no passwords: the host
//! application vouches for the visitor with a short-lived token of the kind every
//! front door verifies ([`App::authenticate`]), and the pages then hold a session —
//! a random token in a cookie, kept here only as its SHA-256, ended by signing out
//! or by its lifetime.

use guestlist_domain::{Actor, Error, UserId};
use guestlist_store::SessionRow;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::operation;
use crate::{App, Claims, Result, Secret};

/// How sessions behave.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// A session ends this long after sign-in.
    pub lifetime_secs: i64,
    /// `serve --dev`: anyone may sign in as anyone by typing a user id and an e-mail
    /// address ([`App::dev_sign_in`]). Never in production.
    pub dev_sign_in: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            lifetime_secs: 12 * 3600,
            dev_sign_in: false,
        }
    }
}

/// At most a month: a stolen cookie is not good forever.
pub const MAX_SESSION_LIFETIME_SECS: i64 = 30 * 24 * 3600;

/// A new session: the cookie's value (shown once, never stored) and who it is.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: Secret,
    pub actor: Actor,
    pub expires_at: OffsetDateTime,
}

/// The identity a session acts as, as stored.
#[derive(Serialize, Deserialize)]
struct Identity {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    platform_admin: bool,
}

struct Insert(SessionRow);
operation!(Insert => (), |self, tx| { tx.insert_session(&self.0).await });

struct Find(Vec<u8>);
operation!(Find => Option<SessionRow>, |self, tx| {
    tx.session_by_hash(&self.0, crate::now()).await
});

struct Delete(Vec<u8>);
operation!(Delete => bool, |self, tx| { tx.delete_session(&self.0).await });

struct Sweep;
operation!(Sweep => u64, |self, tx| { tx.delete_expired_sessions(crate::now()).await });

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl App {
    /// Signs a visitor in with the host's token: a user token (never an API key: keys
    /// are for machines), verified as every front door verifies it. Returns the new
    /// session; the caller sets its cookie and ends the one it replaces.
    pub async fn sign_in(&self, token: &str) -> Result<SignedIn> {
        let actor = self.authenticate(token).await?;
        let Actor::User {
            id,
            email,
            email_verified,
            username,
            platform_admin,
        } = &actor
        else {
            return Err(Error::Unauthenticated(
                "an API key cannot sign in to the pages".into(),
            ));
        };
        // What the token said, not what the configuration says today: the session is
        // a platform administrator's by `platform_admins` only while the list names
        // them (read at each request), so taking someone off it takes effect at once.
        let identity = serde_json::to_string(&Identity {
            email: email.clone(),
            email_verified: *email_verified,
            username: username.clone(),
            platform_admin: *platform_admin && !self.named_platform_admin(id.as_str()),
        })
        .map_err(Error::internal)?;
        let token = crate::secrets::session_token();
        let now = crate::now();
        let expires_at = now + Duration::seconds(self.0.config.sessions.lifetime_secs);
        self.store_ref()
            .write(Insert(SessionRow {
                token_hash: hash(&token),
                user_id: id.as_str().to_owned(),
                identity,
                created_at: now,
                expires_at,
            }))
            .await?;
        Ok(SignedIn {
            token: Secret::new(token),
            actor,
            expires_at,
        })
    }

    /// The development sign-in of `serve --dev`: a token for `user` (and `email`,
    /// taken as verified) signed with the shared secret, then [`App::sign_in`] as for
    /// a host's token. Refused unless the configuration turns it on.
    pub async fn dev_sign_in(&self, user: &str, email: Option<&str>) -> Result<SignedIn> {
        let config = &self.0.config;
        let secret = match (&config.jwt_secret, config.sessions.dev_sign_in) {
            (Some(secret), true) => secret,
            _ => return Err(Error::Forbidden("the development sign-in is off".into())),
        };
        let user = UserId::parse(user.trim()).map_err(|e| e.in_field("user"))?;
        let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => Some(
                guestlist_domain::Email::parse(e)
                    .map_err(|e| e.in_field("email"))?
                    .to_string(),
            ),
            None => None,
        };
        let token = crate::mint_token(
            secret,
            &Claims {
                sub: user.as_str().to_owned(),
                email,
                email_verified: true,
                preferred_username: None,
                exp: jsonwebtoken::get_current_timestamp() + 60,
                nbf: None,
                aud: config.jwt_audience.clone().map(serde_json::Value::String),
            },
        )?;
        self.sign_in(&token).await
    }

    /// Who a session cookie's token signs in, while it lasts.
    pub async fn session(&self, token: &str) -> Result<Option<Actor>> {
        let Some(row) = self.store_ref().read(Find(hash(token))).await? else {
            return Ok(None);
        };
        let identity: Identity = serde_json::from_str(&row.identity).map_err(Error::internal)?;
        let id = UserId::parse(&row.user_id).map_err(Error::internal)?;
        let named = self.named_platform_admin(id.as_str());
        Ok(Some(Actor::User {
            id,
            email: identity.email,
            email_verified: identity.email_verified,
            username: identity.username,
            platform_admin: identity.platform_admin || named,
        }))
    }

    /// Ends a session (signing out). Ending one that is gone is not an error.
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        self.store_ref().write(Delete(hash(token))).await?;
        Ok(())
    }

    /// Forgets expired sessions; the server calls it now and then.
    pub async fn sweep_sessions(&self) -> Result<u64> {
        self.store_ref().write(Sweep).await
    }
}
