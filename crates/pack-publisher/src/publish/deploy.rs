//! `pack deploy`: verify a signed pack as a client would, then upload it in the order that
//! keeps the origin consistent for clients at every moment (`docs/formats/origin.md`).

use std::path::Path;

use ferretwatch_pack_client::dir::write_atomic;
use ferretwatch_pack_client::dir::DirSource;
use ferretwatch_pack_client::layout::{self as files, is_content_addressed, HISTORY_DIR, HISTORY_FILES};
use ferretwatch_pack_client::manifest::{Manifest, MANIFEST_NAME};
use ferretwatch_pack_client::trust::metadata::{Envelope, CANARY_DIR, FULL_SERVICE};
use ferretwatch_pack_client::trust::verify::{
    trusted_root, State, Verifier, MAX_PINS_BYTES, MAX_ROOT_BYTES, MAX_TARGETS_BYTES,
};
use ferretwatch_types::{PackVersion, Sha256, Timestamp};

use super::timestamp::{self, OnlineKey};
use super::PublishError;
use crate::origin::Origin;

/// What a deploy did.
#[derive(Debug, Clone)]
pub struct DeployReport {
    /// The version now served.
    pub version: PackVersion,
    /// The version served before, if any.
    pub previous: Option<PackVersion>,
    /// The origin.
    pub origin: String,
    /// Objects written, in upload order (`timestamp.json` last).
    pub uploaded: Vec<String>,
    /// Content-addressed files the origin already held.
    pub unchanged: Vec<String>,
    /// The degradation level the new timestamp carries, forward from the origin's (1, full
    /// service, unless an operator set another; always 1 without an online timestamp).
    pub degradation: u8,
}

/// Verifies the pack in `dir` against the root of trust at `now`, then publishes it to
/// `origin`: content-addressed files, root rotations, `history/VERSION/`, then the
/// manifest and the metadata with `timestamp.json` last. Nothing is deleted. Afterwards
/// the origin itself is verified the way a client reads it.
pub fn deploy(dir: &Path, origin: &Origin, root: &[u8], now: Timestamp) -> Result<DeployReport, PublishError> {
    deploy_online(dir, origin, root, now, None)
}

/// [`deploy`] under a root with an online timestamp role: the timestamp is made now with
/// the online key (pinning the pack's snapshot by version, length and sha256, one version
/// above the origin's current timestamp, at its degradation level) and written into the
/// pack before it is verified.
/// Under such a root a deploy without the online key is refused with that reason.
pub fn deploy_online(
    dir: &Path,
    origin: &Origin,
    root: &[u8],
    now: Timestamp,
    online: Option<&OnlineKey>,
) -> Result<DeployReport, PublishError> {
    // The root in force once this pack is out: the origin's rotations, then the pack's own.
    let serving = timestamp::current_root(origin, root)?;
    let mut in_force = serving.clone();
    for (name, bytes) in root_rotations(dir)? {
        if files::root_rotation_version(&name) == Some(in_force.version + 1) {
            in_force = ferretwatch_pack_client::trust::verify::check_rotation(&in_force, &bytes)?;
        }
    }
    let mut degradation = FULL_SERVICE;
    match online {
        Some(online) => {
            online.check(&in_force)?;
            if timestamp::has_online_snapshot(&in_force) {
                write_online_snapshot(dir, origin, online)?;
            }
            let path = dir.join(files::SNAPSHOT);
            let snapshot = std::fs::read(&path).map_err(|source| PublishError::Io { path: path.clone(), source })?;
            let snapshot_version = timestamp::version_of(&snapshot)
                .ok_or_else(|| PublishError::Invalid(format!("{}: no version; sign the pack first", path.display())))?;
            let current = origin.get(files::TIMESTAMP, MAX_PINS_BYTES)?;
            let version = timestamp::next_after(current.as_deref(), snapshot_version);
            // The level the origin's timestamp carries, signed under the root it was made
            // under (before this pack's rotations).
            degradation = timestamp::carried_degradation(current.as_deref(), &serving);
            let bytes = timestamp::make(&snapshot, snapshot_version, version, online, now, degradation);
            let path = dir.join(files::TIMESTAMP);
            write_atomic(&path, &bytes).map_err(|source| PublishError::Io { path, source })?;
        }
        None if timestamp::has_online_timestamp(&in_force) => {
            return Err(PublishError::Invalid(format!(
                "root version {} signs timestamps online: deploy with the online timestamp key (--online-key or \
                 FERRETWATCH_ONLINE_KEY)",
                in_force.version
            )))
        }
        None => {}
    }
    // A pack directory never holds the delegated roles' metadata and files: those the
    // origin serves are read from it (and verified like everything else).
    let source = PackThenOrigin { pack: DirSource(dir.to_owned()), origin: origin.source(None) };
    let verified = Verifier::new(root.to_vec(), now, State::default()).verify(&source)?;
    let manifest_bytes = verified
        .files
        .get(MANIFEST_NAME)
        .ok_or_else(|| PublishError::Invalid(format!("{}: the signed pack has no manifest.json", dir.display())))?;
    let manifest = Manifest::from_json(manifest_bytes)
        .map_err(|e| PublishError::Invalid(format!("{}: manifest.json: {e}", dir.display())))?;
    if manifest.version.as_str() != verified.pack_version {
        return Err(PublishError::Invalid(format!(
            "manifest.json says version {} but targets.json says {}",
            manifest.version, verified.pack_version
        )));
    }
    let own = |name: &String| !verified.delegated.contains(name);
    for name in verified.files.keys().filter(|n| !is_manifest(n) && !is_delta(n) && own(n)) {
        if !is_content_addressed(name, &verified.files[name]) {
            return Err(PublishError::Invalid(format!(
                "{name} is not content-addressed (STEM.<first 16 hex of its sha256>.EXT): uploading it would \
                 overwrite what clients of the previous version still read"
            )));
        }
    }

    let read = |name: &str| -> Result<Vec<u8>, PublishError> {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| PublishError::Io { path, source })
    };
    let metadata: Vec<(&str, Vec<u8>)> = [files::TARGETS, files::SNAPSHOT, files::TIMESTAMP]
        .into_iter()
        .map(|n| Ok((n, read(n)?)))
        .collect::<Result<_, PublishError>>()?;

    let previous = current_version(origin)?;
    if let Some(previous) = &previous {
        if manifest.version < *previous {
            return Err(PublishError::VersionNotIncreasing {
                version: manifest.version.to_string(),
                current: previous.to_string(),
            });
        }
        if manifest.version == *previous && !same_signed_targets(origin, &metadata[0].1)? {
            return Err(PublishError::Invalid(format!(
                "version {previous} is already deployed at {} with other content; build the next version",
                origin.url()
            )));
        }
    }

    let mut report = DeployReport {
        version: manifest.version.clone(),
        previous,
        origin: origin.url().to_owned(),
        uploaded: Vec::new(),
        unchanged: Vec::new(),
        degradation,
    };
    // 1. Content-addressed files: new names, so nothing a client reads now changes. Each
    //    also under its consistent-snapshot name (`DIR/SHA256.NAME`), the manifest too.
    for (name, bytes) in verified.files.iter().filter(|(name, _)| own(name)) {
        let prefixed = files::hash_prefixed(name, &Sha256::of(bytes).to_hex());
        // The canary's manifest (one canary runs at a time) is also written under its plain
        // name, for clients that do not read consistent snapshots.
        let names = if name == MANIFEST_NAME { vec![prefixed] } else { vec![name.clone(), prefixed] };
        for name in names {
            // A delta's plain name is not content-addressed: always written.
            if !is_delta(&name) && origin.size(&name)? == Some(bytes.len() as u64) {
                report.unchanged.push(name);
            } else {
                origin.put(&name, bytes)?;
                report.uploaded.push(name);
            }
        }
    }
    // 2. The root of trust as `N.root.json` (TUF clients start from `1.root.json`), and the
    //    rotations the pack carries, before any metadata signed under them.
    let trusted = trusted_root(root)?;
    let mut roots = vec![(files::root_rotation(trusted.version), root.to_vec())];
    roots.extend(root_rotations(dir)?);
    for (name, bytes) in roots {
        match origin.get(&name, MAX_ROOT_BYTES)? {
            Some(existing) if existing == bytes => report.unchanged.push(name),
            Some(_) => {
                return Err(PublishError::Invalid(format!(
                    "the origin already holds a different {name}; a root version is published once"
                )))
            }
            None => {
                origin.put(&name, &bytes)?;
                report.uploaded.push(name);
            }
        }
    }
    // 3. The history copy (no client reads it; rollbacks and audits do).
    let version_dir = format!("{HISTORY_DIR}/{}", manifest.version);
    let live: Vec<(&str, &[u8])> = std::iter::once((MANIFEST_NAME, manifest_bytes.as_slice()))
        .chain(metadata.iter().map(|(n, b)| (*n, b.as_slice())))
        .collect();
    debug_assert_eq!(live.iter().map(|(n, _)| *n).collect::<Vec<_>>(), HISTORY_FILES);
    for (name, bytes) in &live {
        let object = format!("{version_dir}/{name}");
        origin.put(&object, bytes)?;
        report.uploaded.push(object);
    }
    // The operators' record of this deploy (what kind, what it replaced), beside the copy.
    let note = super::record::read_note(dir, &manifest.version);
    let record = super::record::DeployRecord {
        version: manifest.version.clone(),
        deployed_at: now,
        kind: note.as_ref().map_or(super::record::ChangeKind::Build, |n| n.kind),
        previous: report.previous.clone(),
        restores: note.filter(|n| n.kind == super::record::ChangeKind::Rollback).map(|n| n.from),
    };
    // (A deploy run again for the version already served keeps the first record.)
    if report.previous.as_ref() != Some(&manifest.version) {
        super::record::write_record(origin, &record)?;
        report.uploaded.push(format!("{version_dir}/{}", super::record::DEPLOY_RECORD));
    }
    // 4. The versioned snapshot and targets (`VERSION.ROLE.json`): a client reading the
    //    new timestamp finds them, and one holding the old timestamp still finds the old.
    for (index, role) in [(1, "snapshot"), (0, "targets")] {
        let bytes = &metadata[index].1;
        let version = Envelope::parse(bytes)
            .ok()
            .and_then(|e| e.signed.get("version").and_then(|v| v.as_u64()))
            .ok_or_else(|| PublishError::Invalid(format!("{role}.json has no version")))?;
        let name = files::versioned(role, version);
        origin.put(&name, bytes)?;
        report.uploaded.push(name);
    }
    // 5. What clients read, the entry point last.
    for (name, bytes) in &live {
        origin.put(name, bytes)?;
        report.uploaded.push((*name).to_owned());
    }

    let read_back = |verifier: Verifier| verifier.verify(&origin.source(None));
    read_back(Verifier::new(root.to_vec(), now, State::default()))
        .and_then(|_| read_back(Verifier::new(root.to_vec(), now, State::default()).consistent_when_root_says()))
        .map_err(|e| PublishError::Store {
            origin: origin.url().to_owned(),
            detail: format!("uploaded, but the origin does not verify as a client reads it: {e}"),
        })?;
    Ok(report)
}

/// A pack directory with the origin behind it.
struct PackThenOrigin<'a> {
    pack: DirSource,
    origin: crate::origin::OriginSource<'a>,
}

impl ferretwatch_pack_client::trust::verify::Source for PackThenOrigin<'_> {
    fn fetch(
        &self,
        name: &str,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, ferretwatch_pack_client::trust::verify::VerifyError> {
        match self.pack.fetch(name, limit)? {
            Some(bytes) => Ok(Some(bytes)),
            None => self.origin.fetch(name, limit),
        }
    }
}

/// Writes the pack's snapshot, signed with the online key: its `targets.json`, and the
/// origin's current metadata of each role the targets delegate to (fresh intel published
/// since stays in force), one version above the origin's snapshot.
fn write_online_snapshot(dir: &Path, origin: &Origin, online: &OnlineKey) -> Result<(), PublishError> {
    let path = dir.join(files::TARGETS);
    let targets = std::fs::read(&path).map_err(|source| PublishError::Io { path: path.clone(), source })?;
    let targets_version = timestamp::version_of(&targets)
        .ok_or_else(|| PublishError::Invalid(format!("{}: no version", path.display())))?;
    let expires = timestamp::expiry_of(&targets)
        .ok_or_else(|| PublishError::Invalid(format!("{}: no expiry", path.display())))?;
    let delegated = timestamp::delegated_metadata(origin, &targets, None)?;
    let current = origin.get(files::SNAPSHOT, MAX_PINS_BYTES)?;
    let version = timestamp::next_after(current.as_deref(), targets_version);
    let bytes = timestamp::make_snapshot(&targets, &delegated, version, expires, online)?;
    let path = dir.join(files::SNAPSHOT);
    write_atomic(&path, &bytes).map_err(|source| PublishError::Io { path, source })
}

/// Whether `name` is the pack's manifest or its canary's (`canary/manifest.json`,
/// `docs/canaries.md`): not content-addressed.
fn is_manifest(name: &str) -> bool {
    name == MANIFEST_NAME
        || name.strip_prefix(CANARY_DIR).and_then(|rest| rest.strip_prefix('/')) == Some(MANIFEST_NAME)
}

/// Whether `name` is one of the pack's deltas (`deltas/BASE_VERSION.fwd`): named after
/// their base, not their content, they are served by their hash-prefixed name to clients
/// that read consistent snapshots, and under their plain name for the newest pack.
fn is_delta(name: &str) -> bool {
    name.strip_prefix(&format!("{}/", files::DELTA_DIR))
        .and_then(|file| file.strip_suffix(&format!(".{}", files::DELTA_EXTENSION)))
        .is_some_and(|base| PackVersion::parse(base).is_ok())
}

/// The version the origin serves now (from its `targets.json`, unverified: this is only
/// used to keep versions increasing), `None` when it serves no pack.
pub fn current_version(origin: &Origin) -> Result<Option<PackVersion>, PublishError> {
    let Some(bytes) = origin.get(files::TARGETS, MAX_TARGETS_BYTES)? else { return Ok(None) };
    let unreadable = |why: String| PublishError::Store {
        origin: origin.url().to_owned(),
        detail: format!("targets.json: {why}; repair the origin before publishing"),
    };
    let envelope = Envelope::parse(&bytes).map_err(|e| unreadable(e.to_string()))?;
    let text = envelope
        .signed
        .pointer("/custom/pack_version")
        .and_then(|v| v.as_str())
        .ok_or_else(|| unreadable("no custom.pack_version".into()))?;
    PackVersion::parse(text).map(Some).map_err(|e| unreadable(e.to_string()))
}

/// Every version the origin has served: its history directories and its current version,
/// sorted.
pub fn known_versions(origin: &Origin) -> Result<Vec<PackVersion>, PublishError> {
    let mut versions: Vec<PackVersion> =
        origin.subdirs(HISTORY_DIR)?.iter().filter_map(|name| PackVersion::parse(name).ok()).collect();
    versions.extend(current_version(origin)?);
    versions.sort();
    versions.dedup();
    Ok(versions)
}

fn same_signed_targets(origin: &Origin, ours: &[u8]) -> Result<bool, PublishError> {
    let theirs = origin.get(files::TARGETS, MAX_TARGETS_BYTES)?.unwrap_or_default();
    let signed = |bytes: &[u8]| Envelope::parse(bytes).ok().map(|e| e.signed);
    Ok(signed(&theirs).is_some() && signed(&theirs) == signed(ours))
}

/// The pack's `N.root.json` files, in version order.
fn root_rotations(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, PublishError> {
    let io = |source| PublishError::Io { path: dir.to_owned(), source };
    let mut rotations = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(number) = files::root_rotation_version(&name) else { continue };
        let bytes = std::fs::read(entry.path()).map_err(|source| PublishError::Io { path: entry.path(), source })?;
        rotations.push((number, name, bytes));
    }
    rotations.sort();
    Ok(rotations.into_iter().map(|(_, name, bytes)| (name, bytes)).collect())
}
