//! `ferretwatch logs …`: the service's own log lines, read where they are (files or the
//! journal, [`source`]).
//!
//! - `analyze` (runbook §5.1): yesterday's WARN and ERROR patterns against the day
//!   before, panics and lines that are not JSON; a gate.
//! - `collect` (runbook §7.3): the evidence archive of an incident's time range.

mod analyze;
mod archive;
mod collect;
mod gather;
mod pattern;
mod source;
mod staging;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferretwatch_types::Timestamp;

use crate::clock::parse_time;
use crate::console::DbArgs;
use crate::error::CliError;
use crate::output::{self, FormatArg};
use source::{LogSource, Window};

/// Log commands.
#[derive(Subcommand)]
pub enum LogsCommand {
    /// WARN and ERROR patterns of the previous UTC day against the day before, panics and
    /// lines that are not JSON; exit 1 on a panic, a new ERROR pattern, or too many ERRORs.
    Analyze(AnalyzeArgs),
    /// One evidence archive of an incident's time range: log lines, the incident and its
    /// timeline, audit entries, Prometheus series, and a manifest of SHA-256 digests.
    Collect(CollectArgs),
}

/// Where the log lines are.
#[derive(Args)]
pub struct SourceArgs {
    /// Log files or globs, separated by spaces (gzip is read too). Default: the journal
    /// of the ferretwatch@* units, through journalctl.
    #[arg(long, env = "FERRETWATCH_LOG_FILES")]
    log_files: Option<String>,
}

/// `logs analyze`.
#[derive(Args)]
pub struct AnalyzeArgs {
    /// The previous UTC day, compared with the day before (the default window).
    #[arg(long)]
    yesterday: bool,
    /// Another window's start (RFC 3339; no zone is UTC), with --until; compared with the
    /// window of the same length before it.
    #[arg(long, env = "FERRETWATCH_LOG_SINCE", value_parser = parse_time, requires = "until")]
    since: Option<Timestamp>,
    /// The window's end (excluded).
    #[arg(long, env = "FERRETWATCH_LOG_UNTIL", value_parser = parse_time, requires = "since")]
    until: Option<Timestamp>,
    /// More ERROR lines than this in the window fail.
    #[arg(long, env = "FERRETWATCH_ERROR_THRESHOLD", default_value_t = 50)]
    error_threshold: u64,
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// `logs collect`.
#[derive(Args)]
pub struct CollectArgs {
    /// The incident (its number, or the form `incident show` accepts).
    #[arg(long)]
    incident_id: String,
    /// FROM TO: RFC 3339 (no zone is UTC); the lines from FROM up to, not including, TO.
    #[arg(long, required = true, num_args = 2, value_names = ["FROM", "TO"], value_parser = parse_time)]
    time_range: Vec<Timestamp>,
    /// Where the archive is written.
    #[arg(long, env = "FERRETWATCH_EVIDENCE_DIR", default_value = "evidence")]
    evidence_dir: PathBuf,
    /// Prometheus's base URL, for range queries of the key series.
    #[arg(long, env = "FERRETWATCH_PROMETHEUS_URL")]
    prometheus: Option<String>,
    /// The incidents' database, when not the configured one (passed to `incident show`).
    #[arg(long)]
    incidents_db: Option<String>,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// Runs a log command.
pub fn run(command: LogsCommand) -> ExitCode {
    match command {
        LogsCommand::Analyze(args) => output::run(args.output.format, None, || {
            let window = match (args.since, args.until) {
                (Some(since), Some(until)) if since < until => Window { since, until },
                (Some(since), Some(until)) => {
                    return Err(CliError::input(
                        "invalid_argument",
                        format!("the window is empty: {since} is not before {until}"),
                    )
                    .into())
                }
                _ => analyze::yesterday(Timestamp::now()),
            };
            let source = LogSource::resolve(args.source.log_files.as_deref())?;
            analyze::analyze(&analyze::Analyze { source: &source, window, error_threshold: args.error_threshold })
        }),
        LogsCommand::Collect(args) => output::run(args.output.format, None, || {
            collect::collect(&collect::Collect {
                incident_id: &args.incident_id,
                range: Window { since: args.time_range[0], until: args.time_range[1] },
                log_files: args.source.log_files.as_deref(),
                evidence_dir: &args.evidence_dir,
                prometheus: args.prometheus.as_deref().filter(|p| !p.is_empty()),
                db: &args.db,
                incidents_db: args.incidents_db.as_deref(),
            })
        }),
    }
}
