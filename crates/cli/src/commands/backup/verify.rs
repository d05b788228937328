//! `backup verify`: checksums, decryption, a scratch restore compared with the manifest's
//! row counts and content checksums, and with `--source-db` the database's identity.

use std::path::PathBuf;

use clap::Args;
use ferretwatch_backup::crypt::Identity;
use ferretwatch_backup::{Destination, Kind, Located, Selector, VerifyOptions};
use ferretwatch_store::StoreUrl;
use serde_json::json;

use super::{block_on, destination, SettingsArgs};
use crate::error::Failure;
use crate::output::{FormatArg, Report};

/// `backup verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The destination (file:///DIR, a directory, s3://…); default `[backup] destination`.
    #[arg(long, visible_alias = "to")]
    from: Option<String>,
    /// Which backup: an id, `latest`, a manifest file, or a dump file (restored into a
    /// scratch database; without a manifest there are no counts to compare).
    #[arg(long, default_value = "latest")]
    backup: String,
    /// The identity that decrypts an encrypted backup; default `[backup] identity`.
    #[arg(long)]
    identity: Option<PathBuf>,
    /// A PostgreSQL server to make the scratch database on (a URL whose user may CREATE
    /// DATABASE); default `--source-db`, else the configured database when it is
    /// PostgreSQL. The scratch database is dropped afterwards.
    #[arg(long, env = "FERRETWATCH_SCRATCH_DB")]
    scratch_db: Option<String>,
    /// The live database: the backup must be of it (same identity).
    #[arg(long)]
    source_db: Option<String>,
    /// Compare with the configured database (`--config`, `FERRETWATCH_DB`), as
    /// `--source-db` does.
    #[arg(long, conflicts_with = "source_db")]
    compare_source: bool,
    /// `pg_restore` connections.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    jobs: u32,
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(flatten)]
    pub(super) output: FormatArg,
}

/// Runs `backup verify`.
pub fn run(args: &VerifyArgs) -> Result<Report, Failure> {
    let settings = args.settings.settings(None)?;
    let selector = Selector::parse(&args.backup)?;
    let dest = match selector {
        Selector::Latest | Selector::Id(_) => Some(destination(args.from.as_deref(), &settings)?),
        _ => None,
    };
    let source_db = args.source_db.clone().or_else(|| args.compare_source.then(|| settings.db_url()));
    let source = source_db.as_deref().map(StoreUrl::parse).transpose()?;
    let scratch_server = args.scratch_db.clone().or_else(|| source_db.clone()).or_else(|| {
        let db = settings.db_url();
        db.starts_with("postgres").then_some(db)
    });
    let identity = args.identity.as_ref().or(settings.backup.identity.as_ref());
    let options = VerifyOptions {
        identity: identity.map(|path| Identity::read(path)).transpose()?,
        scratch_server,
        source,
        jobs: args.jobs,
        work_dir: None,
    };
    if let Selector::DumpFile(file) = &selector {
        let tables = block_on(ferretwatch_backup::verify_dump_file(file, &options))?;
        let rows: i64 = tables.values().map(|t| t.rows).sum();
        let text = format!(
            "{} restores into a scratch database: {} tables, {rows} rows (a bare dump: no manifest to compare with)",
            file.display(),
            tables.len()
        );
        let counts: std::collections::BTreeMap<&String, i64> = tables.iter().map(|(t, s)| (t, s.rows)).collect();
        return Ok(Report::new(text, &json!({ "ok": true, "file": file, "row_counts": counts })));
    }
    let verified = block_on(async {
        // `latest`: the newest backup with a database, else (a configuration-only
        // destination) the newest of all.
        let located = match (&selector, dest) {
            (Selector::Latest, Some(dest)) => {
                let url = dest.url().to_owned();
                match ferretwatch_backup::locate(&selector, Some(dest), Some(Kind::Database)).await {
                    Err(ferretwatch_backup::BackupError::NotFound(_)) => {
                        ferretwatch_backup::locate(&selector, Some(Destination::open(&url)?), None).await?
                    }
                    other => other?,
                }
            }
            (selector, dest) => ferretwatch_backup::locate(selector, dest, None).await?,
        };
        let Located::Backup { dest, id, manifest } = located else { unreachable!("a manifest or an id was asked for") };
        ferretwatch_backup::verify(&dest, &id, &manifest, &options).await
    })?;
    let database = match verified.restore_ms {
        Some(ms) => format!(
            "; {} tables, {} rows restored into a scratch database in {:.1} s match the backup's counts and checksums",
            verified.tables,
            verified.rows,
            ms as f64 / 1000.0
        ),
        None => "; it holds no database".to_owned(),
    };
    let text = format!(
        "backup {} verified: {} objects ({} bytes) match their checksums{database}{}",
        verified.id,
        verified.objects,
        verified.bytes,
        if verified.source_identity_checked { "; it is a backup of the source database" } else { "" }
    );
    Ok(Report::new(text, &json!({ "ok": true, "verified": verified })))
}
