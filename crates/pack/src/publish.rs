//! Publishing signed packs to an origin (`docs/formats/origin.md`): deploy, roll back,
//! push an emergency rule.
//!
//! Design choices:
//! - Verify before upload. A deploy verifies the pack exactly as a client will (the root
//!   of trust, a threshold of signatures, expiry, hashes) and refuses anything less, so an
//!   unsigned or half-signed pack never reaches the origin.
//! - Clients never see metadata whose files are missing. Content-addressed files go up
//!   first, then root rotations, then the history copy, then `manifest.json`,
//!   `targets.json`, `snapshot.json` and, last, `timestamp.json`: the client's entry point.
//! - Nothing is deleted. Content-addressed names never collide, so older versions' files
//!   stay servable, and `history/VERSION/` keeps each deployed version's metadata and
//!   manifest for audits and rollbacks.
//! - Versions only increase. A rollback or an emergency update republishes content under
//!   the next free version above everything the origin has seen, so clients that keep
//!   rollback state accept it.

pub mod deploy;
pub mod origin;
pub mod republish;
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod testing;

use std::path::PathBuf;

use crate::error::BuildError;
use crate::trust::verify::VerifyError;
use crate::trust::TrustError;
use ferretwatch_types::PackVersion;
use ferretwatch_types::Timestamp;

pub use deploy::{current_version, deploy, known_versions, DeployReport};
pub use origin::{Origin, OriginSource, S3Options};
pub use republish::{emergency, rollback, EmergencyRule, Republished, Severity};

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// A bad argument or input (exit status 2).
    #[error("{0}")]
    Invalid(String),
    /// The pack failed verification against the root of trust.
    #[error("pack refused: {0}")]
    Refused(#[from] VerifyError),
    /// The pack's version is not above what the origin already serves.
    #[error("version {version} is not above {current}, which the origin already serves; versions only increase")]
    VersionNotIncreasing {
        /// The pack's version.
        version: String,
        /// The origin's version.
        current: String,
    },
    /// The origin holds no pack (rollback and emergency start from one).
    #[error("origin {0} serves no pack yet (no targets.json); deploy one first")]
    NoCurrentPack(String),
    /// An emergency rule or a rebuilt rule set does not compile.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Signing failed.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// An object is larger than allowed.
    #[error("{name} at the origin is larger than {limit} bytes")]
    Oversized {
        /// The object.
        name: String,
        /// The limit.
        limit: u64,
    },
    /// The object store failed.
    #[error("origin {origin}: {detail}")]
    Store {
        /// The origin.
        origin: String,
        /// What failed.
        detail: String,
    },
    /// Reading or writing a local file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl PublishError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PublishError::Invalid(_) => "invalid_argument",
            PublishError::Refused(e) => e.code(),
            PublishError::VersionNotIncreasing { .. } => "version_not_increasing",
            PublishError::NoCurrentPack(_) => "no_current_pack",
            PublishError::Build(e) => e.code(),
            PublishError::Trust(_) => "signing_failed",
            PublishError::Oversized { .. } => "oversized",
            PublishError::Store { .. } => "origin_failed",
            PublishError::Io { .. } => "io",
        }
    }

    /// The exit status: 2 for bad input, the verification status (40–49) for a refused
    /// pack, 1 for a failed operation.
    pub fn exit_status(&self) -> u8 {
        match self {
            PublishError::Invalid(_) | PublishError::VersionNotIncreasing { .. } => 2,
            PublishError::Build(BuildError::Io { .. }) => 1,
            PublishError::Build(_) => 2,
            PublishError::Refused(e) => u8::try_from(e.exit_status()).unwrap_or(1),
            _ => 1,
        }
    }
}

/// The next free pack version above `above` at `now`: the version of `now`'s hour when
/// that is higher, otherwise `above`'s hour with the next `.N` suffix. Never lower than
/// `above`, whatever the clock says.
pub fn next_version(above: Option<&PackVersion>, now: Timestamp) -> PackVersion {
    let text = now.to_string();
    let hour = format!("{}.{}.{}.{}", &text[0..4], &text[5..7], &text[8..10], &text[11..13]);
    let candidate = PackVersion::parse(&hour).expect("a timestamp's hour is a valid version");
    match above {
        Some(above) if candidate <= *above => {
            let parts: Vec<&str> = above.as_str().split('.').collect();
            let suffix: u32 = parts.get(4).and_then(|n| n.parse().ok()).unwrap_or(0);
            PackVersion::parse(&format!("{}.{}", parts[..4].join("."), suffix + 1))
                .expect("a valid version with the next suffix is valid")
        }
        _ => candidate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> PackVersion {
        PackVersion::parse(text).unwrap()
    }

    #[test]
    fn next_version_is_the_current_hour_when_that_is_higher() {
        let now = Timestamp::parse("2025-09-24T17:42:10Z").unwrap();
        assert_eq!(next_version(None, now).as_str(), "2025.09.24.17");
        assert_eq!(next_version(Some(&v("2025.09.24.15")), now).as_str(), "2025.09.24.17");
        assert_eq!(next_version(Some(&v("2025.09.24.16.4")), now).as_str(), "2025.09.24.17");
    }

    #[test]
    fn next_version_takes_the_next_suffix_within_the_same_hour_or_ahead_of_the_clock() {
        let now = Timestamp::parse("2025-09-24T17:42:10Z").unwrap();
        assert_eq!(next_version(Some(&v("2025.09.24.17")), now).as_str(), "2025.09.24.17.1");
        assert_eq!(next_version(Some(&v("2025.09.24.17.9")), now).as_str(), "2025.09.24.17.10");
        // A clock behind the origin never produces a lower version.
        assert_eq!(next_version(Some(&v("2025.09.25.03.2")), now).as_str(), "2025.09.25.03.3");
    }
}
