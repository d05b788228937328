//! Fresh intel without waking two people: the delegated `intel` role.
//!
//! The publishers' `targets` (two signatures, offline) delegates the paths `intel/*` to
//! one automated key (`pack build --delegate-intel intel.pub`). [`publish_intel`] builds
//! the reputation filters from the feeds, lists them with an `intel/manifest.json` in the
//! role's own metadata (`intel.json`, signed by the intel key), and publishes a new
//! snapshot and timestamp with the online key. Clients take the role's files only inside
//! its paths, with its threshold, and never above the top-level listing: the intel key
//! can ship filters and nothing else (no rules, no YARA, no code), and the loader refuses
//! anything but filters in `intel/manifest.json`.

use std::collections::BTreeMap;
use std::path::Path;

use ferretwatch_pack_client::layout;
use ferretwatch_pack_client::manifest::{Manifest, Role, MANIFEST_NAME};
use ferretwatch_pack_client::trust::metadata::{typed, Envelope, TargetFile, Targets, SPEC_VERSION};
use ferretwatch_pack_client::trust::verify::{State, Verifier, MAX_PINS_BYTES, MAX_TARGETS_BYTES};
use ferretwatch_types::{PackVersion, Sha256, Timestamp};

use super::timestamp::{self, OnlineKey};
use super::{next_version, PublishError};
use crate::keys::PrivateKey;
use crate::origin::Origin;
use crate::{build, BuildOptions};

/// How long a published intel role stays valid by default: two days (feeds refresh
/// several times a day; a stopped pipeline is noticed well before the pack expires).
pub const DEFAULT_INTEL_TTL_SECS: u64 = 48 * 3600;

/// What an intel publication did.
#[derive(Debug, Clone)]
pub struct IntelReport {
    /// The intel manifest's version.
    pub version: PackVersion,
    /// The `intel` role's metadata version.
    pub role_version: u64,
    /// Filters shipped, by name, with their indicator counts.
    pub filters: Vec<(String, u64)>,
    /// Objects written, in order (`timestamp.json` last).
    pub uploaded: Vec<String>,
}

/// What to publish, and when.
#[derive(Debug, Clone, Copy)]
pub struct IntelPublish<'a> {
    /// The feeds directory (`*.feed`).
    pub feeds: &'a Path,
    /// Seconds the intel role's metadata stays valid.
    pub ttl_secs: u64,
    /// The publisher's clock.
    pub now: Timestamp,
    /// An empty scratch directory.
    pub work: &'a Path,
}

/// Builds filters from the feeds and publishes them at `origin` as the delegated intel
/// role: signed by `intel_key`, with a new snapshot and timestamp signed by the online
/// key.
pub fn publish_intel(
    origin: &Origin,
    root: &[u8],
    intel_key: &PrivateKey,
    online: &OnlineKey,
    request: &IntelPublish<'_>,
) -> Result<IntelReport, PublishError> {
    let IntelPublish { feeds, ttl_secs, now, work } = *request;
    let in_force = timestamp::current_root(origin, root)?;
    online.check(&in_force)?;
    if !timestamp::has_online_snapshot(&in_force) {
        return Err(PublishError::Invalid(
            "the root signs snapshots offline: fresh intel needs an online snapshot role (root create --online-key)"
                .into(),
        ));
    }
    // The pack in force, verified as a client reads it: its targets name the delegation.
    let current =
        Verifier::new(root.to_vec(), now, State::default()).consistent_when_root_says().verify(&origin.source(None))?;
    let targets_bytes = origin
        .get(layout::TARGETS, MAX_TARGETS_BYTES)?
        .ok_or_else(|| PublishError::NoCurrentPack(origin.url().into()))?;
    let targets: Targets =
        typed(layout::TARGETS, &Envelope::parse(&targets_bytes).map_err(|e| invalid(e.to_string()))?.signed)?;
    let keyid = intel_key.public().key_id();
    let role = targets
        .delegations
        .as_ref()
        .and_then(|d| d.roles.iter().find(|r| r.name == layout::INTEL_ROLE))
        .ok_or_else(|| invalid("the pack in force delegates no intel role (pack build --delegate-intel)".into()))?;
    if !role.keyids.contains(&keyid) {
        return Err(invalid(format!("key {keyid} is not a key of the delegated intel role")));
    }

    // The previous intel (or the pack's own filters) guards against a feed that shrank.
    let previous_manifest = current.files.get(layout::INTEL_MANIFEST).or_else(|| current.files.get(MANIFEST_NAME));
    let previous_dir = work.join("previous");
    std::fs::create_dir_all(&previous_dir).map_err(|source| PublishError::Io { path: previous_dir.clone(), source })?;
    let mut above = None;
    if let Some(bytes) = previous_manifest {
        let path = previous_dir.join(MANIFEST_NAME);
        std::fs::write(&path, bytes).map_err(|source| PublishError::Io { path, source })?;
        above = Manifest::from_json(bytes).ok().map(|m| m.version);
    }
    let version = next_version(above.as_ref(), now)?;
    let out = work.join("build");
    let mut options = BuildOptions::new(version.clone(), feeds, &out);
    options.previous = Some(previous_dir);
    options.created = Some(now.whole_second());
    options.valid_hours = ttl_secs.div_ceil(3600).max(1);
    let built = build(&options)?;

    let mut manifest = built.manifest.clone();
    manifest.files.retain(|entry| entry.role == Role::Filter);
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for entry in &manifest.files {
        let path = out.join(&entry.name);
        let bytes = std::fs::read(&path).map_err(|source| PublishError::Io { path, source })?;
        files.insert(format!("{}/{}", layout::INTEL_ROLE, entry.name), bytes);
    }
    files.insert(layout::INTEL_MANIFEST.to_owned(), manifest.to_json());
    if let Some(path) = files.keys().find(|path| !role.allows(path)) {
        return Err(invalid(format!("the intel role may not list {path}; its paths are {:?}", role.paths)));
    }

    let role_file = format!("{}.json", layout::INTEL_ROLE);
    let previous_role = origin.get(&role_file, MAX_TARGETS_BYTES)?;
    let role_version = timestamp::next_after(previous_role.as_deref(), 0);
    let metadata = Targets {
        kind: "targets".into(),
        spec_version: SPEC_VERSION.into(),
        version: role_version,
        expires: now.whole_second().plus_secs(ttl_secs),
        targets: files.iter().map(|(name, bytes)| (name.clone(), TargetFile::of(bytes))).collect(),
        custom: None,
        delegations: None,
    };
    let mut envelope = Envelope::new(&metadata);
    intel_key.sign_envelope(&mut envelope)?;
    let role_bytes = envelope.to_bytes();

    let mut uploaded = Vec::new();
    let mut put = |name: String, bytes: &[u8]| -> Result<(), PublishError> {
        origin.put(&name, bytes)?;
        uploaded.push(name);
        Ok(())
    };
    // Files first (hash-prefixed, and content-addressed plain names), then the plain
    // intel/manifest.json, the role, the snapshot, the timestamp.
    for (name, bytes) in &files {
        if name != layout::INTEL_MANIFEST {
            put(name.clone(), bytes)?;
        }
        put(layout::hash_prefixed(name, &Sha256::of(bytes).to_hex()), bytes)?;
    }
    put(layout::INTEL_MANIFEST.to_owned(), &files[layout::INTEL_MANIFEST])?;
    put(layout::versioned(layout::INTEL_ROLE, role_version), &role_bytes)?;
    put(role_file, &role_bytes)?;
    let mut delegated = vec![(layout::INTEL_ROLE.to_owned(), role_bytes)];
    delegated.extend(timestamp::delegated_metadata(origin, &targets_bytes, Some(layout::INTEL_ROLE))?);
    let snapshot_version = timestamp::next_after(origin.get(layout::SNAPSHOT, MAX_PINS_BYTES)?.as_deref(), 0);
    let snapshot = timestamp::make_snapshot(&targets_bytes, &delegated, snapshot_version, targets.expires, online)?;
    put(layout::versioned("snapshot", snapshot_version), &snapshot)?;
    put(layout::SNAPSHOT.to_owned(), &snapshot)?;
    let current_timestamp = origin.get(layout::TIMESTAMP, MAX_PINS_BYTES)?;
    let timestamp_version = timestamp::next_after(current_timestamp.as_deref(), snapshot_version);
    let level = timestamp::carried_degradation(current_timestamp.as_deref(), &in_force);
    put(
        layout::TIMESTAMP.to_owned(),
        &timestamp::make(&snapshot, snapshot_version, timestamp_version, online, now, level),
    )?;

    Verifier::new(root.to_vec(), now, State::default())
        .consistent_when_root_says()
        .verify(&origin.source(None))
        .map_err(|e| PublishError::Store {
            origin: origin.url().to_owned(),
            detail: format!("intel uploaded, but the origin does not verify as a client reads it: {e}"),
        })?;
    let filters = manifest.files.iter().map(|entry| (entry.name.clone(), entry.count.unwrap_or(0))).collect();
    Ok(IntelReport { version, role_version, filters, uploaded })
}

fn invalid(message: String) -> PublishError {
    PublishError::Invalid(message)
}

/// Records in the pack at `dir` that its `targets` delegates `intel/*` to `key` (threshold
/// 1, terminating), or, with `None`, that it delegates nothing. `pack sign` puts it into
/// the signed `targets.json`.
pub fn write_delegation(
    dir: &Path,
    key: Option<&ferretwatch_pack_client::trust::keys::KeyObject>,
) -> Result<(), PublishError> {
    use ferretwatch_pack_client::trust::metadata::{DelegatedRole, Delegations};
    let path = dir.join(layout::DELEGATIONS);
    let Some(key) = key else {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PublishError::Io { path, source: e }),
            _ => Ok(()),
        };
    };
    key.verifying_key()?;
    let id = key.key_id();
    let delegations = Delegations {
        keys: BTreeMap::from([(id.clone(), key.clone())]),
        roles: vec![DelegatedRole {
            name: layout::INTEL_ROLE.into(),
            keyids: vec![id],
            threshold: 1,
            terminating: true,
            paths: vec![format!("{}/*", layout::INTEL_ROLE)],
        }],
    };
    write_delegations(dir, &delegations)
}

/// Records `delegations` in the pack at `dir` (`delegations.json`), for `pack sign`.
pub fn write_delegations(
    dir: &Path,
    delegations: &ferretwatch_pack_client::trust::metadata::Delegations,
) -> Result<(), PublishError> {
    let path = dir.join(layout::DELEGATIONS);
    let mut bytes = serde_json::to_vec_pretty(delegations).expect("delegations serialise");
    bytes.push(b'\n');
    ferretwatch_pack_client::dir::write_atomic(&path, &bytes).map_err(|source| PublishError::Io { path, source })
}
