//! Reading what the command line names: files (or standard input for `-`), pack
//! directories, the root of trust and publisher keys. Errors name the file, never its
//! content.

use std::io::Read;
use std::path::{Path, PathBuf};

use ferretwatch_pack_client::dir::DirSource;
use ferretwatch_pack_client::layout::MANIFEST;
use ferretwatch_pack_client::trust::metadata::Root;
use ferretwatch_pack_client::trust::verify::Source;
use ferretwatch_pack_publisher::http::HttpSource;
use ferretwatch_pack_publisher::keys::PrivateKey;

use crate::error::CliError;

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &Path) -> Result<Vec<u8>, CliError> {
    let read = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().lock().read_to_end(&mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    };
    read.map_err(|e| CliError::input("io", format!("{}: {e}", path.display())))
}

/// Reads a text file (or standard input); bytes that are not UTF-8 are replaced, because
/// pages are not always valid UTF-8 and a scan reads what it can rather than refuse.
pub fn read_text(path: &Path) -> Result<String, CliError> {
    let bytes = read_input(path)?;
    Ok(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// The pack directory an argument names: the directory itself, or the directory of a file
/// in it. The runbook writes `./scripts/sign-rule-pack.sh dist/rules.json`, and a built pack
/// names its rules `rules.HASH.json`, so a missing file whose directory holds a
/// `manifest.json` names that directory too.
pub fn pack_dir(arg: &Path) -> PathBuf {
    if arg.is_dir() {
        return arg.to_owned();
    }
    let parent = arg.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if arg.is_file() || parent.join(MANIFEST).is_file() {
        parent.to_owned()
    } else {
        arg.to_owned()
    }
}

/// The pack an argument names, as a verifier reads it: an `http(s)://` origin URL, or a
/// directory (a `file://` URL, a path, or a file in the pack).
pub fn pack_source(pack: &str) -> Box<dyn Source> {
    if pack.starts_with("http://") || pack.starts_with("https://") {
        Box::new(HttpSource::new(pack, std::time::Duration::from_secs(30)))
    } else {
        Box::new(DirSource(pack_dir(Path::new(pack.strip_prefix("file://").unwrap_or(pack)))))
    }
}

/// The root of trust's bytes (verified by whoever uses them).
pub fn read_root(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path)
        .map_err(|e| CliError::input("unreadable_root", format!("root of trust {}: {e}", path.display())))
}

/// The root of trust as a signer reads it: which keys may sign what (its signatures are
/// the verifier's to check).
pub fn read_root_for_signers(path: &Path) -> Result<Root, CliError> {
    root_for_signers(path, &read_root(path)?)
}

/// The root of trust read from `path` (its `bytes`), as a signer reads it.
pub fn root_for_signers(path: &Path, bytes: &[u8]) -> Result<Root, CliError> {
    Root::parse_unverified(bytes).map_err(|e| CliError::input("bad_root", format!("{}: {e}", path.display())))
}

/// Publisher private keys, read from their files.
pub fn read_keys(paths: &[PathBuf]) -> Result<Vec<PrivateKey>, CliError> {
    paths.iter().map(|path| PrivateKey::read(path).map_err(|e| CliError::input("bad_key", e.to_string()))).collect()
}
