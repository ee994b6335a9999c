//! What storage keeps of a code: keyed hashes, its digest forms, legacy digests.

use super::*;
use crate::secrets::Keys;
use crate::{App, Result};
use guestlist_domain::events::CodeForm;
use guestlist_domain::{Error, InviteCode};
use guestlist_store::{InviteRow, Tx};
use std::sync::Arc;
use uuid::Uuid;

impl App {
    pub(super) fn hash(&self, code: &InviteCode) -> Vec<u8> {
        self.0.keys.hash_code(code.as_str())
    }

    /// What a presented code is looked up by, in turn: its own keyed hash, then the
    /// keyed hashes of its digests, for links carried over from a system that kept
    /// only those ([`LegacyDigest`]).
    pub(super) fn code_hashes(&self, code: &InviteCode) -> CodeHashes {
        let mut hashes = vec![self.hash(code)];
        hashes.extend(self.digests_of(code));
        CodeHashes(hashes)
    }

    /// The keyed hashes of a code's digests: what a link carried over as a digest of
    /// this code would be stored under.
    pub(super) fn digests_of(&self, code: &InviteCode) -> Vec<Vec<u8>> {
        LegacyDigest::ALGORITHMS
            .iter()
            .map(|alg| LegacyDigest::of(alg, code.as_str()).keyed(&self.0.keys))
            .collect()
    }

    /// The code of an invite as its managers may be shown it: derived from its id,
    /// or (chosen, carried over) opened from its sealed copy.
    pub(super) fn code_of(&self, invite: &InviteRow) -> Result<String> {
        match &invite.code_sealed {
            None => Ok(self.codes().code(invite.id)),
            Some(sealed) if sealed.is_empty() => Err(Error::forbidden(
                "this link's code came from another system as a hash: it was never known here, and cannot be shown",
            )),
            Some(sealed) => self.0.keys.open_code(invite.id, sealed).ok_or_else(|| {
                Error::internal("a sealed code does not open with this link secret")
            }),
        }
    }

    /// A new invite's id and what storage keeps of its code: generated (derived from
    /// the id), or given (chosen or carried over: sealed, with a chosen code's
    /// skeleton hashed).
    pub(super) fn new_code(&self, given: Option<(&InviteCode, bool)>) -> NewCode {
        match given {
            None => self.codes().generated(),
            Some((code, chosen)) => {
                let id = Uuid::now_v7();
                NewCode {
                    id,
                    code_hash: self.hash(code),
                    code_sealed: Some(self.0.keys.seal_code(id, code.as_str())),
                    code_skeleton: chosen.then(|| self.0.keys.hash_skeleton(&code.skeleton())),
                    code_digests: self.digests_of(code).iter().map(|d| claim_of(d)).collect(),
                }
            }
        }
    }

    /// The codes of invites, at the configured length.
    pub(super) fn codes(&self) -> Codes {
        Codes {
            keys: self.0.keys.clone(),
            len: self.0.config.code_length,
        }
    }

    /// An invite id (36 characters with dashes) or a code. A code carried over from
    /// another system may look like an id: it is looked for when no invite has it as
    /// its id (ids are random: no code brought over is also some invite's id).
    pub(super) fn invite_ref(&self, s: &str) -> Result<InviteRef> {
        let code = InviteCode::parse(s);
        if s.len() == 36
            && let Ok(id) = Uuid::try_parse(s)
        {
            return Ok(match code {
                Ok(c) => InviteRef::IdOrHash(id, self.hash(&c)),
                Err(_) => InviteRef::Id(id),
            });
        }
        code.map(|c| InviteRef::Hash(self.hash(&c)))
    }
}

/// What a link claims of one of its code's digest forms (`invite_code_digests`): the
/// first 16 bytes of its keyed hash, which keep collisions out of reach (2^-64 over
/// 2^32 links) and the claims' index small.
pub(super) fn claim_of(keyed: &[u8]) -> Vec<u8> {
    keyed[..16].to_vec()
}

/// A new invite's id and what storage keeps of its code.
#[derive(Debug, Clone)]
pub(super) struct NewCode {
    pub(super) id: Uuid,
    pub(super) code_hash: Vec<u8>,
    pub(super) code_sealed: Option<Vec<u8>>,
    pub(super) code_skeleton: Option<Vec<u8>>,
    /// The code's other forms, which no other link may have (`NewInvite`).
    pub(super) code_digests: Vec<Vec<u8>>,
}

impl NewCode {
    pub(super) fn form(&self) -> CodeForm {
        match (&self.code_sealed, &self.code_skeleton) {
            (None, _) => CodeForm::Generated,
            (Some(sealed), _) if sealed.is_empty() => CodeForm::Hashed,
            (Some(_), Some(_)) => CodeForm::Chosen,
            (Some(_), None) => CodeForm::Carried,
        }
    }
}

/// The code of an invite's id, and (id, code hash) pairs for new invites.
pub(super) struct Codes {
    pub(super) keys: Arc<Keys>,
    pub(super) len: usize,
}

impl Codes {
    pub(super) fn code(&self, id: Uuid) -> String {
        self.keys.code_for(id, self.len)
    }

    pub(super) fn mint(&self) -> (Uuid, Vec<u8>) {
        let id = Uuid::now_v7();
        (id, self.keys.hash_code(&self.code(id)))
    }

    /// A new link's generated code: nothing kept of it but its hash.
    pub(super) fn generated(&self) -> NewCode {
        let (id, code_hash) = self.mint();
        NewCode {
            id,
            code_hash,
            code_sealed: None,
            code_skeleton: None,
            code_digests: Vec::new(),
        }
    }
}

/// A store lookup by one hash, as the store's async methods return it.
pub(super) type Lookup<'t, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<T>>> + Send + 't>>;

/// The hashes a presented code is looked up by, in turn ([`App::code_hashes`]).
pub(super) struct CodeHashes(Vec<Vec<u8>>);

impl CodeHashes {
    /// What `lookup` finds by the first hash that finds anything.
    pub(super) async fn first<T>(
        &self,
        tx: &mut dyn Tx,
        lookup: for<'t> fn(&'t mut dyn Tx, &'t [u8]) -> Lookup<'t, T>,
    ) -> Result<Option<T>> {
        for hash in &self.0 {
            if let Some(found) = lookup(&mut *tx, hash).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

/// A digest of a code, as a system that kept only digests gave it: `sha256:<hex>` or
/// `sha512:<hex>` (of the code's bytes). Stored, like every code, only as a keyed
/// hash, of the digest (`sha256:<lowercase hex>`, which no code can be).
pub(crate) struct LegacyDigest(String);

impl LegacyDigest {
    pub(crate) const ALGORITHMS: [&'static str; 2] = ["sha256", "sha512"];

    pub(crate) fn parse(s: &str) -> Result<LegacyDigest> {
        let bad = || {
            Error::invalid(
                "code_hash",
                "sha256:<64 hex digits> or sha512:<128 hex digits>, the digest of the code",
            )
        };
        let (alg, hex) = s.split_once(':').ok_or_else(bad)?;
        let alg = alg.to_ascii_lowercase();
        let len = match alg.as_str() {
            "sha256" => 64,
            "sha512" => 128,
            _ => return Err(bad()),
        };
        if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(LegacyDigest(format!("{alg}:{}", hex.to_ascii_lowercase())))
    }

    pub(crate) fn of(alg: &str, code: &str) -> LegacyDigest {
        use sha2::Digest;
        let digest = match alg {
            "sha512" => sha2::Sha512::digest(code.as_bytes()).to_vec(),
            _ => sha2::Sha256::digest(code.as_bytes()).to_vec(),
        };
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(alg.len() + 1 + 2 * digest.len());
        text.push_str(alg);
        text.push(':');
        for b in digest {
            text.push(HEX[usize::from(b >> 4)] as char);
            text.push(HEX[usize::from(b & 15)] as char);
        }
        LegacyDigest(text)
    }

    pub(super) fn keyed(&self, keys: &Keys) -> Vec<u8> {
        keys.hash_code(&self.0)
    }
}
