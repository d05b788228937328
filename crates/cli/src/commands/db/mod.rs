//! `ferretwatch db …`: the data lifecycle of the service's database
//! (`docs/data-lifecycle.md`). Retention of the report log into daily aggregates, deletion
//! on request (tombstones, and their export and reapplication after a restore), the
//! cleanup of expired console state, and the maintenance reports (slow queries, index
//! health, connections by state). `db maintain` is what the daily timer runs.
//!
//! Every command finds the database as the others do (`--db`, else `--config`, else the
//! `FERRETWATCH_*` settings) and the tombstone key from the settings
//! (`lifecycle.tombstone_key_file`, default `DATA_DIR/tombstone-key`).

mod cleanup;
mod connections;
mod forget;
mod indexes;
mod maintain;
mod retention;
mod slow_queries;
pub mod tombstones;

use std::process::ExitCode;

use clap::Subcommand;
use ferretwatch_server::lifecycle::load_or_create_key;
use ferretwatch_server::Settings;
use ferretwatch_store::TombstoneKey;

use crate::error::CliError;
use crate::output;

/// Data-lifecycle commands.
#[derive(Subcommand)]
pub enum DbCommand {
    /// Aggregate and delete the reports older than the retention period, in batches.
    Retention(retention::RetentionArgs),
    /// Delete every report of a URL, or an install's reports, and record a tombstone.
    Forget(forget::ForgetArgs),
    /// The tombstones: list, export (JSON lines) or reapply after a restore.
    #[command(subcommand)]
    Tombstones(tombstones::TombstonesCommand),
    /// Delete expired console sessions, pending sign-ins and unused invitations.
    Cleanup(cleanup::CleanupArgs),
    /// The statements slower than a threshold on average (PostgreSQL's
    /// pg_stat_statements); exit 1 when any, or when the statistics are unavailable.
    SlowQueries(slow_queries::SlowQueriesArgs),
    /// Index health: invalid and unused indexes and their sizes (PostgreSQL), the
    /// integrity check (SQLite); exit 1 when one needs attention.
    Indexes(indexes::IndexesArgs),
    /// The database's connections by state (PostgreSQL's pg_stat_activity).
    Connections(connections::ConnectionsArgs),
    /// Cleanup, retention and fresh planner statistics: the daily timer's job.
    Maintain(maintain::MaintainArgs),
}

/// Runs a db command.
pub fn run(command: DbCommand) -> ExitCode {
    match command {
        DbCommand::Retention(args) => output::run(args.output.format, None, || retention::run(&args)),
        DbCommand::Forget(args) => output::run(args.output.format, None, || forget::run(&args)),
        DbCommand::Tombstones(command) => tombstones::run(command),
        DbCommand::Cleanup(args) => output::run(args.output.format, None, || cleanup::run(&args)),
        DbCommand::SlowQueries(args) => output::run(args.output.format, None, || slow_queries::run(&args)),
        DbCommand::Indexes(args) => output::run(args.output.format, None, || indexes::run(&args)),
        DbCommand::Connections(args) => output::run(args.output.format, None, || connections::run(&args)),
        DbCommand::Maintain(args) => output::run(args.output.format, None, || maintain::run(&args)),
    }
}

/// The tombstone key the settings name. With `may_create`, a missing key is created (as
/// the server does on its first start) and a warning says where; without it, a missing
/// key is an error (a new key would match no existing tombstone).
pub fn tombstone_key(settings: &Settings, may_create: bool) -> Result<TombstoneKey, CliError> {
    let path = settings.tombstone_key_path();
    let (key, created) = load_or_create_key(&path, may_create).map_err(|e| {
        CliError::input(
            "tombstone_key",
            format!("{e} (run with the server's configuration, --config, or data directory, FERRETWATCH_DATA_DIR)"),
        )
    })?;
    if created {
        output::warn(format_args!(
            "created a new tombstone key at {}: the server must use the same one (lifecycle.tombstone_key_file)",
            path.display()
        ));
    }
    Ok(key)
}
