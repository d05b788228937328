//! What a client does before it uses a pack: start from the trusted root, follow root
//! rotations, then check `timestamp` → `snapshot` → `targets` → every file. Each refusal
//! has its own error, code and exit status. Every read is bounded before it happens, and
//! nothing in a file is interpreted before its signatures (metadata) or its hash (pack
//! files) have been checked.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use ferretwatch_types::{Coded, Fault, Sha256, Timestamp};
use serde::{Deserialize, Serialize};

use super::keys::KeyObject;
use super::metadata::{typed, DelegatedRole, Envelope, MetaFile, Pins, Root, TargetFile, Targets};
use super::TrustError;
use crate::layout;

/// Largest root metadata accepted.
pub const MAX_ROOT_BYTES: u64 = 512 * 1024;
/// Largest timestamp or snapshot metadata accepted.
pub const MAX_PINS_BYTES: u64 = 64 * 1024;
/// Largest targets metadata accepted.
pub const MAX_TARGETS_BYTES: u64 = 4 * 1024 * 1024;
/// Most root rotations followed in one update.
pub const MAX_ROTATIONS: u64 = 1024;

/// Why a pack was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A file's bytes differ from what the signed metadata lists, or a signature by a
    /// trusted key does not match its metadata.
    #[error("tampered: {file}: {detail}")]
    Tampered {
        /// The file.
        file: String,
        /// What differs.
        detail: String,
    },
    /// Signatures are missing the threshold and some come from keys the root does not trust for the role.
    #[error(
        "unknown key: {file} is signed by key {keyid}, which root version {root_version} does not trust for {role}"
    )]
    UnknownKey {
        /// The metadata file.
        file: String,
        /// The role.
        role: String,
        /// The untrusted key's id.
        keyid: String,
        /// The root consulted.
        root_version: u64,
    },
    /// Too few valid signatures from trusted keys.
    #[error("too few signatures: {file} has {valid} valid signature(s) for {role}, {threshold} required")]
    TooFewSignatures {
        /// The metadata file.
        file: String,
        /// The role.
        role: String,
        /// Valid signatures found.
        valid: usize,
        /// Signatures required.
        threshold: u32,
    },
    /// Metadata past its expiry (freeze attack, or a pack nobody re-signed).
    #[error("expired: {file} expired at {expires} (now {now})")]
    Expired {
        /// The metadata file.
        file: String,
        /// Its expiry.
        expires: Timestamp,
        /// The verifier's clock.
        now: Timestamp,
    },
    /// A version lower than one already trusted (rollback attack).
    #[error("rollback: {file} is version {offered}, but version {seen} was already trusted")]
    Rollback {
        /// The metadata file.
        file: String,
        /// Highest version trusted before.
        seen: u64,
        /// Version offered now.
        offered: u64,
    },
    /// Metadata from different packs (mix-and-match attack).
    #[error("mixed packs: {detail}")]
    MixedPack {
        /// Which pins disagree.
        detail: String,
    },
    /// A file longer than its listed (or maximum) length (endless-data attack).
    #[error("oversized: {file} is longer than {limit} bytes")]
    Oversized {
        /// The file.
        file: String,
        /// The limit.
        limit: u64,
    },
    /// A file is missing.
    #[error("missing: {file}")]
    Missing {
        /// The file.
        file: String,
    },
    /// Metadata that is not what its type requires, or a root that fails its checks.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The source could not be read.
    #[error("unreadable: {0}")]
    Unreadable(String),
    /// A delegated role lists a file outside the paths it was delegated.
    #[error("delegation violated: role {role} may not list {path}")]
    Delegation {
        /// The delegated role.
        role: String,
        /// The path it listed.
        path: String,
    },
}

impl Coded for VerifyError {
    fn code(&self) -> &'static str {
        match self {
            VerifyError::Tampered { .. } => "tampered",
            VerifyError::UnknownKey { .. } => "unknown_key",
            VerifyError::TooFewSignatures { .. } => "too_few_signatures",
            VerifyError::Expired { .. } => "expired",
            VerifyError::Rollback { .. } => "rollback",
            VerifyError::MixedPack { .. } => "mixed_pack",
            VerifyError::Oversized { .. } => "oversized",
            VerifyError::Missing { .. } => "missing",
            VerifyError::Malformed(_) => "malformed",
            VerifyError::Unreadable(_) => "unreadable",
            VerifyError::Delegation { .. } => "delegation_violation",
        }
    }

    fn fault(&self) -> Fault {
        match self {
            VerifyError::Unreadable(_) => Fault::Operation,
            _ => Fault::Input,
        }
    }
}

impl From<TrustError> for VerifyError {
    fn from(e: TrustError) -> Self {
        VerifyError::Malformed(e.to_string())
    }
}

/// Where pack files come from: a directory, an HTTP origin, an object store.
pub trait Source {
    /// The file's bytes, reading at most `limit + 1` of them; `Ok(None)` when it does not
    /// exist. A file longer than `limit` is refused before it is read whole.
    fn fetch(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, VerifyError>;
}

/// Reads a bounded prefix of `reader`, refusing more than `limit` bytes.
pub fn read_bounded(reader: impl Read, name: &str, limit: u64) -> Result<Vec<u8>, VerifyError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| VerifyError::Unreadable(format!("{name}: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(VerifyError::Oversized { file: name.to_owned(), limit });
    }
    Ok(bytes)
}

/// What a client remembers between updates: the highest version of each role seen and
/// the root version they were seen under (see [`crate::dir`] for how it is kept in a
/// directory, with the rotations followed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Highest trusted `timestamp` version.
    pub timestamp: u64,
    /// Highest trusted `snapshot` version.
    pub snapshot: u64,
    /// Highest trusted `targets` version.
    pub targets: u64,
    /// The root version these were trusted under (0 in a state written before roots were
    /// remembered: the rotations past the configured root are then treated as new once).
    #[serde(default)]
    pub root: u64,
    /// Highest trusted version of each delegated role.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub delegated: BTreeMap<String, u64>,
}

impl State {
    /// Forgets the versions of roles whose keys `next` changed from `previous` (TUF 1.0
    /// §5.3.11): after a fast-forward attack with stolen keys, rotating those keys lets
    /// clients accept the legitimate, lower versions again. Timestamp and snapshot are
    /// forgotten together, as the specification says; targets (with its delegations)
    /// when its own keys changed.
    pub fn forget_rotated(&mut self, previous: &Root, next: &Root) {
        let changed = |role: &str| previous.roles.get(role) != next.roles.get(role);
        if changed("timestamp") || changed("snapshot") {
            self.timestamp = 0;
            self.snapshot = 0;
        }
        if changed("targets") {
            self.targets = 0;
            self.delegated.clear();
        }
    }
}

/// A root rotation followed during verification: the root's version and its file's bytes.
pub type Rotation = (u64, Vec<u8>);

/// A pack that passed verification: its files' bytes (each checked against its length
/// and sha256) and the trust facts that admitted it.
#[derive(Debug, Clone)]
pub struct VerifiedPack {
    /// The pack version (`YYYY.MM.DD.HH[.N]`).
    pub pack_version: String,
    /// The TUF version number of the pack's metadata.
    pub version: u64,
    /// When the metadata expires.
    pub expires: Timestamp,
    /// The root version that admitted it.
    pub root_version: u64,
    /// The root rotations followed, oldest first.
    pub rotations: Vec<Rotation>,
    /// The state after this update (persist it, with the rotations, for the next update).
    pub state: State,
    /// Every pack file by path (the delegated roles' files too).
    pub files: BTreeMap<String, Vec<u8>>,
    /// The mirrors the top-level targets list (`custom.mirrors`).
    pub mirrors: Vec<String>,
    /// The delegations of the top-level targets.
    pub delegations: Option<crate::trust::metadata::Delegations>,
    /// The files listed by delegated roles rather than the top-level targets.
    pub delegated: std::collections::BTreeSet<String>,
}

/// How metadata and targets are named at a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Naming {
    /// `snapshot.json`, `targets.json`, targets by their path: a pack directory, and
    /// every origin.
    #[default]
    Plain,
    /// `VERSION.snapshot.json`, `VERSION.targets.json`, `DIR/SHA256.NAME`: what an origin
    /// also serves when the root says `consistent_snapshot`, so a poll during a deploy
    /// never reads one version's snapshot with another's targets.
    Consistent,
}

impl Naming {
    /// How a source under `root` is best read: consistently when the root says the origin
    /// serves those names.
    pub fn for_root(root: &Root) -> Self {
        if root.consistent_snapshot {
            Naming::Consistent
        } else {
            Naming::Plain
        }
    }

    /// The name of role metadata `ROLE.json` at `version`.
    pub fn metadata(self, role: &str, version: u64) -> String {
        match self {
            Naming::Plain => format!("{role}.json"),
            Naming::Consistent => layout::versioned(role, version),
        }
    }

    /// The name of target `path` listed with `sha256`.
    pub fn target(self, path: &str, sha256: &str) -> String {
        match self {
            Naming::Plain => path.to_owned(),
            Naming::Consistent => layout::hash_prefixed(path, sha256),
        }
    }
}

/// A client-side verifier.
pub struct Verifier {
    root_bytes: Vec<u8>,
    now: Timestamp,
    state: State,
    saved_roots: Option<Box<dyn Source>>,
    naming: Option<Naming>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("now", &self.now).field("state", &self.state).finish_non_exhaustive()
    }
}

impl Verifier {
    /// Starts from the configured root of trust, the verifier's clock and the remembered
    /// state.
    pub fn new(root: Vec<u8>, now: Timestamp, state: State) -> Self {
        Verifier { root_bytes: root, now, state, saved_roots: None, naming: Some(Naming::Plain) }
    }

    /// Also looks for `N.root.json` rotations in `saved` (the ones this client followed
    /// before) when the pack's source does not serve them. They are not trusted for being
    /// there: each is checked against the root before it, walking from the configured
    /// root, so whoever can write the saved copies cannot swap the root of trust.
    pub fn with_saved_roots(mut self, saved: Box<dyn Source>) -> Self {
        self.saved_roots = Some(saved);
        self
    }

    /// Reads the source with consistent-snapshot names when the (rotated) root says the
    /// source serves them, as an origin does; a pack directory has plain names only.
    pub fn consistent_when_root_says(mut self) -> Self {
        self.naming = None;
        self
    }

    /// Verifies the pack `source` serves.
    pub fn verify(&self, source: &dyn Source) -> Result<VerifiedPack, VerifyError> {
        let mut state = self.state.clone();
        let (root, rotations) = self.update_root(source, &mut state)?;
        if root.expires <= self.now {
            return Err(VerifyError::Expired { file: layout::ROOT.into(), expires: root.expires, now: self.now });
        }
        let naming = self.naming.unwrap_or_else(|| Naming::for_root(&root));
        let fetch = |name: &str, limit: u64| -> Result<Vec<u8>, VerifyError> {
            source.fetch(name, limit)?.ok_or_else(|| VerifyError::Missing { file: name.into() })
        };
        let timestamp = check_timestamp(&fetch(layout::TIMESTAMP, MAX_PINS_BYTES)?, &root, &state, self.now)?;
        let snapshot_entry = pin(&timestamp, layout::TIMESTAMP, layout::SNAPSHOT)?;
        let snapshot_name = naming.metadata("snapshot", snapshot_entry.version);
        let snapshot = check_snapshot(
            &fetch(&snapshot_name, entry_limit(snapshot_entry, MAX_PINS_BYTES))?,
            &root,
            &timestamp,
            &state,
            self.now,
        )?;
        let targets_entry = pin(&snapshot, layout::SNAPSHOT, layout::TARGETS)?;
        let targets_name = naming.metadata("targets", targets_entry.version);
        let targets = check_targets(
            &fetch(&targets_name, entry_limit(targets_entry, MAX_TARGETS_BYTES))?,
            &root,
            &snapshot,
            &state,
            self.now,
        )?;
        let pack_version = targets
            .pack_version()
            .ok_or_else(|| VerifyError::Malformed("targets.json carries no custom.pack_version".into()))?
            .to_owned();

        let mut listing = targets.targets.clone();
        let mut from_roles = std::collections::BTreeSet::new();
        for (role, entry) in delegated_pins(&targets, &snapshot) {
            let name = naming.metadata(&role.name, entry.version);
            let bytes = fetch(&name, entry_limit(entry, MAX_TARGETS_BYTES))?;
            let delegated = check_delegated(&bytes, &targets, role, &snapshot, &state, self.now, root.version)?;
            state.delegated.insert(role.name.clone(), delegated.version);
            for (path, listed) in delegated.targets {
                if let std::collections::btree_map::Entry::Vacant(slot) = listing.entry(path.clone()) {
                    slot.insert(listed);
                    from_roles.insert(path);
                }
            }
        }
        let mut files = BTreeMap::new();
        for (name, listed) in &listing {
            let sha256 = listed
                .sha256()
                .ok_or_else(|| VerifyError::Malformed(format!("targets.json lists no sha256 for {name}")))?;
            let bytes = source
                .fetch(&naming.target(name, sha256), listed.length)?
                .ok_or_else(|| VerifyError::Missing { file: name.clone() })?;
            check_target(name, listed, &bytes)?;
            files.insert(name.clone(), bytes);
        }
        state.timestamp = timestamp.version;
        state.snapshot = snapshot.version;
        state.targets = targets.version;
        state.root = root.version;
        Ok(VerifiedPack {
            pack_version,
            version: targets.version,
            expires: targets.expires.min(snapshot.expires).min(timestamp.expires),
            root_version: root.version,
            rotations,
            state,
            files,
            mirrors: targets.mirrors(),
            delegations: targets.delegations.clone(),
            delegated: from_roles,
        })
    }

    /// The trusted root after following the `N.root.json` rotations the source (or the
    /// state directory) offers, each checked against the root before it. Rotations past
    /// the state's root forget the versions of the roles whose keys they change.
    fn update_root(&self, source: &dyn Source, state: &mut State) -> Result<(Root, Vec<Rotation>), VerifyError> {
        let mut root = trusted_root(&self.root_bytes)?;
        let mut rotations = Vec::new();
        for _ in 0..MAX_ROTATIONS {
            let name = layout::root_rotation(root.version + 1);
            let next_bytes = match source.fetch(&name, MAX_ROOT_BYTES)? {
                Some(bytes) => bytes,
                None => match self
                    .saved_roots
                    .as_ref()
                    .map(|saved| saved.fetch(&name, MAX_ROOT_BYTES))
                    .transpose()?
                    .flatten()
                {
                    Some(bytes) => bytes,
                    None => break,
                },
            };
            let next = check_rotation(&root, &next_bytes)?;
            if next.version > state.root {
                state.forget_rotated(&root, &next);
            }
            rotations.push((next.version, next_bytes));
            root = next;
        }
        Ok((root, rotations))
    }
}

/// The largest read for a metadata file its pin allows: its pinned length, or `limit`.
pub fn entry_limit(entry: &MetaFile, limit: u64) -> u64 {
    entry.length.map_or(limit, |length| length.min(limit))
}

/// Checks the rotation `bytes` (`N+1.root.json`) against the trusted `root`: signed by a
/// threshold of the old keys and of its own, well formed, and exactly the next version.
pub fn check_rotation(root: &Root, bytes: &[u8]) -> Result<Root, VerifyError> {
    let name = layout::root_rotation(root.version + 1);
    let envelope = parse_envelope(&name, bytes)?;
    // Signed by a threshold of the old root's keys ...
    check_signatures(&name, "root", &envelope, root)?;
    let next: Root = typed(&name, &envelope.signed)?;
    next.check()?;
    // ... and of the new root's own keys.
    check_signatures(&name, "root", &envelope, &next)?;
    if next.version != root.version + 1 {
        return Err(VerifyError::MixedPack {
            detail: format!("{name} holds root version {}, expected {}", next.version, root.version + 1),
        });
    }
    Ok(next)
}

/// Checks `timestamp.json`: signed by the timestamp role, not older than the state, not
/// expired.
pub fn check_timestamp(bytes: &[u8], root: &Root, state: &State, now: Timestamp) -> Result<Pins, VerifyError> {
    let timestamp: Pins = signed_role(layout::TIMESTAMP, "timestamp", bytes, &RoleTrust::of_root(root, "timestamp")?)?;
    check_fresh(layout::TIMESTAMP, timestamp.version, state.timestamp, timestamp.expires, now)?;
    pin(&timestamp, layout::TIMESTAMP, layout::SNAPSHOT)?;
    Ok(timestamp)
}

/// Checks `snapshot.json` against the timestamp that pins it (version, and length and
/// hashes when pinned), the snapshot role's signatures, the state and the clock. A
/// snapshot may not drop or lower a targets role the state has trusted.
pub fn check_snapshot(
    bytes: &[u8],
    root: &Root,
    timestamp: &Pins,
    state: &State,
    now: Timestamp,
) -> Result<Pins, VerifyError> {
    let entry = pin(timestamp, layout::TIMESTAMP, layout::SNAPSHOT)?;
    check_meta_bytes(layout::SNAPSHOT, entry, bytes)?;
    let snapshot: Pins = signed_role(layout::SNAPSHOT, "snapshot", bytes, &RoleTrust::of_root(root, "snapshot")?)?;
    pinned_version(layout::TIMESTAMP, layout::SNAPSHOT, entry, snapshot.version)?;
    check_fresh(layout::SNAPSHOT, snapshot.version, state.snapshot, snapshot.expires, now)?;
    let targets = pin(&snapshot, layout::SNAPSHOT, layout::TARGETS)?;
    if targets.version < state.targets {
        return Err(VerifyError::Rollback {
            file: layout::TARGETS.into(),
            seen: state.targets,
            offered: targets.version,
        });
    }
    for (role, seen) in &state.delegated {
        let listed = snapshot.meta.get(&format!("{role}.json")).map_or(0, |m| m.version);
        if listed < *seen {
            return Err(VerifyError::Rollback { file: format!("{role}.json"), seen: *seen, offered: listed });
        }
    }
    Ok(snapshot)
}

/// Checks `targets.json` against the snapshot that pins it, the targets role's
/// signatures, the state and the clock.
pub fn check_targets(
    bytes: &[u8],
    root: &Root,
    snapshot: &Pins,
    state: &State,
    now: Timestamp,
) -> Result<Targets, VerifyError> {
    let entry = pin(snapshot, layout::SNAPSHOT, layout::TARGETS)?;
    check_meta_bytes(layout::TARGETS, entry, bytes)?;
    let targets: Targets = signed_role(layout::TARGETS, "targets", bytes, &RoleTrust::of_root(root, "targets")?)?;
    pinned_version(layout::SNAPSHOT, layout::TARGETS, entry, targets.version)?;
    check_fresh(layout::TARGETS, targets.version, state.targets, targets.expires, now)?;
    Ok(targets)
}

/// The roles `targets` delegates to that `snapshot` lists, with their pins, in the
/// delegation's order (a role the snapshot does not list has published nothing yet).
pub fn delegated_pins<'a>(targets: &'a Targets, snapshot: &'a Pins) -> Vec<(&'a DelegatedRole, &'a MetaFile)> {
    let Some(delegations) = &targets.delegations else { return Vec::new() };
    delegations
        .roles
        .iter()
        .filter_map(|role| snapshot.meta.get(&format!("{}.json", role.name)).map(|entry| (role, entry)))
        .collect()
}

/// Checks a delegated role's metadata: pinned by the snapshot, signed by a threshold of
/// the keys the delegating `targets` names, not older than the state, not expired, no
/// further delegation, and every file it lists inside the paths it was given.
pub fn check_delegated(
    bytes: &[u8],
    targets: &Targets,
    role: &DelegatedRole,
    snapshot: &Pins,
    state: &State,
    now: Timestamp,
    root_version: u64,
) -> Result<Targets, VerifyError> {
    let file = format!("{}.json", role.name);
    let entry = pin(snapshot, layout::SNAPSHOT, &file)?;
    check_meta_bytes(&file, entry, bytes)?;
    let delegations = targets.delegations.as_ref().expect("a delegating role");
    let trust = RoleTrust { keys: &delegations.keys, keyids: &role.keyids, threshold: role.threshold, root_version };
    let delegated: Targets = signed_role(&file, &role.name, bytes, &trust)?;
    pinned_version(layout::SNAPSHOT, &file, entry, delegated.version)?;
    let seen = state.delegated.get(&role.name).copied().unwrap_or(0);
    check_fresh(&file, delegated.version, seen, delegated.expires, now)?;
    if delegated.delegations.as_ref().is_some_and(|d| !d.roles.is_empty()) {
        return Err(VerifyError::Malformed(format!("{file}: delegates further, which packs do not support")));
    }
    if let Some(path) = delegated.targets.keys().find(|path| !role.allows(path)) {
        return Err(VerifyError::Delegation { role: role.name.clone(), path: path.clone() });
    }
    Ok(delegated)
}

/// Checks one target's bytes against its listing: exact length, then sha256.
pub fn check_target(name: &str, listed: &TargetFile, bytes: &[u8]) -> Result<(), VerifyError> {
    let expected =
        listed.sha256().ok_or_else(|| VerifyError::Malformed(format!("targets.json lists no sha256 for {name}")))?;
    check_listed(name, bytes, Some(listed.length), Some(expected), "targets.json")
}

/// Checks `bytes` against the length and sha256 `lister` gives for `file`, each when
/// given: the length first, then the digest, compared in constant time.
fn check_listed(
    file: &str,
    bytes: &[u8],
    length: Option<u64>,
    sha256: Option<&str>,
    lister: &str,
) -> Result<(), VerifyError> {
    if let Some(length) = length.filter(|length| bytes.len() as u64 != *length) {
        return Err(VerifyError::Tampered {
            file: file.to_owned(),
            detail: format!("{} bytes, {lister} lists {length}", bytes.len()),
        });
    }
    if let Some(expected) = sha256 {
        let actual = Sha256::of(bytes);
        if !Sha256::from_hex(expected).is_ok_and(|expected| expected.ct_eq(&actual)) {
            return Err(VerifyError::Tampered {
                file: file.to_owned(),
                detail: format!("sha256 {actual}, {lister} lists {expected}"),
            });
        }
    }
    Ok(())
}

/// Who may sign a role: its keys, the ids allowed and the threshold (from the root, or
/// from a delegating targets role).
#[derive(Debug, Clone)]
pub struct RoleTrust<'a> {
    /// Key objects by id.
    pub keys: &'a BTreeMap<String, KeyObject>,
    /// Ids allowed to sign.
    pub keyids: &'a [String],
    /// Valid signatures needed.
    pub threshold: u32,
    /// The root version consulted (for messages).
    pub root_version: u64,
}

impl<'a> RoleTrust<'a> {
    /// The trust the root gives `role`.
    pub fn of_root(root: &'a Root, role: &str) -> Result<Self, VerifyError> {
        let keys =
            root.roles.get(role).ok_or_else(|| VerifyError::Malformed(format!("root defines no {role} role")))?;
        Ok(RoleTrust { keys: &root.keys, keyids: &keys.keyids, threshold: keys.threshold, root_version: root.version })
    }
}

/// Parses `bytes` as an envelope, checks its signatures for `role`, then reads it as `T`
/// of that `_type` (`targets` for delegated roles).
pub fn signed_role<T: serde::de::DeserializeOwned>(
    file: &str,
    role: &str,
    bytes: &[u8],
    trust: &RoleTrust<'_>,
) -> Result<T, VerifyError> {
    let envelope = parse_envelope(file, bytes)?;
    check_signatures_with(file, role, &envelope, trust)?;
    let kind = envelope.signed.get("_type").and_then(|t| t.as_str()).unwrap_or_default();
    let expected = if matches!(role, "timestamp" | "snapshot" | "root") { role } else { "targets" };
    if kind != expected {
        return Err(VerifyError::Malformed(format!("{file} is {kind:?} metadata, not {expected}")));
    }
    Ok(typed(file, &envelope.signed)?)
}

/// Checks metadata bytes against the length and hashes its pin lists, when it lists them.
pub fn check_meta_bytes(file: &str, entry: &MetaFile, bytes: &[u8]) -> Result<(), VerifyError> {
    check_listed(file, bytes, entry.length, None, "its pin")?;
    let Some(hashes) = &entry.hashes else { return Ok(()) };
    let expected = hashes
        .get("sha256")
        .ok_or_else(|| VerifyError::Malformed(format!("the pin of {file} lists hashes but no sha256")))?;
    check_listed(file, bytes, None, Some(expected), "its pin")
}

fn check_fresh(file: &str, offered: u64, seen: u64, expires: Timestamp, now: Timestamp) -> Result<(), VerifyError> {
    if offered < seen {
        return Err(VerifyError::Rollback { file: file.into(), seen, offered });
    }
    if expires <= now {
        return Err(VerifyError::Expired { file: file.into(), expires, now });
    }
    Ok(())
}

/// Parses and checks a root of trust: well formed and signed by its own threshold (its
/// expiry is the caller's to check, against its own clock).
pub fn trusted_root(bytes: &[u8]) -> Result<Root, VerifyError> {
    let envelope = parse_envelope(layout::ROOT, bytes)?;
    let root: Root = typed(layout::ROOT, &envelope.signed)?;
    root.check()?;
    check_signatures(layout::ROOT, "root", &envelope, &root)?;
    Ok(root)
}

fn parse_envelope(file: &str, bytes: &[u8]) -> Result<Envelope, VerifyError> {
    Envelope::parse(bytes).map_err(|e| VerifyError::Malformed(format!("{file}: {e}")))
}

/// The entry `pins` (timestamp or snapshot) holds for `file`.
pub fn pin<'a>(pins: &'a Pins, pins_file: &str, file: &str) -> Result<&'a MetaFile, VerifyError> {
    pins.meta.get(file).ok_or_else(|| VerifyError::Malformed(format!("{pins_file} does not pin {file}")))
}

fn pinned_version(pins_file: &str, file: &str, entry: &MetaFile, version: u64) -> Result<(), VerifyError> {
    if entry.version != version {
        return Err(VerifyError::MixedPack {
            detail: format!("{pins_file} pins {file} version {}, but {file} is version {version}", entry.version),
        });
    }
    Ok(())
}

/// Counts distinct keys the root trusts for `role` whose signature over the envelope
/// verifies; refuses below the role's threshold, naming the most telling cause (a
/// signature by a trusted key that does not match, then an untrusted key, then too few).
pub fn check_signatures(file: &str, role: &str, envelope: &Envelope, root: &Root) -> Result<(), VerifyError> {
    check_signatures_with(file, role, envelope, &RoleTrust::of_root(root, role)?)
}

/// [`check_signatures`] with the trust given explicitly (a delegated role's).
pub fn check_signatures_with(
    file: &str,
    role: &str,
    envelope: &Envelope,
    trust: &RoleTrust<'_>,
) -> Result<(), VerifyError> {
    let message = envelope.message()?;
    let mut valid = BTreeSet::new();
    let (mut unknown, mut bad) = (None, None);
    for signature in &envelope.signatures {
        let key = trust.keyids.contains(&signature.keyid).then(|| trust.keys.get(&signature.keyid)).flatten();
        let Some(key) = key else {
            unknown.get_or_insert_with(|| signature.keyid.clone());
            continue;
        };
        let sig = hex::decode(&signature.sig).unwrap_or_default();
        if key.verifies(&message, &sig) {
            valid.insert(signature.keyid.as_str());
        } else {
            bad.get_or_insert_with(|| signature.keyid.clone());
        }
    }
    if valid.len() as u64 >= u64::from(trust.threshold) {
        return Ok(());
    }
    Err(match (bad, unknown) {
        (Some(keyid), _) => VerifyError::Tampered {
            file: file.into(),
            detail: format!("the signature by trusted key {keyid} does not match the content"),
        },
        (None, Some(keyid)) => {
            VerifyError::UnknownKey { file: file.into(), role: role.into(), keyid, root_version: trust.root_version }
        }
        (None, None) => VerifyError::TooFewSignatures {
            file: file.into(),
            role: role.into(),
            valid: valid.len(),
            threshold: trust.threshold,
        },
    })
}
