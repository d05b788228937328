//! `pack test`: a pack against the labelled corpus (`tests/corpus/`), before it ships.
//!
//! The pack is loaded exactly as a client loads it ([`crate::load::load`]: its rules, its
//! filters, the built-in YARA rules and its own), every page is scanned with its URL and
//! HTML, and the report gives the detection rate (phishing pages at yellow or red) and the
//! false-positive rate (benign pages at red), overall and per family. With a previous pack
//! it also gives the change per family and every page whose level changed.
//!
//! A run fails when detection is below the minimum, false positives above the maximum, or
//! any page listed in `known_fp.json` rises above the level it was fixed at: a false
//! positive users reported and we fixed must never come back, whatever the totals say.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferretwatch_detect::{Engine, Level, Page, ScanOptions};
use ferretwatch_pack_client::dir::{pack_files, read_manifest};
use ferretwatch_pack_client::load::{load, YaraLimit};
use ferretwatch_types::Coded;
use serde::{Deserialize, Serialize};

/// The corpus manifest's file name.
pub const CORPUS_MANIFEST: &str = "manifest.json";
/// The known false positives' file name, beside the corpus manifest.
pub const KNOWN_FP_FILE: &str = "known_fp.json";
/// The detection target: phishing pages at yellow or red.
pub const DEFAULT_MIN_DETECTION: f64 = 0.95;
/// The false-positive ceiling: benign pages at red.
pub const DEFAULT_MAX_FP: f64 = 0.02;

/// One corpus page (`tests/corpus/README.md`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusEntry {
    /// Path relative to the corpus directory.
    pub file: String,
    /// The URL the page is served from.
    pub url: String,
    /// `phishing` or `benign`.
    pub class: String,
    /// Kind of page.
    pub family: String,
    /// The brand impersonated or owning the page.
    pub brand: Option<String>,
    /// The level a good detector shows.
    pub expected: String,
}

/// A page that was a reported false positive and was fixed (`known_fp.json`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFalsePositive {
    /// The corpus page.
    pub file: String,
    /// The highest level the page may show: `green` (default) or `yellow`.
    #[serde(default = "green")]
    pub max_level: String,
    /// When it was listed (YYYY-MM-DD).
    pub since: String,
    /// Why it is listed: what flagged it, or what it resembles, and what must not return.
    pub reason: String,
}

fn green() -> String {
    "green".into()
}

/// The known false positives file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFalsePositives {
    /// File format, 1.
    pub format: u32,
    /// The pages.
    pub pages: Vec<KnownFalsePositive>,
}

/// The labelled corpus.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// The corpus directory.
    pub dir: PathBuf,
    /// Its pages.
    pub entries: Vec<CorpusEntry>,
    /// Pages that must never regress, with their highest allowed level.
    pub known_fp: BTreeMap<String, (Level, KnownFalsePositive)>,
}

/// The pack or corpus could not be used (bad input).
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The corpus is unreadable or malformed.
    #[error("corpus {path}: {reason}")]
    Corpus {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The pack is unreadable or does not load.
    #[error("pack {path}: {reason}")]
    Pack {
        /// The pack directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl Coded for CorpusError {
    fn code(&self) -> &'static str {
        match self {
            CorpusError::Corpus { .. } => "corpus_invalid",
            CorpusError::Pack { .. } => "pack_unloadable",
        }
    }
}

fn parse_level(text: &str) -> Option<Level> {
    [Level::Green, Level::Yellow, Level::Red].into_iter().find(|l| l.as_str() == text)
}

impl Corpus {
    /// Reads `DIR/manifest.json` and, when present, `DIR/known_fp.json`. Every known false
    /// positive must be a benign page of the manifest.
    pub fn read(dir: &Path) -> Result<Self, CorpusError> {
        let bad = |path: PathBuf, reason: String| CorpusError::Corpus { path, reason };
        let path = dir.join(CORPUS_MANIFEST);
        let bytes = std::fs::read(&path).map_err(|e| bad(path.clone(), e.to_string()))?;
        let entries: Vec<CorpusEntry> = serde_json::from_slice(&bytes).map_err(|e| bad(path.clone(), e.to_string()))?;
        for e in &entries {
            if !matches!(e.class.as_str(), "phishing" | "benign") || e.file.contains("..") || e.file.starts_with('/') {
                return Err(bad(path.clone(), format!("{}: class {:?} or path not allowed", e.file, e.class)));
            }
        }
        let mut known_fp = BTreeMap::new();
        let fp_path = dir.join(KNOWN_FP_FILE);
        match std::fs::read(&fp_path) {
            Ok(bytes) => {
                let list: KnownFalsePositives =
                    serde_json::from_slice(&bytes).map_err(|e| bad(fp_path.clone(), e.to_string()))?;
                if list.format != 1 {
                    return Err(bad(fp_path.clone(), format!("format {} (this build reads 1)", list.format)));
                }
                for page in list.pages {
                    let level = parse_level(&page.max_level).filter(|l| *l != Level::Red).ok_or_else(|| {
                        bad(
                            fp_path.clone(),
                            format!("{}: max_level {:?} is not green or yellow", page.file, page.max_level),
                        )
                    })?;
                    if !entries.iter().any(|e| e.file == page.file && e.class == "benign") {
                        return Err(bad(fp_path.clone(), format!("{} is not a benign page of the corpus", page.file)));
                    }
                    if known_fp.insert(page.file.clone(), (level, page.clone())).is_some() {
                        return Err(bad(fp_path.clone(), format!("{} is listed twice", page.file)));
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(bad(fp_path, e.to_string())),
        }
        Ok(Corpus { dir: dir.to_owned(), entries, known_fp })
    }
}

/// Loads a built pack as a client would, as of its creation time (so no filter has
/// expired): rules, filters, the built-in YARA rules and the pack's own. Returns the engine
/// and the pack version.
pub fn load_pack(dir: &Path) -> Result<(Engine, String), CorpusError> {
    let bad = |reason: String| CorpusError::Pack { path: dir.to_owned(), reason };
    let files = pack_files(dir).map_err(|e| bad(e.to_string()))?;
    let manifest = read_manifest(dir).map_err(|e| bad(e.to_string()))?.ok_or_else(|| bad("no manifest.json".into()))?;
    let loaded = load(&files, manifest.created, YaraLimit::Timeout(Duration::from_millis(200)), true)
        .map_err(|e| bad(e.to_string()))?;
    Ok((loaded.engine, manifest.version.to_string()))
}

/// One page's result.
#[derive(Clone, Debug, Serialize)]
pub struct PageResult {
    /// The page.
    pub file: String,
    /// `phishing` or `benign`.
    pub class: String,
    /// Its family.
    pub family: String,
    /// The level the pack gives.
    pub level: Level,
    /// The score.
    pub score: u8,
    /// The corpus's expectation.
    pub expected: String,
}

/// Hits out of pages: for phishing, pages warned (yellow or red); for benign, pages at red.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Rate {
    /// Pages counted as hits.
    pub hits: usize,
    /// Pages.
    pub total: usize,
    /// hits / total (0 when there are no pages).
    pub rate: f64,
}

impl Rate {
    fn add(&mut self, hit: bool) {
        self.total += 1;
        self.hits += usize::from(hit);
        self.rate = self.hits as f64 / self.total as f64;
    }
}

/// One family's rate.
#[derive(Clone, Debug, Serialize)]
pub struct FamilyRate {
    /// `phishing` or `benign`.
    pub class: String,
    /// The family.
    pub family: String,
    /// Detection (phishing) or false-positive (benign) rate.
    #[serde(flatten)]
    pub rate: Rate,
    /// The previous pack's rate, when compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Rate>,
}

/// The scores of one pack over the corpus.
#[derive(Clone, Debug, Serialize)]
pub struct Scores {
    /// The pack version.
    pub pack_version: String,
    /// Phishing pages warned.
    pub detection: Rate,
    /// Benign pages at red.
    pub false_positive: Rate,
    /// Per class and family.
    pub families: BTreeMap<(String, String), Rate>,
    /// Per page, in corpus order.
    pub pages: Vec<PageResult>,
}

/// Scans every page of the corpus with `engine`.
pub fn score(engine: &Engine, pack_version: &str, corpus: &Corpus) -> Result<Scores, CorpusError> {
    let mut scores = Scores {
        pack_version: pack_version.to_owned(),
        detection: Rate::default(),
        false_positive: Rate::default(),
        families: BTreeMap::new(),
        pages: Vec::with_capacity(corpus.entries.len()),
    };
    for e in &corpus.entries {
        let path = corpus.dir.join(&e.file);
        let bad = |reason: String| CorpusError::Corpus { path: path.clone(), reason };
        let html = std::fs::read(&path).map_err(|err| bad(err.to_string()))?;
        let html = String::from_utf8_lossy(&html);
        let page = Page { url: &e.url, html: Some(&html), ..Page::default() };
        let verdict = engine.scan(&page, &ScanOptions::default()).map_err(|err| bad(format!("{}: {err}", e.url)))?;
        let phishing = e.class == "phishing";
        let hit = if phishing { verdict.level >= Level::Yellow } else { verdict.level == Level::Red };
        if phishing { &mut scores.detection } else { &mut scores.false_positive }.add(hit);
        scores.families.entry((e.class.clone(), e.family.clone())).or_default().add(hit);
        scores.pages.push(PageResult {
            file: e.file.clone(),
            class: e.class.clone(),
            family: e.family.clone(),
            level: verdict.level,
            score: verdict.score,
            expected: e.expected.clone(),
        });
    }
    Ok(scores)
}

/// Limits a pack must meet.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The lowest acceptable detection rate.
    pub min_detection: f64,
    /// The highest acceptable false-positive rate.
    pub max_fp: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { min_detection: DEFAULT_MIN_DETECTION, max_fp: DEFAULT_MAX_FP }
    }
}

/// A page whose level differs between the previous pack and this one.
#[derive(Clone, Debug, Serialize)]
pub struct LevelChange {
    /// The page.
    pub file: String,
    /// `phishing` or `benign`.
    pub class: String,
    /// Level with the previous pack.
    pub before: Level,
    /// Level with this pack.
    pub after: Level,
}

/// Why a run fails.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    /// Stable code: `detection_below_minimum`, `false_positives_above_maximum` or
    /// `known_false_positive_regressed`.
    pub code: &'static str,
    /// The page, for a known false positive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// What happened.
    pub message: String,
}

/// The outcome of `pack test`.
#[derive(Clone, Debug, Serialize)]
pub struct CorpusReport {
    /// The pack version.
    pub pack_version: String,
    /// The previous pack's version, when compared.
    pub previous_version: Option<String>,
    /// Phishing pages warned.
    pub detection: Rate,
    /// Benign pages at red.
    pub false_positive: Rate,
    /// The previous pack's detection, when compared.
    pub previous_detection: Option<Rate>,
    /// The previous pack's false positives, when compared.
    pub previous_false_positive: Option<Rate>,
    /// Per family, with the previous pack's rate when compared.
    pub families: Vec<FamilyRate>,
    /// Pages whose level changed since the previous pack.
    pub changed: Vec<LevelChange>,
    /// Pages at a level other than the corpus expects (for reading, not failing).
    pub unexpected: Vec<PageResult>,
    /// The limits applied.
    pub min_detection: f64,
    /// The limits applied.
    pub max_fp: f64,
    /// Why the run fails; empty when it passes.
    pub failures: Vec<Failure>,
    /// The labelled URL lists, URL only, against the pack's gates (absent with no lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urls: Option<crate::url_eval::UrlReport>,
    /// Domains the rules exempt from reputation that the pack's filters do list: each is a
    /// feed's mistake the pack corrects, and is reported so it is reviewed, not forgotten.
    pub reputation_exempt: Vec<ExemptListing>,
}

/// An exempt domain the filters list.
#[derive(Clone, Debug, Serialize)]
pub struct ExemptListing {
    /// The exempt domain.
    pub domain: String,
    /// What the filters say about it.
    pub listing: String,
}

/// The exempt domains of the engine's rules that its filters list.
pub fn exempt_listings(engine: &Engine) -> Vec<ExemptListing> {
    let Some(reputation) = engine.reputation() else { return Vec::new() };
    engine
        .rules()
        .allowlists
        .reputation_exempt
        .iter()
        .filter_map(|domain| {
            let target = ferretwatch_detect::filter::Target::parse(&format!("https://{domain}/")).ok()?;
            let listing = reputation.lookup(&target)?;
            Some(ExemptListing { domain: domain.clone(), listing: listing.evidence })
        })
        .collect()
}

impl CorpusReport {
    /// Whether the pack passes: the corpus limits, the known false positives and every gate.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.urls.as_ref().is_none_or(|u| u.passed())
    }
}

/// Compares `current` (and `previous`, when given) against the limits and the known false
/// positives.
pub fn evaluate(corpus: &Corpus, current: &Scores, previous: Option<&Scores>, limits: Limits) -> CorpusReport {
    let mut failures = Vec::new();
    if current.detection.rate < limits.min_detection {
        failures.push(Failure {
            code: "detection_below_minimum",
            file: None,
            message: format!(
                "detection {}/{} = {:.3}, below the minimum {}",
                current.detection.hits, current.detection.total, current.detection.rate, limits.min_detection
            ),
        });
    }
    if current.false_positive.rate > limits.max_fp {
        failures.push(Failure {
            code: "false_positives_above_maximum",
            file: None,
            message: format!(
                "benign at red {}/{} = {:.3}, above the maximum {}",
                current.false_positive.hits, current.false_positive.total, current.false_positive.rate, limits.max_fp
            ),
        });
    }
    let before: BTreeMap<&str, Level> =
        previous.map(|p| p.pages.iter().map(|r| (r.file.as_str(), r.level)).collect()).unwrap_or_default();
    for page in &current.pages {
        let Some((max, known)) = corpus.known_fp.get(&page.file) else { continue };
        if page.level > *max {
            let was =
                before.get(page.file.as_str()).map(|l| format!(" (previous pack: {})", l.as_str())).unwrap_or_default();
            failures.push(Failure {
                code: "known_false_positive_regressed",
                file: Some(page.file.clone()),
                message: format!(
                    "{} is {} at score {}, above its allowed {}{was}; listed since {}: {}",
                    page.file,
                    page.level.as_str(),
                    page.score,
                    max.as_str(),
                    known.since,
                    known.reason
                ),
            });
        }
    }
    let changed = previous
        .map(|_| {
            current
                .pages
                .iter()
                .filter_map(|p| {
                    let before = *before.get(p.file.as_str())?;
                    (before != p.level).then(|| LevelChange {
                        file: p.file.clone(),
                        class: p.class.clone(),
                        before,
                        after: p.level,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut keys: BTreeSet<&(String, String)> = current.families.keys().collect();
    if let Some(p) = previous {
        keys.extend(p.families.keys());
    }
    let families = keys
        .into_iter()
        .map(|key| FamilyRate {
            class: key.0.clone(),
            family: key.1.clone(),
            rate: current.families.get(key).copied().unwrap_or_default(),
            previous: previous.map(|p| p.families.get(key).copied().unwrap_or_default()),
        })
        .collect();
    let unexpected = current.pages.iter().filter(|p| p.level.as_str() != p.expected).cloned().collect();
    CorpusReport {
        pack_version: current.pack_version.clone(),
        previous_version: previous.map(|p| p.pack_version.clone()),
        detection: current.detection,
        false_positive: current.false_positive,
        previous_detection: previous.map(|p| p.detection),
        previous_false_positive: previous.map(|p| p.false_positive),
        families,
        changed,
        unexpected,
        min_detection: limits.min_detection,
        max_fp: limits.max_fp,
        failures,
        urls: None,
        reputation_exempt: Vec::new(),
    }
}

/// Runs `pack test`: loads the pack (and the previous one), scores both over the corpus
/// and evaluates the result; then scans the labelled URL lists (`urls`, or the corpus's
/// `urls/*.tsv` when none are given) against the pack's gates.
pub fn run(
    pack: &Path,
    corpus_dir: &Path,
    previous: Option<&Path>,
    limits: Limits,
    urls: &[PathBuf],
) -> Result<CorpusReport, CorpusError> {
    let corpus = Corpus::read(corpus_dir)?;
    let (engine, version) = load_pack(pack)?;
    let current = score(&engine, &version, &corpus)?;
    let previous = match previous {
        Some(dir) => {
            let (engine, version) = load_pack(dir)?;
            Some(score(&engine, &version, &corpus)?)
        }
        None => None,
    };
    let mut report = evaluate(&corpus, &current, previous.as_ref(), limits);
    report.reputation_exempt = exempt_listings(&engine);
    let lists = if urls.is_empty() { crate::url_eval::default_lists(corpus_dir) } else { urls.to_vec() };
    if !lists.is_empty() {
        report.urls = Some(crate::url_eval::run(&engine, &lists, &engine.rules().gates)?);
    }
    Ok(report)
}
