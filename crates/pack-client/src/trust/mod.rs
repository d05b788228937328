//! TUF metadata as packs use it (The Update Framework, specification 1.0), and its
//! verification: a root of trust names the publisher keys and a threshold; a pack is
//! accepted only when `timestamp`, `snapshot` and `targets` each carry a threshold of
//! valid signatures, none has expired, no version is lower than one seen before, the
//! three agree with each other, and every file matches its listed length and sha256. Root
//! keys rotate through `N.root.json` files signed by a threshold of the old keys and of
//! the new ones.
//!
//! Signing lives on the publisher side (`ferretwatch-pack-publisher`); see
//! `docs/formats/signing.md` and decision 0008 for why this is our own code over `tough`.

pub mod keys;
pub mod metadata;
pub mod verify;

use ferretwatch_types::Coded;
use serde_json::Value;

/// Errors of key handling and metadata (verification has its own, see
/// [`verify::VerifyError`]).
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// A key file or key object is unusable.
    #[error("key: {0}")]
    Key(String),
    /// Metadata is malformed or inconsistent.
    #[error("metadata: {0}")]
    Metadata(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl Coded for TrustError {
    fn code(&self) -> &'static str {
        match self {
            TrustError::Key(_) => "bad_key",
            TrustError::Metadata(_) => "bad_metadata",
            TrustError::Io { .. } => "io",
        }
    }
}

/// The OLPC canonical JSON of `value` (sorted keys, no insignificant whitespace): the
/// bytes TUF signatures cover. Floats are refused.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, TrustError> {
    use serde::Serialize;
    let mut bytes = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, olpc_cjson::CanonicalFormatter::new());
    value.serialize(&mut serializer).map_err(|e| TrustError::Metadata(format!("not canonical JSON: {e}")))?;
    Ok(bytes)
}
