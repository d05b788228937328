//! ed25519 publisher keys as clients see them: TUF's key object
//! (`{"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": HEX}}`), whose key id
//! is the sha256 of its canonical JSON, as TUF defines it. Private keys exist only on the
//! publisher side.

use ed25519_dalek::VerifyingKey;
use ferretwatch_types::Sha256;
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
        Sha256::of(&bytes).to_hex()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(public: &str) -> KeyObject {
        KeyObject {
            keytype: "ed25519".into(),
            scheme: "ed25519".into(),
            keyval: PublicKeyVal { public: public.into() },
        }
    }

    #[test]
    fn key_id_is_sha256_of_canonical_key_object() {
        let canonical =
            format!(r#"{{"keytype":"ed25519","keyval":{{"public":"{}"}},"scheme":"ed25519"}}"#, "00".repeat(32));
        assert_eq!(key(&"00".repeat(32)).key_id(), Sha256::of(canonical.as_bytes()).to_hex());
    }

    #[test]
    fn only_one_spelling_of_a_public_key_is_accepted() {
        // The RFC 8032 test vector 1 public key.
        let lower = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let upper = lower.to_ascii_uppercase();
        assert!(key(lower).verifying_key().is_ok());
        assert_ne!(key(lower).key_id(), key(&upper).key_id());
        assert!(key(&upper).verifying_key().is_err(), "an upper-case copy would be a second id for one key");
        assert!(key(&lower[..62]).verifying_key().is_err());
        let mut other = key(lower);
        other.scheme = "rsa".into();
        assert!(other.verifying_key().is_err());
    }

    #[test]
    fn a_signature_verifies_only_over_its_message() {
        // RFC 8032 test vector 2: one-byte message 0x72.
        let public = key("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
        let sig = hex::decode(
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
             085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        )
        .unwrap();
        assert!(public.verifies(&[0x72], &sig));
        assert!(!public.verifies(&[0x73], &sig));
        assert!(!public.verifies(&[0x72], &sig[..63]));
    }
}
