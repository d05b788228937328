//! Making intel deltas (`docs/formats/delta.md`, decision 0009): the patch from one pack's
//! filters to another's, which clients apply with `ferretwatch_pack_client::delta`.
//!
//! The producer needs the indicator lists, which packs do not store (filters are one-way):
//! it reads the feeds directories the two packs were built from, checks that the base
//! feeds rebuild the base pack's filters bit for bit, and refuses a Bloom patch once the
//! target has outgrown the base filter's false-positive budget.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use ferretwatch_detect::filter::{BloomFilter, FilterError, FilterFile, IndicatorKind, IndicatorSet};
pub use ferretwatch_pack_client::delta::*;
use ferretwatch_pack_client::dir::read_manifest;
use ferretwatch_pack_client::manifest::{Manifest, Role};
use ferretwatch_types::{Coded, Fault, PackVersion, Sha256};

use crate::feedfile::{feed_paths, FeedFile};

/// By default a Bloom patch is refused once the target's indicators would more than double
/// the base filter's expected false-positive rate.
pub const DEFAULT_MAX_FP_GROWTH: f64 = 2.0;

/// Why a delta could not be made (or applied to a pack directory).
#[derive(Debug, thiserror::Error)]
pub enum MakeDeltaError {
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
    /// The delta does not apply to the pack.
    #[error(transparent)]
    Apply(#[from] DeltaError),
}

impl Coded for MakeDeltaError {
    fn code(&self) -> &'static str {
        match self {
            MakeDeltaError::FilterFull { .. } => "delta_filter_full",
            MakeDeltaError::FeedsMismatch(_) => "delta_feeds_mismatch",
            MakeDeltaError::NotNewer { .. } => "delta_not_newer",
            MakeDeltaError::Pack { .. } => "delta_pack",
            MakeDeltaError::Filter(e) => e.code(),
            MakeDeltaError::Apply(e) => e.code(),
        }
    }

    /// A full filter is no one's mistake: no delta can be offered, clients take the full
    /// pack.
    fn fault(&self) -> Fault {
        match self {
            MakeDeltaError::FilterFull { .. } => Fault::Operation,
            _ => Fault::Input,
        }
    }
}

/// Applies `delta` to the pack in `dir` (its manifest's version and filter files).
pub fn apply_to_pack(delta: &Delta, dir: &Path) -> Result<Vec<FilterFile>, MakeDeltaError> {
    let (manifest, filters) = read_pack_filters(dir)?;
    Ok(delta.apply(&manifest.version, &filters)?)
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
) -> Result<Section, MakeDeltaError> {
    let base = FilterFile::from_bytes(base_file)?;
    let kind = base.kind;
    let mismatch = || {
        MakeDeltaError::FeedsMismatch(format!("the base feeds do not rebuild the base pack's {} filter", kind.name()))
    };
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
                return Err(MakeDeltaError::FilterFull {
                    kind,
                    target: target_items.len() as u64,
                    base_rate,
                    target_rate,
                });
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
        base_sha256: Sha256::of(base_file),
        result_sha256: Sha256::of(&result.to_bytes()),
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
) -> Result<DeltaSummary, MakeDeltaError> {
    let (base, base_filters) = read_pack_filters(base_pack)?;
    let (target, _) = read_pack_filters(target_pack)?;
    if target.version <= base.version {
        return Err(MakeDeltaError::NotNewer { base: base.version.to_string(), target: target.version.to_string() });
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
pub fn read_pack_filters(dir: &Path) -> Result<(Manifest, BTreeMap<IndicatorKind, Vec<u8>>), MakeDeltaError> {
    let pack = |reason: String| MakeDeltaError::Pack { path: dir.to_owned(), reason };
    let manifest =
        read_manifest(dir).map_err(|e| pack(e.to_string()))?.ok_or_else(|| pack("no manifest.json".into()))?;
    let mut filters = BTreeMap::new();
    for entry in manifest.files.iter().filter(|f| f.role == Role::Filter) {
        let kind = entry.kind.ok_or_else(|| pack(format!("{}: filter entry without a kind", entry.name)))?;
        if entry.name.contains(['/', '\\']) {
            return Err(pack(format!("{}: not a plain file name", entry.name)));
        }
        let bytes = std::fs::read(dir.join(&entry.name)).map_err(|e| pack(format!("{}: {e}", entry.name)))?;
        if bytes.len() as u64 != entry.size || Sha256::of(&bytes).to_hex() != entry.sha256 {
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
pub fn pack_indicators(
    manifest: &Manifest,
    feeds: &Path,
) -> Result<BTreeMap<IndicatorKind, Vec<String>>, MakeDeltaError> {
    let included: BTreeMap<&str, u64> =
        manifest.attribution.iter().filter(|a| a.included).map(|a| (a.feed.as_str(), a.indicators)).collect();
    let mut found = BTreeSet::new();
    let mut by_kind: BTreeMap<IndicatorKind, Vec<String>> = BTreeMap::new();
    let feed_error = |e: crate::error::FeedError| MakeDeltaError::FeedsMismatch(e.to_string());
    for path in feed_paths(feeds).map_err(feed_error)? {
        let feed = FeedFile::read(&path).map_err(feed_error)?;
        let Some(&count) = included.get(feed.header.name.as_str()) else { continue };
        if feed.header.indicators != count {
            return Err(MakeDeltaError::FeedsMismatch(format!(
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
        return Err(MakeDeltaError::FeedsMismatch(format!(
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
            return Err(MakeDeltaError::FeedsMismatch(format!(
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
