//! One module per command group.

pub mod admin;
pub mod batch;
pub mod bulletin;
pub mod check;
pub mod intel;
pub mod keys;
pub mod pack;
pub mod publish;
pub mod root;
pub mod rules;
pub mod scan;
pub mod serve;
pub mod signing;

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

/// Exit status for bad input (unreadable file, invalid URL, invalid rules).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit status for a failed operation (download, build).
pub const EXIT_FAILED: u8 = 1;

/// The pack directory an argument names: the directory itself, or the directory of a file
/// in it. The runbook writes `./scripts/sign-rule-pack.sh dist/rules.json`, and a built pack
/// names its rules `rules.HASH.json`, so a missing file whose directory holds a
/// `manifest.json` names that directory too.
pub fn pack_dir(arg: &Path) -> std::path::PathBuf {
    if arg.is_dir() {
        return arg.to_owned();
    }
    let parent = arg.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if arg.is_file() || parent.join(ferretwatch_pack::manifest::MANIFEST_NAME).is_file() {
        parent.to_owned()
    } else {
        arg.to_owned()
    }
}

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &Path) -> std::io::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().lock().read_to_end(&mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(path)
    }
}

/// Prints an error with its stable code and returns the bad-input exit status.
pub fn bad_input(code: &str, message: impl std::fmt::Display, json: bool) -> ExitCode {
    if json {
        let error = serde_json::json!({ "error": { "code": code, "message": message.to_string() } });
        println!("{error}");
    }
    eprintln!("ferretwatch: error[{code}]: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Prints a failed operation's error with its stable code; returns exit status 1.
pub fn fail(code: &str, message: impl std::fmt::Display, json: bool) -> ExitCode {
    bad_input(code, message, json);
    ExitCode::from(EXIT_FAILED)
}
