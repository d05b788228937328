//! The SQLite backend: the embedded default.
//!
//! One database file in WAL mode with `synchronous=FULL`: a commit returns only after the
//! WAL is synced, so an `Ok` survives power loss, not just a crash. Writers take the write
//! lock at `BEGIN IMMEDIATE` and wait for it up to the busy timeout; they never fail
//! half-way through a transaction because a reader upgraded first.
//!
//! Writes go through a pool of exactly one connection, reads through the others. SQLite
//! admits one writer at a time anyway; queueing writers in the pool (first come, first
//! served) instead of in SQLite's busy handler (which polls with growing sleeps, unfairly)
//! keeps the latency tail short under concurrent reports.

use std::fmt;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use ferretwatch_types::Timestamp;

use crate::console_sql::MODERATION_COLUMNS;
use crate::model::{
    generate_secret, InboxFilter, IssuedToken, ModerationAudit, ModerationEntry, ModerationFilter, NewReport, NewToken,
    Page, PageOf, PoolStats, ReportId, ReportReceipt, StateChange, StoreCounts, StoreIdentity, StoredReport, TokenHash,
    TokenId, TokenRecord, UrlHash,
};
use crate::rows::{convert, name_conflict, AuditRow, CountsRow, ModerationRow, ReportRow, TokenRow, COUNTS_SQL};
use crate::{Backend, Result, Store, StoreError, StoreOptions, StoreUrl, TOUCH_GRANULARITY_MS};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

const REPORT_COLUMNS: &str = "id, received_at, kind, url, url_hash, reason, reason_text, client_timestamp, \
     extension_version, pack_version, score, findings, screenshot_hash, install_token_id, client_net";
const TOKEN_COLUMNS: &str = "id, name, role, created_at, last_used_at, revoked_at";

/// A [`Store`] on one SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    /// Reads. For `:memory:` the same pool as `writer`.
    pool: SqlitePool,
    /// Writes: one connection.
    writer: SqlitePool,
    /// Whether `pool` and `writer` are the same (in-memory database).
    shared: bool,
    max_connections: u32,
    /// Checks appends against the URL tombstones.
    tombstone_key: Option<crate::TombstoneKey>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").field("max_connections", &self.max_connections).finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The pool the console reads from.
    pub(crate) fn console_read(&self) -> &SqlitePool {
        &self.pool
    }

    /// The pool the console writes through (one connection: writes are serialised).
    pub(crate) fn console_write(&self) -> &SqlitePool {
        &self.writer
    }

    /// A write transaction that holds the write lock from its start (`BEGIN IMMEDIATE`),
    /// so a read-then-write never fails because another process wrote in between.
    pub(crate) async fn console_begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.begin_write().await
    }

    /// Opens (creating the file, readable by its owner only, and its parent directory if
    /// needed) and migrates.
    pub async fn open(url: &StoreUrl, options: &StoreOptions) -> Result<Self> {
        let base = SqliteConnectOptions::new()
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true);
        let (connect, max_connections, memory) = match url {
            StoreUrl::SqliteFile(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StoreError::Config(format!("cannot create directory {}: {e}", parent.display()))
                    })?;
                }
                create_private(path)?;
                (base.filename(path).create_if_missing(true), options.max_connections.unwrap_or(4).max(1), false)
            }
            // One connection: every connection to `:memory:` is a separate database.
            StoreUrl::SqliteMemory => (base.in_memory(true), 1, true),
            StoreUrl::Postgres(_) => return Err(StoreError::Config("SqliteStore needs a sqlite:// URL".into())),
        };
        let pool_options = |max: u32| {
            let options = SqlitePoolOptions::new()
                .max_connections(max)
                .min_connections(options.min_connections.min(max))
                .acquire_timeout(options.acquire_timeout);
            if memory {
                options.idle_timeout(None).max_lifetime(None)
            } else {
                options
            }
        };
        let writer = pool_options(1).connect_with(connect.clone()).await?;
        MIGRATOR.run(&writer).await?;
        let pool = if memory { writer.clone() } else { pool_options(max_connections).connect_with(connect).await? };
        Ok(Self { pool, writer, shared: memory, max_connections, tombstone_key: options.tombstone_key.clone() })
    }

    /// Opens a file database by path with default options (convenience for tools).
    pub async fn open_path(path: impl Into<std::path::PathBuf>) -> Result<Self> {
        Self::open(&StoreUrl::SqliteFile(path.into()), &StoreOptions::default()).await
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn append_report(&self, r: &NewReport) -> Result<ReportReceipt> {
        let url_hash = r.url.hash();
        let hash = url_hash.digest().as_bytes().as_slice();
        let false_positive = i64::from(r.kind == crate::ReportKind::FalsePositive);
        let score = i16::from(r.score.get());
        let mut tx = self.begin_write().await?;
        if let Some(key) = &self.tombstone_key {
            // Inside the write transaction: a `forget` committed before it is seen.
            let keyed = key.keyed(hash);
            let gone: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM tombstones WHERE keyed_hash = ?1 AND subject = 'url'")
                    .bind(keyed.0.as_slice())
                    .fetch_optional(&mut *tx)
                    .await?;
            if gone.is_some() {
                return Err(StoreError::Gone { what: "this URL" });
            }
        }
        let report_count: i64 = sqlx::query_scalar(
            "INSERT INTO moderation (url_hash, url, state, first_seen, last_seen, report_count, \
                 false_positive_count, max_score) \
             VALUES (?1, ?2, 'queued', ?3, ?3, 1, ?4, ?5) \
             ON CONFLICT (url_hash) DO UPDATE SET \
                 first_seen = min(first_seen, excluded.first_seen), \
                 last_seen = max(last_seen, excluded.last_seen), \
                 report_count = report_count + 1, \
                 false_positive_count = false_positive_count + excluded.false_positive_count, \
                 max_score = max(max_score, excluded.max_score) \
             RETURNING report_count",
        )
        .bind(hash)
        .bind(r.url.as_str())
        .bind(r.received_at.as_millis())
        .bind(false_positive)
        .bind(score)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO reports (received_at, kind, url, url_hash, reason, reason_text, client_timestamp, \
                 extension_version, pack_version, score, findings, screenshot_hash, install_token_id, client_net) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
             RETURNING id",
        )
        .bind(r.received_at.as_millis())
        .bind(r.kind.code())
        .bind(r.url.as_str())
        .bind(hash)
        .bind(r.reason.code())
        .bind(r.reason.text())
        .bind(r.client_timestamp.as_millis())
        .bind(r.extension_version.as_str())
        .bind(r.pack_version.as_str())
        .bind(score)
        .bind(r.findings.to_json())
        .bind(r.screenshot_hash.as_ref().map(|h| h.as_bytes().to_vec()))
        .bind(r.install_token_id.as_ref().map(|t| t.as_str()))
        .bind(r.client_net.as_ref().map(|n| n.as_str()))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ReportReceipt { id: ReportId(id), url_hash, new_url: report_count == 1, report_count })
    }

    async fn get_report(&self, id: ReportId) -> Result<StoredReport> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = ?1");
        let row: Option<ReportRow> = sqlx::query_as(&sql).bind(id.0).fetch_optional(&self.pool).await?;
        row.ok_or_else(|| StoreError::not_found("report"))?.try_into()
    }

    async fn list_reports_for_url(&self, url_hash: &UrlHash, page: Page) -> Result<PageOf<StoredReport>> {
        let sql =
            format!("SELECT {REPORT_COLUMNS} FROM reports WHERE url_hash = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3");
        let rows: Vec<ReportRow> = sqlx::query_as(&sql)
            .bind(url_hash.digest().as_bytes().as_slice())
            .bind(page.probe_limit())
            .bind(page.offset_i64())
            .fetch_all(&self.pool)
            .await?;
        Ok(page.finish(convert(rows)?))
    }

    async fn get_moderation(&self, url_hash: &UrlHash) -> Result<ModerationEntry> {
        let sql = format!("SELECT {MODERATION_COLUMNS} FROM moderation WHERE url_hash = ?1");
        let row: Option<ModerationRow> =
            sqlx::query_as(&sql).bind(url_hash.digest().as_bytes().as_slice()).fetch_optional(&self.pool).await?;
        row.ok_or_else(|| StoreError::not_found("moderation entry"))?.try_into()
    }

    async fn list_moderation(&self, filter: &ModerationFilter, page: Page) -> Result<PageOf<ModerationEntry>> {
        let filter =
            InboxFilter { state: filter.state, min_score: filter.min_score, sort: filter.sort, ..Default::default() };
        Ok(page.finish(self.moderation_entries(&filter, page.probe_limit(), page.offset_i64()).await?))
    }

    async fn set_moderation_state(&self, change: &StateChange) -> Result<ModerationEntry> {
        self.change_state(change, None).await
    }

    async fn moderation_history(&self, url_hash: &UrlHash) -> Result<Vec<ModerationAudit>> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, url_hash, from_state, to_state, actor, note, at FROM moderation_audit \
             WHERE url_hash = ?1 ORDER BY id",
        )
        .bind(url_hash.digest().as_bytes().as_slice())
        .fetch_all(&self.pool)
        .await?;
        convert(rows)
    }

    async fn create_token(&self, token: &NewToken) -> Result<IssuedToken> {
        let secret = generate_secret()?;
        let hash = TokenHash::of_secret(secrecy::ExposeSecret::expose_secret(&secret));
        let sql = format!(
            "INSERT INTO admin_tokens (name, role, token_hash, created_at) VALUES (?1, ?2, ?3, ?4) \
             RETURNING {TOKEN_COLUMNS}"
        );
        let row: TokenRow = sqlx::query_as(&sql)
            .bind(token.name.as_str())
            .bind(token.role.code())
            .bind(hash.digest().as_bytes().as_slice())
            .bind(token.created_at.as_millis())
            .fetch_one(&self.writer)
            .await
            .map_err(|e| name_conflict(e, token))?;
        Ok(IssuedToken { record: row.try_into()?, secret })
    }

    async fn find_token_by_hash(&self, hash: &TokenHash) -> Result<Option<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM admin_tokens WHERE token_hash = ?1");
        let row: Option<TokenRow> =
            sqlx::query_as(&sql).bind(hash.digest().as_bytes().as_slice()).fetch_optional(&self.pool).await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn touch_token(&self, id: TokenId, at: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE admin_tokens SET last_used_at = ?2 \
             WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2 - ?3)",
        )
        .bind(id.0)
        .bind(at.as_millis())
        .bind(TOUCH_GRANULARITY_MS)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM admin_tokens WHERE id = ?1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
            exists.ok_or_else(|| StoreError::not_found("token"))?;
        }
        Ok(())
    }

    async fn revoke_token(&self, id: TokenId, at: Timestamp) -> Result<TokenRecord> {
        let sql = format!(
            "UPDATE admin_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1 RETURNING {TOKEN_COLUMNS}"
        );
        let row: Option<TokenRow> =
            sqlx::query_as(&sql).bind(id.0).bind(at.as_millis()).fetch_optional(&self.writer).await?;
        row.ok_or_else(|| StoreError::not_found("token"))?.try_into()
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM admin_tokens ORDER BY id");
        let rows: Vec<TokenRow> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
        convert(rows)
    }

    async fn counts(&self) -> Result<StoreCounts> {
        let row: CountsRow = sqlx::query_as(COUNTS_SQL).fetch_one(&self.pool).await?;
        Ok(row.into())
    }

    async fn identity(&self) -> Result<StoreIdentity> {
        let (id, created_at): (String, i64) =
            sqlx::query_as("SELECT id, created_at FROM store_identity LIMIT 1").fetch_one(&self.pool).await?;
        Ok(StoreIdentity { id, created_at })
    }

    fn pool_stats(&self) -> PoolStats {
        let idle = |pool: &SqlitePool| u32::try_from(pool.num_idle()).unwrap_or(0);
        if self.shared {
            return PoolStats { size: self.pool.size(), idle: idle(&self.pool), max: 1 };
        }
        PoolStats {
            size: self.pool.size() + self.writer.size(),
            idle: idle(&self.pool) + idle(&self.writer),
            max: self.max_connections + 1,
        }
    }

    async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

/// Creates a new database file readable and writable by its owner only (it holds password
/// hashes and sessions); SQLite gives its `-wal` and `-shm` files the same mode. An
/// existing file is left as it is (the security scan reports a readable one).
fn create_private(path: &std::path::Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Config(format!("cannot create {}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_are_durable_wal_with_foreign_keys_and_a_busy_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let url = StoreUrl::SqliteFile(dir.path().join("fw.db"));
        let options = StoreOptions { busy_timeout: std::time::Duration::from_millis(2500), ..StoreOptions::default() };
        let store = SqliteStore::open(&url, &options).await.unwrap();
        let mut conn = store.pool.acquire().await.unwrap();
        let pragma = |name: &'static str| format!("PRAGMA {name}");
        let journal: String = sqlx::query_scalar(&pragma("journal_mode")).fetch_one(&mut *conn).await.unwrap();
        let synchronous: i64 = sqlx::query_scalar(&pragma("synchronous")).fetch_one(&mut *conn).await.unwrap();
        let foreign_keys: i64 = sqlx::query_scalar(&pragma("foreign_keys")).fetch_one(&mut *conn).await.unwrap();
        let busy: i64 = sqlx::query_scalar(&pragma("busy_timeout")).fetch_one(&mut *conn).await.unwrap();
        assert_eq!((journal.as_str(), synchronous, foreign_keys, busy), ("wal", 2, 1, 2500));
    }
}
