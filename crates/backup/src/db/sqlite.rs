//! SQLite: `VACUUM INTO` a consistent copy (readers and the writer go on meanwhile),
//! count and checksum the copy, gzip it. A restore writes the copy beside the target and
//! renames it over it.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use flate2::Compression;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

use super::DumpOptions;
use crate::error::{io, BackupError, Result};
use crate::manifest::{DatabaseInfo, TableStats};

/// The format name of a SQLite copy.
pub const FORMAT: &str = "sqlite-gzip";
const OBJECT: &str = "database.sqlite.gz";
const CHECKSUM_ALGORITHM: &str = "sqlite-sha256-sum64: the sum modulo 2^128 over rows of the first 64 bits of \
     SHA-256 of the row's quote()d columns joined by ',', as a decimal";

async fn connect(path: &Path, read_only: bool) -> Result<SqliteConnection> {
    let options = SqliteConnectOptions::new().filename(path).read_only(read_only).create_if_missing(false);
    SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| BackupError::Database(format!("{}: {e}", path.display())))
}

async fn tables(conn: &mut SqliteConnection) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?)
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn table_stats(conn: &mut SqliteConnection) -> Result<BTreeMap<String, TableStats>> {
    use futures_util::TryStreamExt;
    let mut stats = BTreeMap::new();
    for table in tables(conn).await? {
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info(?)").bind(&table).fetch_all(&mut *conn).await?;
        let row_text = columns.iter().map(|c| format!("quote({})", quoted(c))).collect::<Vec<_>>().join(" || ',' || ");
        let sql = format!("SELECT {row_text} FROM {}", quoted(&table));
        let mut rows = sqlx::query_scalar::<_, String>(&sql).fetch(&mut *conn);
        let (mut count, mut sum) = (0i64, 0u128);
        while let Some(text) = rows.try_next().await? {
            let digest = Sha256::digest(text.as_bytes());
            sum = sum.wrapping_add(u128::from(u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))));
            count += 1;
        }
        stats.insert(table, TableStats { rows: count, checksum: sum.to_string() });
    }
    Ok(stats)
}

/// Copies the database at `path` into `work/database.sqlite.gz`.
pub async fn dump(path: &Path, redacted: &str, work: &Path, options: &DumpOptions) -> Result<super::Dump> {
    if !path.is_file() {
        return Err(BackupError::Invalid(format!("{}: no such database file", path.display())));
    }
    let copy = work.join("database.sqlite");
    let mut conn = connect(path, true).await?;
    sqlx::query("VACUUM INTO ?").bind(copy.to_string_lossy().as_ref()).execute(&mut conn).await?;
    let _ = conn.close().await;

    let mut conn = connect(&copy, true).await?;
    let identity: String = sqlx::query_scalar("SELECT id FROM store_identity LIMIT 1")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| BackupError::Database(format!("reading the database's identity: {e}")))?;
    let migration_version: i64 =
        sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut conn)
            .await?;
    let tables = table_stats(&mut conn).await?;
    let _ = conn.close().await;

    let file = work.join(OBJECT);
    let level = options.compression.min(9);
    let (from, to) = (copy.clone(), file.clone());
    tokio::task::spawn_blocking(move || gzip(&from, &to, level))
        .await
        .map_err(|e| BackupError::Io(format!("compressing: {e}")))??;
    std::fs::remove_file(&copy).map_err(io(&copy))?;
    Ok(super::Dump {
        file,
        object: OBJECT,
        info: DatabaseInfo {
            backend: "sqlite".into(),
            object: OBJECT.into(),
            format: FORMAT.into(),
            identity,
            migration_version,
            source: redacted.to_owned(),
            checksum_algorithm: CHECKSUM_ALGORITHM.into(),
            tables,
            snapshot: None,
        },
    })
}

fn gzip(from: &Path, to: &Path, level: u32) -> Result<()> {
    let mut input = BufReader::new(std::fs::File::open(from).map_err(io(from))?);
    let output = BufWriter::new(std::fs::File::create(to).map_err(io(to))?);
    let mut encoder = flate2::write::GzEncoder::new(output, Compression::new(level));
    std::io::copy(&mut input, &mut encoder).map_err(io(to))?;
    encoder
        .finish()
        .map_err(io(to))?
        .into_inner()
        .map_err(|e| BackupError::Io(e.to_string()))?
        .sync_all()
        .map_err(io(to))
}

fn gunzip(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut decoder = flate2::read::GzDecoder::new(BufReader::new(std::fs::File::open(from).map_err(io(from))?));
    // Owner only, as the store creates its databases: a restored one is no more readable.
    let file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(to);
    let mut output = BufWriter::new(file.map_err(io(to))?);
    std::io::copy(&mut decoder, &mut output).map_err(|e| BackupError::Io(format!("{}: {e}", from.display())))?;
    output.into_inner().map_err(|e| BackupError::Io(e.to_string()))?.sync_all().map_err(io(to))
}

/// The `store_identity` id, if the database has one.
pub async fn identity(path: &Path) -> Result<Option<String>> {
    if !path.exists() {
        return Ok(None);
    }
    let mut conn = connect(path, true).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'store_identity'")
            .fetch_one(&mut conn)
            .await?;
    let id = if exists {
        sqlx::query_scalar("SELECT id FROM store_identity LIMIT 1").fetch_optional(&mut conn).await?
    } else {
        None
    };
    let _ = conn.close().await;
    Ok(id)
}

/// Row counts of every table (none when the file does not exist).
pub async fn contents(path: &Path) -> Result<BTreeMap<String, i64>> {
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    let mut conn = connect(path, true).await?;
    let mut counts = BTreeMap::new();
    for table in tables(&mut conn).await? {
        let rows: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM {}", quoted(&table))).fetch_one(&mut conn).await?;
        counts.insert(table, rows);
    }
    let _ = conn.close().await;
    Ok(counts)
}

/// The statistics of the database at `path`.
pub async fn stats_of(path: &Path) -> Result<BTreeMap<String, TableStats>> {
    let mut conn = connect(path, true).await?;
    let stats = table_stats(&mut conn).await;
    let _ = conn.close().await;
    stats
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Replaces the database at `path` with the gzipped copy `file` (stop the service
/// first: a process holding the old file open keeps writing to it).
pub async fn restore(path: &Path, file: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let staged = sibling(path, ".restoring");
    let (from, to) = (file.to_owned(), staged.clone());
    tokio::task::spawn_blocking(move || gunzip(&from, &to))
        .await
        .map_err(|e| BackupError::Io(format!("decompressing: {e}")))??;
    // The restored file must open as SQLite before it replaces anything.
    let mut conn = connect(&staged, true).await?;
    let check: String = sqlx::query_scalar("PRAGMA quick_check").fetch_one(&mut conn).await?;
    let _ = conn.close().await;
    if check != "ok" {
        let _ = std::fs::remove_file(&staged);
        return Err(BackupError::Contents(format!("the restored SQLite database fails its check: {check}")));
    }
    for suffix in ["-wal", "-shm"] {
        let stale = sibling(path, suffix);
        if stale.exists() {
            std::fs::remove_file(&stale).map_err(io(&stale))?;
        }
    }
    std::fs::rename(&staged, path).map_err(io(path))
}
