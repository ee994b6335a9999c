//! Identity: user tokens from the host's identity providers (JWKS, `issuers.rs`) or
//! signed with the shared HS256 secret; API keys for machines.

use async_trait::async_trait;
use guestlist_domain::{Actor, Error, SpacePath, UserId};
use guestlist_store::{NewApiKey, Operation, Tx};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::issuers::{Identity, IssuerConfig, Issuers, Refusal};
use crate::secrets::{API_KEY_PREFIX, hash_api_key};
use crate::{App, Result, Secret};

/// The claims Guestlist reads from a host application's token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    pub exp: u64,
    /// Not valid before (seconds since the epoch), when the host sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// The audience: a string or a list of them, when the host sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
}

/// Signs a token as the host application would (`guestlist token`, tests).
pub fn mint_token(secret: &Secret, claims: &Claims) -> Result<String> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .map_err(Error::internal)
}

/// Checks the host application's HS256 tokens: the shared secret (no other
/// algorithm, `none` least of all), `exp` required, `nbf` checked when present, 30 s
/// of leeway for clocks apart. With an audience configured, `aud` is required and
/// must name it; without one, a token carrying any `aud` is refused (it was meant for
/// another service). Built once, with the key, for every request.
struct SharedSecret {
    key: DecodingKey,
    validation: Validation,
    refuse_any_aud: bool,
}

impl SharedSecret {
    fn new(secret: &Secret, audience: Option<&str>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        validation.validate_nbf = true;
        match audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                validation.set_required_spec_claims(&["exp", "aud"]);
            }
            None => validation.validate_aud = false,
        }
        SharedSecret {
            refuse_any_aud: audience.is_none(),
            key: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
        }
    }

    fn identity(&self, token: &str) -> Result<Identity, Refusal> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| Refusal::Invalid(e.to_string()))?
            .claims;
        if self.refuse_any_aud && claims.aud.is_some() {
            return Err(Refusal::Invalid(
                "an audience this service was not given".into(),
            ));
        }
        Ok(Identity {
            sub: claims.sub,
            email: claims.email,
            email_verified: claims.email_verified,
            username: claims.preferred_username,
            platform_admin: false,
            expires: claims.exp,
            verified_by: None,
        })
    }
}

/// Every way a user token is accepted: the trusted identity providers (by `iss`,
/// with their own algorithms and keys), and the shared HS256 secret for tokens of no
/// trusted issuer. A token naming a trusted issuer is checked only against that
/// issuer: an HS256 token cannot pass for a provider's (no algorithm confusion).
pub(crate) struct TokenVerifier {
    shared: Option<SharedSecret>,
    pub(crate) issuers: Issuers,
    /// Tokens verified lately, by their SHA-256: a client sends the same token many
    /// times, and checking a provider's signature costs far more than the rest of a
    /// request. An entry lives until the token expires, at most [`VERIFIED_FOR`]
    /// (and no longer once the provider's key that verified it is gone).
    verified: Mutex<HashMap<[u8; 32], (Identity, Instant)>>,
}

/// The longest bearer credential read (a provider's token with many claims is a few
/// kilobytes).
pub const MAX_CREDENTIAL_BYTES: usize = 8 * 1024;

/// How long a verified token is taken on trust before it is checked again.
const VERIFIED_FOR: Duration = Duration::from_secs(60);
/// Most tokens remembered as verified; the memory is cleared when it is full.
const VERIFIED_MAX: usize = 50_000;

#[derive(Deserialize)]
struct IssuerOnly {
    #[serde(default)]
    iss: Option<serde_json::Value>,
}

impl TokenVerifier {
    pub(crate) fn new(
        secret: Option<&Secret>,
        audience: Option<&str>,
        issuers: &[IssuerConfig],
    ) -> std::result::Result<Self, guestlist_domain::SettingError> {
        let issuers = Issuers::new(issuers, secret.is_some())?;
        if secret.is_none() && issuers.is_empty() {
            return Err(guestlist_domain::SettingError::new(
                "jwt_secret",
                "no way to verify user tokens: set jwt_secret, or trust an identity provider with an [[issuers]] section",
            ));
        }
        Ok(TokenVerifier {
            shared: secret.map(|s| SharedSecret::new(s, audience)),
            issuers,
            verified: Mutex::default(),
        })
    }

    async fn identity(&self, token: &str) -> std::result::Result<Identity, Refusal> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = jsonwebtoken::get_current_timestamp();
        if let Some((identity, at)) = self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            && at.elapsed() < VERIFIED_FOR
            && identity.expires > now
            && identity
                .verified_by
                .as_ref()
                .is_none_or(|(iss, kid)| self.issuers.key_usable(iss, kid.as_deref()))
        {
            return Ok(identity.clone());
        }
        let identity = self.verify(token).await?;
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= VERIFIED_MAX {
            verified.clear();
        }
        verified.insert(key, (identity.clone(), Instant::now()));
        Ok(identity)
    }

    async fn verify(&self, token: &str) -> std::result::Result<Identity, Refusal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Malformed)?;
        // RFC 7515 §4.1.11: a recipient that does not understand every extension a
        // token lists as critical must refuse it. This one understands none.
        if header.crit.is_some() {
            return Err(Refusal::Invalid("a critical header extension".into()));
        }
        // Which issuer to ask is read before the signature is checked; the answer is
        // then checked with that issuer's keys and rules only.
        let iss = jsonwebtoken::dangerous::insecure_decode_claims::<IssuerOnly>(token)
            .map_err(|_| Refusal::Malformed)?
            .iss;
        if let Some(serde_json::Value::String(iss)) = &iss
            && self.issuers.trusts(iss)
        {
            return self.issuers.verify(token, &header, iss).await;
        }
        match (&self.shared, header.alg) {
            (Some(shared), Algorithm::HS256) => shared.identity(token),
            _ if iss.is_some() => Err(Refusal::UntrustedIssuer),
            _ => Err(Refusal::AlgorithmNotAllowed),
        }
    }
}

struct ApiKeyByHash(Vec<u8>);

#[async_trait]
impl Operation for ApiKeyByHash {
    type Output = Option<guestlist_store::ApiKeyRow>;
    async fn run(&self, tx: &mut dyn Tx) -> Result<Self::Output> {
        tx.api_key_by_hash(&self.0).await
    }
}

struct SpaceExists(SpacePath);

#[async_trait]
impl Operation for SpaceExists {
    type Output = bool;
    async fn run(&self, tx: &mut dyn Tx) -> Result<bool> {
        Ok(tx.space_by_path(&self.0).await?.is_some())
    }
}

struct InsertApiKey(NewApiKey);

#[async_trait]
impl Operation for InsertApiKey {
    type Output = bool;
    async fn run(&self, tx: &mut dyn Tx) -> Result<bool> {
        tx.insert_api_key(&self.0).await
    }
}

/// Revokes a key by name: it authenticates nothing from the next request on, and
/// what it stood behind ends with it (`ceiling::revoke_key_grants`).
struct RevokeKey {
    operator: Actor,
    name: String,
}

#[async_trait]
impl Operation for RevokeKey {
    type Output = usize;
    async fn run(&self, tx: &mut dyn Tx) -> Result<usize> {
        if !tx.revoke_api_key(&self.name, crate::now()).await? {
            return Err(Error::NotFound("api key"));
        }
        let label = format!("{}{}", guestlist_domain::actor::KEY_LABEL_PREFIX, self.name);
        crate::ceiling::revoke_key_grants(tx, &self.operator, &label).await
    }
}

struct ListKeys;

#[async_trait]
impl Operation for ListKeys {
    type Output = Vec<guestlist_store::ApiKeyRow>;
    async fn run(&self, tx: &mut dyn Tx) -> Result<Self::Output> {
        tx.api_keys().await
    }
}

impl App {
    /// Revokes the API key named `name` (the operator's command, `guestlist api-key
    /// revoke`): from then on it authenticates nothing, every link, invitation and
    /// owner-add it made that is still live is revoked, and every webhook endpoint it
    /// owns is disabled, each with its event (`reason: key_revoked`). Returns how many
    /// were ended. An unknown or already revoked name is `not_found`.
    pub async fn revoke_api_key(&self, name: &str) -> Result<usize> {
        let operator = Actor::ApiKey {
            id: Uuid::nil(),
            name: "operator".into(),
            platform_admin: true,
            scim_root: None,
        };
        self.store_ref()
            .write(RevokeKey {
                operator,
                name: name.to_owned(),
            })
            .await
    }

    /// Every API key (names and kinds, never the keys), revoked ones too.
    pub async fn api_keys(&self) -> Result<Vec<guestlist_store::ApiKeyRow>> {
        self.store_ref().read(ListKeys).await
    }

    /// Resolves a bearer credential to an actor. Every failure reads the same to the
    /// caller: a missing, malformed, expired or unknown credential is `unauthenticated`.
    pub async fn authenticate(&self, bearer: &str) -> Result<Actor> {
        let actor = self.credential(bearer).await?;
        if let Actor::ApiKey {
            scim_root: Some(_), ..
        } = actor
        {
            return Err(Error::forbidden("a SCIM key is taken only at /scim/v2"));
        }
        Ok(actor)
    }

    /// Resolves the bearer credential of a SCIM request: a SCIM key, and nothing
    /// else. Returns the key and the subtree it provisions.
    pub async fn authenticate_scim(&self, bearer: &str) -> Result<(Actor, SpacePath)> {
        let actor = self.credential(bearer).await?;
        match &actor {
            Actor::ApiKey {
                scim_root: Some(root),
                ..
            } => {
                let root = root.clone();
                Ok((actor, root))
            }
            _ => Err(Error::forbidden(
                "SCIM takes a SCIM key (guestlist api-key create --scim SPACE)",
            )),
        }
    }

    async fn credential(&self, bearer: &str) -> Result<Actor> {
        let refused = || Error::Unauthenticated("invalid or expired credentials".into());
        // No credential is this long: a bigger one is refused before it is decoded,
        // hashed or looked up.
        if bearer.len() > MAX_CREDENTIAL_BYTES {
            tracing::info!(bytes = bearer.len(), "an oversized credential was refused");
            return Err(refused());
        }
        if bearer.starts_with(API_KEY_PREFIX) {
            let row = self
                .store_ref()
                .read(ApiKeyByHash(hash_api_key(bearer)))
                .await?
                .filter(|k| !k.revoked)
                .ok_or_else(refused)?;
            return Ok(Actor::ApiKey {
                id: row.id,
                name: row.name,
                platform_admin: row.platform_admin,
                scim_root: row.scim_root,
            });
        }
        let c = match self.0.tokens.identity(bearer).await {
            Ok(c) => c,
            Err(reason) => {
                // The reason is for the operator; the caller hears what a missing
                // token hears. The token itself is never logged.
                tracing::info!(%reason, "a user token was refused");
                return Err(refused());
            }
        };
        // A `sub` in the API keys' namespace (`key:…`) is refused here: no user can
        // pass for a key.
        let id = UserId::parse(&c.sub).map_err(|_| refused())?;
        // Claims shown to others (previews, e-mail) carry no control characters: a
        // token that has them is refused, as one with such a `sub` is.
        let printable = |v: &Option<String>| {
            v.as_deref()
                .is_none_or(|v| v.len() <= 255 && !v.chars().any(char::is_control))
        };
        if !printable(&c.email) || !printable(&c.username) {
            return Err(refused());
        }
        // A platform administrator by the provider's claim, or named in the config.
        let platform_admin = c.platform_admin || self.named_platform_admin(id.as_str());
        // Kept as the host wrote them: `Email` and `Username` normalise them, in one
        // place, where they are compared.
        let actor = Actor::User {
            id,
            email: c
                .email
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty()),
            email_verified: c.email_verified,
            platform_admin,
            username: c
                .username
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty()),
        };
        self.remember(&actor).await;
        Ok(actor)
    }

    /// Whether the configuration names this user a platform administrator.
    pub(crate) fn named_platform_admin(&self, user: &str) -> bool {
        self.0.config.platform_admins.iter().any(|a| a == user)
    }

    /// Stores a new API key and returns it: the only time it is ever shown.
    pub async fn create_api_key(
        &self,
        name: &str,
        platform_admin: bool,
        scim_root: Option<SpacePath>,
    ) -> Result<String> {
        if platform_admin && scim_root.is_some() {
            return Err(Error::invalid(
                "scim",
                "a SCIM key is bound to its subtree: it cannot be a platform key",
            ));
        }
        if let Some(root) = &scim_root
            && !self.store_ref().read(SpaceExists(root.clone())).await?
        {
            return Err(Error::invalid(
                "scim",
                format!("no space {root}: create it first (a SCIM key provisions within it)"),
            ));
        }
        if name.is_empty() || name.len() > 64 || name.chars().any(|c| c.is_control()) {
            return Err(Error::invalid("name", "1-64 printable characters"));
        }
        let (key, key_hash) = crate::new_api_key();
        self.register_api_key(name, &key, key_hash, platform_admin, scim_root)
            .await?;
        Ok(key)
    }

    /// Makes sure a given key exists (used by `serve --dev` for its printed key).
    pub async fn ensure_api_key(&self, name: &str, key: &str, platform_admin: bool) -> Result<()> {
        if self
            .store_ref()
            .read(ApiKeyByHash(hash_api_key(key)))
            .await?
            .is_some()
        {
            return Ok(());
        }
        self.register_api_key(name, key, hash_api_key(key), platform_admin, None)
            .await
    }

    async fn register_api_key(
        &self,
        name: &str,
        _key: &str,
        key_hash: Vec<u8>,
        platform_admin: bool,
        scim_root: Option<SpacePath>,
    ) -> Result<()> {
        let inserted = self
            .store_ref()
            .write(InsertApiKey(NewApiKey {
                id: Uuid::now_v7(),
                name: name.to_owned(),
                key_hash,
                platform_admin,
                scim_root,
                created_at: crate::now(),
            }))
            .await?;
        if inserted {
            Ok(())
        } else {
            Err(Error::AlreadyExists(format!(
                "an API key named {name:?} exists"
            )))
        }
    }
}
