//! What a client does before it uses a pack: start from the trusted root, follow root
//! rotations, then check `timestamp` → `snapshot` → `targets` → every file. Each refusal
//! has its own error, code and exit status. Every read is bounded before it happens, and
//! nothing in a file is interpreted before its signatures (metadata) or its hash (pack
//! files) have been checked.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use ferretwatch_types::{Coded, Fault, Sha256, Timestamp};
use serde::{Deserialize, Serialize};

use super::metadata::{typed, Envelope, Pins, Root, Targets};
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

/// What a client remembers between updates: the highest version of each role seen (see
/// [`crate::dir`] for how it is kept in a directory, with the rotations followed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Highest trusted `timestamp` version.
    pub timestamp: u64,
    /// Highest trusted `snapshot` version.
    pub snapshot: u64,
    /// Highest trusted `targets` version.
    pub targets: u64,
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
    /// Every pack file by path.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// A client-side verifier.
pub struct Verifier {
    root_bytes: Vec<u8>,
    now: Timestamp,
    state: State,
    saved_roots: Option<Box<dyn Source>>,
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
        Verifier { root_bytes: root, now, state, saved_roots: None }
    }

    /// Also looks for `N.root.json` rotations in `saved` (the ones this client followed
    /// before) when the pack's source does not serve them. They are not trusted for being
    /// there: each is checked against the root before it, walking from the configured
    /// root, so whoever can write the saved copies cannot swap the root of trust.
    pub fn with_saved_roots(mut self, saved: Box<dyn Source>) -> Self {
        self.saved_roots = Some(saved);
        self
    }

    /// Verifies the pack `source` serves.
    pub fn verify(&self, source: &dyn Source) -> Result<VerifiedPack, VerifyError> {
        let (root, rotations) = self.update_root(source)?;
        if root.expires <= self.now {
            return Err(VerifyError::Expired { file: layout::ROOT.into(), expires: root.expires, now: self.now });
        }

        let timestamp: Pins = self.load_role(source, &root, "timestamp", layout::TIMESTAMP, MAX_PINS_BYTES)?;
        self.check_fresh(layout::TIMESTAMP, timestamp.version, self.state.timestamp, timestamp.expires)?;
        let snapshot: Pins = self.load_role(source, &root, "snapshot", layout::SNAPSHOT, MAX_PINS_BYTES)?;
        pinned(&timestamp, layout::TIMESTAMP, layout::SNAPSHOT, snapshot.version)?;
        self.check_fresh(layout::SNAPSHOT, snapshot.version, self.state.snapshot, snapshot.expires)?;
        let targets: Targets = self.load_role(source, &root, "targets", layout::TARGETS, MAX_TARGETS_BYTES)?;
        pinned(&snapshot, layout::SNAPSHOT, layout::TARGETS, targets.version)?;
        self.check_fresh(layout::TARGETS, targets.version, self.state.targets, targets.expires)?;

        let mut pack = BTreeMap::new();
        for (name, listed) in &targets.targets {
            let bytes =
                source.fetch(name, listed.length)?.ok_or_else(|| VerifyError::Missing { file: name.clone() })?;
            let expected = listed
                .hashes
                .get("sha256")
                .ok_or_else(|| VerifyError::Malformed(format!("targets.json lists no sha256 for {name}")))?;
            if bytes.len() as u64 != listed.length {
                return Err(VerifyError::Tampered {
                    file: name.clone(),
                    detail: format!("{} bytes, targets.json lists {}", bytes.len(), listed.length),
                });
            }
            let actual = Sha256::of(&bytes);
            if !Sha256::from_hex(expected).is_ok_and(|expected| expected.ct_eq(&actual)) {
                return Err(VerifyError::Tampered {
                    file: name.clone(),
                    detail: format!("sha256 {actual}, targets.json lists {expected}"),
                });
            }
            pack.insert(name.clone(), bytes);
        }
        Ok(VerifiedPack {
            pack_version: targets.custom.pack_version.clone(),
            version: targets.version,
            expires: targets.expires.min(snapshot.expires).min(timestamp.expires),
            root_version: root.version,
            rotations,
            state: State { timestamp: timestamp.version, snapshot: snapshot.version, targets: targets.version },
            files: pack,
        })
    }

    /// The trusted root after following the `N.root.json` rotations the source (or the
    /// state directory) offers, each checked against the root before it.
    fn update_root(&self, source: &dyn Source) -> Result<(Root, Vec<Rotation>), VerifyError> {
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
            let envelope = parse_envelope(&name, &next_bytes)?;
            // Signed by a threshold of the old root's keys ...
            check_signatures(&name, "root", &envelope, &root)?;
            let next: Root = typed(&name, &envelope.signed)?;
            next.check()?;
            // ... and of the new root's own keys.
            check_signatures(&name, "root", &envelope, &next)?;
            if next.version != root.version + 1 {
                return Err(VerifyError::MixedPack {
                    detail: format!("{name} holds root version {}, expected {}", next.version, root.version + 1),
                });
            }
            rotations.push((next.version, next_bytes));
            root = next;
        }
        Ok((root, rotations))
    }

    fn load_role<T: serde::de::DeserializeOwned>(
        &self,
        source: &dyn Source,
        root: &Root,
        role: &str,
        file: &str,
        limit: u64,
    ) -> Result<T, VerifyError> {
        let bytes = source.fetch(file, limit)?.ok_or_else(|| VerifyError::Missing { file: file.into() })?;
        let envelope = parse_envelope(file, &bytes)?;
        check_signatures(file, role, &envelope, root)?;
        let value: T = typed(file, &envelope.signed)?;
        let kind = envelope.signed.get("_type").and_then(|t| t.as_str()).unwrap_or_default();
        if kind != role {
            return Err(VerifyError::Malformed(format!("{file} is {kind:?} metadata, not {role}")));
        }
        Ok(value)
    }

    fn check_fresh(&self, file: &str, offered: u64, seen: u64, expires: Timestamp) -> Result<(), VerifyError> {
        if offered < seen {
            return Err(VerifyError::Rollback { file: file.into(), seen, offered });
        }
        if expires <= self.now {
            return Err(VerifyError::Expired { file: file.into(), expires, now: self.now });
        }
        Ok(())
    }
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

/// `pins` (timestamp or snapshot) must pin `file` at exactly `version`.
fn pinned(pins: &Pins, pins_file: &str, file: &str, version: u64) -> Result<(), VerifyError> {
    let listed =
        pins.meta.get(file).ok_or_else(|| VerifyError::Malformed(format!("{pins_file} does not pin {file}")))?.version;
    if listed != version {
        return Err(VerifyError::MixedPack {
            detail: format!("{pins_file} pins {file} version {listed}, but {file} is version {version}"),
        });
    }
    Ok(())
}

/// Counts distinct keys the root trusts for `role` whose signature over the envelope
/// verifies; refuses below the role's threshold, naming the most telling cause (a
/// signature by a trusted key that does not match, then an untrusted key, then too few).
pub fn check_signatures(file: &str, role: &str, envelope: &Envelope, root: &Root) -> Result<(), VerifyError> {
    let keys = root.roles.get(role).ok_or_else(|| VerifyError::Malformed(format!("root defines no {role} role")))?;
    let message = envelope.message()?;
    let mut valid = BTreeSet::new();
    let (mut unknown, mut bad) = (None, None);
    for signature in &envelope.signatures {
        let key = keys.keyids.contains(&signature.keyid).then(|| root.keys.get(&signature.keyid)).flatten();
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
    if valid.len() as u64 >= u64::from(keys.threshold) {
        return Ok(());
    }
    Err(match (bad, unknown) {
        (Some(keyid), _) => VerifyError::Tampered {
            file: file.into(),
            detail: format!("the signature by trusted key {keyid} does not match the content"),
        },
        (None, Some(keyid)) => {
            VerifyError::UnknownKey { file: file.into(), role: role.into(), keyid, root_version: root.version }
        }
        (None, None) => VerifyError::TooFewSignatures {
            file: file.into(),
            role: role.into(),
            valid: valid.len(),
            threshold: keys.threshold,
        },
    })
}
