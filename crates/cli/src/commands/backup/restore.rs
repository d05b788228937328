//! `backup restore`: the database part into a database; one that holds data is replaced
//! only with `--force`, and the refusal says what is there.

use std::path::PathBuf;

use clap::Args;
use ferretwatch_backup::crypt::Identity;
use ferretwatch_backup::restore::describe;
use ferretwatch_backup::{Kind, RestoreOptions, Selector};
use ferretwatch_store::StoreUrl;
use serde_json::json;

use super::{block_on, destination, SettingsArgs};
use crate::error::{CliError, Failure};
use crate::output::{FormatArg, Report};

/// `backup restore`.
#[derive(Args)]
pub struct RestoreArgs {
    /// The destination the backup is at (for an id or `latest`); default `[backup]
    /// destination`.
    #[arg(long, visible_alias = "to")]
    from: Option<String>,
    /// Which backup: an id, `latest`, a manifest file, or a dump file (database.dump,
    /// database.sqlite.gz) restored without a manifest to check it against.
    #[arg(long)]
    backup: String,
    /// The database to restore into (sqlite://PATH or postgres://…); default the
    /// configuration's.
    #[arg(long)]
    db: Option<String>,
    /// Replace a database that holds data.
    #[arg(long)]
    force: bool,
    /// The identity that decrypts an encrypted backup; default `[backup] identity`.
    #[arg(long)]
    identity: Option<PathBuf>,
    /// Restore without re-applying the deletion ledger (a destination that never had one):
    /// what was deleted on request after the backup comes back.
    #[arg(long)]
    no_ledger: bool,
    /// `pg_restore` connections.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    jobs: u32,
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(flatten)]
    pub(super) output: FormatArg,
}

/// Runs `backup restore`.
pub fn run(args: &RestoreArgs) -> Result<Report, Failure> {
    let settings = args.settings.settings(args.db.clone())?;
    let target = StoreUrl::parse(&settings.db_url())?;
    let selector = Selector::parse(&args.backup)?;
    let dest = match selector {
        Selector::Latest | Selector::Id(_) => Some(destination(args.from.as_deref(), &settings)?),
        _ => None,
    };
    // The deletion ledger is at the backups' destination (`--from`, else the configured one).
    let ledger_at = match (&dest, args.from.is_some() || settings.backup.destination.is_some()) {
        (Some(_), _) | (None, true) => Some(destination(args.from.as_deref(), &settings)?),
        (None, false) => None,
    };
    // Before anything is touched: the ledger must be there, or the operator says to go
    // without it (a missing ledger may be a deleted one). It is read once, here, and the
    // same bytes are re-applied after the restore.
    let ledger_bytes = match (&ledger_at, args.no_ledger) {
        (_, true) => None,
        (None, false) => {
            return Err(CliError::input(
                "no_ledger_destination",
                "no backup destination to read the deletion ledger from: give --from (or [backup] destination), \
                 or --no-ledger to restore without it (reports deleted on request after the backup come back)",
            )
            .into())
        }
        (Some(at), false) => match block_on(at.get(super::ledger::LEDGER))? {
            Some(bytes) => Some((bytes, at.url().to_owned())),
            None => {
                return Err(CliError::failed(
                    "ledger_missing",
                    format!(
                        "no deletion ledger ({}) at {}: every backup writes one, so it may have been deleted; \
                         --no-ledger restores without it (reports deleted on request after the backup come back)",
                        super::ledger::LEDGER,
                        at.url()
                    ),
                )
                .into())
            }
        },
    };
    let options = RestoreOptions {
        force: args.force,
        identity: args
            .identity
            .as_ref()
            .or(settings.backup.identity.as_ref())
            .map(|p| Identity::read(p))
            .transpose()?,
        jobs: args.jobs,
        work_dir: None,
    };
    let restored = block_on(async {
        let located = ferretwatch_backup::locate(&selector, dest, Some(Kind::Database)).await?;
        ferretwatch_backup::restore(&located, &target, &options).await
    })?;
    let ledger = match &ledger_bytes {
        Some((bytes, at)) => Some(super::ledger::reapply(bytes, at, &settings)?),
        None => None,
    };
    let mut text = format!(
        "restored {} into {} in {:.1} s: {}{}\n  replaced: {}",
        restored.id.as_deref().unwrap_or(&args.backup),
        restored.target,
        restored.elapsed_ms as f64 / 1000.0,
        describe(&restored.restored),
        if restored.checked_against_manifest { " (counts and checksums match the backup)" } else { "" },
        describe(&restored.replaced),
    );
    match &ledger {
        Some((read, done)) => text.push_str(&format!(
            "\n  deletion ledger: {read} tombstone(s) re-applied ({} new): {} report(s) deleted, {} moderation entr(ies) redacted",
            done.inserted, done.reports_deleted, done.moderation_redacted
        )),
        None => text.push_str("\n  deletion ledger: not re-applied (--no-ledger)"),
    }
    let ledger_json = ledger.map(|(read, done)| {
        json!({ "read": read, "inserted": done.inserted, "reports_deleted": done.reports_deleted,
                "moderation_redacted": done.moderation_redacted })
    });
    Ok(Report::new(text, &json!({ "ok": true, "restored": restored, "ledger": ledger_json })))
}
