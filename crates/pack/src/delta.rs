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
//! The producer ([`make`]) needs the indicator lists, which packs do not store (filters are
//! one-way): it reads the feeds directories the two packs were built from, checks that the
//! base feeds rebuild the base pack's filters bit for bit, and refuses a Bloom patch once
//! the target has outgrown the base filter's false-positive budget.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use ferretwatch_detect::bloom::BloomFilter;
use ferretwatch_detect::signals::reputation::{
    FilterError, FilterFile, IndicatorKind, IndicatorSet, MAX_INDICATOR_BYTES,
};
use sha2::{Digest, Sha256};

use crate::feedfile::{feed_paths, FeedFile};
use crate::manifest::{sha256_hex, Manifest, Role};
use ferretwatch_types::PackVersion;

/// The magic that opens every delta file.
pub const DELTA_MAGIC: [u8; 4] = *b"FWDL";
/// The delta format version this build reads and writes.
pub const DELTA_VERSION: u16 = 1;
/// Bytes before the body: magic, version, reserved, body length, SHA-256 of the body.
pub const DELTA_HEADER_LEN: usize = 48;
/// The largest delta accepted. A delta near this size is no cheaper than the full pack.
pub const MAX_DELTA_BYTES: usize = 16 << 20;
/// The directory of a pack that holds deltas leading to it.
pub const DELTA_DIR: &str = "deltas";
/// The extension of delta files (`deltas/BASE_VERSION.fwd`).
pub const DELTA_EXTENSION: &str = "fwd";
/// By default a Bloom patch is refused once the target's indicators would more than double
/// the base filter's expected false-positive rate.
pub const DEFAULT_MAX_FP_GROWTH: f64 = 2.0;

const OP_EXACT: u8 = 1;
const OP_BLOOM: u8 = 2;

/// Why a delta could not be made, decoded or applied.
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
    /// The target has outgrown the base filter: only a full pack keeps the false-positive
    /// rate.
    #[error("{kind} filter: {target} indicators would raise the base filter's false-positive rate from {base_rate:.2e} to {target_rate:.2e}; ship the full pack", kind = .kind.name())]
    FilterFull {
        /// The kind.
        kind: IndicatorKind,
        /// Indicators in the target.
        target: u64,
        /// Expected rate at the base's count.
        base_rate: f64,
        /// Expected rate at the target's count.
        target_rate: f64,
    },
    /// The feeds do not correspond to the pack they are given with.
    #[error("{0}")]
    FeedsMismatch(String),
    /// The target is not newer than the base.
    #[error("target version {target} is not above base version {base}")]
    NotNewer {
        /// The base.
        base: String,
        /// The target.
        target: String,
    },
    /// A pack is unreadable or inconsistent.
    #[error("{path}: {reason}")]
    Pack {
        /// The pack directory or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A filter does not decode.
    #[error(transparent)]
    Filter(#[from] FilterError),
}

impl DeltaError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
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
            DeltaError::FilterFull { .. } => "delta_filter_full",
            DeltaError::FeedsMismatch(_) => "delta_feeds_mismatch",
            DeltaError::NotNewer { .. } => "delta_not_newer",
            DeltaError::Pack { .. } => "delta_pack",
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
    pub base_sha256: [u8; 32],
    /// SHA-256 of the filter file applying it gives.
    pub result_sha256: [u8; 32],
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

impl Delta {
    /// Applies the delta to the filter files of the base pack (keyed by kind, as bytes).
    /// Checks the base version and each base file's SHA-256 first, and each result's
    /// SHA-256 after; any mismatch refuses the whole delta.
    pub fn apply(
        &self,
        base_version: &PackVersion,
        base_filters: &BTreeMap<IndicatorKind, Vec<u8>>,
    ) -> Result<Vec<FilterFile>, DeltaError> {
        if *base_version != self.base_version {
            return Err(DeltaError::BaseMismatch {
                expected: format!("pack {}", self.base_version),
                actual: format!("pack {base_version}"),
            });
        }
        let mut out = Vec::with_capacity(self.sections.len());
        for section in &self.sections {
            let base = base_filters.get(&section.kind).ok_or_else(|| DeltaError::BaseMismatch {
                expected: format!("a {} filter", section.kind.name()),
                actual: "none".into(),
            })?;
            let digest: [u8; 32] = Sha256::digest(base).into();
            if digest != section.base_sha256 {
                return Err(DeltaError::BaseMismatch {
                    expected: format!("{} filter {}", section.kind.name(), hex::encode(section.base_sha256)),
                    actual: hex::encode(digest),
                });
            }
            let base = FilterFile::from_bytes(base)?;
            let set = match (base.set, &section.patch) {
                (IndicatorSet::Exact(mut set), Patch::Exact { removed, added }) => {
                    for item in removed {
                        if !set.remove(item) {
                            return Err(DeltaError::Invalid(format!("removes {item:?}, which the base lacks")));
                        }
                    }
                    for item in added {
                        if !set.insert(item.clone()) {
                            return Err(DeltaError::Invalid(format!("adds {item:?}, which the base has")));
                        }
                    }
                    IndicatorSet::Exact(set)
                }
                (IndicatorSet::Bloom(bloom), Patch::Bloom { flips }) => IndicatorSet::Bloom(flip(&bloom, flips)?),
                _ => {
                    return Err(DeltaError::Invalid(format!(
                        "{} patch does not fit the base encoding",
                        section.kind.name()
                    )))
                }
            };
            let result = FilterFile { kind: section.kind, count: section.result_count, set };
            let digest: [u8; 32] = Sha256::digest(result.to_bytes()).into();
            if digest != section.result_sha256 {
                return Err(DeltaError::ResultMismatch(section.kind));
            }
            out.push(result);
        }
        Ok(out)
    }

    /// Applies the delta to the pack in `dir` (its manifest's version and filter files).
    pub fn apply_to_pack(&self, dir: &Path) -> Result<Vec<FilterFile>, DeltaError> {
        let (manifest, filters) = read_pack_filters(dir)?;
        self.apply(&manifest.version, &filters)
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut body = Vec::new();
        for version in [&self.base_version, &self.target_version] {
            body.push(version.as_str().len() as u8);
            body.extend_from_slice(version.as_str().as_bytes());
        }
        body.push(self.sections.len() as u8);
        for section in &self.sections {
            body.push(section.kind as u8);
            body.push(match section.patch {
                Patch::Exact { .. } => OP_EXACT,
                Patch::Bloom { .. } => OP_BLOOM,
            });
            body.extend_from_slice(&section.base_sha256);
            body.extend_from_slice(&section.result_sha256);
            body.extend_from_slice(&section.result_count.to_le_bytes());
            match &section.patch {
                Patch::Exact { removed, added } => {
                    for list in [removed, added] {
                        put_varint(&mut body, list.len() as u64);
                        for item in list {
                            put_varint(&mut body, item.len() as u64);
                            body.extend_from_slice(item.as_bytes());
                        }
                    }
                }
                Patch::Bloom { flips } => {
                    put_varint(&mut body, flips.len() as u64);
                    let mut previous = None;
                    for &position in flips {
                        put_varint(&mut body, previous.map_or(position, |p: u64| position - p));
                        previous = Some(position);
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(DELTA_HEADER_LEN + body.len());
        out.extend_from_slice(&DELTA_MAGIC);
        out.extend_from_slice(&DELTA_VERSION.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&body));
        out.extend_from_slice(&body);
        out
    }

    /// Decodes a delta: size, magic, version, length and checksum before the body, then
    /// every field bounds-checked. Never panics on any input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DeltaError> {
        if bytes.len() > MAX_DELTA_BYTES {
            return Err(DeltaError::TooLarge { len: bytes.len() });
        }
        if bytes.len() >= 4 && bytes[..4] != DELTA_MAGIC {
            return Err(DeltaError::BadMagic);
        }
        if bytes.len() < DELTA_HEADER_LEN {
            return Err(DeltaError::Truncated { len: bytes.len() });
        }
        let (header, body) = bytes.split_at(DELTA_HEADER_LEN);
        let version = u16::from_le_bytes([header[4], header[5]]);
        if version != DELTA_VERSION {
            return Err(DeltaError::UnsupportedVersion { actual: version });
        }
        let declared = u64::from_le_bytes(header[8..16].try_into().unwrap_or([0xff; 8]));
        if declared != body.len() as u64 {
            return Err(DeltaError::LengthMismatch { declared, actual: body.len() as u64 });
        }
        if header[16..48] != Sha256::digest(body)[..] {
            return Err(DeltaError::ChecksumMismatch);
        }
        if header[6..8] != [0, 0] {
            return Err(DeltaError::Invalid("reserved header field is not zero".into()));
        }
        let mut r = Reader(body);
        let base_version = r.version()?;
        let target_version = r.version()?;
        if target_version <= base_version {
            return Err(DeltaError::NotNewer { base: base_version.to_string(), target: target_version.to_string() });
        }
        let count = r.byte()?;
        if count > 3 {
            return Err(DeltaError::Invalid(format!("{count} sections (at most 3)")));
        }
        let mut sections: Vec<Section> = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let code = r.byte()?;
            let kind = IndicatorKind::ALL
                .into_iter()
                .find(|k| *k as u8 == code)
                .ok_or_else(|| DeltaError::Invalid(format!("unknown indicator kind {code}")))?;
            if sections.last().is_some_and(|s| s.kind >= kind) {
                return Err(DeltaError::Invalid("sections are not in strictly ascending kind order".into()));
            }
            let op = r.byte()?;
            let base_sha256 = r.array()?;
            let result_sha256 = r.array()?;
            let result_count = u64::from_le_bytes(r.array()?);
            let patch = match op {
                OP_EXACT => Patch::Exact { removed: r.items()?, added: r.items()? },
                OP_BLOOM => Patch::Bloom { flips: r.flips()? },
                other => return Err(DeltaError::Invalid(format!("unknown patch operation {other}"))),
            };
            sections.push(Section { kind, base_sha256, result_sha256, result_count, patch });
        }
        if !r.0.is_empty() {
            return Err(DeltaError::Invalid(format!("{} bytes after the last section", r.0.len())));
        }
        Ok(Delta { base_version, target_version, sections })
    }
}

fn flip(base: &BloomFilter, flips: &[u64]) -> Result<BloomFilter, DeltaError> {
    let (words, num_bits, hashes) = base.parts();
    let mut words = words.to_vec();
    for &position in flips {
        if position >= num_bits {
            return Err(DeltaError::Invalid(format!("bit {position} beyond the filter's {num_bits}")));
        }
        words[(position / 64) as usize] ^= 1 << (position % 64);
    }
    BloomFilter::from_parts(words, num_bits, hashes)
        .ok_or_else(|| DeltaError::Invalid("inconsistent Bloom filter".into()))
}

/// Bounds-checked reading of a delta body.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], DeltaError> {
        if self.0.len() < len {
            return Err(DeltaError::Invalid("body ends inside a field".into()));
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, DeltaError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DeltaError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn varint(&mut self) -> Result<u64, DeltaError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(DeltaError::Invalid("varint overflows 64 bits".into()));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DeltaError::Invalid("varint longer than 10 bytes".into()))
    }

    fn version(&mut self) -> Result<PackVersion, DeltaError> {
        let len = usize::from(self.byte()?);
        let text =
            std::str::from_utf8(self.take(len)?).map_err(|_| DeltaError::Invalid("version is not UTF-8".into()))?;
        PackVersion::parse(text).map_err(|e| DeltaError::Invalid(e.to_string()))
    }

    /// A count, bounded by the bytes left at `min_bytes` per element.
    fn count(&mut self, min_bytes: usize) -> Result<usize, DeltaError> {
        let count = self.varint()?;
        if count > (self.0.len() / min_bytes) as u64 {
            return Err(DeltaError::Invalid(format!("{count} entries cannot fit in {} bytes", self.0.len())));
        }
        Ok(count as usize)
    }

    fn items(&mut self) -> Result<Vec<String>, DeltaError> {
        let count = self.count(2)?;
        let mut items: Vec<String> = Vec::with_capacity(count);
        for _ in 0..count {
            let len = self.varint()?;
            if len == 0 || len > MAX_INDICATOR_BYTES as u64 {
                return Err(DeltaError::Invalid(format!("indicator of {len} bytes out of bounds")));
            }
            let item = std::str::from_utf8(self.take(len as usize)?)
                .map_err(|_| DeltaError::Invalid("indicator is not UTF-8".into()))?;
            if items.last().is_some_and(|p| p.as_str() >= item) {
                return Err(DeltaError::Invalid("indicators are not strictly sorted".into()));
            }
            items.push(item.to_owned());
        }
        Ok(items)
    }

    fn flips(&mut self) -> Result<Vec<u64>, DeltaError> {
        let count = self.count(1)?;
        let mut flips = Vec::with_capacity(count);
        for i in 0..count {
            let step = self.varint()?;
            let position = match flips.last() {
                None => step,
                Some(_) if step == 0 => return Err(DeltaError::Invalid(format!("bit flip {i} repeats the previous"))),
                Some(&previous) => u64::checked_add(previous, step)
                    .ok_or_else(|| DeltaError::Invalid("bit position overflows".into()))?,
            };
            flips.push(position);
        }
        Ok(flips)
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Options of [`make`].
#[derive(Clone, Copy, Debug)]
pub struct DeltaOptions {
    /// Refuse a Bloom patch when the target's expected false-positive rate in the base
    /// filter exceeds the base's by more than this factor.
    pub max_fp_growth: f64,
}

impl Default for DeltaOptions {
    fn default() -> Self {
        DeltaOptions { max_fp_growth: DEFAULT_MAX_FP_GROWTH }
    }
}

/// The patch for one kind, from the base pack's filter file and the sorted, distinct
/// indicators of both packs. The base indicators must rebuild the base file exactly.
pub fn diff_filter(
    base_file: &[u8],
    base_items: &[&str],
    target_items: &[&str],
    options: DeltaOptions,
) -> Result<Section, DeltaError> {
    let base = FilterFile::from_bytes(base_file)?;
    let kind = base.kind;
    let mismatch =
        || DeltaError::FeedsMismatch(format!("the base feeds do not rebuild the base pack's {} filter", kind.name()));
    let (patch, set) = match &base.set {
        IndicatorSet::Exact(set) => {
            if set.len() != base_items.len() || !base_items.iter().all(|i| set.contains(*i)) {
                return Err(mismatch());
            }
            let target: HashSet<&str> = target_items.iter().copied().collect();
            let removed = base_items.iter().filter(|i| !target.contains(**i)).map(|s| (*s).to_owned()).collect();
            let added = target_items.iter().filter(|i| !set.contains(**i)).map(|s| (*s).to_owned()).collect();
            let set = IndicatorSet::Exact(target_items.iter().map(|s| (*s).to_owned()).collect());
            (Patch::Exact { removed, added }, set)
        }
        IndicatorSet::Bloom(bloom) => {
            let (words, num_bits, hashes) = bloom.parts();
            let (base_rate, target_rate) =
                (bloom.expected_fp_rate(base_items.len() as u64), bloom.expected_fp_rate(target_items.len() as u64));
            if target_rate > base_rate * options.max_fp_growth {
                return Err(DeltaError::FilterFull { kind, target: target_items.len() as u64, base_rate, target_rate });
            }
            let rebuilt = bloom_of(base_items, num_bits, hashes);
            if rebuilt.parts().0 != words {
                return Err(mismatch());
            }
            let target = bloom_of(target_items, num_bits, hashes);
            let mut flips = Vec::new();
            for (i, (a, b)) in words.iter().zip(target.parts().0).enumerate() {
                let mut diff = a ^ b;
                while diff != 0 {
                    flips.push(i as u64 * 64 + u64::from(diff.trailing_zeros()));
                    diff &= diff - 1;
                }
            }
            (Patch::Bloom { flips }, IndicatorSet::Bloom(target))
        }
    };
    let result = FilterFile { kind, count: target_items.len() as u64, set };
    Ok(Section {
        kind,
        base_sha256: Sha256::digest(base_file).into(),
        result_sha256: Sha256::digest(result.to_bytes()).into(),
        result_count: result.count,
        patch,
    })
}

fn bloom_of(items: &[&str], num_bits: u64, hashes: u32) -> BloomFilter {
    let mut filter = BloomFilter::empty(num_bits, hashes);
    for item in items {
        filter.insert(item.as_bytes());
    }
    filter
}

/// What [`make`] produced.
#[derive(Debug)]
pub struct DeltaSummary {
    /// The delta.
    pub delta: Delta,
    /// Indicators removed and added per kind.
    pub changes: Vec<(IndicatorKind, u64, u64)>,
}

/// Makes the delta from the pack in `base_pack` (built from `base_feeds`) to the pack in
/// `target_pack` (built from `target_feeds`).
pub fn make(
    base_pack: &Path,
    base_feeds: &Path,
    target_pack: &Path,
    target_feeds: &Path,
    options: DeltaOptions,
) -> Result<DeltaSummary, DeltaError> {
    let (base, base_filters) = read_pack_filters(base_pack)?;
    let (target, _) = read_pack_filters(target_pack)?;
    if target.version <= base.version {
        return Err(DeltaError::NotNewer { base: base.version.to_string(), target: target.version.to_string() });
    }
    let base_items = pack_indicators(&base, base_feeds)?;
    let target_items = pack_indicators(&target, target_feeds)?;
    let mut sections = Vec::new();
    let mut changes = Vec::new();
    for (kind, file) in &base_filters {
        let old: Vec<&str> = base_items.get(kind).map(|v| v.iter().map(String::as_str).collect()).unwrap_or_default();
        let new: Vec<&str> = target_items.get(kind).map(|v| v.iter().map(String::as_str).collect()).unwrap_or_default();
        let section = diff_filter(file, &old, &new, options)?;
        let (removed, added) = sorted_difference_counts(&old, &new);
        changes.push((*kind, removed, added));
        sections.push(section);
    }
    Ok(DeltaSummary { delta: Delta { base_version: base.version, target_version: target.version, sections }, changes })
}

fn sorted_difference_counts(old: &[&str], new: &[&str]) -> (u64, u64) {
    let new_set: HashSet<&str> = new.iter().copied().collect();
    let old_set: HashSet<&str> = old.iter().copied().collect();
    let removed = old.iter().filter(|i| !new_set.contains(**i)).count() as u64;
    let added = new.iter().filter(|i| !old_set.contains(**i)).count() as u64;
    (removed, added)
}

/// A pack's manifest and its filter files (bytes checked against the manifest), by kind.
pub fn read_pack_filters(dir: &Path) -> Result<(Manifest, BTreeMap<IndicatorKind, Vec<u8>>), DeltaError> {
    let pack = |reason: String| DeltaError::Pack { path: dir.to_owned(), reason };
    let manifest = Manifest::read_dir(dir).map_err(pack)?.ok_or_else(|| pack("no manifest.json".into()))?;
    let mut filters = BTreeMap::new();
    for entry in manifest.files.iter().filter(|f| f.role == Role::Filter) {
        let kind = entry.kind.ok_or_else(|| pack(format!("{}: filter entry without a kind", entry.name)))?;
        if entry.name.contains(['/', '\\']) {
            return Err(pack(format!("{}: not a plain file name", entry.name)));
        }
        let bytes = std::fs::read(dir.join(&entry.name)).map_err(|e| pack(format!("{}: {e}", entry.name)))?;
        if bytes.len() as u64 != entry.size || sha256_hex(&bytes) != entry.sha256 {
            return Err(pack(format!("{}: differs from its manifest entry", entry.name)));
        }
        if filters.insert(kind, bytes).is_some() {
            return Err(pack(format!("two {} filters", kind.name())));
        }
    }
    Ok((manifest, filters))
}

/// The sorted, distinct indicators per kind that a pack was built from: the feeds in
/// `feeds` that the manifest lists as included. Every included feed must be present with
/// the count the manifest records.
pub fn pack_indicators(manifest: &Manifest, feeds: &Path) -> Result<BTreeMap<IndicatorKind, Vec<String>>, DeltaError> {
    let included: BTreeMap<&str, u64> =
        manifest.attribution.iter().filter(|a| a.included).map(|a| (a.feed.as_str(), a.indicators)).collect();
    let mut found = BTreeSet::new();
    let mut by_kind: BTreeMap<IndicatorKind, Vec<String>> = BTreeMap::new();
    let feed_error = |e: crate::error::FeedError| DeltaError::FeedsMismatch(e.to_string());
    for path in feed_paths(feeds).map_err(feed_error)? {
        let feed = FeedFile::read(&path).map_err(feed_error)?;
        let Some(&count) = included.get(feed.header.name.as_str()) else { continue };
        if feed.header.indicators != count {
            return Err(DeltaError::FeedsMismatch(format!(
                "feed {} holds {} indicators, the pack {} was built from {count}",
                feed.header.name, feed.header.indicators, manifest.version
            )));
        }
        found.insert(feed.header.name.clone());
        for (indicator, _) in feed.entries {
            by_kind.entry(indicator.kind).or_default().push(indicator.value);
        }
    }
    if let Some(missing) = included.keys().find(|name| !found.contains(**name)) {
        return Err(DeltaError::FeedsMismatch(format!(
            "feed {missing}, included in pack {}, is not in {}",
            manifest.version,
            feeds.display()
        )));
    }
    for items in by_kind.values_mut() {
        items.sort_unstable();
        items.dedup();
    }
    for entry in manifest.files.iter().filter(|f| f.role == Role::Filter) {
        let (Some(kind), Some(count)) = (entry.kind, entry.count) else { continue };
        let have = by_kind.get(&kind).map_or(0, Vec::len) as u64;
        if have != count {
            return Err(DeltaError::FeedsMismatch(format!(
                "the feeds give {have} {} indicators, pack {} lists {count}",
                kind.name(),
                manifest.version
            )));
        }
    }
    Ok(by_kind)
}

/// Where a delta from `base` is kept in the target pack: `deltas/BASE.fwd`.
pub fn delta_path(target_pack: &Path, base: &PackVersion) -> PathBuf {
    target_pack.join(DELTA_DIR).join(format!("{base}.{DELTA_EXTENSION}"))
}
