//! `pack validate`: everything about a built pack that can be checked without a corpus.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_pack_publisher::validate::{validate, Report as Validation, Severity};
use serde_json::json;

use crate::exit;
use crate::input::pack_dir;
use crate::output::{self, FormatArg, Report};

/// `pack validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// The pack directory, or any file in it (the runbook passes `dist/rules.json`).
    #[arg(default_value = "dist")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub output: FormatArg,
}

/// Validates a pack: exit 0 when it may ship, 1 with every problem found, 2 when the
/// directory cannot be read.
pub fn run(args: ValidateArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let report = validate(&pack_dir(&args.dir))?;
        let status = if report.ok() { exit::SUCCESS } else { exit::FAILED };
        let json = json!({ "ok": report.ok(), "report": report });
        Ok(Report::new(text(&report), &json).with_status(status))
    })
}

fn text(report: &Validation) -> String {
    let mut out = String::new();
    let version = report.version.as_deref().unwrap_or("?");
    let errors = report.errors().count();
    let warnings = report.problems.len() - errors;
    for p in &report.problems {
        let level = if p.severity == Severity::Error { "error" } else { "warning" };
        let file = p.file.as_deref().map(|f| format!("{f}: ")).unwrap_or_default();
        let _ = writeln!(out, "{level}[{}]: {file}{}", p.code, p.message);
    }
    let verdict = if report.ok() { "valid" } else { "INVALID" };
    let _ = write!(
        out,
        "pack {version} in {}: {verdict} ({} files, {} bytes; {errors} error(s), {warnings} warning(s))",
        report.dir.display(),
        report.files,
        report.total_bytes
    );
    out
}
