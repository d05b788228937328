//! `ferretwatch backup …` (`docs/backups.md`): create, list, verify, restore and prune
//! backups of the database, the configuration and the pack origin; make the key pair
//! that encrypts them; take a part out (`extract`), check a day's configuration backup
//! (`check-config`) and fetch the deletion ledger (`ledger`).
//!
//! Settings: the destination is `--to`/`--from`, else `[backup] destination` in the
//! configuration, else `FERRETWATCH_BACKUP_DESTINATION`; the database is `--db`, else the
//! configuration's; `[backup] encrypt_to`, `keep_days` and `keep_count` are the defaults
//! of `--encrypt-to`, `--keep-days` and `--keep-count`.

mod check_config;
mod create;
mod extract;
mod keygen;
pub mod ledger;
mod list;
mod prune;
mod restore;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferretwatch_backup::{BackupError, Destination};
use ferretwatch_server::Settings;

use crate::error::{CliError, Failure};
use crate::output;

/// Backup commands.
#[derive(Subcommand)]
pub enum BackupCommand {
    /// Back up the database, the configuration and the pack origin.
    Create(create::CreateArgs),
    /// The backups at the destination, oldest first.
    List(list::ListArgs),
    /// Check every object and restore the database into a scratch database to compare
    /// its rows with the backup's.
    Verify(verify::VerifyArgs),
    /// Restore the database from a backup.
    Restore(restore::RestoreArgs),
    /// Remove backups past their retention.
    Prune(prune::PruneArgs),
    /// Make the key pair backups are encrypted to.
    Keygen(keygen::KeygenArgs),
    /// Write one part of a backup (packs or config) to a directory, checked first.
    Extract(extract::ExtractArgs),
    /// Check a day's configuration backup: checksums, that it loads, drift from the live
    /// configuration.
    CheckConfig(check_config::CheckConfigArgs),
    /// Copy the deletion ledger (tombstones.jsonl) from the destination.
    Ledger(extract::LedgerArgs),
}

/// Where the settings come from.
#[derive(Args, Clone, Debug)]
pub struct SettingsArgs {
    /// The server's configuration file: its database, origin and `[backup]` section (and,
    /// for `create`, the configuration to back up).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

impl SettingsArgs {
    /// The settings in force, with `db` over the configuration's.
    pub fn settings(&self, db: Option<String>) -> Result<Settings, CliError> {
        super::serve::settings(self.config.as_deref(), db)
    }
}

/// The destination given, else the configured one.
pub fn destination(given: Option<&str>, settings: &Settings) -> Result<Destination, Failure> {
    let url = given.map(str::to_owned).or_else(|| settings.backup.destination.clone()).ok_or_else(|| {
        CliError::input(
            "no_backup_destination",
            "no backup destination: give --to/--from URL, or set [backup] destination or FERRETWATCH_BACKUP_DESTINATION",
        )
    })?;
    Ok(Destination::open(&url)?)
}

/// A current-thread runtime running `body`.
pub fn block_on<T>(body: impl std::future::Future<Output = Result<T, BackupError>>) -> Result<T, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed("runtime", e.to_string()))?;
    Ok(runtime.block_on(body)?)
}

/// Runs a backup command.
pub fn run(command: BackupCommand) -> ExitCode {
    match command {
        BackupCommand::Create(args) => output::run(args.output.format, None, || create::run(&args)),
        BackupCommand::List(args) => output::run(args.output.format, None, || list::run(&args)),
        BackupCommand::Verify(args) => output::run(args.output.format, None, || verify::run(&args)),
        BackupCommand::Restore(args) => output::run(args.output.format, None, || restore::run(&args)),
        BackupCommand::Prune(args) => output::run(args.output.format, None, || prune::run(&args)),
        BackupCommand::Keygen(args) => output::run(args.output.format, None, || keygen::run(&args)),
        BackupCommand::Extract(args) => output::run(args.output.format, None, || extract::run(&args)),
        BackupCommand::CheckConfig(args) => output::run(args.output.format, None, || check_config::run(&args)),
        BackupCommand::Ledger(args) => output::run(args.output.format, None, || extract::run_ledger(&args)),
    }
}
