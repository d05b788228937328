//! `ferretwatch security deps` (runbook §7.1 "Dependency vulnerability check").

use std::process::ExitCode;

use clap::Args;
use ferretwatch_types::Timestamp;

use super::{finish, DependencyArgs};
use crate::output::{self, FormatArg};

/// `security deps`.
#[derive(Args)]
pub struct DepsArgs {
    #[command(flatten)]
    deps: DependencyArgs,
    /// Vulnerabilities only: no unmaintained, unsound or notice advisories.
    #[arg(long)]
    security_only: bool,
    #[command(flatten)]
    output: FormatArg,
}

/// Checks the dependencies; exit 1 on any vulnerability.
pub fn run(args: DepsArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let report = args.deps.check(args.security_only, Timestamp::now())?;
        finish(&report, args.deps.sarif_output.as_deref(), &args.deps.source_root())
    })
}
