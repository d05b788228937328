//! `backup prune`: removes the backups past their retention (never the newest).

use clap::Args;
use ferretwatch_backup::{expired, Retention};
use ferretwatch_types::Timestamp;
use serde_json::json;

use super::{block_on, destination, SettingsArgs};
use crate::error::Failure;
use crate::output::{FormatArg, Report};

/// `backup prune`.
#[derive(Args)]
pub struct PruneArgs {
    /// The destination; default `[backup] destination`.
    #[arg(long, visible_alias = "to")]
    from: Option<String>,
    /// Keep backups younger than this many days; default `[backup] keep_days`.
    #[arg(long)]
    keep_days: Option<u64>,
    /// Keep at least the newest this many; default `[backup] keep_count`.
    #[arg(long)]
    keep_count: Option<u64>,
    /// Say what would be removed, remove nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(flatten)]
    pub(super) output: FormatArg,
}

/// Runs `backup prune`.
pub fn run(args: &PruneArgs) -> Result<Report, Failure> {
    let settings = args.settings.settings(None)?;
    let dest = destination(args.from.as_deref(), &settings)?;
    let retention = Retention {
        keep_days: args.keep_days.or(settings.backup.keep_days),
        keep_count: args.keep_count.or(settings.backup.keep_count).map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    };
    let (kept, removed) = block_on(async {
        let ids = dest.ids().await?;
        let gone = expired(&ids, Timestamp::now(), retention)?;
        if !args.dry_run {
            for id in &gone {
                dest.remove(id).await?;
            }
        }
        Ok((ids.len() - gone.len(), gone))
    })?;
    let verb = if args.dry_run { "would remove" } else { "removed" };
    let mut text = format!("{verb} {} backup(s), kept {kept} at {}", removed.len(), dest.url());
    for id in &removed {
        text.push_str(&format!("\n  {verb} {id}"));
    }
    let removed: Vec<String> = removed.iter().map(ToString::to_string).collect();
    Ok(Report::new(
        text,
        &json!({ "destination": dest.url(), "removed": removed, "kept": kept, "dry_run": args.dry_run }),
    ))
}
