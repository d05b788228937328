//! ed25519 publisher keys. Public keys use TUF's key object
//! (`{"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": HEX}}`) and their key
//! id is the sha256 of that object's canonical JSON, as TUF defines it. A private key file
//! holds the same object with `keyval.private` added; it never leaves its publisher.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::{canonical_json, TrustError};

/// The only key type and signature scheme packs use.
pub const ED25519: &str = "ed25519";

/// A public key as TUF metadata lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyObject {
    /// Always `ed25519`.
    pub keytype: String,
    /// Always `ed25519`.
    pub scheme: String,
    /// The key material.
    pub keyval: PublicKeyVal,
}

/// `keyval` of a public key object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyVal {
    /// The 32-byte public key, lower-case hex.
    pub public: String,
}

impl KeyObject {
    /// The key id: hex sha256 of the object's canonical JSON.
    pub fn key_id(&self) -> String {
        let bytes = canonical_json(&serde_json::to_value(self).expect("a key object serialises"))
            .expect("a key object has no floats");
        super::sha256_hex(&bytes)
    }

    /// The verifying key, when the object is an ed25519 key with 32 valid bytes.
    pub fn verifying_key(&self) -> Result<VerifyingKey, TrustError> {
        if self.keytype != ED25519 || self.scheme != ED25519 {
            return Err(TrustError::Key(format!(
                "unsupported key type {:?}/{:?} (only ed25519)",
                self.keytype, self.scheme
            )));
        }
        // Exactly 64 lower-case hex digits: the key id hashes this text, so any other
        // spelling of the same key would give it a second id (and a second vote).
        let text = &self.keyval.public;
        if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(TrustError::Key("public key is not 64 lower-case hex digits".into()));
        }
        let bytes: [u8; 32] = hex::decode(text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| TrustError::Key("public key is not 32 bytes of hex".into()))?;
        VerifyingKey::from_bytes(&bytes).map_err(|_| TrustError::Key("public key is not a valid ed25519 point".into()))
    }

    /// Whether `signature` (64 bytes) over `message` verifies under this key (strict
    /// verification: no malleable or small-order signatures).
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(key) = self.verifying_key() else { return false };
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else { return false };
        key.verify_strict(message, &signature).is_ok()
    }
}

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
    use sha2::{Digest, Sha256};

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
    fn key_id_is_sha256_of_canonical_key_object() {
        let key = KeyObject {
            keytype: "ed25519".into(),
            scheme: "ed25519".into(),
            keyval: PublicKeyVal { public: "00".repeat(32) },
        };
        let canonical =
            format!(r#"{{"keytype":"ed25519","keyval":{{"public":"{}"}},"scheme":"ed25519"}}"#, "00".repeat(32));
        assert_eq!(key.key_id(), hex::encode(Sha256::digest(canonical.as_bytes())));
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
