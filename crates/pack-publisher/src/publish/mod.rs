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

pub mod amend;
pub mod canary;
pub mod deploy;
pub mod intel;
pub mod record;
pub mod republish;
pub mod timestamp;

use std::path::PathBuf;

use ferretwatch_pack_client::trust::verify::VerifyError;
use ferretwatch_pack_client::trust::TrustError;
use ferretwatch_types::{Coded, Fault, PackVersion, Timestamp};

use crate::error::BuildError;

pub use amend::{amend, ConsoleLists, ListChange};
pub use deploy::{current_version, deploy, deploy_online, known_versions, DeployReport};
pub use intel::{publish_intel, IntelReport, DEFAULT_INTEL_TTL_SECS};
pub use record::{deploy_history, reverted, ChangeKind, DeployRecord};
pub use republish::{emergency, rollback, EmergencyRule, Republished};
pub use timestamp::{renew, OnlineKey, Renewal};

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

impl Coded for PublishError {
    fn code(&self) -> &'static str {
        match self {
            PublishError::Invalid(_) => "invalid_argument",
            PublishError::Refused(e) => e.code(),
            PublishError::VersionNotIncreasing { .. } => "version_not_increasing",
            PublishError::NoCurrentPack(_) => "no_current_pack",
            PublishError::Build(e) => e.code(),
            PublishError::Trust(_) => "signing_failed",
            PublishError::Oversized { .. } => "object_too_large",
            PublishError::Store { .. } => "origin_failed",
            PublishError::Io { .. } => "io",
        }
    }

    /// Bad arguments, versions that do not increase and content that does not build are
    /// the input's fault; a refused pack is the pack's (its code names the refusal); the
    /// origin, files and signing failing are the operation's.
    fn fault(&self) -> Fault {
        match self {
            PublishError::Invalid(_) | PublishError::VersionNotIncreasing { .. } => Fault::Input,
            PublishError::Build(e) => e.fault(),
            PublishError::Refused(e) => e.fault(),
            _ => Fault::Operation,
        }
    }
}

/// The next free pack version above `above` at `now`: the version of `now`'s hour when
/// that is higher, otherwise `above`'s hour with the next `.N` suffix. Never lower than
/// `above`, whatever the clock says.
pub fn next_version(above: Option<&PackVersion>, now: Timestamp) -> Result<PackVersion, PublishError> {
    let candidate = PackVersion::of_hour(now);
    match above {
        Some(above) if candidate <= *above => above.with_suffix(above.suffix().unwrap_or(0) + 1).ok_or_else(|| {
            PublishError::Invalid(format!("{above} has the largest suffix; no higher version in that hour"))
        }),
        _ => Ok(candidate),
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
        assert_eq!(next_version(None, now).unwrap().as_str(), "2025.09.24.17");
        assert_eq!(next_version(Some(&v("2025.09.24.15")), now).unwrap().as_str(), "2025.09.24.17");
        assert_eq!(next_version(Some(&v("2025.09.24.16.4")), now).unwrap().as_str(), "2025.09.24.17");
    }

    #[test]
    fn next_version_takes_the_next_suffix_within_the_same_hour_or_ahead_of_the_clock() {
        let now = Timestamp::parse("2025-09-24T17:42:10Z").unwrap();
        assert_eq!(next_version(Some(&v("2025.09.24.17")), now).unwrap().as_str(), "2025.09.24.17.1");
        assert_eq!(next_version(Some(&v("2025.09.24.17.9")), now).unwrap().as_str(), "2025.09.24.17.10");
        // A clock behind the origin never produces a lower version.
        assert_eq!(next_version(Some(&v("2025.09.25.03.2")), now).unwrap().as_str(), "2025.09.25.03.3");
    }
}
