//! PostgreSQL: `pg_dump --snapshot` of a snapshot whose rows were counted and
//! checksummed in the same transaction, and a parallel `pg_restore`.

use std::collections::BTreeMap;
use std::path::Path;

use sqlx::{Connection, Executor, PgConnection, Row};

use super::tools::{run, PgTools};
use super::DumpOptions;
use crate::error::{BackupError, Result};
use crate::manifest::{DatabaseInfo, TableStats};

/// The format name of a PostgreSQL dump.
pub const FORMAT: &str = "pg_dump-custom";
const OBJECT: &str = "database.dump";
const CHECKSUM_ALGORITHM: &str =
    "postgres-md5-sum60: the sum over rows of the first 60 bits of md5(row::text), as a decimal";

const TABLES_SQL: &str = "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename";

async fn connect(url: &str) -> Result<PgConnection> {
    PgConnection::connect(url).await.map_err(|e| BackupError::Database(format!("connecting: {e}")))
}

/// Counts and checksums every table of the public schema, in the transaction (or
/// connection) given.
async fn table_stats(conn: &mut PgConnection) -> Result<BTreeMap<String, TableStats>> {
    let tables: Vec<String> = sqlx::query_scalar(TABLES_SQL).fetch_all(&mut *conn).await?;
    let mut stats = BTreeMap::new();
    for table in tables {
        // The sum is order-independent: a restore may write rows in another order.
        let sql = format!(
            "SELECT count(*)::BIGINT, \
             coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::BIGINT), 0)::TEXT \
             FROM {table} t"
        );
        let row = sqlx::query(&sql).fetch_one(&mut *conn).await?;
        stats.insert(table.trim_matches('"').to_owned(), TableStats { rows: row.get(0), checksum: row.get(1) });
    }
    Ok(stats)
}

/// Dumps `url` into `work/database.dump`.
pub async fn dump(
    url: &str,
    redacted: &str,
    work: &Path,
    options: &DumpOptions,
    tools: &PgTools,
) -> Result<super::Dump> {
    let mut conn = connect(url).await?;
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()").fetch_one(&mut conn).await?;
    let identity: Option<String> =
        sqlx::query_scalar("SELECT id FROM store_identity LIMIT 1").fetch_optional(&mut conn).await.map_err(|e| {
            BackupError::Database(format!(
                "reading the database's identity ({e}): open it once with this version of ferretwatch to migrate it"
            ))
        })?;
    let identity = identity.ok_or_else(|| BackupError::Database("store_identity is empty".into()))?;
    let migration_version: i64 =
        sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut conn)
            .await?;
    let tables = table_stats(&mut conn).await?;

    let file = work.join(OBJECT);
    let mut command = tools.command("pg_dump");
    command
        .arg("--format=custom")
        .arg(format!("--compress={}", options.compression.min(9)))
        .arg(format!("--snapshot={snapshot}"))
        .arg("--no-sync")
        .arg("--file")
        .arg(&file);
    super::tools::dbname(&mut command, url);
    let dumped = run(command, "pg_dump").await;
    // The snapshot lives as long as the transaction: end it only after the dump.
    conn.execute("COMMIT").await?;
    let _ = conn.close().await;
    dumped?;
    Ok(super::Dump {
        file,
        object: OBJECT,
        info: DatabaseInfo {
            backend: "postgres".into(),
            object: OBJECT.into(),
            format: FORMAT.into(),
            identity,
            migration_version,
            source: redacted.to_owned(),
            checksum_algorithm: CHECKSUM_ALGORITHM.into(),
            tables,
            snapshot: Some(snapshot),
        },
    })
}

/// The `store_identity` id, if the database has one.
pub async fn identity(url: &str) -> Result<Option<String>> {
    let mut conn = connect(url).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT to_regclass('public.store_identity') IS NOT NULL").fetch_one(&mut conn).await?;
    let id = if exists {
        sqlx::query_scalar("SELECT id FROM store_identity LIMIT 1").fetch_optional(&mut conn).await?
    } else {
        None
    };
    let _ = conn.close().await;
    Ok(id)
}

/// Row counts of every table of the public schema.
pub async fn contents(url: &str) -> Result<BTreeMap<String, i64>> {
    let mut conn = connect(url).await?;
    let tables: Vec<String> = sqlx::query_scalar(TABLES_SQL).fetch_all(&mut conn).await?;
    let mut counts = BTreeMap::new();
    for table in tables {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&mut conn).await?;
        counts.insert(table.trim_matches('"').to_owned(), rows);
    }
    let _ = conn.close().await;
    Ok(counts)
}

/// The statistics of `url` now.
pub async fn stats_of(url: &str) -> Result<BTreeMap<String, TableStats>> {
    let mut conn = connect(url).await?;
    let stats = table_stats(&mut conn).await;
    let _ = conn.close().await;
    stats
}

/// Replaces the public schema of `url` with the dump's: the schema is dropped and made
/// anew, then `pg_restore` loads the tables with `jobs` connections and builds the
/// indexes and constraints after the data.
pub async fn restore(url: &str, file: &Path, jobs: u32, tools: &PgTools) -> Result<()> {
    // The dump must be readable by this pg_restore (its table of contents, and a version
    // it knows) before anything of the target is dropped.
    let mut listed = tools.command("pg_restore");
    listed.arg("--list").arg(file).stdout(std::process::Stdio::null());
    run(listed, "pg_restore --list (the dump is checked before the target is touched)").await?;
    let mut conn = connect(url).await?;
    conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public").await?;
    let _ = conn.close().await;
    let mut command = tools.command("pg_restore");
    command.arg("--exit-on-error").arg("--no-owner").arg("--no-privileges").arg(format!("--jobs={}", jobs.max(1)));
    super::tools::dbname(&mut command, url);
    command
        .arg(file)
        // Each restore connection: no wait for the WAL flush per commit (the restore is
        // redone from the start if it fails), and memory enough to sort for an index.
        .env("PGOPTIONS", "-c synchronous_commit=off -c maintenance_work_mem=256MB");
    run(command, "pg_restore").await.map_err(|e| {
        BackupError::Tool(format!(
            "{e}; the target's tables were dropped before the load, so it now holds part of the backup: \
             do not serve it, restore again"
        ))
    })
}

/// A database made for one verification on a server, dropped when done.
#[derive(Debug)]
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates an empty database with a random name on the server `admin_url` names
    /// (whose user may `CREATE DATABASE`).
    pub async fn create(admin_url: &str) -> Result<Self> {
        let mut random = [0u8; 6];
        getrandom::getrandom(&mut random).map_err(|e| BackupError::Io(format!("random bytes: {e}")))?;
        let name = format!("ferretwatch_verify_{}", hex::encode(random));
        let mut conn = connect(admin_url).await?;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .map_err(|e| BackupError::Database(format!("creating the scratch database {name}: {e}")))?;
        let _ = conn.close().await;
        let mut url =
            url::Url::parse(admin_url).map_err(|_| BackupError::Invalid("invalid scratch database URL".into()))?;
        url.set_path(&name);
        // A `dbname` parameter would override the path and point the restore, which drops
        // the public schema first, at another database.
        let kept: Vec<(String, String)> =
            url.query_pairs().filter(|(k, _)| k != "dbname").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        url.set_query(None);
        if !kept.is_empty() {
            url.query_pairs_mut().extend_pairs(kept);
        }
        Ok(ScratchDatabase { admin_url: admin_url.to_owned(), name, url: url.into() })
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops it.
    pub async fn drop_database(self) -> Result<()> {
        let mut conn = connect(&self.admin_url).await?;
        conn.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str()).await?;
        let _ = conn.close().await;
        Ok(())
    }
}
