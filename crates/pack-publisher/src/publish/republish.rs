//! Republishing: a rollback (an earlier version's content under a new, higher version)
//! and an emergency update (the current pack plus one YARA rule). Both read signed content
//! from the origin, verify it, rewrite the rule set's embedded version and the manifest,
//! write a fresh pack directory and sign it with the keys given. Deploying it is a
//! separate step ([`super::deploy`]), so a second publisher can add a signature first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferretwatch_detect::{Engine, Rules, DEFAULT_YARA};
pub use ferretwatch_pack_client::bulletin::Severity;
use ferretwatch_pack_client::dir::write_atomic;
use ferretwatch_pack_client::layout::{self as files, content_name, HISTORY_DIR};
use ferretwatch_pack_client::manifest::{FileEntry, Manifest, Role, MANIFEST_NAME};
use ferretwatch_pack_client::trust::metadata::Root;
use ferretwatch_pack_client::trust::verify::{State, VerifiedPack, Verifier};
use ferretwatch_types::{PackVersion, Sha256, Timestamp};
use serde::{Deserialize, Serialize};

use super::deploy::known_versions;
use super::record::{write_note, ChangeKind, RepublishedNote};
use super::{next_version, PublishError};
use crate::error::BuildError;
use crate::keys::PrivateKey;
use crate::origin::Origin;
use crate::sign::sign_pack;

/// One emergency YARA rule to ship.
#[derive(Debug, Clone)]
pub struct EmergencyRule {
    /// Its id, for example `PHISH-2025-001` (letters, digits, `-`, `_`; at most 64).
    pub rule_id: String,
    /// Its severity.
    pub severity: Severity,
    /// The YARA source.
    pub source: String,
}

/// The largest emergency YARA source accepted.
pub const MAX_EMERGENCY_RULE_BYTES: usize = 1024 * 1024;

/// The record of emergency rules a pack carries (`emergency.HASH.json`, a signed target).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyRecord {
    /// Format, 1.
    pub format: u32,
    /// One entry per rule id, sorted by id.
    pub rules: Vec<EmergencyEntry>,
}

/// One emergency rule in the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyEntry {
    /// The rule id.
    pub rule_id: String,
    /// Its severity.
    pub severity: Severity,
    /// The YARA file in the pack.
    pub file: String,
    /// That file's sha256.
    pub sha256: String,
    /// The pack version that first shipped this form of the rule.
    pub since: PackVersion,
    /// When it was pushed.
    pub added: Timestamp,
}

/// A republished pack, written and signed, ready to deploy.
#[derive(Debug, Clone)]
pub struct Republished {
    /// The new version.
    pub version: PackVersion,
    /// The version whose content it carries.
    pub from_version: PackVersion,
    /// The pack directory.
    pub out: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Signatures it carries now.
    pub signatures: usize,
    /// Signatures the root requires.
    pub threshold: u32,
}

impl Republished {
    /// Whether it carries enough signatures to deploy.
    pub fn fully_signed(&self) -> bool {
        self.signatures as u64 >= u64::from(self.threshold)
    }
}

/// Republishes version `to_version` as deployed at `origin` (its `history/VERSION/`
/// metadata and manifest, its content-addressed files) under the next free version at
/// `now`, into `out` (default `dist-NEWVERSION`), signed with `keys`.
pub fn rollback(
    origin: &Origin,
    to_version: &PackVersion,
    root: &[u8],
    keys: &[PrivateKey],
    out: Option<PathBuf>,
    now: Timestamp,
) -> Result<Republished, PublishError> {
    let known = known_versions(origin)?;
    if !known.contains(to_version) {
        let list: Vec<&str> = known.iter().map(PackVersion::as_str).collect();
        return Err(PublishError::Invalid(format!(
            "{} has no {HISTORY_DIR}/{to_version}/; versions deployed there: {}",
            origin.url(),
            if list.is_empty() { "none".to_owned() } else { list.join(", ") }
        )));
    }
    // The old content must still be what was signed then (its metadata has expired since,
    // so it is checked as of its own hour).
    let verified = Verifier::new(root.to_vec(), to_version.hour(), State::default())
        .verify(&origin.source(Some(to_version.as_str())))?;
    let version = next_version(known.last(), now)?;
    let out = out.unwrap_or_else(|| PathBuf::from(format!("dist-{version}")));
    let manifest = write_republished(&verified.files, &version, Vec::new(), &[], &|_| {}, &out)?;
    // The mirrors and the intel delegation are how the service runs now, not content: take
    // them from the current pack (the old one's when the current no longer verifies).
    let current = Verifier::new(root.to_vec(), now, State::default()).verify(&origin.source(None)).ok();
    keep_operations(&out, current.as_ref().unwrap_or(&verified))?;
    finish(out, manifest, to_version.clone(), ChangeKind::Rollback, root, keys)
}

/// Builds the current pack at `origin` plus `rule` under the next free version at `now`,
/// into `out` (default `dist-NEWVERSION`), signed with `keys`. The rule must compile
/// together with the built-in and the pack's YARA rules; its id and severity are recorded
/// in the pack's `emergency.HASH.json`. A rule with the same id replaces the earlier one.
pub fn emergency(
    origin: &Origin,
    rule: &EmergencyRule,
    root: &[u8],
    keys: &[PrivateKey],
    out: Option<PathBuf>,
    now: Timestamp,
) -> Result<Republished, PublishError> {
    let id = &rule.rule_id;
    if id.is_empty()
        || id.len() > 64
        || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        || !id.as_bytes()[0].is_ascii_alphanumeric()
    {
        return Err(PublishError::Invalid(format!(
            "rule id {:?}: use letters, digits, '-' and '_' (at most 64, starting with a letter or digit)",
            id.chars().take(80).collect::<String>()
        )));
    }
    if rule.source.trim().is_empty() || rule.source.len() > MAX_EMERGENCY_RULE_BYTES {
        return Err(PublishError::Invalid(format!(
            "the YARA rule for {id} must be non-empty and at most {MAX_EMERGENCY_RULE_BYTES} bytes"
        )));
    }
    if super::current_version(origin)?.is_none() {
        return Err(PublishError::NoCurrentPack(origin.url().to_owned()));
    }
    let verified = Verifier::new(root.to_vec(), now, State::default()).verify(&origin.source(None))?;
    let from_version = PackVersion::parse(&verified.pack_version)
        .map_err(|e| PublishError::Invalid(format!("the origin's pack: {e}")))?;
    let manifest = read_manifest(&verified.files)?;
    let version = next_version(known_versions(origin)?.last(), now)?;

    let mut record = EmergencyRecord { format: 1, rules: Vec::new() };
    let mut drop = Vec::new();
    if let Some((name, bytes)) = verified.files.iter().find(|(n, _)| is_record_name(n)) {
        record = serde_json::from_slice(bytes)
            .map_err(|e| PublishError::Invalid(format!("the origin's {name} is not an emergency record: {e}")))?;
        drop.push(name.clone());
    }
    if let Some(old) = record.rules.iter().find(|r| &r.rule_id == id) {
        drop.push(old.file.clone());
    }
    record.rules.retain(|r| &r.rule_id != id);

    let yara_bytes = rule.source.as_bytes().to_vec();
    let sha256 = Sha256::of(&yara_bytes);
    let yara_name = content_name(&format!("yara-emergency-{}", id.to_ascii_lowercase()), &sha256, "yar");
    let mut sources: Vec<(String, String)> = vec![("builtin.yar".into(), DEFAULT_YARA.into())];
    for entry in manifest.files.iter().filter(|e| e.role == Role::Yara && !drop.contains(&e.name)) {
        let text = String::from_utf8_lossy(&verified.files[&entry.name]).into_owned();
        sources.push((entry.name.clone(), text));
    }
    sources.push((format!("{id}.yar"), rule.source.clone()));
    Engine::new(Rules::builtin())
        .and_then(|engine| {
            engine.with_yara(sources.iter().map(|(n, s)| (n.as_str(), s.as_str())), Duration::from_millis(200))
        })
        .map_err(BuildError::Rules)?;

    record.rules.push(EmergencyEntry {
        rule_id: id.clone(),
        severity: rule.severity,
        file: yara_name.clone(),
        sha256: sha256.to_hex(),
        since: version.clone(),
        added: now,
    });
    record.rules.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
    let mut record_bytes = serde_json::to_vec_pretty(&record).expect("a record serialises");
    record_bytes.push(b'\n');
    let record_name = content_name("emergency", &Sha256::of(&record_bytes), "json");
    let yara_entry = FileEntry {
        name: yara_name.clone(),
        role: Role::Yara,
        sha256: sha256.to_hex(),
        size: yara_bytes.len() as u64,
        kind: None,
        encoding: None,
        count: None,
        expires: None,
        source: Some(format!("{id}.yar")),
    };
    let extras = vec![(yara_name, yara_bytes, Some(yara_entry)), (record_name, record_bytes, None)];
    let out = out.unwrap_or_else(|| PathBuf::from(format!("dist-{version}")));
    let manifest = write_republished(&verified.files, &version, extras, &drop, &|_| {}, &out)?;
    keep_operations(&out, &verified)?;
    finish(out, manifest, from_version, ChangeKind::Emergency, root, keys)
}

/// Writes `pack`'s mirrors and delegations into the republished pack in `out`, so a
/// rollback or an emergency rule keeps the CDNs clients fail over to and the automated
/// intel role.
pub(super) fn keep_operations(out: &Path, pack: &VerifiedPack) -> Result<(), PublishError> {
    crate::sign::write_mirrors(out, &pack.mirrors)?;
    if let Some(delegations) = &pack.delegations {
        super::intel::write_delegations(out, delegations)?;
    }
    Ok(())
}

fn is_record_name(name: &str) -> bool {
    name.starts_with("emergency.") && name.ends_with(".json") && !name.contains('/')
}

pub(super) fn read_manifest(files: &BTreeMap<String, Vec<u8>>) -> Result<Manifest, PublishError> {
    let bytes = files
        .get(MANIFEST_NAME)
        .ok_or_else(|| PublishError::Invalid("the signed pack at the origin has no manifest.json".into()))?;
    Manifest::from_json(bytes).map_err(|e| PublishError::Invalid(format!("the origin's manifest.json: {e}")))
}

pub(super) type Extra = (String, Vec<u8>, Option<FileEntry>);

/// Writes `files` (a verified pack) as version `version` into the empty directory `out`:
/// the rule set with its embedded version changed and a new content-addressed name, every
/// other file as it was, minus `drop`, plus `extras`, and a new manifest (written last)
/// that keeps the old one's validity period, minimum client version and attribution.
pub(super) fn write_republished(
    files: &BTreeMap<String, Vec<u8>>,
    version: &PackVersion,
    extras: Vec<Extra>,
    drop: &[String],
    edit_rules: &dyn Fn(&mut Rules),
    out: &Path,
) -> Result<Manifest, PublishError> {
    let old = read_manifest(files)?;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| PublishError::Io { path, source }
    };
    if out.exists() && std::fs::read_dir(out).map_err(io(out))?.next().is_some() {
        return Err(PublishError::Invalid(format!(
            "{} is not empty; republish into a new directory (metadata left there would be signed along)",
            out.display()
        )));
    }
    let mut written: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut entries = Vec::new();
    for entry in old.files.iter().filter(|e| !drop.contains(&e.name)) {
        let bytes = files.get(&entry.name).ok_or_else(|| {
            PublishError::Invalid(format!("the manifest lists {}, which the signed pack lacks", entry.name))
        })?;
        let mut entry = entry.clone();
        let mut bytes = bytes.clone();
        if entry.role == Role::Rules {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| PublishError::Invalid(format!("{}: the rule set is not UTF-8", entry.name)))?;
            let mut rules = Rules::from_json(text).map_err(BuildError::Rules)?;
            edit_rules(&mut rules);
            // Verdicts report the rule set's version as the pack version they were scored with.
            rules.version = version.to_string();
            Engine::new(rules.clone()).map_err(BuildError::Rules)?;
            bytes = rules.to_json_pretty().into_bytes();
            bytes.push(b'\n');
            let sha256 = Sha256::of(&bytes);
            entry.sha256 = sha256.to_hex();
            entry.size = bytes.len() as u64;
            entry.name = content_name("rules", &sha256, "json");
        }
        written.insert(entry.name.clone(), bytes);
        entries.push(entry);
    }
    // Signed files the manifest does not list (an emergency record) travel along; the
    // delegated roles' files (fresh intel) and deltas (which lead to the old version) do not.
    for (name, bytes) in files {
        if name != MANIFEST_NAME
            && !drop.contains(name)
            && !old.files.iter().any(|e| &e.name == name)
            && !name.contains('/')
        {
            written.insert(name.clone(), bytes.clone());
        }
    }
    for (name, bytes, entry) in extras {
        entries.extend(entry);
        written.insert(name, bytes);
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let created = version.hour();
    let manifest = Manifest {
        version: version.clone(),
        created,
        expires: created.plus_secs(old.expires.secs_since(old.created)),
        files: entries,
        ..old
    };

    std::fs::create_dir_all(out).map_err(io(out))?;
    for (name, bytes) in &written {
        if name.contains('/') || files::is_metadata(name) {
            return Err(PublishError::Invalid(format!("unexpected pack file name {name:?}")));
        }
        let path = out.join(name);
        write_atomic(&path, bytes).map_err(io(&path))?;
    }
    let path = out.join(MANIFEST_NAME);
    write_atomic(&path, &manifest.to_json()).map_err(io(&path))?;
    Ok(manifest)
}

pub(super) fn finish(
    out: PathBuf,
    manifest: Manifest,
    from_version: PackVersion,
    kind: ChangeKind,
    root: &[u8],
    keys: &[PrivateKey],
) -> Result<Republished, PublishError> {
    write_note(&out, &RepublishedNote { version: manifest.version.clone(), kind, from: from_version.clone() })?;
    let root = Root::parse_unverified(root).map_err(|e| PublishError::Invalid(e.to_string()))?;
    let threshold = root.threshold("targets").max(1);
    let mut signatures = 0;
    for key in keys {
        signatures = sign_pack(&out, key, Some(&root))?.signatures;
    }
    Ok(Republished { version: manifest.version.clone(), from_version, out, manifest, signatures, threshold })
}
