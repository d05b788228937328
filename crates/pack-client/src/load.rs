//! Turning a verified pack into an engine. Only bytes that passed verification reach the
//! parsers here ([`crate::trust::verify::VerifiedPack::files`]); the manifest's own hashes
//! are checked once more, so a pack whose manifest and TUF targets disagree is refused.

use std::collections::BTreeMap;
use std::time::Duration;

use ferretwatch_detect::filter::{FilterError, FilterFile};
use ferretwatch_detect::{Engine, Reputation, Rules, RulesError, DEFAULT_YARA};
use ferretwatch_types::{Coded, Sha256, Timestamp};

use crate::layout::INTEL_MANIFEST;
use crate::manifest::{FileEntry, Manifest, ManifestError, Role, MANIFEST_NAME};

/// How each YARA scan of the loaded engine is bounded in time. There is no third way:
/// YARA never runs unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YaraLimit {
    /// The engine times each scan itself and stops it at this limit.
    Timeout(Duration),
    /// The host bounds each scan: the WebAssembly engine runs in a worker that the host
    /// terminates at its limit (`wasm32-unknown-unknown` has no clock for the scanner).
    Host,
}

/// Why a verified pack could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The pack has no manifest.
    #[error("manifest.json: missing")]
    NoManifest,
    /// The manifest is malformed.
    #[error("manifest.json: {0}")]
    Manifest(#[from] ManifestError),
    /// The manifest lists no rules file.
    #[error("manifest.json lists no rules file")]
    NoRules,
    /// The manifest lists a file the verified pack lacks, or with other bytes.
    #[error("{name}: {detail}")]
    File {
        /// The file.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// The rules do not parse or compile.
    #[error("rules: {0}")]
    Rules(RulesError),
    /// A filter does not decode.
    #[error("{name}: {source}")]
    Filter {
        /// The file.
        name: String,
        /// The decoding error.
        source: FilterError,
    },
}

impl Coded for LoadError {
    /// Every cause is one refusal: the verified pack does not make an engine.
    fn code(&self) -> &'static str {
        "bad_pack"
    }
}

/// An engine built from a pack, and what it was built from.
#[derive(Debug)]
pub struct LoadedPack {
    /// The engine: the pack's rules, its unexpired filters, the built-in YARA rules and the
    /// pack's own.
    pub engine: Engine,
    /// The pack's manifest.
    pub manifest: Manifest,
    /// Filters left out because their feeds had expired at `now`.
    pub expired_filters: Vec<String>,
}

/// The `source` of the filter files that carry the blocklist publishers keep in the
/// console (`docs/formats/pack.md`, "Console lists"): unlike feed filters, the delegated
/// intel role does not replace them.
pub const CONSOLE_FILTER_SOURCE: &str = "console";

/// Builds an engine from verified pack files. Filters whose feeds expired before `now`
/// are left out (the rules stay). The built-in YARA rules are kept unless
/// `builtin_yara` is false; the pack's YARA sources are added to them.
pub fn load(
    files: &BTreeMap<String, Vec<u8>>,
    now: Timestamp,
    yara_limit: YaraLimit,
    builtin_yara: bool,
) -> Result<LoadedPack, LoadError> {
    load_patched(files, &BTreeMap::new(), now, yara_limit, builtin_yara)
}

/// [`load`] for a pack some of whose filters were made by applying a delta
/// ([`crate::update::Installed::patched`]): those files must have the sha256 (hex) given
/// here, which the signed delta pinned, instead of the manifest's.
pub fn load_patched(
    files: &BTreeMap<String, Vec<u8>>,
    patched: &BTreeMap<String, String>,
    now: Timestamp,
    yara_limit: YaraLimit,
    builtin_yara: bool,
) -> Result<LoadedPack, LoadError> {
    let manifest_bytes = files.get(MANIFEST_NAME).ok_or(LoadError::NoManifest)?;
    let manifest = Manifest::from_json(manifest_bytes)?;
    let mut rules = None;
    let mut filters = Vec::new();
    let mut curated = Vec::new();
    let mut expired_filters = Vec::new();
    let mut yara: Vec<(String, String)> = Vec::new();
    if builtin_yara {
        yara.push(("builtin.yar".into(), DEFAULT_YARA.into()));
    }
    // Fresh intel from the delegated intel role replaces the pack's own feed filters; the
    // console's blocklist ([`CONSOLE_FILTER_SOURCE`]) is the publishers' own and stays.
    let intel = match files.get(INTEL_MANIFEST) {
        Some(bytes) => Some(Manifest::from_json(bytes)?),
        None => None,
    };
    let intel_dir = INTEL_MANIFEST.rsplit_once('/').map_or("", |(dir, _)| dir);
    let mut entries: Vec<(String, &FileEntry)> = manifest
        .files
        .iter()
        .filter(|entry| {
            intel.is_none() || entry.role != Role::Filter || entry.source.as_deref() == Some(CONSOLE_FILTER_SOURCE)
        })
        .map(|entry| (entry.name.clone(), entry))
        .collect();
    if let Some(intel) = &intel {
        if let Some(entry) = intel.files.iter().find(|entry| entry.role != Role::Filter) {
            return Err(LoadError::File {
                name: format!("{intel_dir}/{}", entry.name),
                detail: "the intel role may ship filters only".into(),
            });
        }
        entries.extend(intel.files.iter().map(|entry| (format!("{intel_dir}/{}", entry.name), entry)));
    }
    for (name, entry) in entries {
        let file_error = |detail: String| LoadError::File { name: name.clone(), detail };
        let bytes = files.get(&name).ok_or_else(|| file_error("listed in the manifest but not signed".into()))?;
        let as_signed = match patched.get(&name) {
            Some(sha256) => entry.role == Role::Filter && Sha256::of(bytes).to_hex() == *sha256,
            None => bytes.len() as u64 == entry.size && Sha256::of(bytes).to_hex() == entry.sha256,
        };
        if !as_signed {
            return Err(file_error("differs from its manifest entry".into()));
        }
        match entry.role {
            Role::Rules => {
                let text = std::str::from_utf8(bytes).map_err(|_| file_error("not UTF-8".into()))?;
                rules = Some(Rules::from_json(text).map_err(LoadError::Rules)?);
            }
            Role::Filter => {
                if entry.expires.is_some_and(|expires| expires <= now) {
                    expired_filters.push(name.clone());
                    continue;
                }
                let filter =
                    FilterFile::from_bytes(bytes).map_err(|source| LoadError::Filter { name: name.clone(), source })?;
                if entry.source.as_deref() == Some(CONSOLE_FILTER_SOURCE) {
                    curated.push(filter);
                } else {
                    filters.push(filter);
                }
            }
            Role::Yara => {
                let text = std::str::from_utf8(bytes).map_err(|_| file_error("not UTF-8".into()))?;
                yara.push((name.clone(), text.to_owned()));
            }
        }
    }
    let rules = rules.ok_or(LoadError::NoRules)?;
    let mut reputation =
        Reputation::from_filters(filters).map_err(|source| LoadError::Filter { name: "filters".into(), source })?;
    if !curated.is_empty() {
        reputation = reputation
            .with_curated(curated)
            .map_err(|source| LoadError::Filter { name: "console filters".into(), source })?;
    }
    let attribution = intel.as_ref().map_or(&manifest.attribution, |intel| &intel.attribution);
    if let Some(lowest) = attribution.iter().filter(|a| a.included).map(|a| a.confidence).min() {
        reputation.feed_confidence = lowest;
    }
    let mut engine = Engine::new(rules).map_err(LoadError::Rules)?.with_reputation(reputation);
    if !yara.is_empty() {
        let sources = yara.iter().map(|(name, source)| (name.as_str(), source.as_str()));
        engine = match yara_limit {
            YaraLimit::Timeout(timeout) => engine.with_yara(sources, timeout),
            YaraLimit::Host => engine.with_yara_limited_by_host(sources),
        }
        .map_err(LoadError::Rules)?;
    }
    Ok(LoadedPack { engine, manifest, expired_filters })
}
