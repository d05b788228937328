//! `manifest.json`: what a pack holds (`docs/formats/pack.md`).
//!
//! The manifest is the document a signing layer signs: it names every other file by a
//! content-hashed name and pins its SHA-256 and size, carries the version (which only
//! increases), the creation and expiry times (freeze protection) and the minimum client
//! version, and attributes every feed. It holds no signature itself; signatures wrap its
//! exact bytes.

use std::path::Path;

use ferretwatch_detect::signals::reputation::IndicatorKind;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::feeds::Source;
use ferretwatch_types::PackVersion;
use ferretwatch_types::Timestamp;

/// The manifest's file name in a pack directory.
pub const MANIFEST_NAME: &str = "manifest.json";
/// The manifest format this build writes.
pub const MANIFEST_FORMAT: u32 = 1;

/// A pack's manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The manifest format ([`MANIFEST_FORMAT`]).
    pub format: u32,
    /// The pack version.
    pub version: PackVersion,
    /// When the pack was made (from the version unless given explicitly).
    pub created: Timestamp,
    /// After this, clients refuse the pack.
    pub expires: Timestamp,
    /// The oldest client that can read this pack.
    pub min_client_version: String,
    /// Every file of the pack, sorted by name.
    pub files: Vec<FileEntry>,
    /// One entry per feed considered, sorted by feed name.
    pub attribution: Vec<Attribution>,
}

/// What a file is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The rule set (`rules.json`).
    Rules,
    /// A reputation filter (`docs/formats/reputation-filter.md`).
    Filter,
    /// A YARA rule source.
    Yara,
}

/// One file of the pack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Its file name: `STEM.SHA256PREFIX.EXT`, so a changed file always has a new name.
    pub name: String,
    /// What it is for.
    pub role: Role,
    /// Lower-case hex SHA-256 of its bytes.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// For filters: the indicator kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<IndicatorKind>,
    /// For filters: `exact` or `bloom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// For filters: distinct indicators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// For filters: the earliest expiry of the feeds in it; clients drop the filter after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
    /// For YARA sources: the source file's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Where a feed's indicators came from and on what terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribution {
    /// The feed's name.
    pub feed: String,
    /// The source tag.
    pub source: Source,
    /// Where it was fetched from.
    pub origin: String,
    /// When it was fetched.
    pub fetched_at: Timestamp,
    /// When its indicators expire.
    pub expires: Timestamp,
    /// Confidence in per mille.
    pub confidence: u16,
    /// License and attribution line.
    pub license: String,
    /// Distinct indicators in the feed.
    pub indicators: u64,
    /// Whether the feed is in the filters (false when it had expired at build time).
    pub included: bool,
}

impl Manifest {
    /// Parses a manifest.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(format!("manifest format {} (this build reads {MANIFEST_FORMAT})", manifest.format));
        }
        Ok(manifest)
    }

    /// The manifest's bytes: pretty JSON with a final newline, fields in a fixed order.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("manifest serialises");
        bytes.push(b'\n');
        bytes
    }

    /// Reads `DIR/manifest.json`; `Ok(None)` when there is none.
    pub fn read_dir(dir: &Path) -> Result<Option<Self>, String> {
        match std::fs::read(dir.join(MANIFEST_NAME)) {
            Ok(bytes) => Self::from_json(&bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The indicators each included feed had, for the shrink check.
    pub fn feed_counts(&self) -> impl Iterator<Item = (&str, u64)> {
        self.attribution.iter().filter(|a| a.included).map(|a| (a.feed.as_str(), a.indicators))
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The content-addressed name of a file: `STEM.<first 16 hex of SHA-256>.EXT`.
pub fn content_name(stem: &str, sha256: &str, extension: &str) -> String {
    format!("{stem}.{}.{extension}", &sha256[..16])
}
