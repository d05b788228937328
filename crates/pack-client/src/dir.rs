//! A pack, and what a client remembers, in a local directory.
//!
//! - [`DirSource`] serves a pack directory to the verifier, bounded and confined to it.
//! - A client's state directory holds `state.json` (the highest version of each role
//!   seen, for rollback protection) and the `N.root.json` rotations it followed (so a
//!   later update finds the chain even when the origin no longer serves it).
//! - [`write_atomic`] is the one way files are written: through a synced temporary file
//!   and a rename, so a reader sees the old file or the new one, never half of one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::layout;
use crate::manifest::{Manifest, ManifestError};
use crate::trust::verify::{read_bounded, Source, State, VerifiedPack, Verifier, VerifyError};
use crate::trust::TrustError;
use ferretwatch_types::Timestamp;

/// The state file in a client's state directory.
pub const STATE_FILE: &str = "state.json";

const TEMPORARY_MARK: &str = ".tmp-";

/// A pack in a local directory.
#[derive(Debug, Clone)]
pub struct DirSource(pub PathBuf);

impl Source for DirSource {
    fn fetch(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, VerifyError> {
        layout::check_name(name).map_err(|e| {
            VerifyError::Malformed(format!("target path {name:?} is not a plain path in the pack: {e}"))
        })?;
        match std::fs::File::open(self.0.join(name)) {
            Ok(file) => read_bounded(file, name, limit).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(VerifyError::Unreadable(format!("{name}: {e}"))),
        }
    }
}

/// Loads the versions seen from the state directory `dir` (all zero when it holds none).
pub fn load_state(dir: &Path) -> Result<State, VerifyError> {
    let path = dir.join(STATE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|e| VerifyError::Malformed(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(VerifyError::Unreadable(format!("{}: {e}", path.display()))),
    }
}

/// A verifier starting from the configured root, with the versions remembered in the
/// state directory `dir` and the rotations saved there (checked again, walking from the
/// configured root, which stays the only trust anchor).
pub fn verifier(root: Vec<u8>, now: Timestamp, dir: Option<&Path>) -> Result<Verifier, VerifyError> {
    let Some(dir) = dir else { return Ok(Verifier::new(root, now, State::default())) };
    Ok(Verifier::new(root, now, load_state(dir)?).with_saved_roots(Box::new(DirSource(dir.to_owned()))))
}

/// Persists what a client must remember after `pack` was verified into the state
/// directory `dir`: the rotations followed, then the versions seen, each atomically.
pub fn save_state(dir: &Path, pack: &VerifiedPack) -> Result<(), TrustError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TrustError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for (version, bytes) in &pack.rotations {
        let path = dir.join(layout::root_rotation(*version));
        write_atomic(&path, bytes).map_err(io(&path))?;
    }
    let mut bytes = serde_json::to_vec_pretty(&pack.state).expect("state serialises");
    bytes.push(b'\n');
    let path = dir.join(STATE_FILE);
    write_atomic(&path, &bytes).map_err(io(&path))
}

/// Every pack file under `dir` (not its top-level TUF metadata, nor a temporary file an
/// interrupted write left), by its `/`-separated relative path.
pub fn pack_files(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, TrustError> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> Result<(), TrustError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| TrustError::Io { path, source }
        };
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
                if is_temporary(&file_name) || (rel.components().count() == 1 && layout::is_metadata(&name)) {
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

/// A pack directory's manifest that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestReadError {
    /// The file exists but cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a manifest.
    #[error("{path}: {source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: ManifestError,
    },
}

/// Reads `DIR/manifest.json`; `Ok(None)` when there is none.
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>, ManifestReadError> {
    let path = dir.join(layout::MANIFEST);
    match std::fs::read(&path) {
        Ok(bytes) => {
            Manifest::from_json(&bytes).map(Some).map_err(|source| ManifestReadError::Invalid { path, source })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ManifestReadError::Io { path, source }),
    }
}

/// Whether a file name is one of [`write_atomic`]'s temporary files (left behind only when
/// a write was interrupted).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(TEMPORARY_MARK)
}

/// Writes `bytes` to `path` through a synced temporary file in the same directory and a
/// rename, so readers see the old file or the new one, never half of one. The temporary
/// file is removed when the write fails.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{name}{TEMPORARY_MARK}{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes a file only its owner may read (mode 0600 on Unix), synced before it counts as
/// written: private keys and secrets. An existing file is refused unless `replace`, so a
/// secret is never overwritten by accident.
pub fn write_private(path: &Path, bytes: &[u8], replace: bool) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_source_stays_inside_its_directory_and_bounds_every_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), b"0123456789").unwrap();
        let source = DirSource(dir.path().to_owned());
        assert_eq!(source.fetch("a.json", 10).unwrap().as_deref(), Some(&b"0123456789"[..]));
        assert!(matches!(source.fetch("a.json", 9), Err(VerifyError::Oversized { limit: 9, .. })));
        assert_eq!(source.fetch("b.json", 10).unwrap(), None);
        for outside in ["../a.json", "/etc/passwd", "x/../a.json", "a\\b"] {
            assert!(matches!(source.fetch(outside, 10), Err(VerifyError::Malformed(_))), "{outside}");
        }
    }

    #[test]
    fn atomic_writes_leave_no_temporary_file_and_pack_files_skip_metadata() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(&dir.path().join("rules.0123456789abcdef.json"), b"{}").unwrap();
        write_atomic(&dir.path().join("timestamp.json"), b"{}").unwrap();
        std::fs::create_dir(dir.path().join("deltas")).unwrap();
        write_atomic(&dir.path().join("deltas").join("2025.09.24.15.fwd"), b"FWDL").unwrap();
        std::fs::write(dir.path().join(".x.tmp-1"), b"half").unwrap();
        let files = pack_files(dir.path()).unwrap();
        let names: Vec<&str> = files.keys().map(String::as_str).collect();
        assert_eq!(names, ["deltas/2025.09.24.15.fwd", "rules.0123456789abcdef.json"]);
        assert!(write_atomic(&dir.path().join("missing").join("x"), b"").is_err());
        let temporaries: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| is_temporary(name))
            .collect();
        assert_eq!(temporaries, [".x.tmp-1"], "only the planted one");
    }

    #[test]
    fn private_files_are_owner_only_and_never_replaced_by_accident() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_private(&path, b"one", false).unwrap();
        assert_eq!(write_private(&path, b"two", false).unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_private(&path, b"three", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
