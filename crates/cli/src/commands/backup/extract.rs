//! `backup extract`: one part of a backup (packs or config) written to a directory, every
//! object checked against the manifest first; and `backup ledger`: the deletion ledger
//! kept at the destination's root.

use std::path::PathBuf;

use clap::Args;
use ferretwatch_backup::crypt::Identity;
use ferretwatch_backup::{Kind, Located, Selector};
use serde_json::json;

use super::{block_on, destination, SettingsArgs};
use crate::error::{CliError, Failure};
use crate::output::{FormatArg, Report};

/// `backup extract`.
#[derive(Args)]
pub struct ExtractArgs {
    /// The destination; default `[backup] destination`.
    #[arg(long, visible_alias = "to")]
    from: Option<String>,
    /// Which backup: an id, `latest` (the newest holding the part), or a manifest file.
    #[arg(long, default_value = "latest")]
    backup: String,
    /// The part: packs or config.
    #[arg(long, value_parser = ["packs", "config"])]
    part: String,
    /// The directory to write into (created; must be empty).
    #[arg(long)]
    out: PathBuf,
    /// The identity that decrypts an encrypted backup; default `[backup] identity`.
    #[arg(long)]
    identity: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(flatten)]
    pub(super) output: FormatArg,
}

/// Runs `backup extract`.
pub fn run(args: &ExtractArgs) -> Result<Report, Failure> {
    let settings = args.settings.settings(None)?;
    let kind = Kind::parse(&args.part)?;
    let selector = Selector::parse(&args.backup)?;
    if std::fs::read_dir(&args.out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(CliError::input("not_empty", format!("{}: not empty", args.out.display())).into());
    }
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(&args.out)
        .map_err(|e| CliError::input("unwritable", format!("{}: {e}", args.out.display())))?;
    let identity =
        args.identity.as_ref().or(settings.backup.identity.as_ref()).map(|p| Identity::read(p)).transpose()?;
    let dest = match selector {
        Selector::Latest | Selector::Id(_) => Some(destination(args.from.as_deref(), &settings)?),
        _ => None,
    };
    let (id, written) = block_on(async {
        let (dest, id, manifest) = match ferretwatch_backup::locate(&selector, dest, Some(kind)).await? {
            Located::Backup { dest, id, manifest } => (dest, id, *manifest),
            Located::DumpFile(path) => {
                return Err(ferretwatch_backup::BackupError::Invalid(format!(
                    "{}: a dump file holds no {} part",
                    path.display(),
                    kind.name()
                )))
            }
        };
        let written = ferretwatch_backup::extract(&dest, &id, &manifest, kind, &args.out, identity.as_ref()).await?;
        Ok((id, written))
    })?;
    let files: Vec<_> = written.iter().map(|(o, f)| json!({ "path": o.path, "file": f, "sha256": o.sha256 })).collect();
    Ok(Report::new(
        format!(
            "{} objects of the {} part of backup {id} checked and written to {}",
            written.len(),
            kind.name(),
            args.out.display()
        ),
        &json!({ "id": id.to_string(), "part": kind.name(), "out": args.out, "files": files }),
    ))
}

/// `backup ledger`.
#[derive(Args)]
pub struct LedgerArgs {
    /// The destination; default `[backup] destination`.
    #[arg(long, visible_alias = "to")]
    from: Option<String>,
    /// Where to write the ledger.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(flatten)]
    pub(super) output: FormatArg,
}

/// Runs `backup ledger`: copies `tombstones.jsonl` from the destination's root.
pub fn run_ledger(args: &LedgerArgs) -> Result<Report, Failure> {
    let settings = args.settings.settings(None)?;
    let dest = destination(args.from.as_deref(), &settings)?;
    let bytes = block_on(dest.get("tombstones.jsonl"))?.ok_or_else(|| {
        CliError::failed("no_ledger", format!("no tombstones.jsonl at {}: no deletion ledger was exported", dest.url()))
    })?;
    std::fs::write(&args.out, &bytes)
        .map_err(|e| CliError::input("unwritable", format!("{}: {e}", args.out.display())))?;
    Ok(Report::new(
        format!("deletion ledger ({} bytes) written to {}", bytes.len(), args.out.display()),
        &json!({ "out": args.out, "bytes": bytes.len() }),
    ))
}
