//! `ferretwatch canary …` (runbook 9.2, `docs/canaries.md`): new YARA rules for a stable,
//! random cohort of installs first, judged on their false-positive reports, then given to
//! everyone or taken back.
//!
//! - `test`: the staging gate, a pack of the current rules plus the new ones against the
//!   corpus and the labelled URL lists (`pack test`'s gates).
//! - `deploy`: builds the canary at the origin (its current pack as the control, plus the
//!   canary pack for `--canary-percentage`% of installs), gates it, signs and deploys it,
//!   and records it at the origin (`canary/state.json`).
//! - `monitor`: compares the canary's false-positive share with the control's in the
//!   service's database until the test decides or the duration ends.
//! - `finalize`: the canary's pack (promote) or the control's (rollback) for everyone.
//! - `status`: the running canary.

mod deploy;
mod monitor;
pub mod stats;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

/// Canary commands.
#[derive(Subcommand)]
pub enum CanaryCommand {
    /// The staging gate: a pack of the current rules plus --rule-file against the corpus
    /// and the labelled URL lists (exit 1 when a gate fails, 2 for YARA that does not
    /// compile).
    Test(test::TestArgs),
    /// Build, gate, sign and deploy a canary of --rule-file for --canary-percentage% of
    /// installs (refused while one runs).
    Deploy(deploy::DeployArgs),
    /// Compare the canary's false-positive reports with the control's until decided: exit
    /// 0 promote, 1 rollback, 3 inconclusive.
    Monitor(monitor::MonitorArgs),
    /// End the running canary: its pack for everyone (promote) or the control's (rollback).
    Finalize(deploy::FinalizeArgs),
    /// The running canary at the origin.
    Status(deploy::StatusArgs),
}

/// Where the origin and the keys come from, as for `pack emergency` and `pack rollback`.
#[derive(Args)]
pub struct PublishArgs {
    /// Publisher private key(s); the root's threshold of them (two in production).
    #[arg(long = "key", env = "FERRETWATCH_SIGNING_KEY", value_delimiter = ',', required = true)]
    pub keys: Vec<PathBuf>,
    /// The root of trust.
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json")]
    pub root: PathBuf,
    /// The origin (file:///DIR, a directory or s3://BUCKET[/PREFIX]).
    #[arg(long, env = "FERRETWATCH_ORIGIN")]
    pub to: String,
    /// Where to write the signed pack (default dist-canary-… beside the working directory;
    /// must be new or empty).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs a canary command.
pub fn run(command: CanaryCommand) -> ExitCode {
    match command {
        CanaryCommand::Test(args) => test::run(args),
        CanaryCommand::Deploy(args) => deploy::run(args),
        CanaryCommand::Monitor(args) => monitor::run(args),
        CanaryCommand::Finalize(args) => deploy::finalize(args),
        CanaryCommand::Status(args) => deploy::status(args),
    }
}
