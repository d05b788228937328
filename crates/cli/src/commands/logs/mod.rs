//! `ferretwatch logs …`: the service's own log lines, read where they are (files or the
//! journal, [`source`]).
//!
//! - `analyze` (runbook §5.1): yesterday's WARN and ERROR patterns against the day
//!   before, panics and lines that are not JSON; a gate.

mod analyze;
mod pattern;
mod source;

use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferretwatch_types::Timestamp;

use crate::clock::parse_time;
use crate::error::CliError;
use crate::output::{self, FormatArg};
use source::{LogSource, Window};

/// Log commands.
#[derive(Subcommand)]
pub enum LogsCommand {
    /// WARN and ERROR patterns of the previous UTC day against the day before, panics and
    /// lines that are not JSON; exit 1 on a panic, a new ERROR pattern, or too many ERRORs.
    Analyze(AnalyzeArgs),
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
    }
}
