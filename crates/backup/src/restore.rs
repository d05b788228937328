//! `backup restore`: the database part into a database, refusing one that holds data
//! unless forced, checked against the manifest afterwards, then opened with the store
//! (which finds its migrations applied).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use ferretwatch_store::StoreUrl;
use serde::Serialize;

use crate::crypt::Identity;
use crate::db::{self, PgTools};
use crate::error::{BackupError, Result};
use crate::manifest::Kind;
use crate::object::fetch;
use crate::select::Located;
use crate::verify::compare_tables;

/// How to restore.
#[derive(Debug, Default)]
pub struct RestoreOptions {
    /// Replace a database that holds data.
    pub force: bool,
    /// Decrypts an encrypted backup.
    pub identity: Option<Identity>,
    /// `pg_restore` connections (2 on the two-core reference machine).
    pub jobs: u32,
    /// Where temporary files go (default: the system's temporary directory).
    pub work_dir: Option<PathBuf>,
}

/// What a restore did.
#[derive(Debug, Serialize)]
pub struct Restored {
    /// The backup's id (none for a bare dump file).
    pub id: Option<String>,
    /// The target, without its password.
    pub target: String,
    /// The tables and row counts that were there before.
    pub replaced: BTreeMap<String, i64>,
    /// The tables and row counts there now.
    pub restored: BTreeMap<String, i64>,
    /// Whether the restored rows were compared with the manifest's checksums.
    pub checked_against_manifest: bool,
    /// Milliseconds the restore took.
    pub elapsed_ms: u128,
}

/// The one line that says what a target holds (`reports 1000, moderation 40, …`).
pub fn describe(contents: &BTreeMap<String, i64>) -> String {
    let tables: Vec<String> =
        contents.iter().filter(|(_, rows)| **rows > 0).map(|(table, rows)| format!("{table} {rows}")).collect();
    if tables.is_empty() {
        "no rows".into()
    } else {
        tables.join(", ")
    }
}

/// Restores `backup` into `target`.
pub async fn restore(backup: &Located, target: &StoreUrl, options: &RestoreOptions) -> Result<Restored> {
    let started = Instant::now();
    let replaced = db::contents(target).await?;
    if db::holds_data(&replaced) && !options.force {
        let whose = match (db::identity(target).await?, backup) {
            (Some(there), Located::Backup { manifest, .. }) => match &manifest.database {
                Some(info) if info.identity == there => " of the database this backup was taken from".to_owned(),
                Some(info) => format!(
                    " of another database than this backup's (identity {}…, the backup's {}…)",
                    &there[..there.len().min(12)],
                    &info.identity[..info.identity.len().min(12)]
                ),
                None => String::new(),
            },
            _ => String::new(),
        };
        return Err(BackupError::NotEmpty(format!(
            "{} holds data{whose} ({}); give --force to replace it",
            target.redacted(),
            describe(&replaced)
        )));
    }
    let work = match &options.work_dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .map_err(|e| BackupError::Io(format!("temporary directory: {e}")))?;
    let tools = PgTools::locate();
    let (file, format, expected, id) = match backup {
        Located::Backup { dest, id, manifest } => {
            let info = manifest
                .database
                .as_ref()
                .ok_or_else(|| BackupError::Invalid(format!("backup {id} holds no database")))?;
            let object = manifest
                .objects_of(Kind::Database)
                .next()
                .ok_or_else(|| BackupError::Manifest(format!("backup {id}: the database object is not listed")))?;
            let file = fetch(dest, id, object, work.path(), options.identity.as_ref()).await?;
            (file, info.format.clone(), Some(info.tables.clone()), Some(id.to_string()))
        }
        Located::DumpFile(path) => (path.clone(), db::sniff_format(path)?.to_owned(), None, None),
    };
    db::restore(target, &file, &format, options.jobs, &tools).await?;
    let checked_against_manifest = match &expected {
        Some(tables) => {
            compare_tables(tables, &db::stats(target).await?)?;
            true
        }
        None => false,
    };
    // The normal store opens it: the migrations it records are this version's (or older
    // ones, which it applies now).
    let store = ferretwatch_store::open_url(target, &ferretwatch_store::StoreOptions::default()).await?;
    store.close().await;
    let restored = db::contents(target).await?;
    Ok(Restored {
        id,
        target: target.redacted(),
        replaced,
        restored,
        checked_against_manifest,
        elapsed_ms: started.elapsed().as_millis(),
    })
}
