//! Signing packs and roots with TUF metadata (`docs/formats/signing.md`): publishing needs
//! a threshold of publishers (two in production), each signing with their own key, one
//! after the other. [`sign_pack`] adds one signature to each of the pack's roles; a later
//! signer signs exactly what the first signed.

use std::collections::BTreeMap;
use std::path::Path;

use ferretwatch_pack_client::dir::{pack_files, write_atomic};
use ferretwatch_pack_client::layout;
use ferretwatch_pack_client::trust::metadata::{
    mirror_url_ok, typed, Canary, Delegations, Envelope, MetaFile, PackInfo, Pins, Root, TargetFile, Targets,
    CANARY_DIR, MAX_MIRRORS, SPEC_VERSION,
};
use ferretwatch_pack_client::trust::TrustError;
use ferretwatch_types::{Coded, PackVersion, Timestamp};
use serde_json::Value;

use crate::keys::PrivateKey;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrustError + '_ {
    move |source| TrustError::Io { path: path.to_owned(), source }
}

/// Writes `bytes` atomically, naming the file in the error.
fn write(path: &Path, bytes: &[u8]) -> Result<(), TrustError> {
    write_atomic(path, bytes).map_err(io(path))
}

/// The unsigned `targets`, `snapshot` and `timestamp` metadata of the pack in `dir`, from
/// its files, the `version` and `expires` fields of its `manifest.json`, and the
/// delegations (`delegations.json`) and mirrors (`mirrors.json`) it records.
pub fn pack_metadata(dir: &Path) -> Result<(Targets, Pins, Pins), TrustError> {
    let manifest_path = dir.join(layout::MANIFEST);
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
    let number = version.ordinal();
    let targets = pack_files(dir)?.into_iter().map(|(name, bytes)| (name, TargetFile::of(&bytes))).collect();
    let targets = Targets {
        kind: "targets".into(),
        spec_version: SPEC_VERSION.into(),
        version: number,
        expires,
        targets,
        custom: Some(
            PackInfo {
                pack_version: version.as_str().to_owned(),
                mirrors: read_mirrors(dir)?,
                canary: read_canary(dir)?,
            }
            .to_value(),
        ),
        delegations: read_delegations(dir)?,
    };
    let pins = |kind: &str, file: &str| Pins {
        kind: kind.into(),
        spec_version: SPEC_VERSION.into(),
        version: number,
        expires,
        meta: BTreeMap::from([(file.to_owned(), MetaFile::version(number))]),
        custom: None,
    };
    Ok((targets, pins("snapshot", layout::TARGETS), pins("timestamp", layout::SNAPSHOT)))
}

/// The delegations a pack carries (`delegations.json`, written by `pack build
/// --delegate-intel`), if any.
fn read_delegations(dir: &Path) -> Result<Option<Delegations>, TrustError> {
    let path = dir.join(layout::DELEGATIONS);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| TrustError::Metadata(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path)(e)),
    }
}

/// Why a list of mirrors is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MirrorError {
    /// A URL clients would not use.
    #[error(
        "mirror {0:?}: use https://HOST[/PATH] (plain http:// only to localhost, 127.0.0.1 or [::1]), at most 256 \
         characters, without query, fragment or user information"
    )]
    BadUrl(String),
    /// More than [`MAX_MIRRORS`].
    #[error("{0} mirrors: at most {MAX_MIRRORS}")]
    TooMany(usize),
    /// The same base URL twice (a trailing `/` aside).
    #[error("mirror {0:?} is listed twice")]
    Duplicate(String),
}

impl Coded for MirrorError {
    fn code(&self) -> &'static str {
        "bad_mirror"
    }
}

/// Checks the mirrors a pack is to list: each a URL clients use ([`mirror_url_ok`]), at
/// most [`MAX_MIRRORS`], none twice.
pub fn check_mirrors(mirrors: &[String]) -> Result<(), MirrorError> {
    if mirrors.len() > MAX_MIRRORS {
        return Err(MirrorError::TooMany(mirrors.len()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for url in mirrors {
        if !mirror_url_ok(url) {
            return Err(MirrorError::BadUrl(url.chars().take(300).collect()));
        }
        if !seen.insert(url.trim_end_matches('/')) {
            return Err(MirrorError::Duplicate(url.clone()));
        }
    }
    Ok(())
}

/// Records in the pack at `dir` the mirrors its `targets` lists (`mirrors.json`, a JSON
/// array of base URLs, checked with [`check_mirrors`]); with none, removes the file.
/// `pack sign` puts them into the signed `targets.json` (`custom.mirrors`).
pub fn write_mirrors(dir: &Path, mirrors: &[String]) -> Result<(), TrustError> {
    let path = dir.join(layout::MIRRORS);
    check_mirrors(mirrors).map_err(|e| TrustError::Metadata(e.to_string()))?;
    if mirrors.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path)(e)),
            _ => Ok(()),
        };
    }
    let mut bytes = serde_json::to_vec_pretty(mirrors).expect("strings serialise");
    bytes.push(b'\n');
    write(&path, &bytes)
}

/// The mirrors a pack lists (`mirrors.json`, written by `pack build --mirror`), none when
/// it has no such file; a malformed file or list is refused.
fn read_mirrors(dir: &Path) -> Result<Vec<String>, TrustError> {
    let path = dir.join(layout::MIRRORS);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&path)(e)),
    };
    let mirrors: Vec<String> =
        serde_json::from_slice(&bytes).map_err(|e| TrustError::Metadata(format!("{}: {e}", path.display())))?;
    check_mirrors(&mirrors).map_err(|e| TrustError::Metadata(format!("{}: {e}", path.display())))?;
    Ok(mirrors)
}

/// Records in the pack at `dir` the canary its `targets` carries (`canary.json`; the
/// canary pack's files are under `canary/`); with none, removes the file. `pack sign`
/// puts it into the signed `targets.json` (`custom.canary`, `docs/canaries.md`).
pub fn write_canary(dir: &Path, canary: Option<&Canary>) -> Result<(), TrustError> {
    let path = dir.join(layout::CANARY);
    match canary {
        Some(canary) if canary.well_formed() => {
            let mut bytes = serde_json::to_vec_pretty(canary).expect("a canary serialises");
            bytes.push(b'\n');
            write(&path, &bytes)
        }
        Some(canary) => Err(TrustError::Metadata(format!("canary {canary:?}: percentage 1 to 100, salt 16 to 64 hex"))),
        None => match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path)(e)),
            _ => Ok(()),
        },
    }
}

/// The canary a pack carries (`canary.json`), none without the file; a malformed one, or
/// one whose manifest (`canary/manifest.json`) the pack lacks, is refused.
fn read_canary(dir: &Path) -> Result<Option<Canary>, TrustError> {
    let path = dir.join(layout::CANARY);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path)(e)),
    };
    let canary: Canary =
        serde_json::from_slice(&bytes).map_err(|e| TrustError::Metadata(format!("{}: {e}", path.display())))?;
    if !canary.well_formed() || !dir.join(CANARY_DIR).join(layout::MANIFEST).is_file() {
        return Err(TrustError::Metadata(format!(
            "{}: a canary needs a percentage of 1 to 100, a salt of 16 to 64 hex digits and {CANARY_DIR}/{}",
            path.display(),
            layout::MANIFEST
        )));
    }
    Ok(Some(canary))
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
/// `root` is given, a key the root does not list for `targets` and `snapshot` is refused,
/// and the timestamp is signed only when the root lists the key for it too (a root with
/// an online timestamp role has it made at deploy time instead).
pub fn sign_pack(dir: &Path, key: &PrivateKey, root: Option<&Root>) -> Result<SignOutcome, TrustError> {
    let keyid = key.public().key_id();
    // Which of targets, snapshot and timestamp this key signs: all three without a root;
    // with one, targets (required) and whichever of the others the root lists it for (a
    // root with online roles has those made at deploy time instead).
    let mut signs = [true; 3];
    let root = root.map(|root| with_pack_rotations(dir, root)).transpose()?;
    if let Some(root) = &root {
        root.check_signer(&keyid, &["targets"])?;
        signs[1] = root.check_signer(&keyid, &["snapshot"]).is_ok();
        signs[2] = root.check_signer(&keyid, &["timestamp"]).is_ok();
    }
    let (targets, snapshot, timestamp) = pack_metadata(dir)?;
    let mut envelopes = Vec::new();
    let roles = [
        (layout::TARGETS, Envelope::new(&targets)),
        (layout::SNAPSHOT, Envelope::new(&snapshot)),
        (layout::TIMESTAMP, Envelope::new(&timestamp)),
    ];
    for ((name, expected), _) in roles.into_iter().zip(signs).filter(|(_, signs)| *signs) {
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
        replaced |= key.sign_envelope(envelope)?;
    }
    let signatures = envelopes[0].1.signatures.len();
    // Timestamp last: a reader that starts from it finds the others already signed.
    for (path, envelope) in &envelopes {
        write(path, &envelope.to_bytes())?;
    }
    Ok(SignOutcome { keyid, signatures, replaced })
}

/// `root` advanced through the `N.root.json` rotations the pack in `dir` carries: a pack
/// that rotates keys is signed by the new keys. (This only decides which keys may sign;
/// verification checks each rotation's signatures.)
fn with_pack_rotations(dir: &Path, root: &Root) -> Result<Root, TrustError> {
    let mut root = root.clone();
    loop {
        let path = dir.join(layout::root_rotation(root.version + 1));
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(root),
            Err(e) => return Err(io(&path)(e)),
        };
        let next = Root::parse_unverified(&bytes)?;
        if next.version != root.version + 1 {
            return Err(TrustError::Metadata(format!("{} holds root version {}", path.display(), next.version)));
        }
        root = next;
    }
}

/// Adds `key`'s signature to a root metadata file (a new root during rotation is signed
/// by a threshold of the old keys and of the new ones).
pub fn sign_root(path: &Path, key: &PrivateKey) -> Result<SignOutcome, TrustError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let mut envelope = Envelope::parse(&bytes).map_err(|e| TrustError::Metadata(format!("{}: {e}", path.display())))?;
    let root: Root = typed(&path.display().to_string(), &envelope.signed)?;
    root.check()?;
    let replaced = key.sign_envelope(&mut envelope)?;
    write(path, &envelope.to_bytes())?;
    Ok(SignOutcome { keyid: key.public().key_id(), signatures: envelope.signatures.len(), replaced })
}
