//! The normalised feed file that `intel fetch` writes and `pack build` reads
//! (`docs/formats/feed.md`): a magic line, one JSON header line, then one indicator per
//! line as `kind<TAB>value<TAB>id`, sorted and de-duplicated.

use std::path::{Path, PathBuf};

use ferretwatch_detect::filter::IndicatorKind;
use ferretwatch_pack_client::dir::write_atomic;
use ferretwatch_pack_client::indicator::Indicator;
use ferretwatch_pack_client::manifest::FeedSource;
use ferretwatch_types::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::FeedError;
use crate::feeds::{ParseReport, Record};

/// The first line of every feed file.
pub const FEED_MAGIC: &str = "#ferretwatch-feed 1";
/// The extension of feed files in a feeds directory.
pub const FEED_EXTENSION: &str = "feed";

/// Everything about a feed except its indicators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedHeader {
    /// The feed's name: its file stem, unique in a feeds directory.
    pub name: String,
    /// The source format and provider.
    pub source: FeedSource,
    /// Where it was fetched from (URL or file path).
    pub origin: String,
    /// When it was last fetched (or confirmed unchanged by a 304).
    pub fetched_at: Timestamp,
    /// When its indicators expire: `fetched_at` plus the source's TTL.
    pub expires: Timestamp,
    /// Confidence in per mille.
    pub confidence: u16,
    /// Whether URL queries were kept.
    pub keep_query: bool,
    /// License and attribution line.
    pub license: String,
    /// The parse counts of the fetch that produced the indicators.
    pub report: ParseReport,
    /// Distinct indicators that follow the header.
    pub indicators: u64,
}

/// A feed: header and sorted, distinct indicators with their provider ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedFile {
    /// The header.
    pub header: FeedHeader,
    /// Sorted by kind then value; one entry per indicator, with the smallest id seen.
    pub entries: Vec<(Indicator, Option<String>)>,
}

impl FeedFile {
    /// Sorts and de-duplicates records into a feed; fills in `header.indicators`.
    pub fn new(mut header: FeedHeader, records: Vec<Record>) -> Self {
        let mut entries: Vec<(Indicator, Option<String>)> =
            records.into_iter().map(|r| (r.indicator, r.id.filter(|id| is_clean(id)))).collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| id_order(&a.1, &b.1)));
        entries.dedup_by(|later, first| later.0 == first.0);
        header.indicators = entries.len() as u64;
        FeedFile { header, entries }
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.entries.len() * 48);
        out.extend_from_slice(FEED_MAGIC.as_bytes());
        out.push(b'\n');
        serde_json::to_writer(&mut out, &self.header).expect("feed header serialises");
        out.push(b'\n');
        for (indicator, id) in &self.entries {
            out.extend_from_slice(indicator.kind.name().as_bytes());
            out.push(b'\t');
            out.extend_from_slice(indicator.value.as_bytes());
            out.push(b'\t');
            out.extend_from_slice(id.as_deref().unwrap_or("-").as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// Parses a feed file strictly: a damaged or truncated file is an error naming the
    /// line, never a smaller feed.
    pub fn parse(path: &Path, data: &[u8]) -> Result<Self, FeedError> {
        let bad = |line: u64, reason: String| FeedError::BadFeedFile { path: path.to_path_buf(), line, reason };
        let text = std::str::from_utf8(data).map_err(|e| bad(1, format!("not UTF-8: {e}")))?;
        let mut lines = text.split_terminator('\n');
        if lines.next() != Some(FEED_MAGIC) {
            return Err(bad(1, format!("not a feed file (first line must be {FEED_MAGIC:?})")));
        }
        let header: FeedHeader =
            serde_json::from_str(lines.next().unwrap_or_default()).map_err(|e| bad(2, format!("bad header: {e}")))?;
        let mut entries = Vec::with_capacity(header.indicators.min(1 << 24) as usize);
        for (index, line) in lines.enumerate() {
            let number = index as u64 + 3;
            let mut fields = line.split('\t');
            let (Some(kind), Some(value), Some(id), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(bad(number, "want kind<TAB>value<TAB>id".into()));
            };
            let kind = IndicatorKind::from_name(kind).ok_or_else(|| bad(number, format!("unknown kind {kind:?}")))?;
            if value.is_empty() || value.contains('\r') {
                return Err(bad(number, "empty or malformed value".into()));
            }
            let indicator = Indicator { kind, value: value.to_owned() };
            if entries.last().is_some_and(|(last, _): &(Indicator, _)| *last >= indicator) {
                return Err(bad(number, "indicators are not sorted and distinct".into()));
            }
            entries.push((indicator, (id != "-").then(|| id.to_owned())));
        }
        if entries.len() as u64 != header.indicators {
            return Err(bad(
                entries.len() as u64 + 3,
                format!(
                    "header counts {} indicators, the file holds {} (truncated?)",
                    header.indicators,
                    entries.len()
                ),
            ));
        }
        Ok(FeedFile { header, entries })
    }

    /// Reads and parses a feed file.
    pub fn read(path: &Path) -> Result<Self, FeedError> {
        let data = std::fs::read(path).map_err(|source| FeedError::Io { path: path.to_path_buf(), source })?;
        Self::parse(path, &data)
    }

    /// Writes the file atomically (a temporary file renamed over the old one).
    pub fn write(&self, path: &Path) -> Result<(), FeedError> {
        write_atomic(path, &self.to_bytes()).map_err(|source| FeedError::Io { path: path.to_path_buf(), source })
    }
}

/// Feed files in a directory, sorted by name.
pub fn feed_paths(dir: &Path) -> Result<Vec<PathBuf>, FeedError> {
    let io = |source| FeedError::Io { path: dir.to_path_buf(), source };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == FEED_EXTENSION) && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// Whether a feed name is safe as a file stem and stable as a manifest key.
pub fn valid_feed_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn is_clean(id: &str) -> bool {
    !id.is_empty() && id != "-" && id.len() <= 64 && !id.contains(['\t', '\n', '\r'])
}

/// Numeric ids compare as numbers, so the kept id is the provider's first record.
fn id_order(a: &Option<String>, b: &Option<String>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => (a.len(), a).cmp(&(b.len(), b)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}
