//! Rule pack canaries (`docs/canaries.md`): a pack with new YARA rules for a stable,
//! random cohort of installs, beside the pack everybody else keeps.
//!
//! [`start`] writes one signed pack directory holding two packs: the origin's current
//! pack republished under a new version (the control), and the same content plus the new
//! rules under `canary/` (the canary), with `custom.canary` in the signed `targets`
//! naming the canary's version, its percentage and a fresh random salt. Each client
//! decides from that salt and its own secret seed whether it takes the canary
//! (`ferretwatch_pack_client::update::in_canary`), so the origin serves the same bytes to
//! everyone. [`finish_canary`] ends it: the canary's content (promote) or the control's
//! (rollback) republished for everyone under the next version, the canary gone.
//!
//! The origin records the running canary in `canary/state.json` and each finished one in
//! `canary/history/ID.json`: operators' records, which clients never read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferretwatch_detect::{Engine, Rules, DEFAULT_YARA};
use ferretwatch_pack_client::dir::{pack_files, write_atomic};
use ferretwatch_pack_client::layout::{content_name, MANIFEST};
use ferretwatch_pack_client::manifest::{FileEntry, Role};
use ferretwatch_pack_client::trust::metadata::{Canary, CANARY_DIR};
use ferretwatch_pack_client::trust::verify::{State, VerifiedPack, Verifier};
use ferretwatch_types::{PackVersion, Sha256, Timestamp};
use serde::{Deserialize, Serialize};

use super::deploy::known_versions;
use super::record::ChangeKind;
use super::republish::{finish, keep_operations, read_manifest, write_republished, Republished};
use super::{next_version, PublishError};
use crate::error::BuildError;
use crate::keys::PrivateKey;
use crate::origin::Origin;
use crate::sign::write_canary;

/// The running canary's record at the origin.
pub const STATE_OBJECT: &str = "canary/state.json";
/// The largest YARA source a canary ships.
pub const MAX_CANARY_RULES_BYTES: usize = 1024 * 1024;

/// A canary as the origin records it (`canary/state.json` while it runs,
/// `canary/history/ID.json` once finished).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanaryRecord {
    /// Format, 1.
    pub format: u32,
    /// Its id: the canary pack's version.
    pub id: String,
    /// The canary pack's version (what its installs report).
    pub pack_version: PackVersion,
    /// The control pack's version (what every other install reports).
    pub control_version: PackVersion,
    /// The version the origin served before the canary.
    pub previous_version: PackVersion,
    /// Percent of installs in the cohort.
    pub percentage: u64,
    /// The cohort's salt (public: it is in the signed targets).
    pub salt: String,
    /// The YARA file the canary adds.
    pub rules_file: String,
    /// When it was deployed.
    pub started_at: Timestamp,
    /// `running`, `promoted` or `rolled_back`.
    pub status: String,
    /// When it was finalised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// The version that ended it (for everyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_version: Option<PackVersion>,
}

/// The canary running at `origin`, if one does.
pub fn running(origin: &Origin) -> Result<Option<CanaryRecord>, PublishError> {
    let Some(bytes) = origin.get(STATE_OBJECT, 64 * 1024)? else { return Ok(None) };
    let record: CanaryRecord = serde_json::from_slice(&bytes).map_err(|e| PublishError::Store {
        origin: origin.url().to_owned(),
        detail: format!("{STATE_OBJECT}: {e}; repair or remove it"),
    })?;
    Ok((record.status == "running").then_some(record))
}

/// A canary written and signed, ready to deploy.
#[derive(Debug)]
pub struct Started {
    /// The signed pack directory (control and canary).
    pub made: Republished,
    /// The record to write once it is deployed ([`record_started`]).
    pub record: CanaryRecord,
}

/// Builds a canary at `origin`: its current pack republished as the control, and the
/// current pack plus `yara` (a YARA source, which must compile with the built-in and the
/// pack's rules) as the canary for `percentage` percent of installs, with a fresh salt,
/// into `out` (a new or empty directory), signed with `keys`. Refused while a canary runs.
pub fn start(
    origin: &Origin,
    yara: &str,
    percentage: u64,
    root: &[u8],
    keys: &[PrivateKey],
    out: PathBuf,
    now: Timestamp,
) -> Result<Started, PublishError> {
    if let Some(record) = running(origin)? {
        return Err(PublishError::Invalid(format!(
            "canary {} ({}% on {}) is running since {}; finalize it first",
            record.id, record.percentage, record.pack_version, record.started_at
        )));
    }
    if !(1..=100).contains(&percentage) {
        return Err(PublishError::Invalid(format!("canary percentage {percentage}: use 1 to 100")));
    }
    if super::current_version(origin)?.is_none() {
        return Err(PublishError::NoCurrentPack(origin.url().to_owned()));
    }
    let verified = Verifier::new(root.to_vec(), now, State::default()).verify(&origin.source(None))?;
    let previous = PackVersion::parse(&verified.pack_version)
        .map_err(|e| PublishError::Invalid(format!("the origin's pack: {e}")))?;
    let own = own_files(&verified);
    let canary_version = next_version(known_versions(origin)?.last(), now)?;
    let control_version = next_version(Some(&canary_version), now)?;
    let staging = out.with_file_name(format!(
        "{}.canary-pack",
        out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|source| PublishError::Io { path: staging.clone(), source })?;
    }
    let yara_name = with_rules(&own, yara, &canary_version, &staging)?;
    let control = write_republished(&own, &control_version, Vec::new(), &[], &|_| {}, &out)?;
    let canary_dir = out.join(CANARY_DIR);
    std::fs::create_dir_all(&canary_dir).map_err(|source| PublishError::Io { path: canary_dir.clone(), source })?;
    for (name, bytes) in pack_files(&staging)? {
        let path = canary_dir.join(&name);
        write_atomic(&path, &bytes).map_err(|source| PublishError::Io { path, source })?;
    }
    std::fs::remove_dir_all(&staging).map_err(|source| PublishError::Io { path: staging.clone(), source })?;
    keep_operations(&out, &verified)?;
    let salt = random_salt()?;
    write_canary(&out, Some(&Canary { pack_version: canary_version.to_string(), percentage, salt: salt.clone() }))?;
    let made = finish(out, control, previous.clone(), ChangeKind::Emergency, root, keys)?;
    let record = CanaryRecord {
        format: 1,
        id: canary_version.to_string(),
        pack_version: canary_version,
        control_version,
        previous_version: previous,
        percentage,
        salt,
        rules_file: yara_name,
        started_at: now,
        status: "running".into(),
        finished_at: None,
        final_version: None,
    };
    Ok(Started { made, record })
}

/// Writes `files` (a pack) plus the YARA source `yara` as version `version` into the new
/// or empty directory `out`, unsigned: the pack a canary ships, and what the staging gate
/// tests. The rules must compile with the built-in and the pack's YARA rules (otherwise
/// the compiler's message, a `rules` build error). Returns the new YARA file's name.
pub fn with_rules(
    files: &BTreeMap<String, Vec<u8>>,
    yara: &str,
    version: &PackVersion,
    out: &Path,
) -> Result<String, PublishError> {
    if yara.trim().is_empty() || yara.len() > MAX_CANARY_RULES_BYTES {
        return Err(PublishError::Invalid(format!(
            "the canary's YARA rules must be non-empty and at most {MAX_CANARY_RULES_BYTES} bytes"
        )));
    }
    let manifest = read_manifest(files)?;
    let yara_bytes = yara.as_bytes().to_vec();
    let sha256 = Sha256::of(&yara_bytes);
    let yara_name = content_name("yara-canary", &sha256, "yar");
    let mut sources: Vec<(String, String)> = vec![("builtin.yar".into(), DEFAULT_YARA.into())];
    for entry in manifest.files.iter().filter(|e| e.role == Role::Yara) {
        let text = files.get(&entry.name).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        sources.push((entry.name.clone(), text));
    }
    sources.push(("canary.yar".into(), yara.to_owned()));
    Engine::new(Rules::builtin())
        .and_then(|engine| {
            engine.with_yara(sources.iter().map(|(n, s)| (n.as_str(), s.as_str())), Duration::from_millis(200))
        })
        .map_err(BuildError::Rules)?;
    let entry = FileEntry {
        name: yara_name.clone(),
        role: Role::Yara,
        sha256: sha256.to_hex(),
        size: yara_bytes.len() as u64,
        kind: None,
        encoding: None,
        count: None,
        expires: None,
        source: Some("canary.yar".into()),
    };
    write_republished(files, version, vec![(yara_name.clone(), yara_bytes, Some(entry))], &[], &|_| {}, out)?;
    Ok(yara_name)
}

/// Writes `files` (a pack) as version `version` into the new or empty directory `out`,
/// unsigned and otherwise unchanged: what [`with_rules`] is compared with.
pub fn write_pack(files: &BTreeMap<String, Vec<u8>>, version: &PackVersion, out: &Path) -> Result<(), PublishError> {
    write_republished(files, version, Vec::new(), &[], &|_| {}, out).map(|_| ())
}

/// Records at `origin` that the canary `record` runs (after its pack is deployed).
pub fn record_started(origin: &Origin, record: &CanaryRecord) -> Result<(), PublishError> {
    put_json(origin, STATE_OBJECT, record)
}

/// How a canary ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The canary's pack for everyone.
    Promote,
    /// The control pack for everyone.
    Rollback,
}

/// Ends the running canary at `origin`: the canary's content (`Promote`) or the
/// control's (`Rollback`) under the next free version, without `custom.canary`, into
/// `out`, signed with `keys`. Refused when no canary runs, or when the origin no longer
/// serves the canary's pack.
pub fn finish_canary(
    origin: &Origin,
    decision: Decision,
    root: &[u8],
    keys: &[PrivateKey],
    out: PathBuf,
    now: Timestamp,
) -> Result<(Republished, CanaryRecord), PublishError> {
    let Some(mut record) = running(origin)? else {
        return Err(PublishError::Invalid(format!("no canary runs at {}", origin.url())));
    };
    let verified = Verifier::new(root.to_vec(), now, State::default()).verify(&origin.source(None))?;
    if verified.pack_version != record.control_version.as_str() {
        return Err(PublishError::Invalid(format!(
            "the origin serves {} now, not the canary's control {}; was another pack deployed?",
            verified.pack_version, record.control_version
        )));
    }
    let prefix = format!("{CANARY_DIR}/");
    let (files, from, kind) = match decision {
        Decision::Promote => {
            let files: BTreeMap<String, Vec<u8>> = verified
                .files
                .iter()
                .filter_map(|(name, bytes)| Some((name.strip_prefix(&prefix)?.to_owned(), bytes.clone())))
                .collect();
            if !files.contains_key(MANIFEST) {
                return Err(PublishError::Invalid("the origin's pack carries no canary pack".into()));
            }
            (files, record.pack_version.clone(), ChangeKind::Build)
        }
        Decision::Rollback => (own_files(&verified), record.previous_version.clone(), ChangeKind::Rollback),
    };
    let version = next_version(known_versions(origin)?.last(), now)?;
    let manifest = write_republished(&files, &version, Vec::new(), &[], &|_| {}, &out)?;
    keep_operations(&out, &verified)?;
    let made = finish(out, manifest, from, kind, root, keys)?;
    record.status = match decision {
        Decision::Promote => "promoted",
        Decision::Rollback => "rolled_back",
    }
    .into();
    record.finished_at = Some(now);
    record.final_version = Some(version);
    Ok((made, record))
}

/// Records at `origin` how the canary ended (after the final pack is deployed): its
/// history entry, then the state no longer running.
pub fn record_finished(origin: &Origin, record: &CanaryRecord) -> Result<(), PublishError> {
    put_json(origin, &format!("{CANARY_DIR}/history/{}.json", record.id), record)?;
    put_json(origin, STATE_OBJECT, record)
}

/// The files of the top-level pack, without the canary's and the delegated roles'.
fn own_files(verified: &VerifiedPack) -> BTreeMap<String, Vec<u8>> {
    let prefix = format!("{CANARY_DIR}/");
    verified
        .files
        .iter()
        .filter(|(name, _)| !name.starts_with(&prefix) && !verified.delegated.contains(*name))
        .map(|(name, bytes)| (name.clone(), bytes.clone()))
        .collect()
}

fn put_json(origin: &Origin, name: &str, value: &impl Serialize) -> Result<(), PublishError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| PublishError::Invalid(e.to_string()))?;
    bytes.push(b'\n');
    origin.put(name, &bytes)
}

/// 128 random bits, hex.
fn random_salt() -> Result<String, PublishError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| PublishError::Invalid(format!("no randomness for the salt: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
