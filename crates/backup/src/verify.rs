//! `backup verify`: every object's size and SHA-256, decryption, a restore of the
//! database part into a scratch database, and the restored tables compared with the row
//! counts and content checksums taken when the backup was made; with a source database,
//! its identity compared with the backup's.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use ferretwatch_store::StoreUrl;
use serde::Serialize;

use crate::crypt::Identity;
use crate::db::{self, PgTools, ScratchDatabase};
use crate::dest::Destination;
use crate::error::{BackupError, Result};
use crate::id::BackupId;
use crate::manifest::{DatabaseInfo, Kind, Manifest, TableStats};
use crate::object::fetch;

/// How to verify.
#[derive(Debug, Default)]
pub struct VerifyOptions {
    /// Decrypts encrypted objects.
    pub identity: Option<Identity>,
    /// A PostgreSQL server to make the scratch database on (a URL whose user may
    /// `CREATE DATABASE`); needed for a PostgreSQL backup.
    pub scratch_server: Option<String>,
    /// The live database: its identity must be the backup's.
    pub source: Option<StoreUrl>,
    /// `pg_restore` connections.
    pub jobs: u32,
    /// Where temporary files go (default: the system's temporary directory).
    pub work_dir: Option<PathBuf>,
}

/// What a verification found (it failed otherwise).
#[derive(Debug, Serialize)]
pub struct Verified {
    /// The backup.
    pub id: String,
    /// Objects whose size and checksum matched.
    pub objects: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Tables restored and compared.
    pub tables: usize,
    /// Rows restored.
    pub rows: i64,
    /// Whether a source's identity was compared.
    pub source_identity_checked: bool,
    /// Milliseconds the scratch restore took.
    pub restore_ms: Option<u128>,
}

/// Compares restored tables with the manifest's; the first differences, named.
pub fn compare_tables(expected: &BTreeMap<String, TableStats>, found: &BTreeMap<String, TableStats>) -> Result<()> {
    let mut differences = Vec::new();
    for (table, want) in expected {
        match found.get(table) {
            None => differences.push(format!("table {table} is missing")),
            Some(got) if got.rows != want.rows => {
                differences.push(format!("{table}: {} rows, the backup counted {}", got.rows, want.rows))
            }
            Some(got) if got.checksum != want.checksum => {
                differences.push(format!("{table}: contents differ from the checksum taken at backup time"))
            }
            Some(_) => {}
        }
    }
    differences.extend(found.keys().filter(|t| !expected.contains_key(*t)).map(|t| format!("unexpected table {t}")));
    if differences.is_empty() {
        return Ok(());
    }
    Err(BackupError::Contents(format!("restored database differs from the backup: {}", differences.join("; "))))
}

/// Refuses a backup of another database than `source` (whose identity is read without
/// migrating it).
pub async fn check_source(info: &DatabaseInfo, id: &BackupId, source: &StoreUrl) -> Result<()> {
    let identity = db::identity(source).await?.ok_or_else(|| {
        BackupError::Identity(format!(
            "{} has no identity (store_identity): not a FerretWatch database, or not migrated by this version",
            source.redacted()
        ))
    })?;
    if identity != info.identity {
        return Err(BackupError::Identity(format!(
            "backup {id} is of another database (identity {}…, from {}) than {} (identity {}…)",
            &info.identity[..info.identity.len().min(12)],
            info.source,
            source.redacted(),
            &identity[..identity.len().min(12)]
        )));
    }
    Ok(())
}

/// Verifies backup `id` at `dest` (its manifest already read and checked).
pub async fn verify(
    dest: &Destination,
    id: &BackupId,
    manifest: &Manifest,
    options: &VerifyOptions,
) -> Result<Verified> {
    let work = match &options.work_dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .map_err(|e| BackupError::Io(format!("temporary directory: {e}")))?;
    let mut source_identity_checked = false;
    if let (Some(source), Some(info)) = (&options.source, &manifest.database) {
        check_source(info, id, source).await?;
        source_identity_checked = true;
    }
    let mut database_file = None;
    for object in &manifest.objects {
        let plain = fetch(dest, id, object, work.path(), options.identity.as_ref()).await?;
        if object.kind == Kind::Database {
            database_file = Some(plain);
        } else {
            let _ = std::fs::remove_file(plain);
        }
    }
    let mut verified = Verified {
        id: id.to_string(),
        objects: manifest.objects.len(),
        bytes: manifest.size(),
        tables: 0,
        rows: 0,
        source_identity_checked,
        restore_ms: None,
    };
    let (Some(info), Some(file)) = (&manifest.database, database_file) else {
        return Ok(verified);
    };
    let started = Instant::now();
    let found = restore_to_scratch(&info.format, &file, options, work.path()).await?;
    verified.restore_ms = Some(started.elapsed().as_millis());
    compare_tables(&info.tables, &found)?;
    verified.tables = found.len();
    verified.rows = found.values().map(|t| t.rows).sum();
    Ok(verified)
}

/// Restores a bare dump file (no manifest) into a scratch database: it restores, and
/// these are its tables; there are no recorded counts to compare with.
pub async fn verify_dump_file(file: &std::path::Path, options: &VerifyOptions) -> Result<BTreeMap<String, TableStats>> {
    let work = match &options.work_dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .map_err(|e| BackupError::Io(format!("temporary directory: {e}")))?;
    restore_to_scratch(db::sniff_format(file)?, file, options, work.path()).await
}

async fn restore_to_scratch(
    format: &str,
    file: &std::path::Path,
    options: &VerifyOptions,
    work: &std::path::Path,
) -> Result<BTreeMap<String, TableStats>> {
    let tools = PgTools::locate();
    match format {
        db::POSTGRES_FORMAT => {
            let server = options.scratch_server.as_deref().ok_or_else(|| {
                BackupError::Invalid(
                    "a PostgreSQL backup is verified by a restore into a scratch database: give --scratch-db postgres://USER@HOST/DB (a user that may CREATE DATABASE)".into(),
                )
            })?;
            let scratch = ScratchDatabase::create(server).await?;
            let url = StoreUrl::Postgres(scratch.url().to_owned());
            let result = async {
                db::restore(&url, file, format, options.jobs, &tools).await?;
                db::stats(&url).await
            }
            .await;
            let dropped = scratch.drop_database().await;
            let stats = result?;
            dropped?;
            Ok(stats)
        }
        db::SQLITE_FORMAT => {
            let url = StoreUrl::SqliteFile(work.join("scratch.db"));
            db::restore(&url, file, format, 1, &tools).await?;
            db::stats(&url).await
        }
        other => Err(BackupError::Manifest(format!("unknown database format {other:?}"))),
    }
}
