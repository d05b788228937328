//! Signing and verifying packs with TUF metadata (The Update Framework, specification
//! 1.0): a root of trust names the publisher keys and a threshold; a pack is accepted only
//! when `timestamp`, `snapshot` and `targets` each carry a threshold of valid signatures,
//! none has expired, no version is lower than one seen before, the three agree with each
//! other, and every file matches its listed length and sha256. Root keys rotate through
//! `N.root.json` files signed by a threshold of the old keys and of the new ones.
//!
//! Publishing needs two people (threshold 2 in production), each signing with their own
//! key, one after the other: [`sign_pack`] adds one signature to each role. See
//! `docs/formats/signing.md` and decision 0008 for why this is our own code over `tough`.

pub mod http;
pub mod keys;
pub mod metadata;
pub mod verify;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use ferretwatch_types::PackVersion;
use ferretwatch_types::Timestamp;
use keys::PrivateKey;
use metadata::{files, Envelope, MetaFile, PackInfo, Pins, Root, TargetFile, Targets, SPEC_VERSION};

/// Errors of key handling, metadata and signing (verification has its own, see
/// [`verify::VerifyError`]).
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// A key file or key object is unusable.
    #[error("key: {0}")]
    Key(String),
    /// Metadata is malformed or inconsistent.
    #[error("metadata: {0}")]
    Metadata(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrustError + '_ {
    move |source| TrustError::Io { path: path.to_owned(), source }
}

/// The OLPC canonical JSON of `value` (sorted keys, no insignificant whitespace): the
/// bytes TUF signatures cover. Floats are refused.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, TrustError> {
    use serde::Serialize;
    let mut bytes = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, olpc_cjson::CanonicalFormatter::new());
    value.serialize(&mut serializer).map_err(|e| TrustError::Metadata(format!("not canonical JSON: {e}")))?;
    Ok(bytes)
}

pub use crate::manifest::sha256_hex;

/// The integer TUF version of a pack version: hours since the epoch × 10⁶ + the `.N`
/// suffix, so it increases exactly when the pack version does.
pub fn tuf_version(version: &PackVersion) -> u64 {
    version.ordinal()
}

/// Writes `bytes` to `path` through a synced temporary file and a rename, so a reader
/// never sees half a file (the pack crate's one atomic write, with a [`TrustError`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrustError> {
    crate::feedfile::write_atomic(path, bytes).map_err(io(path))
}

/// Every pack file under `dir` (not metadata), by its `/`-separated relative path.
pub fn pack_files(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, TrustError> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> Result<(), TrustError> {
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io(&path))?;
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else if kind.is_file() {
                let rel = path.strip_prefix(root).expect("under root");
                let name = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                let file_name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
                if crate::feedfile::is_temporary(&file_name)
                    || (rel.components().count() == 1 && files::is_metadata(&name))
                {
                    continue;
                }
                out.insert(name, std::fs::read(&path).map_err(io(&path))?);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// The unsigned `targets`, `snapshot` and `timestamp` metadata of the pack in `dir`, from
/// its files and the `version` and `expires` fields of its `manifest.json`.
pub fn pack_metadata(dir: &Path) -> Result<(Targets, Pins, Pins), TrustError> {
    let manifest_path = dir.join("manifest.json");
    let manifest: Value = serde_json::from_slice(&std::fs::read(&manifest_path).map_err(io(&manifest_path))?)
        .map_err(|e| TrustError::Metadata(format!("manifest.json: {e}")))?;
    let field = |name: &str| {
        manifest
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| TrustError::Metadata(format!("manifest.json has no string field {name:?}")))
    };
    let version = PackVersion::parse(field("version")?).map_err(|e| TrustError::Metadata(e.to_string()))?;
    let expires = Timestamp::parse(field("expires")?)
        .map_err(|_| TrustError::Metadata("manifest.json: expires is not an RFC 3339 UTC time".into()))?;
    let number = tuf_version(&version);
    let targets = pack_files(dir)?
        .into_iter()
        .map(|(name, bytes)| {
            let hashes = BTreeMap::from([("sha256".to_owned(), sha256_hex(&bytes))]);
            (name, TargetFile { length: bytes.len() as u64, hashes })
        })
        .collect();
    let targets = Targets {
        kind: "targets".into(),
        spec_version: SPEC_VERSION.into(),
        version: number,
        expires,
        targets,
        custom: PackInfo { pack_version: version.as_str().to_owned() },
    };
    let pins = |kind: &str, file: &str| Pins {
        kind: kind.into(),
        spec_version: SPEC_VERSION.into(),
        version: number,
        expires,
        meta: BTreeMap::from([(file.to_owned(), MetaFile { version: number })]),
    };
    Ok((targets, pins("snapshot", files::TARGETS), pins("timestamp", files::SNAPSHOT)))
}

/// What [`sign_pack`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOutcome {
    /// The signing key's id.
    pub keyid: String,
    /// Signatures `targets.json` now carries.
    pub signatures: usize,
    /// Whether this key had signed before (its signature was replaced).
    pub replaced: bool,
}

/// Adds `key`'s signature to the pack's `targets`, `snapshot` and `timestamp` metadata,
/// creating them on the first signature. A later signer signs exactly what the first
/// signed: when the pack's files no longer match the metadata, signing is refused. When
/// `root` is given, a key the root does not list for these roles is refused.
pub fn sign_pack(dir: &Path, key: &PrivateKey, root: Option<&Root>) -> Result<SignOutcome, TrustError> {
    let keyid = key.public().key_id();
    if let Some(root) = root {
        for role in ["targets", "snapshot", "timestamp"] {
            if !root.roles.get(role).is_some_and(|r| r.keyids.contains(&keyid)) {
                return Err(TrustError::Key(format!(
                    "key {keyid} may not sign {role} under root version {}",
                    root.version
                )));
            }
        }
    }
    let (targets, snapshot, timestamp) = pack_metadata(dir)?;
    let mut envelopes = Vec::new();
    for (name, expected) in [
        (files::TARGETS, Envelope::new(&targets)),
        (files::SNAPSHOT, Envelope::new(&snapshot)),
        (files::TIMESTAMP, Envelope::new(&timestamp)),
    ] {
        let path = dir.join(name);
        let envelope = match std::fs::read(&path) {
            Ok(bytes) => {
                let existing = Envelope::parse(&bytes).map_err(|e| TrustError::Metadata(format!("{name}: {e}")))?;
                if existing.signed != expected.signed {
                    return Err(TrustError::Metadata(format!(
                        "{name} does not describe the pack's current files: the pack changed after it was first \
                         signed; rebuild it and collect every signature again"
                    )));
                }
                existing
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => expected,
            Err(e) => return Err(io(&path)(e)),
        };
        envelopes.push((path, envelope));
    }
    let mut replaced = false;
    for (_, envelope) in &mut envelopes {
        replaced |= envelope.sign(key)?;
    }
    let signatures = envelopes[0].1.signatures.len();
    // Timestamp last: a reader that starts from it finds the others already signed.
    for (path, envelope) in &envelopes {
        write_atomic(path, &envelope.to_bytes())?;
    }
    Ok(SignOutcome { keyid, signatures, replaced })
}

/// Adds `key`'s signature to a root metadata file (a new root during rotation is signed
/// by a threshold of the old keys and of the new ones).
pub fn sign_root(path: &Path, key: &PrivateKey) -> Result<SignOutcome, TrustError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let mut envelope = Envelope::parse(&bytes).map_err(|e| TrustError::Metadata(format!("{}: {e}", path.display())))?;
    let root: Root = metadata::typed(&path.display().to_string(), &envelope.signed)?;
    root.check()?;
    let replaced = envelope.sign(key)?;
    write_atomic(path, &envelope.to_bytes())?;
    Ok(SignOutcome { keyid: key.public().key_id(), signatures: envelope.signatures.len(), replaced })
}
