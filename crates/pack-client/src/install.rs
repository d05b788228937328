//! A client's installation on disk, for hosts with a file system (the command line's
//! `ferretwatch update`; the browser extension keeps the same things in its own storage):
//! the updater's state, the installed packs and the delta base, in one directory.
//!
//! ```text
//! DIR/state.json          the updater's Persisted state and the install id (written atomically)
//! DIR/packs/VERSION-HASH/ an installed pack: its targets version and a hash of its listing
//! DIR/base/               the delta base: the filters of the last pack whose filters came whole
//! ```
//!
//! Installing stages the new pack in `packs/.staging-VERSION` (unchanged files hard-linked
//! from the running pack, new ones written and synced), builds an engine from it (a pack
//! that does not load is refused before anything changes), then renames it into place.
//! The swap itself is the state file: until `state.json` names the new version, the old
//! pack is the one in use, so a crash at any point leaves a working installation. Only the
//! current and the last known good packs are kept.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferretwatch_types::{Coded, Fault, Timestamp};
use serde::{Deserialize, Serialize};

use crate::dir::write_atomic;
use crate::layout::check_name;
use crate::load::{load_patched, LoadError, LoadedPack, YaraLimit};
use crate::update::{Installed, Persisted, Staged};

/// What `state.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientState {
    /// The install's random id (it spreads polls and picks the canary cohort).
    pub install_id: String,
    /// The updater's state.
    pub updater: Persisted,
}

/// Why the installation directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// `state.json` does not parse.
    #[error("{path}: not a client state file: {reason}")]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A pack file name that is not a safe relative path.
    #[error("{0:?}: not a safe pack file name")]
    Name(String),
    /// The installed pack does not load.
    #[error(transparent)]
    Load(#[from] LoadError),
}

impl Coded for InstallError {
    fn code(&self) -> &'static str {
        match self {
            InstallError::Io { .. } => "io",
            InstallError::State { .. } => "bad_state",
            InstallError::Name(_) => "bad_name",
            InstallError::Load(e) => e.code(),
        }
    }

    fn fault(&self) -> Fault {
        match self {
            InstallError::Io { .. } => Fault::Operation,
            _ => Fault::Input,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InstallError + '_ {
    move |source| InstallError::Io { path: path.to_owned(), source }
}

/// A client's installation directory.
#[derive(Debug, Clone)]
pub struct ClientDir {
    dir: PathBuf,
}

impl ClientDir {
    /// Opens `dir`, creating it (and its `packs` directory) when missing.
    pub fn open(dir: &Path) -> Result<Self, InstallError> {
        let packs = dir.join("packs");
        std::fs::create_dir_all(&packs).map_err(io(&packs))?;
        Ok(ClientDir { dir: dir.to_owned() })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The saved state, if there is one.
    pub fn load_state(&self) -> Result<Option<ClientState>, InstallError> {
        let path = self.state_path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| InstallError::State { path, reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Saves the state atomically (synced, then renamed over the old one): this is the
    /// moment a new pack becomes the one in use.
    pub fn save_state(&self, state: &ClientState) -> Result<(), InstallError> {
        let path = self.state_path();
        let bytes = serde_json::to_vec_pretty(state).expect("the state serialises");
        write_atomic(&path, &bytes).map_err(io(&path))
    }

    /// The directory of an installed pack: named after its targets version and a hash of
    /// its file listing, so fresh intel (same targets version, other files) gets a
    /// directory of its own and the running pack is never replaced in place.
    pub fn pack_dir(&self, pack: &Installed) -> PathBuf {
        self.dir.join("packs").join(pack_dir_name(pack))
    }

    /// The files of an installed pack, read from disk.
    pub fn files(&self, pack: &Installed) -> Result<BTreeMap<String, Vec<u8>>, InstallError> {
        let dir = self.pack_dir(pack);
        let mut files = BTreeMap::new();
        for name in pack.files.keys() {
            let path = safe_join(&dir, name)?;
            files.insert(name.clone(), std::fs::read(&path).map_err(io(&path))?);
        }
        Ok(files)
    }

    /// The engine of an installed pack (its patched filters accepted by the hashes the
    /// signed delta gave them).
    pub fn load(&self, pack: &Installed, now: Timestamp, yara_timeout: Duration) -> Result<LoadedPack, InstallError> {
        let files = self.files(pack)?;
        Ok(load_patched(&files, &pack.patched, now, YaraLimit::Timeout(yara_timeout), true)?)
    }

    /// Installs a staged pack next to the running one (`current`): the kept files are
    /// hard-linked (or copied) from it, the fetched ones written and synced, and the result
    /// must load into an engine; then it is renamed into place and, when the staged pack
    /// starts a new delta base, the base is replaced the same way. Nothing is in use until
    /// the caller saves the state that names it. An error leaves everything as it was.
    pub fn install(
        &self,
        staged: &Staged,
        current: Option<&Installed>,
        now: Timestamp,
        yara_timeout: Duration,
    ) -> Result<(), InstallError> {
        let packs = self.dir.join("packs");
        let staging = packs.join(format!(".staging-{}", pack_dir_name(&staged.pack)));
        let result = self.stage(staged, current, &staging, now, yara_timeout);
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        let target = self.pack_dir(&staged.pack);
        if target.exists() {
            // The same listing is installed already (its name says so): keep it.
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        } else {
            std::fs::rename(&staging, &target).map_err(io(&target))?;
        }
        if !staged.base_files.is_empty() {
            self.rebase(&target, &staged.base_files)?;
        }
        sync_dir(&packs)
    }

    fn stage(
        &self,
        staged: &Staged,
        current: Option<&Installed>,
        staging: &Path,
        now: Timestamp,
        yara_timeout: Duration,
    ) -> Result<(), InstallError> {
        if staging.exists() {
            std::fs::remove_dir_all(staging).map_err(io(staging))?;
        }
        std::fs::create_dir_all(staging).map_err(io(staging))?;
        let mut files = BTreeMap::new();
        for name in &staged.kept {
            let running = current.ok_or_else(|| InstallError::Name(name.clone()))?;
            let from = safe_join(&self.pack_dir(running), name)?;
            let to = safe_join(staging, name)?;
            create_parent(&to)?;
            if std::fs::hard_link(&from, &to).is_err() {
                std::fs::copy(&from, &to).map_err(io(&to))?;
            }
            files.insert(name.clone(), std::fs::read(&to).map_err(io(&to))?);
        }
        for (name, bytes) in &staged.fetched {
            let to = safe_join(staging, name)?;
            create_parent(&to)?;
            write_synced(&to, bytes)?;
            files.insert(name.clone(), bytes.clone());
        }
        load_patched(&files, &staged.pack.patched, now, YaraLimit::Timeout(yara_timeout), true)?;
        Ok(())
    }

    /// Replaces the delta base with copies of `names` from the installed pack `from`.
    fn rebase(&self, from: &Path, names: &[String]) -> Result<(), InstallError> {
        let base = self.dir.join("base");
        let staging = self.dir.join(".base-staging");
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        for name in names {
            let to = safe_join(&staging, name)?;
            create_parent(&to)?;
            let source = safe_join(from, name)?;
            let bytes = std::fs::read(&source).map_err(io(&source))?;
            write_synced(&to, &bytes)?;
        }
        let old = self.dir.join(".base-old");
        let _ = std::fs::remove_dir_all(&old);
        if base.exists() {
            std::fs::rename(&base, &old).map_err(io(&base))?;
        }
        std::fs::rename(&staging, &base).map_err(io(&base))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// The delta base's files among `names` (a missing or unreadable one is left out: the
    /// updater then downloads the filters whole).
    pub fn read_base(&self, names: &[String]) -> BTreeMap<String, Vec<u8>> {
        let base = self.dir.join("base");
        names
            .iter()
            .filter_map(|name| {
                let path = safe_join(&base, name).ok()?;
                Some((name.clone(), std::fs::read(path).ok()?))
            })
            .collect()
    }

    /// Removes installed packs other than the current and the last known good one, and
    /// any staging left by a crash.
    pub fn prune(&self, state: &Persisted) -> Result<(), InstallError> {
        let keep: Vec<String> =
            [&state.current, &state.last_known_good].into_iter().flatten().map(pack_dir_name).collect();
        let packs = self.dir.join("packs");
        for entry in std::fs::read_dir(&packs).map_err(io(&packs))? {
            let entry = entry.map_err(io(&packs))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !keep.contains(&name) {
                std::fs::remove_dir_all(entry.path()).map_err(io(&entry.path()))?;
            }
        }
        Ok(())
    }
}

/// `VERSION-HASH`: the targets version and the first 16 hex digits of the sha256 of the
/// pack's file listing (patched filters included).
fn pack_dir_name(pack: &Installed) -> String {
    let listing = serde_json::to_vec(&(&pack.files, &pack.patched)).expect("a listing serialises");
    format!("{}-{}", pack.version, &ferretwatch_types::Sha256::of(&listing).to_hex()[..16])
}

/// `dir/name` for a pack file name that is a safe relative path.
fn safe_join(dir: &Path, name: &str) -> Result<PathBuf, InstallError> {
    check_name(name).map_err(|_| InstallError::Name(name.to_owned()))?;
    Ok(dir.join(name))
}

fn create_parent(path: &Path) -> Result<(), InstallError> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent).map_err(io(parent)),
        None => Ok(()),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), InstallError> {
    let mut file = std::fs::File::create(path).map_err(io(path))?;
    file.write_all(bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

fn sync_dir(dir: &Path) -> Result<(), InstallError> {
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    let _ = dir;
    Ok(())
}
