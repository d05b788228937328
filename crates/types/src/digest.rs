//! SHA-256 digests: content-addressed pack files, TUF target hashes, the moderation key of
//! a reported URL, the stored form of admin tokens.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;
use subtle::ConstantTimeEq;

/// A SHA-256 digest. Its text form is 64 lower-case hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256([u8; 32]);

/// A text that is not 64 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 digest: want 64 hexadecimal digits")]
pub struct DigestError;

impl Sha256 {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Sha256(sha2::Sha256::digest(bytes).into())
    }

    /// A digest from its 32 bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Sha256(bytes)
    }

    /// Parses 64 hexadecimal digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, DigestError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|_| DigestError)?;
        Ok(Sha256(out))
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Compares in time independent of where the digests differ.
    pub fn ct_eq(&self, other: &Sha256) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// Lower-case hex SHA-256 of `bytes`: `Sha256::of(bytes).to_hex()`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::of(bytes).to_hex()
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

impl std::str::FromStr for Sha256 {
    type Err = DigestError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Sha256::from_hex(text)
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Sha256::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_round_trips_through_hex() {
        let d = Sha256::of(b"abc");
        assert_eq!(d.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(d.to_string(), d.to_hex());
        assert_eq!(sha256_hex(b"abc"), d.to_hex());
        assert_eq!(Sha256::from_hex(&d.to_hex().to_uppercase()).unwrap(), d);
        assert_eq!(Sha256::from_bytes(*d.as_bytes()), d);
        for bad in ["abc", "", &"g".repeat(64), &"a".repeat(66)] {
            assert_eq!(Sha256::from_hex(bad), Err(DigestError), "{bad}");
        }
    }

    #[test]
    fn constant_time_comparison_agrees_with_equality() {
        let (a, b) = (Sha256::of(b"a"), Sha256::of(b"b"));
        assert!(a.ct_eq(&a) && !a.ct_eq(&b));
        assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
        assert_eq!(serde_json::from_str::<Sha256>(&format!("\"{a}\"")).unwrap(), a);
    }
}
