//! Publisher keys: ed25519 private keys, which never leave their publisher. A private key
//! file holds TUF's key object with `keyval.private` added; its public half is the
//! client's [`KeyObject`], whose key id the root of trust lists.

use ed25519_dalek::{Signer, SigningKey};
use ferretwatch_pack_client::trust::keys::{KeyObject, PublicKeyVal, ED25519};
use ferretwatch_pack_client::trust::metadata::{Envelope, Signature};
use ferretwatch_pack_client::trust::TrustError;
use serde::{Deserialize, Serialize};

/// A publisher's private key. It is zeroed when dropped and never printed.
pub struct PrivateKey {
    signing: SigningKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey").field("key_id", &self.public().key_id()).finish_non_exhaustive()
    }
}

/// On-disk form of a private key.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivateKeyFile {
    keytype: String,
    scheme: String,
    keyval: PrivateKeyVal,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivateKeyVal {
    public: String,
    private: String,
}

impl PrivateKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Self, TrustError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| TrustError::Key(format!("no randomness: {e}")))?;
        let signing = SigningKey::from_bytes(&seed);
        seed.fill(0);
        Ok(PrivateKey { signing })
    }

    /// The key's public half.
    pub fn public(&self) -> KeyObject {
        KeyObject {
            keytype: ED25519.into(),
            scheme: ED25519.into(),
            keyval: PublicKeyVal { public: hex::encode(self.signing.verifying_key().as_bytes()) },
        }
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Adds this key's signature to `envelope`, replacing an earlier one by the same key.
    /// Returns whether the key had signed already.
    pub fn sign_envelope(&self, envelope: &mut Envelope) -> Result<bool, TrustError> {
        let keyid = self.public().key_id();
        let sig = hex::encode(self.sign(&envelope.message()?));
        let before = envelope.signatures.len();
        envelope.signatures.retain(|s| s.keyid != keyid);
        let replaced = envelope.signatures.len() != before;
        envelope.signatures.push(Signature { keyid, sig });
        envelope.signatures.sort_by(|a, b| a.keyid.cmp(&b.keyid));
        Ok(replaced)
    }

    /// Reads a private key file (the error names no part of its content).
    pub fn read(path: &std::path::Path) -> Result<Self, TrustError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrustError::Io { path: path.to_owned(), source })?;
        PrivateKey::from_json(&text).map_err(|e| match e {
            TrustError::Key(why) => TrustError::Key(format!("{}: {why}", path.display())),
            other => other,
        })
    }

    /// Writes the private key file (owner only, synced). An existing file is refused unless
    /// `replace`: a key is never overwritten by accident.
    pub fn write_private(&self, path: &std::path::Path, replace: bool) -> Result<(), TrustError> {
        ferretwatch_pack_client::dir::write_private(path, self.to_json().as_bytes(), replace)
            .map_err(|source| TrustError::Io { path: path.to_owned(), source })
    }

    /// The public key object's file: pretty JSON with a final newline (what `root create`
    /// reads).
    pub fn public_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.public()).expect("a key object serialises");
        text.push('\n');
        text
    }

    /// The private key file's JSON.
    pub fn to_json(&self) -> String {
        let file = PrivateKeyFile {
            keytype: ED25519.into(),
            scheme: ED25519.into(),
            keyval: PrivateKeyVal {
                public: hex::encode(self.signing.verifying_key().as_bytes()),
                private: hex::encode(self.signing.to_bytes()),
            },
        };
        let mut text = serde_json::to_string_pretty(&file).expect("a key file serialises");
        text.push('\n');
        text
    }

    /// Reads a private key file; refuses a file whose halves do not belong together.
    pub fn from_json(text: &str) -> Result<Self, TrustError> {
        let file: PrivateKeyFile =
            serde_json::from_str(text).map_err(|e| TrustError::Key(format!("not a private key file: {e}")))?;
        if file.keytype != ED25519 || file.scheme != ED25519 {
            return Err(TrustError::Key("only ed25519 private keys are supported".into()));
        }
        let seed: [u8; 32] = hex::decode(&file.keyval.private)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| TrustError::Key("private key is not 32 bytes of hex".into()))?;
        let key = PrivateKey { signing: SigningKey::from_bytes(&seed) };
        if key.public().keyval.public != file.keyval.public.to_ascii_lowercase() {
            return Err(TrustError::Key("the key file's public half does not match its private half".into()));
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_sign() {
        let key = PrivateKey::generate().unwrap();
        let again = PrivateKey::from_json(&key.to_json()).unwrap();
        assert_eq!(key.public(), again.public());
        let sig = again.sign(b"message");
        assert!(key.public().verifies(b"message", &sig));
        assert!(!key.public().verifies(b"massage", &sig));
        assert!(!key.public().verifies(b"message", &sig[..63]));
    }

    #[test]
    fn only_one_spelling_of_a_public_key_is_accepted() {
        let key = PrivateKey::generate().unwrap().public();
        let mut upper = key.clone();
        upper.keyval.public = upper.keyval.public.to_ascii_uppercase();
        assert_ne!(key.key_id(), upper.key_id());
        assert!(key.verifying_key().is_ok());
        assert!(upper.verifying_key().is_err(), "an upper-case copy would be a second id for one key");
        let sig = PrivateKey::generate().unwrap().sign(b"m");
        assert!(!upper.verifies(b"m", &sig));
    }

    #[test]
    fn mismatched_halves_and_garbage_are_refused() {
        let a = PrivateKey::generate().unwrap();
        let b = PrivateKey::generate().unwrap();
        let mixed = a.to_json().replace(&a.public().keyval.public, &b.public().keyval.public);
        assert!(PrivateKey::from_json(&mixed).is_err());
        assert!(PrivateKey::from_json("{}").is_err());
        assert!(PrivateKey::from_json("not json").is_err());
        assert!(format!("{a:?}").contains("key_id") && !format!("{a:?}").contains(&hex::encode(a.signing.to_bytes())));
    }
}
