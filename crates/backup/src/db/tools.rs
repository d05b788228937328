//! Finding `pg_dump` and `pg_restore`: `FERRETWATCH_PG_BIN` (a directory), else the
//! `PATH`, else the newest `/usr/lib/postgresql/N/bin` (Debian installs them there and
//! puts only wrappers on the `PATH`). A `pg_dump` older than the server refuses to dump,
//! so the newest is the right default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{BackupError, Result};

/// Where the PostgreSQL client tools are.
#[derive(Debug, Clone, Default)]
pub struct PgTools {
    bin_dir: Option<PathBuf>,
}

impl PgTools {
    /// From `FERRETWATCH_PG_BIN`, the `PATH` or the Debian location.
    pub fn locate() -> Self {
        if let Some(dir) = std::env::var_os("FERRETWATCH_PG_BIN").filter(|d| !d.is_empty()) {
            return PgTools { bin_dir: Some(PathBuf::from(dir)) };
        }
        let on_path = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("pg_restore").is_file()));
        if on_path {
            return PgTools { bin_dir: None };
        }
        let newest = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .max();
        PgTools { bin_dir: newest.map(|v| Path::new("/usr/lib/postgresql").join(v.to_string()).join("bin")) }
    }

    /// A command for tool `name`.
    pub fn command(&self, name: &str) -> tokio::process::Command {
        let program = self.bin_dir.as_ref().map_or_else(|| PathBuf::from(name), |dir| dir.join(name));
        let mut command = tokio::process::Command::new(program);
        command.kill_on_drop(true);
        command
    }

    /// `NAME --version`'s answer.
    pub async fn version(&self, name: &str) -> Result<String> {
        let output = self.command(name).arg("--version").output().await.map_err(|e| {
            BackupError::Tool(format!(
                "{name} not found ({e}): install the PostgreSQL client tools or set FERRETWATCH_PG_BIN"
            ))
        })?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }
}

/// The versions the manifest records: this tool's, and `pg_dump`'s when it was used.
pub fn tool_versions(pg_dump: Option<String>) -> BTreeMap<String, String> {
    let mut tools = BTreeMap::from([("ferretwatch".to_owned(), env!("CARGO_PKG_VERSION").to_owned())]);
    if let Some(version) = pg_dump {
        tools.insert("pg_dump".to_owned(), version);
    }
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        tools.insert("host".to_owned(), host.trim().to_owned());
    }
    tools
}

/// Gives `command` the database `url` as `--dbname`, without its password, which goes in
/// `PGPASSWORD` instead: a command line is readable by every user in /proc.
pub(crate) fn dbname(command: &mut tokio::process::Command, url: &str) {
    if let Ok(mut parsed) = url::Url::parse(url) {
        if let Some(password) = parsed.password() {
            let password = percent_encoding::percent_decode_str(password).decode_utf8_lossy().into_owned();
            if parsed.set_password(None).is_ok() {
                command.env("PGPASSWORD", password).arg("--dbname").arg(parsed.as_str());
                return;
            }
        }
    }
    command.arg("--dbname").arg(url);
}

/// Runs a prepared tool command and fails with its standard error's last lines.
pub(crate) async fn run(mut command: tokio::process::Command, what: &str) -> Result<()> {
    command.stdin(std::process::Stdio::null());
    let output = command.output().await.map_err(|e| BackupError::Tool(format!("{what}: cannot start ({e})")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
    Err(BackupError::Tool(format!("{what} failed ({}): {}", output.status, tail.join(" | "))))
}

#[cfg(test)]
mod password_tests {
    use super::dbname;

    #[test]
    fn a_password_goes_to_the_environment_never_the_command_line() {
        let mut command = tokio::process::Command::new("pg_dump");
        dbname(&mut command, "postgres://fw:s%40cret@db.internal:5432/fw?sslmode=require");
        let std = command.as_std();
        let args: Vec<_> = std.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(args, ["--dbname", "postgres://fw@db.internal:5432/fw?sslmode=require"]);
        let env: Vec<_> = std.get_envs().collect();
        assert_eq!(env, [(std::ffi::OsStr::new("PGPASSWORD"), Some(std::ffi::OsStr::new("s@cret")))]);
        let mut plain = tokio::process::Command::new("pg_dump");
        dbname(&mut plain, "postgres://postgres@127.0.0.1/fw");
        assert_eq!(plain.as_std().get_envs().count(), 0);
    }
}
