//! The configuration part: the server's configuration file and the files it names (TLS
//! certificate and key, the root of trust, online and audit keys).
//!
//! Secrets go into a backup only when it is encrypted: without a recipient, secret keys
//! of the configuration file are left out of its copy (the copy still parses, and the
//! service then takes them from the environment as usual), and secret files are not
//! copied; the manifest lists both under `skipped`.

use std::path::{Path, PathBuf};

use crate::error::{io, BackupError, Result};

/// What to back up of the configuration.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// The configuration file.
    pub file: PathBuf,
    /// Files it names that hold no secret (certificates, the root of trust).
    pub files: Vec<PathBuf>,
    /// Files it names that are secrets (private keys).
    pub secret_files: Vec<PathBuf>,
    /// Its keys whose values are secrets, as dotted paths (`console.secret`).
    pub secret_keys: Vec<String>,
}

/// The object path of a named file: `config/files/` and its absolute path.
pub fn object_path(file: &Path) -> String {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    format!("config/files/{}", absolute.to_string_lossy().trim_start_matches('/'))
}

/// The object path of the configuration file itself.
pub const CONFIG_OBJECT: &str = "config/ferretwatch.toml";

/// The configuration file's text without the values of `secret_keys`, and the keys that
/// were removed.
pub fn without_secrets(path: &Path, secret_keys: &[String]) -> Result<(String, Vec<String>)> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let mut table: toml::Table =
        toml::from_str(&text).map_err(|e| BackupError::Invalid(format!("{}: not valid TOML: {e}", path.display())))?;
    let mut removed = Vec::new();
    for key in secret_keys {
        let parts: Vec<&str> = key.split('.').collect();
        let (last, sections) = parts.split_last().expect("split yields one part at least");
        if remove_key(&mut table, sections, last) {
            removed.push(key.clone());
        }
    }
    if removed.is_empty() {
        return Ok((text, removed));
    }
    let header = format!(
        "# Backed up without its secrets ({}): they come from the environment or an encrypted backup.\n",
        removed.join(", ")
    );
    Ok((header + &toml::to_string(&table).map_err(|e| BackupError::Invalid(e.to_string()))?, removed))
}

fn remove_key(table: &mut toml::Table, sections: &[&str], last: &str) -> bool {
    match sections.split_first() {
        None => table.remove(last).is_some(),
        Some((section, rest)) => match table.get_mut(*section).and_then(toml::Value::as_table_mut) {
            Some(inner) => remove_key(inner, rest, last),
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_left_out_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ferretwatch.toml");
        std::fs::write(&path, "db = \"postgres://x@127.0.0.1/fw\"\n[console]\nsecret = \"hunter2\"\n").unwrap();
        let keys = vec!["console.secret".to_owned(), "install.secret".to_owned()];
        let (text, removed) = without_secrets(&path, &keys).unwrap();
        assert_eq!(removed, ["console.secret"]);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("postgres://x@127.0.0.1/fw"), "{text}");
        assert_eq!(object_path(Path::new("/etc/ferretwatch/tls.pem")), "config/files/etc/ferretwatch/tls.pem");
    }
}
