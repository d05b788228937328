//! The deploy record: what the operator's own tools know about each deploy, beside the
//! signed history (`history/VERSION/deploy.json`).
//!
//! A republished pack (a rollback, an emergency rule, a console amendment) leaves a small
//! note beside its directory (`DIR.republished.json`: what kind, from which version; not
//! in it, where every file is a signed pack file); a deploy turns that note, the time and
//! the version it replaced into the record. Clients never
//! read either: they are the operators' change log, from which incident timelines show the
//! deploys and the change failure rate counts the deploys a rollback reverted. Versions
//! deployed before records existed are listed from their signed manifest's `created`
//! time, of kind `unknown`.

use std::path::Path;

use ferretwatch_pack_client::layout::HISTORY_DIR;
use ferretwatch_pack_client::manifest::{Manifest, MANIFEST_NAME};
use ferretwatch_types::{PackVersion, Timestamp};
use serde::{Deserialize, Serialize};

use super::deploy::known_versions;
use super::PublishError;
use crate::origin::Origin;

/// The suffix of the note beside a republished pack directory.
pub const REPUBLISHED_NOTE: &str = ".republished.json";
/// The record in `history/VERSION/`.
pub const DEPLOY_RECORD: &str = "deploy.json";
/// The largest record or note read.
const MAX_RECORD_BYTES: u64 = 16 * 1024;
/// The largest history manifest read (only its `created` is used).
const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// What a deploy shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A pack built from the feeds and rules (`pack build`).
    Build,
    /// An earlier version's content again.
    Rollback,
    /// The current pack plus an emergency YARA rule.
    Emergency,
    /// The current pack with the console's lists changed.
    Amend,
    /// Deployed before records were kept.
    Unknown,
}

/// The note in a republished pack's directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepublishedNote {
    /// The version the republished pack carries (a note about another is stale).
    pub version: PackVersion,
    /// What kind of republishing.
    pub kind: ChangeKind,
    /// The version whose content it starts from (for a rollback: the version it restores).
    pub from: PackVersion,
}

/// One deploy, as the origin's history records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRecord {
    /// The version deployed.
    pub version: PackVersion,
    /// When (the manifest's creation time for versions without a record).
    pub deployed_at: Timestamp,
    /// What it shipped.
    pub kind: ChangeKind,
    /// The version served before it.
    #[serde(default)]
    pub previous: Option<PackVersion>,
    /// For a rollback, the version whose content it restored.
    #[serde(default)]
    pub restores: Option<PackVersion>,
}

/// Where the note of the pack directory `dir` is: beside it.
fn note_path(dir: &Path) -> Option<std::path::PathBuf> {
    let name = dir.file_name()?.to_string_lossy().into_owned();
    Some(dir.with_file_name(format!("{name}{REPUBLISHED_NOTE}")))
}

/// Writes the note beside a republished pack's directory.
pub(super) fn write_note(dir: &Path, note: &RepublishedNote) -> Result<(), PublishError> {
    let dir = std::path::absolute(dir).map_err(|source| PublishError::Io { path: dir.to_owned(), source })?;
    let path =
        note_path(&dir).ok_or_else(|| PublishError::Invalid(format!("{}: not a directory name", dir.display())))?;
    let bytes = serde_json::to_vec_pretty(note).map_err(|e| PublishError::Invalid(e.to_string()))?;
    std::fs::write(&path, bytes).map_err(|source| PublishError::Io { path, source })
}

/// The note beside `dir`, if there is a readable one.
pub(super) fn read_note(dir: &Path, version: &PackVersion) -> Option<RepublishedNote> {
    let bytes = std::fs::read(note_path(&std::path::absolute(dir).ok()?)?).ok()?;
    serde_json::from_slice::<RepublishedNote>(&bytes).ok().filter(|note| &note.version == version)
}

/// Writes the record of a deploy that has just succeeded.
pub(super) fn write_record(origin: &Origin, record: &DeployRecord) -> Result<(), PublishError> {
    let bytes = serde_json::to_vec_pretty(record).map_err(|e| PublishError::Invalid(e.to_string()))?;
    origin.put(&format!("{HISTORY_DIR}/{}/{DEPLOY_RECORD}", record.version), &bytes)
}

/// Every deploy the origin's history knows, oldest first. A version whose record is
/// missing or unreadable is listed from its manifest as [`ChangeKind::Unknown`]; one with
/// neither is left out.
pub fn deploy_history(origin: &Origin) -> Result<Vec<DeployRecord>, PublishError> {
    let mut history = Vec::new();
    let mut previous: Option<PackVersion> = None;
    for version in known_versions(origin)? {
        let dir = format!("{HISTORY_DIR}/{version}");
        let recorded = origin
            .get(&format!("{dir}/{DEPLOY_RECORD}"), MAX_RECORD_BYTES)?
            .and_then(|bytes| serde_json::from_slice::<DeployRecord>(&bytes).ok())
            .filter(|r| r.version == version);
        let record = match recorded {
            Some(record) => record,
            None => {
                let Some(bytes) = origin.get(&format!("{dir}/{MANIFEST_NAME}"), MAX_MANIFEST_BYTES)? else {
                    continue;
                };
                let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) else { continue };
                DeployRecord {
                    version: version.clone(),
                    deployed_at: manifest.created,
                    kind: ChangeKind::Unknown,
                    previous: previous.clone(),
                    restores: None,
                }
            }
        };
        previous = Some(version);
        history.push(record);
    }
    Ok(history)
}

/// The deploys a rollback reverted: for each rollback, every version deployed after the
/// one it restores and before the rollback itself.
pub fn reverted(history: &[DeployRecord]) -> Vec<&PackVersion> {
    let mut failed: Vec<&PackVersion> = Vec::new();
    for rollback in history.iter().filter(|r| r.kind == ChangeKind::Rollback) {
        let Some(restored) = &rollback.restores else { continue };
        for record in history.iter().filter(|r| &r.version > restored && r.version < rollback.version) {
            if !failed.contains(&&record.version) {
                failed.push(&record.version);
            }
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(version: &str, kind: ChangeKind, restores: Option<&str>) -> DeployRecord {
        DeployRecord {
            version: PackVersion::parse(version).unwrap(),
            deployed_at: Timestamp::from_secs(0),
            kind,
            previous: None,
            restores: restores.map(|v| PackVersion::parse(v).unwrap()),
        }
    }

    #[test]
    fn a_rollback_reverts_every_version_after_the_one_it_restores() {
        let history = [
            record("2026.12.01.10", ChangeKind::Build, None),
            record("2026.12.01.11", ChangeKind::Build, None),
            record("2026.12.01.12", ChangeKind::Emergency, None),
            record("2026.12.01.13", ChangeKind::Rollback, Some("2026.12.01.10")),
            record("2026.12.01.14", ChangeKind::Build, None),
        ];
        let failed: Vec<&str> = reverted(&history).iter().map(|v| v.as_str()).collect();
        assert_eq!(failed, ["2026.12.01.11", "2026.12.01.12"]);
    }

    #[test]
    fn no_rollback_reverts_nothing() {
        let history =
            [record("2026.12.01.10", ChangeKind::Build, None), record("2026.12.01.11", ChangeKind::Amend, None)];
        assert!(reverted(&history).is_empty());
    }
}
