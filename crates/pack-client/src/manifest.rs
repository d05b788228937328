//! `manifest.json`: what a pack holds (`docs/formats/pack.md`).
//!
//! The manifest is the document a signing layer signs: it names every other file by a
//! content-hashed name and pins its SHA-256 and size, carries the version (which only
//! increases), the creation and expiry times (freeze protection) and the minimum client
//! version, and attributes every feed. It holds no signature itself; signatures wrap its
//! exact bytes.

use std::fmt;
use std::str::FromStr;

use ferretwatch_detect::filter::IndicatorKind;
use ferretwatch_types::{Coded, PackVersion, Timestamp};
use serde::{Deserialize, Serialize};

pub use crate::layout::MANIFEST as MANIFEST_NAME;

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
    pub source: FeedSource,
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

/// A manifest that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not the manifest's JSON schema (an unknown field, a bad version or time, …).
    #[error("{0}")]
    Schema(String),
    /// A format this build does not read.
    #[error("manifest format {0} (this build reads {MANIFEST_FORMAT})")]
    Format(u32),
}

impl Coded for ManifestError {
    fn code(&self) -> &'static str {
        match self {
            ManifestError::Schema(_) => "manifest_schema",
            ManifestError::Format(_) => "manifest_format",
        }
    }
}

impl Manifest {
    /// Parses a manifest.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| ManifestError::Schema(e.to_string()))?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(ManifestError::Format(manifest.format));
        }
        Ok(manifest)
    }

    /// The manifest's bytes: pretty JSON with a final newline, fields in a fixed order.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("manifest serialises");
        bytes.push(b'\n');
        bytes
    }

    /// The indicators each included feed had, for the shrink check.
    pub fn feed_counts(&self) -> impl Iterator<Item = (&str, u64)> {
        self.attribution.iter().filter(|a| a.included).map(|a| (a.feed.as_str(), a.indicators))
    }
}

/// A feed provider and format, as manifests and feed files name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedSource {
    /// abuse.ch URLhaus CSV dump (malware distribution URLs).
    Urlhaus,
    /// PhishTank `online-valid.json` (community-verified phishing URLs).
    Phishtank,
    /// abuse.ch Feodo Tracker botnet C2 IP blocklist CSV.
    Feodo,
    /// A plain list: one domain, URL or IP per line, `#` comments.
    Plain,
}

impl FeedSource {
    /// Every source.
    pub const ALL: [FeedSource; 4] = [FeedSource::Urlhaus, FeedSource::Phishtank, FeedSource::Feodo, FeedSource::Plain];

    /// The source tag written into feed files and manifests.
    pub fn tag(self) -> &'static str {
        match self {
            FeedSource::Urlhaus => "urlhaus",
            FeedSource::Phishtank => "phishtank",
            FeedSource::Feodo => "feodo",
            FeedSource::Plain => "plain",
        }
    }
}

impl fmt::Display for FeedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// A source tag that names no source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown source {0:?} (urlhaus, phishtank, feodo or plain)")]
pub struct UnknownSource(String);

impl FromStr for FeedSource {
    type Err = UnknownSource;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FeedSource::ALL
            .into_iter()
            .find(|source| source.tag() == s)
            .ok_or_else(|| UnknownSource(s.chars().take(64).collect()))
    }
}
