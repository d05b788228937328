//! `ferretwatch security …`: runbook §5.1's weekly security scan and §7.1's dependency
//! vulnerability check (`docs/security-scan.md`). The work is `ferretwatch-security`'s;
//! this module turns arguments into its inputs and its report into lines, JSON and SARIF.
//!
//! - `deps` checks `Cargo.lock` against the RustSec advisory database and audits the
//!   browser extension's npm dependencies.
//! - `scan` does that, then checks the service's configuration and, given its URL, the
//!   running service.
//!
//! Both are gates: exit 1 when a finding is an error (a vulnerability, a key file others
//! can read, TLS below 1.2…), 0 otherwise, warnings included; 2 when the scan cannot run
//! (no advisory database, an unreadable lockfile or configuration).

mod deps;
mod scan;

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferretwatch_security::advisories::AdvisoryDb;
use ferretwatch_security::{npm, sarif, Report, Status};
use ferretwatch_types::Timestamp;
use serde_json::json;

use crate::error::{CliError, Failure};
use crate::exit;
use crate::output::Report as Output;

/// Security checks.
#[derive(Subcommand)]
pub enum SecurityCommand {
    /// Dependencies: Cargo.lock against the RustSec advisory database, and npm audit of
    /// the extension; exit 1 on any vulnerability.
    Deps(deps::DepsArgs),
    /// The weekly scan: dependencies, then key files, secrets, TLS and, with --url, the
    /// running service's certificate and headers; exit 1 on any error.
    Scan(scan::ScanArgs),
}

/// Runs a security command.
pub fn run(command: SecurityCommand) -> ExitCode {
    match command {
        SecurityCommand::Deps(args) => deps::run(args),
        SecurityCommand::Scan(args) => scan::run(args),
    }
}

/// What both commands check the dependencies with.
#[derive(Args)]
pub struct DependencyArgs {
    /// The Cargo.lock to check; its directory is the source root that locations are
    /// relative to.
    #[arg(long, default_value = "Cargo.lock")]
    lockfile: PathBuf,
    /// The RustSec advisory database, a directory laid out as rustsec/advisory-db (the
    /// wrappers clone or pull it with git).
    #[arg(long, env = "FERRETWATCH_ADVISORY_DB")]
    advisory_db: Option<PathBuf>,
    /// Warn when the database was last updated more than this many days ago.
    #[arg(long, default_value_t = 7)]
    max_db_age_days: u64,
    /// A directory with a package-lock.json to audit with npm, relative to the source
    /// root (repeatable; default: extension). The npm program is FERRETWATCH_NPM, else npm.
    #[arg(long = "npm-project")]
    npm_projects: Vec<PathBuf>,
    /// Report this RustSec advisory as a note instead of failing on it (repeatable): for
    /// an advisory judged not to apply, such as one against a crate the lockfile lists
    /// but no build compiles. Never used by the wrappers on their own.
    #[arg(long = "ignore", value_name = "ADVISORY_ID")]
    ignore: Vec<String>,
    /// Also write the findings as SARIF 2.1.0 to this file.
    #[arg(long)]
    sarif_output: Option<PathBuf>,
}

impl DependencyArgs {
    /// The source root: the lockfile's directory.
    fn source_root(&self) -> PathBuf {
        let parent = self.lockfile.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf())
    }

    /// The advisories of the lockfile and the npm audits.
    fn check(&self, security_only: bool, now: Timestamp) -> Result<Report, Failure> {
        let Some(dir) = &self.advisory_db else {
            return Err(CliError::input(
                "no_advisory_db",
                "no advisory database: give --advisory-db DIR or FERRETWATCH_ADVISORY_DB (the wrappers \
                 scripts/check-dependencies.sh and scripts/security-scan.sh fetch one)",
            )
            .into());
        };
        let db = AdvisoryDb::open(dir, now)?;
        let mut report = Report::default();
        report.notice(db.age_notice(self.max_db_age_days));
        let shown = self.lockfile.file_name().map_or_else(|| "Cargo.lock".into(), |n| n.to_string_lossy().into_owned());
        report.extend(db.check_lockfile(&self.lockfile, &shown, security_only, &self.ignore)?);
        let npm_program = std::env::var_os("FERRETWATCH_NPM").unwrap_or_else(|| "npm".into());
        let root = self.source_root();
        let projects =
            if self.npm_projects.is_empty() { vec![PathBuf::from("extension")] } else { self.npm_projects.clone() };
        for project in projects {
            let shown = project.to_string_lossy().replace('\\', "/");
            report.extend(npm::audit(&npm_program, &root.join(&project), &shown));
        }
        Ok(report)
    }
}

/// The report as lines, JSON and, when asked, a SARIF file; exit 1 when it failed.
fn finish(report: &Report, sarif_output: Option<&Path>, source_root: &Path) -> Result<Output, Failure> {
    if let Some(path) = sarif_output {
        let log = sarif::log(report, Some(source_root), env!("CARGO_PKG_VERSION"));
        let text = serde_json::to_string_pretty(&log).expect("a SARIF log serialises");
        std::fs::write(path, text + "\n")
            .map_err(|e| CliError::failed("write_failed", format!("{}: {e}", path.display())))?;
    }
    let mut text = String::new();
    for f in &report.findings {
        let at = match &f.location {
            Some(l) if l.in_source_root => match l.line {
                Some(line) => format!(" ({}:{line})", l.uri),
                None => String::new(),
            },
            _ => String::new(),
        };
        let _ = writeln!(text, "{:<4} {}: {}{at}", f.status.word(), f.subject, f.message);
    }
    let (errors, warnings, skipped) =
        (report.count(Status::Error), report.count(Status::Warning), report.count(Status::Skipped));
    let verdict = if report.failed() { "FAILED" } else { "passed" };
    let _ = write!(text, "{errors} error(s), {warnings} warning(s), {skipped} skipped: {verdict}");
    if let Some(path) = sarif_output {
        let _ = write!(text, "\nSARIF written to {}", path.display());
    }
    let json = json!({
        "ok": !report.failed(),
        "errors": errors,
        "warnings": warnings,
        "skipped": skipped,
        "database": report.database,
        "findings": report.findings,
        "sarif_output": sarif_output.map(|p| p.display().to_string()),
    });
    let status = if report.failed() { exit::FAILED } else { exit::SUCCESS };
    Ok(Output::new(text, &json).with_status(status))
}
