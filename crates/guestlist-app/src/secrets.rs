//! Secrets: invite codes derived from an invite's id with a server-side key (so an
//! admin can be shown a live link again), stored only as keyed hashes (so a copy of
//! the database redeems nothing), and API keys from the OS CSPRNG.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A secret value: never printed by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// A fresh random secret (256 bits, base62) from the OS CSPRNG.
    pub fn generate() -> Self {
        Secret(random_base62(43))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Maps bytes to base62 without bias: bytes >= 248 are skipped.
fn base62_from(bytes: impl Iterator<Item = u8>, len: usize) -> String {
    bytes
        .filter(|b| *b < 248)
        .take(len)
        .map(|b| BASE62[usize::from(b % 62)] as char)
        .collect()
}

fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut buf = [0u8; 64];
        getrandom::fill(&mut buf).expect("the OS CSPRNG is available");
        out.push_str(&base62_from(buf.into_iter(), len - out.len()));
    }
    out
}

/// The derived keys, each held as an HMAC state already keyed: a code or a hash then
/// costs the message's blocks only, not the key's two blocks again.
pub(crate) struct Keys {
    code: HmacSha256,
    code_hash: HmacSha256,
    token: HmacSha256,
    token_hash: HmacSha256,
    webhook: HmacSha256,
    /// Seals codes that cannot be derived (chosen or carried over), so that their
    /// managers can be shown them again.
    seal: ring::aead::LessSafeKey,
}

/// HMAC of `parts` with a keyed state.
fn mac(keyed: &HmacSha256, parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = keyed.clone();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn keyed(key: [u8; 32]) -> HmacSha256 {
    HmacSha256::new_from_slice(&key).expect("HMAC takes keys of any length")
}

/// Length of an invitation token: 32 base62 characters, about 190 bits.
pub const TOKEN_LEN: usize = 32;

impl Keys {
    pub fn derive(link_secret: &Secret) -> Self {
        let s = link_secret.expose().as_bytes();
        Keys {
            code: keyed(hmac(s, &[b"guestlist/invite-code/v1"])),
            code_hash: keyed(hmac(s, &[b"guestlist/invite-code-hash/v1"])),
            token: keyed(hmac(s, &[b"guestlist/invitation-token/v1"])),
            token_hash: keyed(hmac(s, &[b"guestlist/invitation-token-hash/v1"])),
            webhook: keyed(hmac(s, &[b"guestlist/webhook-secret/v1"])),
            seal: ring::aead::LessSafeKey::new(
                ring::aead::UnboundKey::new(
                    &ring::aead::CHACHA20_POLY1305,
                    &hmac(s, &[b"guestlist/invite-code-seal/v1"]),
                )
                .expect("a 32-byte key"),
            ),
        }
    }

    /// The code of the invite with this id: base62 of HMAC(key, id), `len` long.
    pub fn code_for(&self, id: Uuid, len: usize) -> String {
        let stream = (0u8..4).flat_map(|block| mac(&self.code, &[id.as_bytes(), &[block]]));
        base62_from(stream, len)
    }

    /// A fresh salt for an invitation token: 128 bits from the OS CSPRNG.
    pub fn token_salt() -> Vec<u8> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("the OS CSPRNG is available");
        salt.to_vec()
    }

    /// The token issued with `salt` (128 random bits, new at every send): base62 of
    /// HMAC(key, salt). Derived at send time, so the outbox never stores it.
    pub fn token_for(&self, salt: &[u8]) -> String {
        let stream = (0u8..4).flat_map(|block| mac(&self.token, &[salt, &[block]]));
        base62_from(stream, TOKEN_LEN)
    }

    /// What storage keeps of an invitation token.
    pub fn hash_token(&self, token: &str) -> Vec<u8> {
        mac(&self.token_hash, &[token.as_bytes()]).to_vec()
    }

    /// A webhook endpoint's signing secret of one generation, in the Standard Webhooks
    /// form (`whsec_` and 32 bytes in base64). Derived, never stored: a rotation moves
    /// the endpoint to the next generation.
    pub fn webhook_secret(&self, endpoint: Uuid, generation: i64) -> String {
        use base64::Engine as _;
        let key = mac(
            &self.webhook,
            &[endpoint.as_bytes(), &generation.to_be_bytes()],
        );
        format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        )
    }

    /// A code that is not derived from its invite's id, sealed for storage: a random
    /// nonce and the code encrypted and authenticated (ChaCha20-Poly1305) with the
    /// invite's id as associated data, so a sealed code moved to another row opens
    /// nowhere.
    pub fn seal_code(&self, invite: Uuid, code: &str) -> Vec<u8> {
        use ring::aead::{Aad, NONCE_LEN, Nonce};
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the OS CSPRNG is available");
        let mut sealed = code.as_bytes().to_vec();
        self.seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(invite.as_bytes()),
                &mut sealed,
            )
            .expect("a code is far below the cipher's limit");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// The code sealed by [`seal_code`](Self::seal_code) for this invite; `None` when
    /// it does not open (another link secret, another row).
    pub fn open_code(&self, invite: Uuid, sealed: &[u8]) -> Option<String> {
        use ring::aead::{Aad, NONCE_LEN, Nonce};
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self
            .seal
            .open_in_place(nonce, Aad::from(invite.as_bytes()), &mut body)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }

    /// What storage keeps of a chosen code's skeleton (see `InviteCode::skeleton`).
    pub fn hash_skeleton(&self, skeleton: &str) -> Vec<u8> {
        mac(&self.code_hash, &[b"skeleton:", skeleton.as_bytes()]).to_vec()
    }

    /// What storage keeps of a code.
    pub fn hash_code(&self, code: &str) -> Vec<u8> {
        mac(&self.code_hash, &[code.as_bytes()]).to_vec()
    }
}

/// Hides the password of a URL (a database's, an SMTP server's):
/// `postgres://u:***@h/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A random token (sign-up invitations): `TOKEN_LEN` base62 characters from the OS
/// CSPRNG, about 190 bits.
pub(crate) fn random_token() -> String {
    random_base62(TOKEN_LEN)
}

/// A browser session's token: 43 base62 characters (~256 bits) from the OS CSPRNG.
pub(crate) fn session_token() -> String {
    random_base62(43)
}

pub const API_KEY_PREFIX: &str = "gl_";

/// A new API key (`gl_` + 40 base62 characters, ~238 bits) and the hash to store.
pub fn new_api_key() -> (String, Vec<u8>) {
    let key = format!("{API_KEY_PREFIX}{}", random_base62(40));
    let hash = hash_api_key(&key);
    (key, hash)
}

pub(crate) fn hash_api_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_base62_of_the_asked_length_and_stable() {
        let keys = Keys::derive(&Secret::new("k"));
        let id = Uuid::now_v7();
        for len in [8, 10, 32] {
            let code = keys.code_for(id, len);
            assert_eq!(code.len(), len);
            assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()));
            assert_eq!(code, keys.code_for(id, len));
        }
        assert_ne!(keys.code_for(id, 10), keys.code_for(Uuid::now_v7(), 10));
    }

    #[test]
    fn codes_and_hashes_are_those_already_issued() {
        // HMAC-SHA256 as specified (computed apart, with Python's hmac module): stored
        // code hashes and links already shown must keep matching.
        let keys = Keys::derive(&Secret::new("k"));
        let id = Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8057").unwrap();
        let code = keys.code_for(id, 10);
        assert_eq!(code, "7wtzsCyEYX");
        let hex: String = keys
            .hash_code(&code)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "0561fccab193ef14e6b6e77995435066d2b3c0109355388f47c1e9ff88968f8a"
        );
    }

    #[test]
    fn another_key_gives_other_codes_and_hashes() {
        let (a, b) = (
            Keys::derive(&Secret::new("a")),
            Keys::derive(&Secret::new("b")),
        );
        let id = Uuid::now_v7();
        assert_ne!(a.code_for(id, 10), b.code_for(id, 10));
        assert_ne!(a.hash_code("abcdefgh"), b.hash_code("abcdefgh"));
    }

    #[test]
    fn invitation_tokens_are_long_salted_and_hashed_apart() {
        let keys = Keys::derive(&Secret::new("k"));
        let (s1, s2) = (Keys::token_salt(), Keys::token_salt());
        let t1 = keys.token_for(&s1);
        assert_eq!(t1.len(), TOKEN_LEN);
        assert_eq!(t1, keys.token_for(&s1));
        assert_ne!(t1, keys.token_for(&s2), "a new salt is a new token");
        assert_ne!(
            t1,
            Keys::derive(&Secret::new("other")).token_for(&s1),
            "the key matters"
        );
        assert_ne!(
            keys.hash_token(&t1),
            keys.hash_code(&t1),
            "tokens and codes hash apart"
        );
    }

    #[test]
    fn api_keys_are_random_and_hashed() {
        let (k1, h1) = new_api_key();
        let (k2, _) = new_api_key();
        assert!(k1.starts_with("gl_") && k1.len() == 43);
        assert_ne!(k1, k2);
        assert_eq!(h1, hash_api_key(&k1));
        assert!(!format!("{:?}", Secret::new("hunter2")).contains("hunter2"));
    }
}
