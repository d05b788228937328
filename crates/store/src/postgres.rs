//! The PostgreSQL backend: production.
//!
//! `append_report` goes through a group commit (`group_commit.rs`): reports that arrive
//! together are written by one transaction, and each `Ok` is returned after its commit.
//! A report on its own is one statement (two data-modifying CTEs): the moderation upsert
//! and the log insert commit together or not at all. `synchronous_commit=on` is set on every connection, so even a server
//! configured with `off` cannot turn an `Ok` into a lost report.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use ferretwatch_types::Timestamp;

use crate::console_sql::MODERATION_COLUMNS;
use crate::group_commit::GroupCommit;
use crate::model::{
    generate_secret, InboxFilter, IssuedToken, ModerationAudit, ModerationEntry, ModerationFilter, NewReport, NewToken,
    Page, PageOf, PoolStats, ReportId, ReportReceipt, StateChange, StoreCounts, StoreIdentity, StoredReport, TokenHash,
    TokenId, TokenRecord, UrlHash,
};
use crate::rows::{convert, name_conflict, AuditRow, CountsRow, ModerationRow, ReportRow, TokenRow, COUNTS_SQL};
use crate::{Backend, Result, Store, StoreError, StoreOptions, TOUCH_GRANULARITY_MS};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

const REPORT_COLUMNS: &str = "id, received_at, kind, url, url_hash, reason, reason_text, client_timestamp, \
     extension_version, pack_version, score, findings::text AS findings, screenshot_hash, install_token_id, client_net";
const TOKEN_COLUMNS: &str = "id, name, role, created_at, last_used_at, revoked_at";

/// The append: upsert the moderation entry, insert the log row, return both results.
const APPEND_SQL: &str = "\
WITH entry AS (
    INSERT INTO moderation AS m (url_hash, url, state, first_seen, last_seen, report_count,
                                 false_positive_count, max_score)
    VALUES ($1, $2, 'queued', $3, $3, 1, $4, $5)
    ON CONFLICT (url_hash) DO UPDATE SET
        first_seen = LEAST(m.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(m.last_seen, EXCLUDED.last_seen),
        report_count = m.report_count + 1,
        false_positive_count = m.false_positive_count + EXCLUDED.false_positive_count,
        max_score = GREATEST(m.max_score, EXCLUDED.max_score)
    RETURNING m.report_count
), logged AS (
    INSERT INTO reports (received_at, kind, url, url_hash, reason, reason_text, client_timestamp,
                         extension_version, pack_version, score, findings, screenshot_hash,
                         install_token_id, client_net)
    VALUES ($3, $6, $2, $1, $7, $8, $9, $10, $11, $5, $12::jsonb, $13, $14, $15)
    RETURNING id
)
SELECT logged.id, entry.report_count FROM logged CROSS JOIN entry";

/// A [`Store`] on a PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    max_connections: u32,
    writer: Arc<GroupCommit>,
    /// Checks appends against the URL tombstones.
    tombstone_key: Option<crate::TombstoneKey>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore").field("max_connections", &self.max_connections).finish_non_exhaustive()
    }
}

/// One report in one statement (the group commit's batch of one, and its fallback).
pub(crate) async fn append_one(pool: &PgPool, r: &NewReport) -> Result<ReportReceipt> {
    let url_hash = r.url.hash();
    let hash = url_hash.digest().as_bytes().as_slice();
    let score = i16::from(r.score.get());
    let (id, report_count): (i64, i64) = sqlx::query_as(APPEND_SQL)
        .bind(hash)
        .bind(r.url.as_str())
        .bind(r.received_at.as_millis())
        .bind(i64::from(r.kind == crate::ReportKind::FalsePositive))
        .bind(score)
        .bind(r.kind.code())
        .bind(r.reason.code())
        .bind(r.reason.text())
        .bind(r.client_timestamp.as_millis())
        .bind(r.extension_version.as_str())
        .bind(r.pack_version.as_str())
        .bind(r.findings.to_json())
        .bind(r.screenshot_hash.as_ref().map(|h| h.as_bytes().as_slice()))
        .bind(r.install_token_id.as_ref().map(|t| t.as_str()))
        .bind(r.client_net.as_ref().map(|n| n.as_str()))
        .fetch_one(pool)
        .await?;
    Ok(ReportReceipt { id: ReportId(id), url_hash, new_url: report_count == 1, report_count })
}

impl PostgresStore {
    /// The pool the console reads from.
    pub(crate) fn console_read(&self) -> &PgPool {
        &self.pool
    }

    /// The pool the console writes through (console writes are rare: no group commit).
    pub(crate) fn console_write(&self) -> &PgPool {
        &self.pool
    }

    /// A write transaction (rows are locked by the statements that need it).
    pub(crate) async fn console_begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// Connects to `url` (`postgres://…`) and migrates. The database must exist.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::Config("invalid postgres URL".into()))?
            .application_name("ferretwatch")
            .options([("synchronous_commit", "on")]);
        let max_connections = options.max_connections.unwrap_or(16).max(1);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(options.min_connections.min(max_connections))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        // Writers take turns at the queue: while one commits, the next gathers. At most
        // half the pool, so that reads always find a connection.
        let writers = options.writers.clamp(1, (max_connections as usize / 2).max(1));
        let writer = Arc::new(GroupCommit::start(pool.clone(), writers));
        Ok(Self { pool, max_connections, writer, tombstone_key: options.tombstone_key.clone() })
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn append_report(&self, r: &NewReport) -> Result<ReportReceipt> {
        if let Some(key) = &self.tombstone_key {
            // One primary-key probe before the group commit, for a URL without a
            // moderation entry to mark (or a restored database before its reapply). A
            // `forget` that commits while the report waits in the queue is caught by the
            // `reports_not_forgotten` trigger (migration 0006).
            let keyed = key.keyed(r.url.hash().digest().as_bytes());
            let gone: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM tombstones WHERE keyed_hash = $1 AND subject = 'url'")
                    .bind(keyed.0.as_slice())
                    .fetch_optional(&self.pool)
                    .await?;
            if gone.is_some() {
                return Err(StoreError::Gone { what: "this URL" });
            }
        }
        self.writer.append(r).await
    }

    async fn get_report(&self, id: ReportId) -> Result<StoredReport> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1");
        let row: Option<ReportRow> = sqlx::query_as(&sql).bind(id.0).fetch_optional(&self.pool).await?;
        row.ok_or_else(|| StoreError::not_found("report"))?.try_into()
    }

    async fn list_reports_for_url(&self, url_hash: &UrlHash, page: Page) -> Result<PageOf<StoredReport>> {
        let sql =
            format!("SELECT {REPORT_COLUMNS} FROM reports WHERE url_hash = $1 ORDER BY id DESC LIMIT $2 OFFSET $3");
        let rows: Vec<ReportRow> = sqlx::query_as(&sql)
            .bind(url_hash.digest().as_bytes().as_slice())
            .bind(page.probe_limit())
            .bind(page.offset_i64())
            .fetch_all(&self.pool)
            .await?;
        Ok(page.finish(convert(rows)?))
    }

    async fn get_moderation(&self, url_hash: &UrlHash) -> Result<ModerationEntry> {
        let sql = format!("SELECT {MODERATION_COLUMNS} FROM moderation WHERE url_hash = $1");
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
             WHERE url_hash = $1 ORDER BY id",
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
            "INSERT INTO admin_tokens (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING {TOKEN_COLUMNS}"
        );
        let row: TokenRow = sqlx::query_as(&sql)
            .bind(token.name.as_str())
            .bind(token.role.code())
            .bind(hash.digest().as_bytes().as_slice())
            .bind(token.created_at.as_millis())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| name_conflict(e, token))?;
        Ok(IssuedToken { record: row.try_into()?, secret })
    }

    async fn find_token_by_hash(&self, hash: &TokenHash) -> Result<Option<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM admin_tokens WHERE token_hash = $1");
        let row: Option<TokenRow> =
            sqlx::query_as(&sql).bind(hash.digest().as_bytes().as_slice()).fetch_optional(&self.pool).await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn touch_token(&self, id: TokenId, at: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE admin_tokens SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $2 - $3)",
        )
        .bind(id.0)
        .bind(at.as_millis())
        .bind(TOUCH_GRANULARITY_MS)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM admin_tokens WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
            exists.ok_or_else(|| StoreError::not_found("token"))?;
        }
        Ok(())
    }

    async fn revoke_token(&self, id: TokenId, at: Timestamp) -> Result<TokenRecord> {
        let sql = format!(
            "UPDATE admin_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING {TOKEN_COLUMNS}"
        );
        let row: Option<TokenRow> =
            sqlx::query_as(&sql).bind(id.0).bind(at.as_millis()).fetch_optional(&self.pool).await?;
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
        let size = self.pool.size();
        PoolStats { size, idle: u32::try_from(self.pool.num_idle()).unwrap_or(size), max: self.max_connections }
    }

    async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}
