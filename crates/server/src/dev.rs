//! First start without configuration: development signing keys and a signed default pack.
//!
//! When `dev_bootstrap` is on and the (local) origin serves no pack, the server creates two
//! publisher keys and a root of trust with threshold 2 under `DATA_DIR/dev-keys` (kept on
//! later starts), builds the default pack (built-in rules, no feeds), signs it with both
//! keys and deploys it exactly as `ferretwatch pack deploy` would. Everything is logged at
//! WARN: these keys sit next to the server and must never sign a production pack.

use std::path::{Path, PathBuf};

use ferretwatch_pack_client::dir::write_atomic;
use ferretwatch_pack_client::trust::metadata::{Envelope, Root};
use ferretwatch_pack_client::trust::verify::{State, Verifier};
use ferretwatch_pack_client::trust::TrustError;
use ferretwatch_pack_publisher::build::{build, BuildOptions};
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::{self, next_version, PublishError};
use ferretwatch_pack_publisher::sign::{sign_pack, sign_root};
use ferretwatch_pack_publisher::BuildError;
use ferretwatch_types::{Timestamp, DAY};

/// The directory under the data directory that holds the development keys.
pub const DEV_KEYS_DIR: &str = "dev-keys";

/// What the bootstrap did.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    /// The root of trust clients of this server must use.
    pub root: PathBuf,
    /// The version deployed.
    pub version: String,
    /// Whether new keys were created (false: existing development keys were reused).
    pub new_keys: bool,
}

/// Why the development pack could not be deployed.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// A file or directory under the data directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The development keys or root are unusable.
    #[error("development keys: {0}")]
    Trust(#[from] TrustError),
    /// The default pack does not build.
    #[error("building the default pack: {0}")]
    Build(#[from] BuildError),
    /// The default pack could not be signed or deployed.
    #[error("publishing the default pack: {0}")]
    Publish(#[from] PublishError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BootstrapError + '_ {
    move |source| BootstrapError::Io { path: path.to_owned(), source }
}

/// Creates (or reuses) development keys and deploys a signed default pack to `origin_url`.
pub fn bootstrap(data_dir: &Path, origin_url: &str) -> Result<Bootstrapped, BootstrapError> {
    let keys_dir = data_dir.join(DEV_KEYS_DIR);
    let (keys, root_path, new_keys) = load_or_create_keys(&keys_dir)?;
    let root_bytes = std::fs::read(&root_path).map_err(io(&root_path))?;
    let root = Root::parse_unverified(&root_bytes)?;

    let origin = Origin::open(origin_url)?;
    let current = publish::current_version(&origin)?;
    let version = next_version(current.as_ref(), Timestamp::now())?;
    let work = data_dir.join("dev-pack").join(version.as_str());
    let feeds = data_dir.join("dev-pack").join("feeds");
    for dir in [&work, &feeds] {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    build(&BuildOptions::new(version.clone(), &feeds, &work))?;
    for key in &keys {
        sign_pack(&work, key, Some(&root))?;
    }
    publish::deploy(&work, &origin, &root_bytes, Timestamp::now())?;
    Ok(Bootstrapped { root: root_path, version: version.to_string(), new_keys })
}

/// Whether the origin serves a development pack (one the development root of trust
/// verifies) that expires within `margin_secs`. The server then deploys a fresh one on
/// start, so a development server keeps serving a valid pack however long it runs. A pack
/// the development root does not verify (a real publishers' pack) is never replaced.
pub fn dev_pack_expiring(data_dir: &Path, origin_url: &str, now: Timestamp, margin_secs: u64) -> bool {
    let Ok(root) = std::fs::read(data_dir.join(DEV_KEYS_DIR).join("root.json")) else { return false };
    let Ok(origin) = Origin::open(origin_url) else { return false };
    match Verifier::new(root, now, State::default()).verify(&origin.source(None)) {
        Ok(verified) => verified.expires <= now.plus_secs(margin_secs),
        Err(_) => false,
    }
}

fn load_or_create_keys(dir: &Path) -> Result<(Vec<PrivateKey>, PathBuf, bool), BootstrapError> {
    let root_path = dir.join("root.json");
    let key_paths = [dir.join("dev-publisher-1.key"), dir.join("dev-publisher-2.key")];
    if root_path.exists() && key_paths.iter().all(|p| p.exists()) {
        let keys = key_paths.iter().map(|p| PrivateKey::read(p)).collect::<Result<Vec<_>, _>>()?;
        return Ok((keys, root_path, false));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let keys = [PrivateKey::generate()?, PrivateKey::generate()?];
    for (key, path) in keys.iter().zip(&key_paths) {
        // Keys of an interrupted earlier start are replaced: no root vouches for them yet.
        key.write_private(path, true)?;
        let public = path.with_extension("pub");
        std::fs::write(&public, key.public_json()).map_err(io(&public))?;
    }
    let expires = Timestamp::now().plus_secs(365 * DAY);
    let publics: Vec<_> = keys.iter().map(PrivateKey::public).collect();
    let root = Root::new(1, expires, &publics, 2)?;
    write_atomic(&root_path, &Envelope::new(&root).to_bytes()).map_err(io(&root_path))?;
    for key in &keys {
        sign_root(&root_path, key)?;
    }
    Ok((keys.into(), root_path, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiring_development_pack_is_refreshed_and_a_foreign_pack_never() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let origin = format!("file://{}", tmp.path().join("origin").display());
        let first = bootstrap(&data, &origin).unwrap();
        assert!(first.new_keys);
        let now = Timestamp::now();
        assert!(!dev_pack_expiring(&data, &origin, now, 86_400), "a fresh pack is valid for days");
        assert!(dev_pack_expiring(&data, &origin, now, 8 * 86_400), "it expires within eight days");

        let second = bootstrap(&data, &origin).unwrap();
        assert!(!second.new_keys, "the development keys are reused");
        assert!(second.version > first.version, "{} after {}", second.version, first.version);

        // Another root's keys: the pack is not a development pack of this server.
        let other = tmp.path().join("other");
        bootstrap(&other, &format!("file://{}", tmp.path().join("other-origin").display())).unwrap();
        assert!(!dev_pack_expiring(&other, &origin, now, 8 * 86_400));
    }
}
