//! The console's keys: a master secret and the audit log's signing key.
//!
//! - The master secret (32 random bytes) never keys anything directly: each use derives
//!   its own key with HMAC-SHA256 under a purpose label, so a CSRF token, a recovery-code
//!   hash and the TOTP seed cipher can never be confused with one another.
//! - TOTP seeds are sealed with XChaCha20-Poly1305 (random 192-bit nonce, the account's
//!   purpose as associated data): a copy of the database alone yields no seed.
//! - The audit key is an Ed25519 key in the same file format as the publishers' keys
//!   (`ferretwatch keys generate`); its public half is what auditors verify with.

use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use ferretwatch_pack_client::trust::keys::KeyObject;
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_store::{AuditSigner, AuditVerifier};
use ferretwatch_types::Sha256;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};

use crate::settings::Settings;

/// Why the keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleKeyError {
    /// A key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The configured secret is not 64 hex digits.
    #[error("console.secret must be 64 hex digits (32 random bytes)")]
    BadSecret,
    /// The audit key file is unusable.
    #[error("audit key: {0}")]
    AuditKey(String),
    /// The operating system's random source failed.
    #[error("no randomness: {0}")]
    Random(getrandom::Error),
}

/// The console's master secret and audit key.
pub struct ConsoleKeys {
    secret: [u8; 32],
    audit: PrivateKey,
    audit_key_id: String,
}

impl std::fmt::Debug for ConsoleKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleKeys").field("audit_key_id", &self.audit_key_id).finish_non_exhaustive()
    }
}

impl Drop for ConsoleKeys {
    fn drop(&mut self) {
        self.secret.fill(0);
    }
}

/// The file names under `DATA_DIR/console/`.
pub const SECRET_FILE: &str = "console/secret";
/// The audit key's default file.
pub const AUDIT_KEY_FILE: &str = "console/audit.key";
/// Its public half, written beside it for auditors.
pub const AUDIT_PUBLIC_FILE: &str = "console/audit.pub.json";

impl ConsoleKeys {
    /// The configured keys, or those kept under the data directory (created on first use,
    /// owner-only).
    pub fn load_or_create(settings: &Settings) -> Result<Self, ConsoleKeyError> {
        let secret = match &settings.console.secret {
            Some(s) => parse_secret(s.expose_secret())?,
            None => {
                let path = settings.data_dir.join(SECRET_FILE);
                match std::fs::read_to_string(&path) {
                    Ok(text) => parse_secret(text.trim())?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        let mut bytes = [0u8; 32];
                        getrandom::getrandom(&mut bytes).map_err(ConsoleKeyError::Random)?;
                        write_new(&path, hex::encode(bytes).as_bytes())?;
                        tracing::info!(path = %path.display(), "generated the console secret");
                        bytes
                    }
                    Err(source) => return Err(ConsoleKeyError::Io { path, source }),
                }
            }
        };
        let audit_path = settings.console.audit_key.clone().unwrap_or_else(|| settings.data_dir.join(AUDIT_KEY_FILE));
        let audit = match PrivateKey::read(&audit_path) {
            Ok(key) => key,
            Err(_) if settings.console.audit_key.is_none() && !audit_path.exists() => {
                let key = PrivateKey::generate().map_err(|e| ConsoleKeyError::AuditKey(e.to_string()))?;
                if let Some(parent) = audit_path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|source| ConsoleKeyError::Io { path: parent.to_owned(), source })?;
                }
                key.write_private(&audit_path, false).map_err(|e| ConsoleKeyError::AuditKey(e.to_string()))?;
                let public = settings.data_dir.join(AUDIT_PUBLIC_FILE);
                std::fs::write(&public, key.public_json())
                    .map_err(|source| ConsoleKeyError::Io { path: public.clone(), source })?;
                tracing::info!(path = %audit_path.display(), public = %public.display(), "generated the audit signing key");
                key
            }
            Err(e) => return Err(ConsoleKeyError::AuditKey(e.to_string())),
        };
        Ok(Self::new(secret, audit))
    }

    /// Keys from their parts (tests).
    pub fn new(secret: [u8; 32], audit: PrivateKey) -> Self {
        let audit_key_id = audit.public().key_id();
        ConsoleKeys { secret, audit, audit_key_id }
    }

    /// HMAC-SHA256 of `data` under the key derived for `purpose`.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let mut derive = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        derive.update(b"ferretwatch-console-v1|");
        derive.update(purpose.as_bytes());
        let key = derive.finalize().into_bytes();
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.mac("totp-seed-key", b"").into())
    }

    /// Seals a TOTP seed: nonce ‖ ciphertext.
    pub fn seal_totp(&self, seed: &[u8]) -> Result<Vec<u8>, ConsoleKeyError> {
        let mut nonce = [0u8; 24];
        getrandom::getrandom(&mut nonce).map_err(ConsoleKeyError::Random)?;
        let sealed = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: seed, aad: b"ferretwatch totp seed" })
            .expect("encryption of a short seed cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a sealed seed; `None` when it was not sealed with this secret.
    pub fn open_totp(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 24 + 16 {
            return None;
        }
        let (nonce, body) = sealed.split_at(24);
        self.cipher().decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: b"ferretwatch totp seed" }).ok()
    }

    /// The audit key's public half.
    pub fn audit_public(&self) -> AuditPublicKey {
        AuditPublicKey::from_key_object(&self.audit.public()).expect("our own key is a valid ed25519 key")
    }
}

impl AuditSigner for ConsoleKeys {
    fn key_id(&self) -> &str {
        &self.audit_key_id
    }

    fn sign(&self, hash: &Sha256) -> Vec<u8> {
        self.audit.sign(&audit_message(hash)).to_vec()
    }
}

/// What an audit signature covers: the entry hash behind a domain tag.
fn audit_message(hash: &Sha256) -> Vec<u8> {
    let mut message = b"ferretwatch-audit-signature-v1\n".to_vec();
    message.extend_from_slice(hash.as_bytes());
    message
}

/// The public half of an audit key, to verify the log and its exports.
#[derive(Debug, Clone)]
pub struct AuditPublicKey {
    key_id: String,
    key: VerifyingKey,
}

impl AuditPublicKey {
    /// From a public key object (the `.pub.json` file's content).
    pub fn from_key_object(object: &KeyObject) -> Result<Self, ConsoleKeyError> {
        let key = object.verifying_key().map_err(|e| ConsoleKeyError::AuditKey(e.to_string()))?;
        Ok(Self { key_id: object.key_id(), key })
    }

    /// Reads a public key file, or the public half of a private key file.
    pub fn read(path: &Path) -> Result<Self, ConsoleKeyError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConsoleKeyError::Io { path: path.to_owned(), source })?;
        if let Ok(object) = serde_json::from_str::<KeyObject>(&text) {
            return Self::from_key_object(&object);
        }
        let private = PrivateKey::from_json(&text)
            .map_err(|_| ConsoleKeyError::AuditKey(format!("{}: not an ed25519 key file", path.display())))?;
        Self::from_key_object(&private.public())
    }

    /// The key id entries carry.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

impl AuditVerifier for AuditPublicKey {
    fn verify(&self, key_id: &str, hash: &Sha256, signature: &[u8]) -> bool {
        let Ok(signature) = Signature::from_slice(signature) else { return false };
        key_id == self.key_id && self.key.verify(&audit_message(hash), &signature).is_ok()
    }
}

fn parse_secret(text: &str) -> Result<[u8; 32], ConsoleKeyError> {
    hex::decode(text).ok().and_then(|b| b.try_into().ok()).ok_or(ConsoleKeyError::BadSecret)
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), ConsoleKeyError> {
    let io = |source| ConsoleKeyError::Io { path: path.to_owned(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    ferretwatch_pack_client::dir::write_private(path, bytes, false).map_err(io)
}

/// A console secret from text, for settings given on the command line.
pub fn secret_from_hex(text: &SecretString) -> Result<[u8; 32], ConsoleKeyError> {
    parse_secret(text.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ConsoleKeys {
        ConsoleKeys::new([7; 32], PrivateKey::generate().unwrap())
    }

    #[test]
    fn a_sealed_seed_opens_only_with_the_same_secret_and_untouched() {
        let k = keys();
        let sealed = k.seal_totp(b"0123456789abcdefghij").unwrap();
        assert_eq!(k.open_totp(&sealed).as_deref(), Some(&b"0123456789abcdefghij"[..]));
        assert!(!sealed.windows(20).any(|w| w == b"0123456789abcdefghij"), "the seed is not in clear");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(k.open_totp(&tampered), None);
        let other = ConsoleKeys::new([8; 32], PrivateKey::generate().unwrap());
        assert_eq!(other.open_totp(&sealed), None);
        assert_eq!(k.open_totp(b"short"), None);
    }

    #[test]
    fn macs_differ_by_purpose() {
        let k = keys();
        assert_ne!(k.mac("csrf", b"x"), k.mac("recovery", b"x"));
        assert_eq!(k.mac("csrf", b"x"), k.mac("csrf", b"x"));
    }

    #[test]
    fn audit_signatures_verify_with_the_public_half_only() {
        let k = keys();
        let hash = Sha256::of(b"entry");
        let sig = k.sign(&hash);
        let public = k.audit_public();
        assert!(public.verify(k.key_id(), &hash, &sig));
        assert!(!public.verify(k.key_id(), &Sha256::of(b"other"), &sig));
        assert!(!public.verify("another-key", &hash, &sig));
        assert!(!keys().audit_public().verify(k.key_id(), &hash, &sig));
    }
}
