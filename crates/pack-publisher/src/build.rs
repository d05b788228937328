//! `pack build`: rules, reputation filters, YARA sources and the manifest, reproducibly.
//!
//! Nothing is written until everything has been read, validated and encoded; then the
//! content-addressed files are written, the manifest last (atomically), and files of the
//! previous pack that the new manifest no longer lists are removed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferretwatch_detect::filter::{FilterFile, IndicatorKind};
use ferretwatch_detect::{Engine, Rules};
use ferretwatch_pack_client::dir::{read_manifest, write_atomic};
use ferretwatch_pack_client::layout::content_name;
use ferretwatch_pack_client::manifest::{Attribution, FileEntry, Manifest, Role, MANIFEST_FORMAT, MANIFEST_NAME};
use ferretwatch_types::{PackVersion, Sha256, Timestamp, HOUR};

use crate::error::{BuildError, Shrink};
use crate::feedfile::{feed_paths, FeedFile};

/// The default false-positive target of the Bloom filters.
pub const DEFAULT_FP_RATE: f64 = 1e-6;
/// The default validity of a pack: 7 days.
pub const DEFAULT_VALID_HOURS: u64 = 7 * 24;

/// Inputs of a build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// The pack version.
    pub version: PackVersion,
    /// `rules.json`; the built-in rules when absent.
    pub rules: Option<PathBuf>,
    /// The feeds directory (`*.feed`).
    pub feeds: PathBuf,
    /// A directory of YARA sources (`*.yar`, `*.yara`).
    pub yara: Option<PathBuf>,
    /// The output directory.
    pub out: PathBuf,
    /// The previous pack to compare feed sizes and versions with; `out` when absent.
    pub previous: Option<PathBuf>,
    /// Accept feeds that shrank by more than half.
    pub force: bool,
    /// The creation time; the start of the version's hour when absent.
    pub created: Option<Timestamp>,
    /// Hours until the pack expires.
    pub valid_hours: u64,
    /// The oldest client version that reads this pack.
    pub min_client_version: String,
    /// Bloom filter false-positive target.
    pub fp_rate: f64,
}

impl BuildOptions {
    /// Options with the defaults: built-in rules, no YARA, compare with `out`.
    pub fn new(version: PackVersion, feeds: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        BuildOptions {
            version,
            rules: None,
            feeds: feeds.into(),
            yara: None,
            out: out.into(),
            previous: None,
            force: false,
            created: None,
            valid_hours: DEFAULT_VALID_HOURS,
            min_client_version: env!("CARGO_PKG_VERSION").to_owned(),
            fp_rate: DEFAULT_FP_RATE,
        }
    }
}

/// What a build did.
#[derive(Clone, Debug)]
pub struct BuildSummary {
    /// The manifest written.
    pub manifest: Manifest,
    /// Where it was written.
    pub manifest_path: PathBuf,
    /// Things an operator should know (expired feeds, forced shrinks).
    pub warnings: Vec<String>,
}

/// A file ready to be written.
struct Output {
    entry: FileEntry,
    bytes: Vec<u8>,
}

impl Output {
    fn new(stem: &str, extension: &str, role: Role, bytes: Vec<u8>) -> Self {
        let sha256 = Sha256::of(&bytes);
        let entry = FileEntry {
            name: content_name(stem, &sha256, extension),
            role,
            sha256: sha256.to_hex(),
            size: bytes.len() as u64,
            kind: None,
            encoding: None,
            count: None,
            expires: None,
            source: None,
        };
        Output { entry, bytes }
    }
}

/// Builds a pack into `options.out`.
pub fn build(options: &BuildOptions) -> Result<BuildSummary, BuildError> {
    if !(options.fp_rate > 0.0 && options.fp_rate < 0.5) {
        return Err(BuildError::Invalid(format!("false-positive rate {} must be in (0, 0.5)", options.fp_rate)));
    }
    if !valid_client_version(&options.min_client_version) {
        return Err(BuildError::Invalid(format!(
            "minimum client version {:?} is not MAJOR.MINOR.PATCH",
            options.min_client_version
        )));
    }
    let created = options.created.unwrap_or_else(|| options.version.hour());
    let previous_dir = options.previous.as_deref().unwrap_or(&options.out);
    let previous = read_previous(previous_dir, options.force)?;
    if let Some(previous) = &previous {
        if options.version < previous.version {
            return Err(BuildError::VersionNotIncreasing {
                version: options.version.to_string(),
                previous: previous.version.to_string(),
            });
        }
    }
    let mut warnings = Vec::new();

    let mut outputs = vec![rules_output(options)?];
    outputs.extend(yara_outputs(options)?);

    let mut feeds = Vec::new();
    for path in feed_paths(&options.feeds)? {
        let feed = FeedFile::read(&path)?;
        // Names are file stems, so they are unique within the directory.
        if path.file_stem().and_then(|s| s.to_str()) != Some(feed.header.name.as_str()) {
            return Err(BuildError::Invalid(format!(
                "{}: the feed is named {:?}; a feed file is named after its feed",
                path.display(),
                feed.header.name
            )));
        }
        feeds.push(feed);
    }
    let mut attribution = Vec::with_capacity(feeds.len());
    let mut by_kind: BTreeMap<IndicatorKind, (Vec<&str>, Option<Timestamp>)> = BTreeMap::new();
    for feed in &feeds {
        let h = &feed.header;
        let included = h.expires > created;
        if !included {
            warnings.push(format!("feed {} expired at {} (pack created {created}); left out", h.name, h.expires));
        } else {
            for (indicator, _) in &feed.entries {
                let slot = by_kind.entry(indicator.kind).or_default();
                slot.0.push(indicator.value.as_str());
                slot.1 = Some(slot.1.map_or(h.expires, |e| e.min(h.expires)));
            }
        }
        attribution.push(Attribution {
            feed: h.name.clone(),
            source: h.source,
            origin: h.origin.clone(),
            fetched_at: h.fetched_at,
            expires: h.expires,
            confidence: h.confidence,
            license: h.license.clone(),
            indicators: h.indicators,
            included,
        });
    }
    attribution.sort_by(|a, b| a.feed.cmp(&b.feed));

    if let Some(previous) = &previous {
        let shrinks = shrinks(previous, &attribution);
        if !shrinks.is_empty() {
            if !options.force {
                return Err(BuildError::Shrunk(shrinks));
            }
            warnings.extend(
                shrinks.iter().map(|s| format!("forced: feed {} shrank {} → {}", s.feed, s.previous, s.current)),
            );
        }
    }

    for kind in IndicatorKind::ALL {
        let (items, expires) = by_kind.remove(&kind).unwrap_or_default();
        let filter = FilterFile::build(kind, items, options.fp_rate);
        let mut output = Output::new(&format!("intel-{}", kind.name()), "fwf", Role::Filter, filter.to_bytes());
        output.entry.kind = Some(kind);
        output.entry.encoding = Some(filter.encoding().to_owned());
        output.entry.count = Some(filter.count);
        output.entry.expires = expires;
        outputs.push(output);
    }
    outputs.sort_by(|a, b| a.entry.name.cmp(&b.entry.name));

    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        version: options.version.clone(),
        created,
        expires: created.plus_secs(options.valid_hours.saturating_mul(HOUR)),
        min_client_version: options.min_client_version.clone(),
        files: outputs.iter().map(|o| o.entry.clone()).collect(),
        attribution,
    };
    let manifest_path = write_pack(&options.out, &outputs, &manifest)?;
    Ok(BuildSummary { manifest, manifest_path, warnings })
}

fn read_previous(dir: &Path, force: bool) -> Result<Option<Manifest>, BuildError> {
    match read_manifest(dir) {
        Ok(previous) => Ok(previous),
        // A damaged previous manifest cannot vouch for anything; forcing builds without it.
        Err(_) if force => Ok(None),
        Err(e) => Err(BuildError::PreviousManifest { path: dir.join(MANIFEST_NAME), reason: e.to_string() }),
    }
}

/// Feeds of the previous pack that now hold less than half as many indicators (a feed
/// that is gone or expired counts as empty).
fn shrinks(previous: &Manifest, current: &[Attribution]) -> Vec<Shrink> {
    previous
        .feed_counts()
        .filter_map(|(feed, before)| {
            let now = current.iter().find(|a| a.feed == feed && a.included).map_or(0, |a| a.indicators);
            (now.saturating_mul(2) < before).then(|| Shrink { feed: feed.to_owned(), previous: before, current: now })
        })
        .collect()
}

fn rules_output(options: &BuildOptions) -> Result<Output, BuildError> {
    let mut rules = match &options.rules {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|source| BuildError::Io { path: path.clone(), source })?;
            let text = String::from_utf8(bytes)
                .map_err(|_| BuildError::Invalid(format!("{}: rules file is not UTF-8", path.display())))?;
            Rules::from_json(&text)?
        }
        None => Rules::builtin(),
    };
    // Verdicts report the rules' version as the pack version they were scored with.
    rules.version = options.version.to_string();
    Engine::new(rules.clone())?;
    let mut bytes = rules.to_json_pretty().into_bytes();
    bytes.push(b'\n');
    Ok(Output::new("rules", "json", Role::Rules, bytes))
}

fn yara_outputs(options: &BuildOptions) -> Result<Vec<Output>, BuildError> {
    let Some(dir) = &options.yara else { return Ok(Vec::new()) };
    let io = |source| BuildError::Io { path: dir.clone(), source };
    let mut sources: Vec<(String, String, String)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let Some(extension) = path.extension().and_then(|e| e.to_str()) else { continue };
        if !matches!(extension, "yar" | "yara") || !path.is_file() {
            continue;
        }
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(BuildError::Invalid(format!("YARA file name {file_name:?}: use A-Z, a-z, 0-9, '-' and '_'")));
        }
        let bytes = std::fs::read(&path).map_err(|source| BuildError::Io { path: path.clone(), source })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| BuildError::Invalid(format!("{}: YARA source is not UTF-8", path.display())))?;
        sources.push((stem.to_owned(), file_name, text));
    }
    sources.sort();
    check_yara(&sources)?;
    Ok(sources
        .into_iter()
        .map(|(stem, file_name, text)| {
            let mut output = Output::new(&format!("yara-{stem}"), "yar", Role::Yara, text.into_bytes());
            output.entry.source = Some(file_name);
            output
        })
        .collect())
}

/// The sources must compile together, as the engine will load them.
fn check_yara(sources: &[(String, String, String)]) -> Result<(), BuildError> {
    if sources.is_empty() {
        return Ok(());
    }
    Engine::new(Rules::builtin())?.with_yara(
        sources.iter().map(|(_, name, text)| (name.as_str(), text.as_str())),
        std::time::Duration::from_millis(200),
    )?;
    Ok(())
}

fn write_pack(out: &Path, outputs: &[Output], manifest: &Manifest) -> Result<PathBuf, BuildError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Io { path, source }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let old = read_manifest(out).ok().flatten();
    for output in outputs {
        let path = out.join(&output.entry.name);
        let unchanged = std::fs::read(&path).is_ok_and(|existing| existing == output.bytes);
        if !unchanged {
            write_atomic(&path, &output.bytes).map_err(io(&path))?;
        }
    }
    let manifest_path = out.join(MANIFEST_NAME);
    write_atomic(&manifest_path, &manifest.to_json()).map_err(io(&manifest_path))?;
    if let Some(old) = old {
        for stale in old.files.iter().filter(|f| !manifest.files.iter().any(|n| n.name == f.name)) {
            // Only plain content-addressed names written by a build are ever removed.
            if !stale.name.contains(['/', '\\']) && !stale.name.starts_with('.') {
                let _ = std::fs::remove_file(out.join(&stale.name));
            }
        }
    }
    Ok(manifest_path)
}

fn valid_client_version(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()))
}
