//! The database part: a consistent dump with the row counts and content checksums of the
//! same snapshot, a restore, and the statistics of a restored database to compare.
//!
//! - PostgreSQL: a `REPEATABLE READ` transaction exports its snapshot, counts and
//!   checksums every table in it, and `pg_dump --snapshot` dumps exactly that snapshot
//!   (custom format, so `pg_restore -j` restores tables in parallel and builds indexes
//!   after the data).
//! - SQLite: `VACUUM INTO` writes a consistent copy while the service runs; the copy is
//!   counted and checksummed, then gzipped.

mod postgres;
mod sqlite;
mod tools;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferretwatch_store::StoreUrl;

pub use tools::{tool_versions, PgTools};

use crate::error::{BackupError, Result};
use crate::manifest::{DatabaseInfo, TableStats};

/// Tables whose rows a freshly migrated, unused database already has: a target holding
/// rows only in these is empty.
pub const BOOKKEEPING_TABLES: [&str; 2] = ["_sqlx_migrations", "store_identity"];

/// How to dump.
#[derive(Debug, Clone)]
pub struct DumpOptions {
    /// Compression level, 0 (none) to 9. Level 1 measured fastest for the size on two
    /// cores (docs/benchmarks.md).
    pub compression: u32,
}

impl Default for DumpOptions {
    fn default() -> Self {
        DumpOptions { compression: 1 }
    }
}

/// A finished dump: the local file and what the manifest says about it.
#[derive(Debug)]
pub struct Dump {
    /// The file.
    pub file: PathBuf,
    /// Its object name in the backup.
    pub object: &'static str,
    /// The manifest's database section.
    pub info: DatabaseInfo,
}

/// Dumps the database `url` names into `work` (a private directory).
pub async fn dump(url: &StoreUrl, work: &Path, options: &DumpOptions, tools: &PgTools) -> Result<Dump> {
    match url {
        StoreUrl::Postgres(raw) => postgres::dump(raw, &url.redacted(), work, options, tools).await,
        StoreUrl::SqliteFile(path) => sqlite::dump(path, &url.redacted(), work, options).await,
        StoreUrl::SqliteMemory => Err(BackupError::Invalid("an in-memory database cannot be backed up".into())),
    }
}

/// The row counts of every table that holds data (a restore target's contents).
pub async fn contents(url: &StoreUrl) -> Result<BTreeMap<String, i64>> {
    match url {
        StoreUrl::Postgres(raw) => postgres::contents(raw).await,
        StoreUrl::SqliteFile(path) => sqlite::contents(path).await,
        StoreUrl::SqliteMemory => Ok(BTreeMap::new()),
    }
}

/// The identity of the database `url` names, read without opening the store (which
/// would migrate it): `None` when it has none (not a FerretWatch database, or one not yet
/// migrated to 0005).
pub async fn identity(url: &StoreUrl) -> Result<Option<String>> {
    match url {
        StoreUrl::Postgres(raw) => postgres::identity(raw).await,
        StoreUrl::SqliteFile(path) => sqlite::identity(path).await,
        StoreUrl::SqliteMemory => Ok(None),
    }
}

/// Whether `contents` holds rows beyond a freshly migrated database's.
pub fn holds_data(contents: &BTreeMap<String, i64>) -> bool {
    contents.iter().any(|(table, rows)| *rows > 0 && !BOOKKEEPING_TABLES.contains(&table.as_str()))
}

/// Restores the dump `file` (of `format`) into `url`, replacing what is there. The
/// caller has checked that it may.
pub async fn restore(url: &StoreUrl, file: &Path, format: &str, jobs: u32, tools: &PgTools) -> Result<()> {
    match (url, format) {
        (StoreUrl::Postgres(raw), postgres::FORMAT) => postgres::restore(raw, file, jobs, tools).await,
        (StoreUrl::SqliteFile(path), sqlite::FORMAT) => sqlite::restore(path, file).await,
        (StoreUrl::SqliteMemory, _) => Err(BackupError::Invalid("cannot restore into an in-memory database".into())),
        (_, format) => Err(BackupError::Invalid(format!(
            "a {format} dump cannot be restored into {}: restore a PostgreSQL dump into PostgreSQL, a SQLite copy into SQLite",
            url.redacted()
        ))),
    }
}

/// The statistics of a database as the manifest records them (after a restore).
pub async fn stats(url: &StoreUrl) -> Result<BTreeMap<String, TableStats>> {
    match url {
        StoreUrl::Postgres(raw) => postgres::stats_of(raw).await,
        StoreUrl::SqliteFile(path) => sqlite::stats_of(path).await,
        StoreUrl::SqliteMemory => Ok(BTreeMap::new()),
    }
}

/// The dump format a file holds, by its first bytes (`PGDMP` or gzip), for restoring a
/// bare dump file without its manifest.
pub fn sniff_format(file: &Path) -> Result<&'static str> {
    let mut head = [0u8; 5];
    let mut input = std::fs::File::open(file).map_err(crate::error::io(file))?;
    let n = std::io::Read::read(&mut input, &mut head).map_err(crate::error::io(file))?;
    match &head[..n] {
        [b'P', b'G', b'D', b'M', b'P'] => Ok(postgres::FORMAT),
        [0x1f, 0x8b, ..] => Ok(sqlite::FORMAT),
        _ => Err(BackupError::Invalid(format!(
            "{}: neither a pg_dump custom-format file nor a gzipped SQLite database",
            file.display()
        ))),
    }
}

/// A scratch database to restore into: created empty, dropped afterwards.
pub use postgres::ScratchDatabase;
pub use postgres::FORMAT as POSTGRES_FORMAT;
pub use sqlite::FORMAT as SQLITE_FORMAT;
