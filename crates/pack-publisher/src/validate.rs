//! `pack validate`: everything about a built pack that can be checked without a corpus.
//!
//! Validation never stops at the first problem: an operator fixing a pack wants the whole
//! list. Each [`Problem`] carries a stable code (listed below), the file it concerns and a
//! message. Only a directory that cannot be read at all is an
//! error ([`ValidateError`]); everything else is a problem in the report.
//!
//! What is checked, in order:
//! - the manifest: strict schema (unknown fields refused), version format, times, file
//!   names (content-addressed, unique, sorted), role-specific fields;
//! - every listed file: present, size and SHA-256 as listed, within its per-file limit;
//!   the whole pack within the 10 MB budget; no unlisted files (TUF metadata, `history/`
//!   and `deltas/` excepted);
//! - `rules.json`: parses strictly, its version is the pack's, it compiles into an
//!   [`Engine`], and its weights, caps and thresholds are sane ([`check_scoring`]);
//! - YARA: every source compiles alone and all compile together with the built-in rules,
//!   as a client loads them;
//! - filters: decode, and their kind, encoding and count match the manifest;
//! - deltas under `deltas/`: decode and lead to this pack's version.
//!
//! Codes: `manifest_missing`, `manifest_schema`, `version_format`, `manifest_times`,
//! `min_client_version`, `manifest_duplicate_file`, `manifest_unsorted`,
//! `file_sha256_format`, `file_name`, `entry_fields`, `file_missing`, `file_size`,
//! `file_checksum`, `file_too_large`, `pack_too_large`, `unlisted_file`, `rules_missing`,
//! `rules_duplicate`, `rules_json`, `rules_invalid`, `rules_version`, `rules_compile`,
//! `thresholds`, `weight_range`, `weight_above_cap`, `cap_range`, `weights_zero`,
//! `red_unreachable`, `yara_compile`, `yara_conflict`, `filter_duplicate_kind`,
//! `filter_decode`, `filter_kind`, `filter_encoding`, `filter_count`, `filter_fp_rate`
//! (a warning), `delta_invalid`, `delta_target`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferretwatch_detect::filter::{FilterFile, IndicatorSet, MAX_FILTER_BYTES};
use ferretwatch_detect::rules::Group;
use ferretwatch_detect::{Engine, Key, Rules, DEFAULT_YARA};
use ferretwatch_pack_client::delta::{Delta, DELTA_DIR, DELTA_EXTENSION, MAX_DELTA_BYTES};
use ferretwatch_pack_client::layout::{content_name, is_metadata};
use ferretwatch_pack_client::load::CONSOLE_FILTER_SOURCE;
use ferretwatch_pack_client::manifest::{FileEntry, Manifest, Role, MANIFEST_NAME};
use ferretwatch_types::{Coded, PackVersion, Sha256};
use serde::Serialize;
use serde_json::Value;

/// The size budget of a whole pack (manifest included): 10 MB.
pub const PACK_BUDGET_BYTES: u64 = 10_000_000;
/// The largest `rules.json` a pack may carry.
pub const MAX_RULES_BYTES: u64 = 2 << 20;
/// The largest YARA source a pack may carry.
pub const MAX_YARA_BYTES: u64 = 1 << 20;
/// A Bloom filter whose expected false-positive rate at its count exceeds this is reported
/// (the build targets 1e-6).
pub const MAX_FILTER_FP_RATE: f64 = 1e-5;
/// The highest weight a finding may carry, so that no single finding reaches red on its own
/// (a lookalike host alone is a caution, not a block page)...
pub const MAX_WEIGHT: u32 = 60;
/// ...except a reputation listing: a host a trusted feed lists is red on its own, as in
/// every browser's blocklist.
pub const MAX_REPUTATION_WEIGHT: u32 = 100;

fn max_weight(key: Key) -> u32 {
    if key == Key::reputation_hit {
        MAX_REPUTATION_WEIGHT
    } else {
        MAX_WEIGHT
    }
}
/// Directory of a pack that holds earlier manifests kept by deploys; never validated.
pub const HISTORY_DIR: &str = "history";

/// How serious a problem is: errors fail validation, warnings are reported only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The pack must not ship.
    Error,
    /// Worth a look; the pack may ship.
    Warning,
}

/// One thing wrong with a pack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Stable machine-readable code.
    pub code: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// The file concerned, relative to the pack directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The outcome of validating one pack.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The pack directory.
    pub dir: PathBuf,
    /// The manifest's version, when it could be read.
    pub version: Option<String>,
    /// Files listed in the manifest.
    pub files: usize,
    /// Bytes of the listed files plus the manifest.
    pub total_bytes: u64,
    /// Every problem found, errors and warnings.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether no error was found (warnings allowed).
    pub fn ok(&self) -> bool {
        !self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.severity == Severity::Error)
    }

    /// Whether a problem with `code` was found.
    pub fn has(&self, code: &str) -> bool {
        self.problems.iter().any(|p| p.code == code)
    }

    fn error(&mut self, code: &'static str, file: Option<&str>, message: impl Into<String>) {
        self.push(code, Severity::Error, file, message);
    }

    fn warning(&mut self, code: &'static str, file: Option<&str>, message: impl Into<String>) {
        self.push(code, Severity::Warning, file, message);
    }

    fn push(&mut self, code: &'static str, severity: Severity, file: Option<&str>, message: impl Into<String>) {
        self.problems.push(Problem { code, severity, file: file.map(str::to_owned), message: message.into() });
    }
}

/// The pack directory cannot be read at all (bad input, not a bad pack).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ValidateError {
    /// The path given.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

impl Coded for ValidateError {
    fn code(&self) -> &'static str {
        "bad_pack_dir"
    }
}

/// Validates the pack in `dir` and reports every problem found.
pub fn validate(dir: &Path) -> Result<Report, ValidateError> {
    let bad = |reason: String| ValidateError { path: dir.to_owned(), reason };
    if !dir.is_dir() {
        return Err(bad("not a directory".into()));
    }
    let on_disk = list_files(dir).map_err(|e| bad(e.to_string()))?;
    let mut report = Report { dir: dir.to_owned(), version: None, files: 0, total_bytes: 0, problems: Vec::new() };
    let Some(manifest) = read_manifest(dir, &mut report) else { return Ok(report) };
    report.version = Some(manifest.version.to_string());
    report.files = manifest.files.len();
    check_manifest(&manifest, &mut report);

    let mut contents: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    let mut total = std::fs::metadata(dir.join(MANIFEST_NAME)).map_or(0, |m| m.len());
    for entry in &manifest.files {
        total = total.saturating_add(entry.size);
        if let Some(bytes) = check_file(dir, entry, &mut report) {
            contents.insert(entry.name.as_str(), bytes);
        }
    }
    report.total_bytes = total;
    if total > PACK_BUDGET_BYTES {
        report.error(
            "pack_too_large",
            None,
            format!("the pack holds {total} bytes, above the {PACK_BUDGET_BYTES}-byte budget"),
        );
    }
    let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
    for name in &on_disk {
        let top = name.split('/').next().unwrap_or(name);
        let allowed = name == MANIFEST_NAME
            || listed.contains(name.as_str())
            || (!name.contains('/') && is_metadata(name))
            || top == HISTORY_DIR
            || top == DELTA_DIR
            || is_record(name);
        if !allowed {
            report.error("unlisted_file", Some(name), "file is in the pack directory but not in the manifest");
        }
    }

    let rules = check_rules(&manifest, &contents, &mut report);
    check_yara(&manifest, &contents, rules.as_ref(), &mut report);
    check_filters(&manifest, &contents, &mut report);
    check_deltas(dir, &on_disk, &manifest.version, &mut report);
    Ok(report)
}

/// Every regular file under `dir`, `/`-separated and relative, sorted.
fn list_files(dir: &Path) -> std::io::Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else if let Ok(rel) = path.strip_prefix(root) {
                let parts: Vec<_> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

fn read_manifest(dir: &Path, report: &mut Report) -> Option<Manifest> {
    let m = Some(MANIFEST_NAME);
    let bytes = match std::fs::read(dir.join(MANIFEST_NAME)) {
        Ok(bytes) => bytes,
        Err(e) => {
            report.error("manifest_missing", m, format!("cannot read the manifest: {e}"));
            return None;
        }
    };
    // The version is checked on its own first, so a bad version is named as such.
    if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
        match value.get("version") {
            Some(Value::String(text)) => {
                if let Err(e) = PackVersion::parse(text) {
                    report.error("version_format", m, e.to_string());
                }
            }
            _ => report.error("version_format", m, "the manifest has no string field \"version\""),
        }
    }
    match Manifest::from_json(&bytes) {
        Ok(manifest) => Some(manifest),
        Err(e) => {
            report.error("manifest_schema", m, e.to_string());
            None
        }
    }
}

fn check_manifest(manifest: &Manifest, report: &mut Report) {
    let m = Some(MANIFEST_NAME);
    if manifest.expires <= manifest.created {
        report.error(
            "manifest_times",
            m,
            format!("expires {} is not after created {}", manifest.expires, manifest.created),
        );
    }
    let parts: Vec<&str> = manifest.min_client_version.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || p.len() > 9 || !p.bytes().all(|b| b.is_ascii_digit())) {
        report.error("min_client_version", m, format!("{:?} is not MAJOR.MINOR.PATCH", manifest.min_client_version));
    }
    let mut seen = BTreeSet::new();
    for (i, entry) in manifest.files.iter().enumerate() {
        let name = Some(entry.name.as_str());
        if !seen.insert(entry.name.as_str()) {
            report.error("manifest_duplicate_file", name, "listed more than once");
        }
        if i > 0 && manifest.files[i - 1].name > entry.name {
            report.error("manifest_unsorted", name, "files are not sorted by name");
        }
        if !(entry.sha256.len() == 64 && entry.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        {
            report.error("file_sha256_format", name, "sha256 is not 64 lower-case hex digits");
            continue;
        }
        let plain = !entry.name.is_empty()
            && !entry.name.starts_with('.')
            && entry.name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        let named = entry.name.rsplit_once('.').and_then(|(rest, ext)| {
            let (stem, _) = rest.rsplit_once('.')?;
            Some(content_name(stem, &Sha256::from_hex(&entry.sha256).ok()?, ext))
        });
        if !plain || named.as_deref() != Some(entry.name.as_str()) {
            report.error(
                "file_name",
                name,
                "not a content-addressed name STEM.<first 16 hex of sha256>.EXT of plain characters",
            );
        }
        let filter_fields = [entry.kind.is_some(), entry.encoding.is_some(), entry.count.is_some()];
        match entry.role {
            Role::Filter if filter_fields.contains(&false) => {
                report.error("entry_fields", name, "a filter entry needs kind, encoding and count")
            }
            Role::Rules | Role::Yara if filter_fields.contains(&true) || entry.expires.is_some() => {
                report.error("entry_fields", name, "kind, encoding, count and expires belong to filters only")
            }
            _ => {}
        }
        let console_filter = entry.role == Role::Filter && entry.source.as_deref() == Some(CONSOLE_FILTER_SOURCE);
        if entry.role != Role::Yara && entry.source.is_some() && !console_filter {
            report.error("entry_fields", name, "source belongs to YARA entries and the console's filters only");
        }
    }
}

fn check_file(dir: &Path, entry: &FileEntry, report: &mut Report) -> Option<Vec<u8>> {
    let name = Some(entry.name.as_str());
    let limit = match entry.role {
        Role::Rules => MAX_RULES_BYTES,
        Role::Yara => MAX_YARA_BYTES,
        Role::Filter => MAX_FILTER_BYTES as u64,
    };
    let too_large = entry.size > limit.min(PACK_BUDGET_BYTES);
    if too_large {
        report.error(
            "file_too_large",
            name,
            format!("{} bytes listed, above the {} limit of {} bytes", entry.size, role_name(entry.role), limit),
        );
    }
    if entry.name.contains(['/', '\\']) || entry.name.starts_with('.') {
        return None; // already reported; never read outside the pack
    }
    let path = dir.join(&entry.name);
    // Read at most one byte past the listed size: an endless file cannot exhaust memory.
    let bytes = match read_bounded(&path, entry.size.min(limit.max(PACK_BUDGET_BYTES)) + 1) {
        Ok(bytes) => bytes,
        Err(e) => {
            report.error("file_missing", name, format!("listed in the manifest but unreadable: {e}"));
            return None;
        }
    };
    if bytes.len() as u64 != entry.size {
        let actual = if bytes.len() as u64 > entry.size { "more".to_owned() } else { bytes.len().to_string() };
        report.error("file_size", name, format!("{} bytes listed, {actual} bytes on disk", entry.size));
        return None;
    }
    let actual = Sha256::of(&bytes).to_hex();
    if actual != entry.sha256 {
        report.error("file_checksum", name, format!("sha256 {actual} on disk, {} listed", entry.sha256));
        return None;
    }
    // An oversized file is not parsed: a client would never get that far.
    (!too_large).then_some(bytes)
}

fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(max).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Rules => "rules",
        Role::Filter => "filter",
        Role::Yara => "YARA",
    }
}

fn check_rules(manifest: &Manifest, contents: &BTreeMap<&str, Vec<u8>>, report: &mut Report) -> Option<Rules> {
    let entries: Vec<&FileEntry> = manifest.files.iter().filter(|f| f.role == Role::Rules).collect();
    match entries.len() {
        0 => report.error("rules_missing", None, "the manifest lists no rules file"),
        1 => {}
        n => report.error("rules_duplicate", None, format!("the manifest lists {n} rules files")),
    }
    let entry = entries.first()?;
    let name = Some(entry.name.as_str());
    let bytes = contents.get(entry.name.as_str())?;
    let Ok(text) = std::str::from_utf8(bytes) else {
        report.error("rules_json", name, "not UTF-8");
        return None;
    };
    let rules: Rules = match serde_json::from_str(text) {
        Ok(rules) => rules,
        Err(e) => {
            report.error("rules_json", name, e.to_string());
            return None;
        }
    };
    check_scoring(&rules, name, report);
    if let Err(e) = rules.validate() {
        report.error(e.code(), name, e.to_string());
        return None;
    }
    if rules.version != manifest.version.as_str() {
        report.error(
            "rules_version",
            name,
            format!("rules version {:?} is not the pack version {}", rules.version, manifest.version),
        );
    }
    if let Err(e) = Engine::new(rules.clone()) {
        report.error("rules_compile", name, e.to_string());
        return None;
    }
    Some(rules)
}

/// The sanity rules for scoring: thresholds
/// `0 < yellow < red ≤ 100`; every weight 0–[`MAX_WEIGHT`] ([`MAX_REPUTATION_WEIGHT`] for `reputation_hit`) and no larger than its group's cap; every
/// cap 0–100; some weight non-zero; and the caps together able to reach red.
pub fn check_scoring(rules: &Rules, file: Option<&str>, report: &mut Report) {
    let t = rules.thresholds;
    if !(0 < t.yellow && t.yellow < t.red && t.red <= 100) {
        report.error(
            "thresholds",
            file,
            format!("thresholds must satisfy 0 < yellow < red <= 100, got yellow={} red={}", t.yellow, t.red),
        );
    }
    let mut groups: BTreeMap<Group, u32> = BTreeMap::new();
    for key in Key::ALL {
        let (weight, cap) = (rules.weights.get(*key), rules.caps.get(key.group()));
        groups.insert(key.group(), cap);
        if weight > max_weight(*key) {
            let max = max_weight(*key);
            report.error("weight_range", file, format!("weight {} is {weight}, above {max}", key.name()));
        } else if weight > cap {
            report.error(
                "weight_above_cap",
                file,
                format!("weight {} is {weight}, above its group's cap {cap}: it can never count in full", key.name()),
            );
        }
    }
    for (group, cap) in &groups {
        if *cap > 100 {
            report.error("cap_range", file, format!("cap of {group:?} is {cap}, above 100"));
        }
    }
    if Key::ALL.iter().all(|k| rules.weights.get(*k) == 0) {
        report.error("weights_zero", file, "every weight is zero: nothing can ever warn");
    }
    let reachable: u32 = groups.values().map(|c| (*c).min(100)).sum();
    if reachable < u32::from(t.red) {
        report.error("red_unreachable", file, format!("the caps add up to {reachable}, below red at {}", t.red));
    }
}

fn check_yara(manifest: &Manifest, contents: &BTreeMap<&str, Vec<u8>>, rules: Option<&Rules>, report: &mut Report) {
    let timeout = Duration::from_millis(200);
    let engine = || Engine::new(rules.cloned().unwrap_or_else(Rules::builtin));
    let mut sources: Vec<(&str, &str)> = Vec::new();
    for entry in manifest.files.iter().filter(|f| f.role == Role::Yara) {
        let Some(bytes) = contents.get(entry.name.as_str()) else { continue };
        let Ok(text) = std::str::from_utf8(bytes) else {
            report.error("yara_compile", Some(&entry.name), "YARA source is not UTF-8");
            continue;
        };
        let Ok(alone) = engine() else { return };
        match alone.with_yara([(entry.name.as_str(), text)], timeout) {
            Ok(_) => sources.push((entry.name.as_str(), text)),
            Err(e) => report.error("yara_compile", Some(&entry.name), e.to_string()),
        }
    }
    if sources.is_empty() {
        return;
    }
    // A client loads the built-in rules and the pack's together: names must not clash.
    let together = std::iter::once(("builtin.yar", DEFAULT_YARA)).chain(sources.iter().copied());
    if let Ok(engine) = engine() {
        if let Err(e) = engine.with_yara(together, timeout) {
            report.error("yara_conflict", None, format!("the sources compile alone but not together: {e}"));
        }
    }
}

/// The signed records a republished pack carries beside its manifest: the emergency rules
/// (`emergency.HASH.json`) and the console's lists (`console.HASH.json`).
fn is_record(name: &str) -> bool {
    !name.contains('/') && (name.starts_with("emergency.") || name.starts_with("console.")) && name.ends_with(".json")
}

fn check_filters(manifest: &Manifest, contents: &BTreeMap<&str, Vec<u8>>, report: &mut Report) {
    let mut kinds = BTreeSet::new();
    for entry in manifest.files.iter().filter(|f| f.role == Role::Filter) {
        let name = Some(entry.name.as_str());
        if let Some(kind) = entry.kind {
            // One feed filter and one console filter per kind at most.
            if !kinds.insert((kind, entry.source.as_deref() == Some(CONSOLE_FILTER_SOURCE))) {
                report.error("filter_duplicate_kind", name, format!("a second {} filter", kind.name()));
            }
        }
        let Some(bytes) = contents.get(entry.name.as_str()) else { continue };
        let filter = match FilterFile::from_bytes(bytes) {
            Ok(filter) => filter,
            Err(e) => {
                report.error("filter_decode", name, format!("{} ({})", e, e.code()));
                continue;
            }
        };
        if entry.kind.is_some_and(|k| k != filter.kind) {
            report.error("filter_kind", name, format!("the file lists {} indicators", filter.kind.name()));
        }
        if entry.encoding.as_deref().is_some_and(|e| e != filter.encoding()) {
            report.error("filter_encoding", name, format!("the file is encoded {}", filter.encoding()));
        }
        if entry.count.is_some_and(|c| c != filter.count) {
            report.error("filter_count", name, format!("the file counts {} indicators", filter.count));
        }
        if let IndicatorSet::Bloom(bloom) = &filter.set {
            let rate = bloom.expected_fp_rate(filter.count);
            if rate > MAX_FILTER_FP_RATE {
                report.warning(
                    "filter_fp_rate",
                    name,
                    format!("expected false-positive rate {rate:.2e} at {} indicators", filter.count),
                );
            }
        }
    }
}

fn check_deltas(dir: &Path, on_disk: &[String], version: &PackVersion, report: &mut Report) {
    let prefix = format!("{DELTA_DIR}/");
    for name in on_disk.iter().filter(|n| n.starts_with(&prefix)) {
        let file = Some(name.as_str());
        if !name.ends_with(&format!(".{DELTA_EXTENSION}")) || name[prefix.len()..].contains('/') {
            report.error("unlisted_file", file, format!("only {DELTA_DIR}/BASE.{DELTA_EXTENSION} files belong here"));
            continue;
        }
        let bytes = match read_bounded(&dir.join(name), MAX_DELTA_BYTES as u64 + 1) {
            Ok(bytes) => bytes,
            Err(e) => {
                report.error("delta_invalid", file, e.to_string());
                continue;
            }
        };
        match Delta::from_bytes(&bytes) {
            Ok(delta) if delta.target_version != *version => report.error(
                "delta_target",
                file,
                format!("leads to {}, not to this pack's {version}", delta.target_version),
            ),
            Ok(_) => {}
            Err(e) => report.error("delta_invalid", file, format!("{e} ({})", e.code())),
        }
    }
}
