//! Intel deltas: what changed in the reputation filters between two packs, small enough to
//! ship daily (`docs/formats/delta.md`, decision 0009).
//!
//! A delta turns the filter files of a *base* pack into filter files with the membership of
//! a *target* pack. Per indicator kind it carries a patch that follows the base's encoding:
//! - an exact set gets the indicators removed and added, so the result is exactly the
//!   target's set (byte-identical to the target pack's file when that one is exact too);
//! - a Bloom filter gets the positions of the bits that differ between the base filter and
//!   a filter of the *target's* indicators built at the *base's* dimensions. Applying the
//!   flips gives that filter exactly: removed indicators are really gone (no tombstones),
//!   lookups stay one filter probe per key, and the engine reads the result like any other
//!   filter file.
//!
//! Each section names the SHA-256 of the base file it applies to and of the file it must
//! produce, so a client with another base, or a damaged delta, is refused before anything
//! is used; the client then downloads the full pack ([`update`] returns
//! [`Update::FullPackNeeded`]). Deltas are written under the target pack's `deltas/`
//! directory, so `pack sign` lists them in the signed TUF targets like every pack file.
//!
//! This module decodes ([`format`]) and applies ([`apply`]) deltas, as a client does. The
//! producer is the publisher side's: it needs the indicator lists, which packs do not
//! store (filters are one-way).

mod apply;
pub mod format;

use ferretwatch_detect::filter::{FilterError, FilterFile, IndicatorKind};
use ferretwatch_types::{Coded, PackVersion, Sha256};
use std::collections::BTreeMap;

/// The magic that opens every delta file.
pub const DELTA_MAGIC: [u8; 4] = *b"FWDL";
/// The delta format version this build reads and writes.
pub const DELTA_VERSION: u16 = 1;
/// Bytes before the body: magic, version, reserved, body length, SHA-256 of the body.
pub const DELTA_HEADER_LEN: usize = 48;
/// The largest delta accepted. A delta near this size is no cheaper than the full pack.
pub const MAX_DELTA_BYTES: usize = 16 << 20;
pub use crate::layout::{DELTA_DIR, DELTA_EXTENSION};

/// Why a delta could not be decoded or applied.
#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    /// Shorter than the header.
    #[error("delta truncated: {len} bytes, the header alone is {DELTA_HEADER_LEN}")]
    Truncated {
        /// The input length.
        len: usize,
    },
    /// Larger than [`MAX_DELTA_BYTES`].
    #[error("delta too large: {len} bytes (limit {MAX_DELTA_BYTES})")]
    TooLarge {
        /// The input length.
        len: usize,
    },
    /// Not a delta file.
    #[error("not a FerretWatch delta (bad magic)")]
    BadMagic,
    /// A format version this build does not read.
    #[error("unsupported delta format version {actual} (this build reads {DELTA_VERSION})")]
    UnsupportedVersion {
        /// The file's version.
        actual: u16,
    },
    /// The body length in the header disagrees with the file.
    #[error("delta body length is {declared} in the header but {actual} in the file")]
    LengthMismatch {
        /// Declared.
        declared: u64,
        /// Present.
        actual: u64,
    },
    /// The body's SHA-256 does not match the header.
    #[error("delta checksum mismatch")]
    ChecksumMismatch,
    /// The body holds an impossible value.
    #[error("invalid delta: {0}")]
    Invalid(String),
    /// The client's base is not the delta's base: download the full pack.
    #[error("the delta applies to {expected}, the client has {actual}")]
    BaseMismatch {
        /// What the delta applies to.
        expected: String,
        /// What the client has.
        actual: String,
    },
    /// Applying the delta did not give the file the delta promises.
    #[error("{} filter: the patched file does not have the promised SHA-256", .0.name())]
    ResultMismatch(IndicatorKind),
    /// The target is not newer than the base.
    #[error("target version {target} is not above base version {base}")]
    NotNewer {
        /// The base.
        base: String,
        /// The target.
        target: String,
    },
    /// A filter does not decode.
    #[error(transparent)]
    Filter(#[from] FilterError),
}

impl Coded for DeltaError {
    fn code(&self) -> &'static str {
        match self {
            DeltaError::Truncated { .. } => "delta_truncated",
            DeltaError::TooLarge { .. } => "delta_too_large",
            DeltaError::BadMagic => "delta_bad_magic",
            DeltaError::UnsupportedVersion { .. } => "delta_version",
            DeltaError::LengthMismatch { .. } => "delta_length",
            DeltaError::ChecksumMismatch => "delta_checksum",
            DeltaError::Invalid(_) => "delta_invalid",
            DeltaError::BaseMismatch { .. } => "delta_base_mismatch",
            DeltaError::ResultMismatch(_) => "delta_result_mismatch",
            DeltaError::NotNewer { .. } => "delta_not_newer",
            DeltaError::Filter(e) => e.code(),
        }
    }
}

/// How one kind's filter changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Patch {
    /// For an exact base: indicators to remove and to add, each sorted and distinct.
    Exact {
        /// In the base, not in the target.
        removed: Vec<String>,
        /// In the target, not in the base.
        added: Vec<String>,
    },
    /// For a Bloom base: the bit positions to flip, strictly ascending.
    Bloom {
        /// Positions below the base filter's bit count.
        flips: Vec<u64>,
    },
}

/// The change of one kind's filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The indicator kind.
    pub kind: IndicatorKind,
    /// SHA-256 of the base filter file this applies to.
    pub base_sha256: Sha256,
    /// SHA-256 of the filter file applying it gives.
    pub result_sha256: Sha256,
    /// Distinct indicators in the result (the target's count).
    pub result_count: u64,
    /// The change.
    pub patch: Patch,
}

/// A delta from one pack's filters to another's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delta {
    /// The pack the delta applies to.
    pub base_version: PackVersion,
    /// The pack whose membership it gives.
    pub target_version: PackVersion,
    /// One section per kind, in kind order.
    pub sections: Vec<Section>,
}

/// What a client does with a delta.
#[derive(Debug)]
pub enum Update {
    /// The delta applied: the new filter files, one per kind, ready for
    /// [`ferretwatch_detect::Reputation::from_filters`].
    Applied(Vec<FilterFile>),
    /// The delta does not apply (another base, damage, an unknown format): fetch the full
    /// pack instead. Nothing of the delta was used.
    FullPackNeeded(DeltaError),
}

/// Applies `delta_bytes` to the client's base filters, or says to fetch the full pack.
pub fn update(
    base_version: &PackVersion,
    base_filters: &BTreeMap<IndicatorKind, Vec<u8>>,
    delta_bytes: &[u8],
) -> Update {
    match Delta::from_bytes(delta_bytes).and_then(|delta| delta.apply(base_version, base_filters)) {
        Ok(filters) => Update::Applied(filters),
        Err(e) => Update::FullPackNeeded(e),
    }
}
