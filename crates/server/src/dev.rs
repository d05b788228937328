//! First start without configuration: development signing keys and a signed default pack.
//!
//! When `dev_bootstrap` is on and the (local) origin serves no pack, the server creates two
//! publisher keys and a root of trust with threshold 2 under `DATA_DIR/dev-keys` (kept on
//! later starts), builds the default pack (built-in rules, no feeds), signs it with both
//! keys and deploys it exactly as `ferretwatch pack deploy` would. Everything is logged at
//! WARN: these keys sit next to the server and must never sign a production pack.

use std::path::{Path, PathBuf};

use ferretwatch_pack::build::{build, BuildOptions};
use ferretwatch_pack::publish::{self, next_version, Origin};
use ferretwatch_pack::trust::keys::PrivateKey;
use ferretwatch_pack::trust::metadata::{Envelope, Root};
use ferretwatch_pack::trust::{sign_pack, sign_root, write_atomic};
use ferretwatch_types::Timestamp;

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

/// Creates (or reuses) development keys and deploys a signed default pack to `origin_url`.
pub fn bootstrap(data_dir: &Path, origin_url: &str) -> Result<Bootstrapped, String> {
    let keys_dir = data_dir.join(DEV_KEYS_DIR);
    let (keys, root_path, new_keys) = load_or_create_keys(&keys_dir)?;
    let root_bytes = std::fs::read(&root_path).map_err(|e| format!("{}: {e}", root_path.display()))?;
    let root: Root = serde_json::from_value(
        Envelope::parse(&root_bytes).map_err(|e| format!("{}: {e}", root_path.display()))?.signed,
    )
    .map_err(|e| format!("{}: {e}", root_path.display()))?;

    let origin = Origin::open(origin_url).map_err(|e| e.to_string())?;
    let current = publish::current_version(&origin).map_err(|e| e.to_string())?;
    let version = next_version(current.as_ref(), Timestamp::now());
    let work = data_dir.join("dev-pack").join(version.as_str());
    let feeds = data_dir.join("dev-pack").join("feeds");
    for dir in [&work, &feeds] {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    build(&BuildOptions::new(version.clone(), &feeds, &work)).map_err(|e| format!("building the default pack: {e}"))?;
    for key in &keys {
        sign_pack(&work, key, Some(&root)).map_err(|e| format!("signing the default pack: {e}"))?;
    }
    publish::deploy(&work, &origin, &root_bytes, Timestamp::now()).map_err(|e| format!("deploying: {e}"))?;
    Ok(Bootstrapped { root: root_path, version: version.to_string(), new_keys })
}

/// Whether the origin serves a development pack (one the development root of trust
/// verifies) that expires within `margin_secs`. The server then deploys a fresh one on
/// start, so a development server keeps serving a valid pack however long it runs. A pack
/// the development root does not verify (a real publishers' pack) is never replaced.
pub fn dev_pack_expiring(data_dir: &Path, origin_url: &str, now: Timestamp, margin_secs: u64) -> bool {
    use ferretwatch_pack::trust::verify::{State, Verifier};
    let Ok(root) = std::fs::read(data_dir.join(DEV_KEYS_DIR).join("root.json")) else { return false };
    let Ok(origin) = Origin::open(origin_url) else { return false };
    match Verifier::new(root, now, State::default()).verify(&origin.source(None)) {
        Ok(verified) => verified.expires <= now.plus_secs(margin_secs),
        Err(_) => false,
    }
}

fn load_or_create_keys(dir: &Path) -> Result<(Vec<PrivateKey>, PathBuf, bool), String> {
    let root_path = dir.join("root.json");
    let key_paths = [dir.join("dev-publisher-1.key"), dir.join("dev-publisher-2.key")];
    if root_path.exists() && key_paths.iter().all(|p| p.exists()) {
        let keys = key_paths
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
                PrivateKey::from_json(&text).map_err(|e| format!("{}: {e}", p.display()))
            })
            .collect::<Result<Vec<_>, String>>()?;
        return Ok((keys, root_path, false));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let keys = [PrivateKey::generate(), PrivateKey::generate()]
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    for (key, path) in keys.iter().zip(&key_paths) {
        write_private(path, &key.to_json())?;
        let public = serde_json::to_string_pretty(&key.public()).map_err(|e| e.to_string())?;
        std::fs::write(path.with_extension("pub"), public).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let expires = Timestamp::now().plus_secs(365 * 86_400);
    let publics: Vec<_> = keys.iter().map(PrivateKey::public).collect();
    let root = Root::new(1, expires, &publics, 2).map_err(|e| e.to_string())?;
    write_atomic(&root_path, &Envelope::new(&root).to_bytes()).map_err(|e| e.to_string())?;
    for key in &keys {
        sign_root(&root_path, key).map_err(|e| e.to_string())?;
    }
    Ok((keys, root_path, true))
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
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
