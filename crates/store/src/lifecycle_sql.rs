//! [`crate::LifecycleStore`] for both backends: the retention, tombstone and cleanup SQL
//! is one body for both (`$N` parameters, `DELETE … RETURNING`, `ON CONFLICT`), so
//! [`lifecycle_store!`] instantiates it once per store type; the maintenance reports are
//! each backend's own (`postgres_maintenance`, `sqlite_maintenance`).
//!
//! Retention's batch is found through the `reports (received_at)` index (oldest first,
//! `LIMIT`), deleted by primary key, and its rows come back to be counted here: the
//! registrable domain needs the Public Suffix List, which SQL does not have. The counts
//! go back as one multi-row upsert per [`UPSERT_ROWS`] groups.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use ferretwatch_types::Timestamp;

use crate::model::{
    DailyCount, KeyedHash, ReportKind, RetentionBatch, ScoreLevel, Tombstone, TombstoneSubject, DAY_MS,
};
use crate::StoreError;

/// Aggregate rows per upsert statement (6 parameters each: well under both databases'
/// limits on parameters).
pub(crate) const UPSERT_ROWS: usize = 500;

/// Keys read per page when tombstones are matched against what the database holds.
pub(crate) const MATCH_PAGE: i64 = 10_000;

/// The oldest `$2` reports received before `$1`, deleted, with what the aggregates need.
pub(crate) const RETENTION_DELETE: &str = "DELETE FROM reports WHERE id IN \
     (SELECT id FROM reports WHERE received_at < $1 ORDER BY received_at LIMIT $2) \
     RETURNING received_at, kind, reason, score, url";

/// Records a tombstone; recording it again keeps the later creation time (an install's
/// tombstone then covers the reports up to the later request).
pub(crate) const TOMBSTONE_UPSERT: &str = "INSERT INTO tombstones (keyed_hash, subject, created_at, reason) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (keyed_hash) DO UPDATE SET created_at = \
     CASE WHEN excluded.created_at > tombstones.created_at THEN excluded.created_at ELSE tombstones.created_at END \
     RETURNING created_at";

pub(crate) const TOMBSTONE_COLUMNS: &str = "keyed_hash, subject, created_at, reason";

/// A deleted report, as retention counts it.
#[derive(sqlx::FromRow)]
pub(crate) struct ExpiredRow {
    received_at: i64,
    kind: String,
    reason: String,
    score: i16,
    url: String,
}

/// One group of the aggregates: day, kind, reason, level, domain.
type GroupKey = (i64, String, String, ScoreLevel, String);

/// A batch counted: reports per group, the earliest and latest `received_at`.
pub(crate) type Counted = (BTreeMap<GroupKey, i64>, Option<Timestamp>, Option<Timestamp>);

/// The batch's rows counted by group.
pub(crate) fn count_groups(rows: &[ExpiredRow], batch: &RetentionBatch) -> Result<Counted, StoreError> {
    let mut groups: BTreeMap<GroupKey, i64> = BTreeMap::new();
    let (mut oldest, mut newest) = (None::<i64>, None::<i64>);
    for row in rows {
        let score = u8::try_from(row.score).map_err(|_| StoreError::corrupt("score out of range"))?;
        let day = row.received_at.div_euclid(DAY_MS) * DAY_MS;
        let level = ScoreLevel::of(score, batch.yellow, batch.red);
        let key = (day, row.kind.clone(), row.reason.clone(), level, (batch.domain_of)(&row.url));
        *groups.entry(key).or_default() += 1;
        oldest = Some(oldest.map_or(row.received_at, |o| o.min(row.received_at)));
        newest = Some(newest.map_or(row.received_at, |n| n.max(row.received_at)));
    }
    Ok((groups, oldest.map(Timestamp::from_millis), newest.map(Timestamp::from_millis)))
}

/// An upsert of `rows` aggregate rows, adding to the counts already there.
pub(crate) fn upsert_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO report_daily (day, kind, reason, level, domain, reports) VALUES ");
    for i in 0..rows {
        let p = i * 6;
        let _ = write!(
            sql,
            "{}(${}, ${}, ${}, ${}, ${}, ${})",
            if i == 0 { "" } else { ", " },
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6
        );
    }
    sql.push_str(
        " ON CONFLICT (day, kind, reason, level, domain) DO UPDATE SET reports = report_daily.reports + excluded.reports",
    );
    sql
}

/// A row of the aggregates.
#[derive(sqlx::FromRow)]
pub(crate) struct DailyRow {
    day: i64,
    kind: String,
    reason: String,
    level: String,
    domain: String,
    reports: i64,
}

impl TryFrom<DailyRow> for DailyCount {
    type Error = StoreError;
    fn try_from(row: DailyRow) -> Result<Self, StoreError> {
        Ok(Self {
            day: Timestamp::from_millis(row.day),
            kind: ReportKind::from_code(&row.kind).ok_or_else(|| StoreError::corrupt("unknown report kind"))?,
            reason: row.reason,
            level: ScoreLevel::parse(&row.level).ok_or_else(|| StoreError::corrupt("unknown level"))?,
            domain: row.domain,
            reports: row.reports,
        })
    }
}

/// A stored tombstone.
#[derive(sqlx::FromRow)]
pub(crate) struct TombstoneRow {
    keyed_hash: Vec<u8>,
    subject: String,
    created_at: i64,
    reason: String,
}

impl TryFrom<TombstoneRow> for Tombstone {
    type Error = StoreError;
    fn try_from(row: TombstoneRow) -> Result<Self, StoreError> {
        Ok(Self {
            keyed_hash: KeyedHash(
                <[u8; 32]>::try_from(row.keyed_hash.as_slice())
                    .map_err(|_| StoreError::corrupt("stored hash is not 32 bytes"))?,
            ),
            subject: TombstoneSubject::parse(&row.subject).map_err(|_| StoreError::corrupt("unknown subject"))?,
            created_at: Timestamp::from_millis(row.created_at),
            reason: row.reason,
        })
    }
}

/// Stored tombstones by keyed hash, split by subject.
pub(crate) fn by_subject(all: Vec<Tombstone>) -> (HashMap<KeyedHash, Tombstone>, HashMap<KeyedHash, Tombstone>) {
    all.into_iter().map(|t| (t.keyed_hash, t)).partition(|(_, t)| t.subject == TombstoneSubject::Url)
}

/// A reason as stored: trimmed, at most 200 characters, never empty.
pub(crate) fn reason_text(reason: &str) -> Result<String, StoreError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(crate::ValidationError::new("reason", "must be 1 to 200 printable characters").into());
    }
    Ok(reason.to_owned())
}

/// Implements [`crate::LifecycleStore`] for `$store` (with `console_read()`,
/// `console_write()` and `console_begin()`); `$maintenance` is the module with the
/// backend's own maintenance functions; `$lock_entry` the statement that locks a
/// moderation entry (`$1` its hash) against appends before it is forgotten, where one is
/// needed.
macro_rules! lifecycle_store {
    ($store:ty, $maintenance:path, $lock_entry:expr) => {
        use $crate::lifecycle_sql::*;
        use $crate::model::{
            Analyzed, BatchOutcome, Cleanup, ConnectionState, DailyCount, ForgetTarget, Forgotten, IndexReport,
            Reapplied, RetentionBatch, SlowQueries, Tombstone, TombstoneKey, FORGOTTEN_URL,
        };
        use $maintenance as maintenance;

        impl $store {
            /// Redacts a URL's moderation entry, which marks it forgotten (the
            /// `reports_not_forgotten` trigger refuses its reports from then on), and
            /// deletes its reports, in `tx`. The entry first, locked: the lock waits for
            /// an append of the URL in flight to commit, so that the delete, a later
            /// statement, sees that report and deletes it too.
            async fn forget_url_in(
                tx: &mut sqlx::Transaction<'static, <Self as StoreDb>::Db>,
                url_hash: &[u8],
            ) -> $crate::Result<(u64, bool)> {
                if let Some(lock) = $lock_entry {
                    sqlx::query(lock).bind(url_hash).execute(&mut **tx).await?;
                }
                let redacted = sqlx::query("UPDATE moderation SET url = $2 WHERE url_hash = $1 AND url <> $2")
                    .bind(url_hash)
                    .bind(FORGOTTEN_URL)
                    .execute(&mut **tx)
                    .await?;
                let deleted =
                    sqlx::query("DELETE FROM reports WHERE url_hash = $1").bind(url_hash).execute(&mut **tx).await?;
                Ok((deleted.rows_affected(), redacted.rows_affected() > 0))
            }

            /// Deletes an install's reports received up to `until`, in `tx`.
            async fn forget_install_in(
                tx: &mut sqlx::Transaction<'static, <Self as StoreDb>::Db>,
                id: &str,
                until: i64,
            ) -> $crate::Result<u64> {
                let deleted = sqlx::query("DELETE FROM reports WHERE install_token_id = $1 AND received_at <= $2")
                    .bind(id)
                    .bind(until)
                    .execute(&mut **tx)
                    .await?;
                Ok(deleted.rows_affected())
            }
        }

        #[async_trait::async_trait]
        impl $crate::lifecycle::LifecycleStore for $store {
            async fn retention_batch(&self, batch: &RetentionBatch) -> $crate::Result<BatchOutcome> {
                batch.validate()?;
                let mut tx = self.console_begin().await?;
                let rows: Vec<ExpiredRow> = sqlx::query_as(RETENTION_DELETE)
                    .bind(batch.cutoff.as_millis())
                    .bind(i64::from(batch.limit))
                    .fetch_all(&mut *tx)
                    .await?;
                let (groups, oldest, newest) = count_groups(&rows, batch)?;
                let groups: Vec<_> = groups.into_iter().collect();
                for chunk in groups.chunks(UPSERT_ROWS) {
                    let sql = upsert_sql(chunk.len());
                    let mut query = sqlx::query(&sql);
                    for ((day, kind, reason, level, domain), reports) in chunk {
                        query = query
                            .bind(*day)
                            .bind(kind.as_str())
                            .bind(reason.as_str())
                            .bind(level.code())
                            .bind(domain.as_str())
                            .bind(*reports);
                    }
                    query.execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(BatchOutcome { deleted: rows.len() as u64, aggregate_rows: groups.len() as u64, oldest, newest })
            }

            async fn reports_before(&self, cutoff: ferretwatch_types::Timestamp) -> $crate::Result<u64> {
                let count: i64 = sqlx::query_scalar("SELECT count(*) FROM reports WHERE received_at < $1")
                    .bind(cutoff.as_millis())
                    .fetch_one(self.console_read())
                    .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn daily_counts(
                &self,
                since: ferretwatch_types::Timestamp,
                until: ferretwatch_types::Timestamp,
            ) -> $crate::Result<Vec<DailyCount>> {
                let rows: Vec<DailyRow> = sqlx::query_as(
                    "SELECT day, kind, reason, level, domain, reports FROM report_daily \
                     WHERE day >= $1 AND day < $2 ORDER BY day, kind, reason, level, domain",
                )
                .bind(since.as_millis())
                .bind(until.as_millis())
                .fetch_all(self.console_read())
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn forget(
                &self,
                key: &TombstoneKey,
                target: &ForgetTarget,
                reason: &str,
                at: ferretwatch_types::Timestamp,
            ) -> $crate::Result<Forgotten> {
                let reason = reason_text(reason)?;
                let keyed = key.keyed_target(target);
                let mut tx = self.console_begin().await?;
                let existed: Option<i64> =
                    sqlx::query_scalar("SELECT created_at FROM tombstones WHERE keyed_hash = $1")
                        .bind(keyed.0.as_slice())
                        .fetch_optional(&mut *tx)
                        .await?;
                let created_at: i64 = sqlx::query_scalar(TOMBSTONE_UPSERT)
                    .bind(keyed.0.as_slice())
                    .bind(target.subject().code())
                    .bind(at.as_millis())
                    .bind(reason.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                let (reports_deleted, moderation_redacted) = match target {
                    ForgetTarget::Url(hash) => Self::forget_url_in(&mut tx, hash.digest().as_bytes()).await?,
                    ForgetTarget::Install(id) => {
                        (Self::forget_install_in(&mut tx, id.as_str(), created_at).await?, false)
                    }
                };
                let stored_reason: String = sqlx::query_scalar("SELECT reason FROM tombstones WHERE keyed_hash = $1")
                    .bind(keyed.0.as_slice())
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Forgotten {
                    tombstone: Tombstone {
                        keyed_hash: keyed,
                        subject: target.subject(),
                        created_at: ferretwatch_types::Timestamp::from_millis(created_at),
                        reason: stored_reason,
                    },
                    new: existed.is_none(),
                    reports_deleted,
                    moderation_redacted,
                })
            }

            async fn reapply_tombstones(
                &self,
                key: &TombstoneKey,
                tombstones: &[Tombstone],
            ) -> $crate::Result<Reapplied> {
                let mut done = Reapplied::default();
                {
                    let mut tx = self.console_begin().await?;
                    for t in tombstones {
                        let existed: Option<i64> =
                            sqlx::query_scalar("SELECT created_at FROM tombstones WHERE keyed_hash = $1")
                                .bind(t.keyed_hash.0.as_slice())
                                .fetch_optional(&mut *tx)
                                .await?;
                        sqlx::query_scalar::<_, i64>(TOMBSTONE_UPSERT)
                            .bind(t.keyed_hash.0.as_slice())
                            .bind(t.subject.code())
                            .bind(t.created_at.as_millis())
                            .bind(reason_text(&t.reason)?)
                            .fetch_one(&mut *tx)
                            .await?;
                        done.inserted += u64::from(existed.is_none());
                    }
                    tx.commit().await?;
                }
                let (urls, installs) = by_subject(self.list_tombstones().await?);
                if !urls.is_empty() {
                    let mut after: Vec<u8> = Vec::new();
                    loop {
                        let page: Vec<Vec<u8>> = sqlx::query_scalar(
                            "SELECT url_hash FROM moderation WHERE url_hash > $1 ORDER BY url_hash LIMIT $2",
                        )
                        .bind(after.as_slice())
                        .bind(MATCH_PAGE)
                        .fetch_all(self.console_read())
                        .await?;
                        for hash in &page {
                            if urls.contains_key(&key.keyed(hash)) {
                                let mut tx = self.console_begin().await?;
                                let (deleted, redacted) = Self::forget_url_in(&mut tx, hash).await?;
                                tx.commit().await?;
                                done.reports_deleted += deleted;
                                done.moderation_redacted += u64::from(redacted);
                            }
                        }
                        match page.last() {
                            Some(last) if page.len() as i64 == MATCH_PAGE => after = last.clone(),
                            _ => break,
                        }
                    }
                }
                if !installs.is_empty() {
                    let mut after = String::new();
                    loop {
                        let page: Vec<String> = sqlx::query_scalar(
                            "SELECT DISTINCT install_token_id FROM reports \
                             WHERE install_token_id IS NOT NULL AND install_token_id > $1 \
                             ORDER BY install_token_id LIMIT $2",
                        )
                        .bind(after.as_str())
                        .bind(MATCH_PAGE)
                        .fetch_all(self.console_read())
                        .await?;
                        for id in &page {
                            if let Some(t) = installs.get(&key.keyed(id.as_bytes())) {
                                let mut tx = self.console_begin().await?;
                                done.reports_deleted +=
                                    Self::forget_install_in(&mut tx, id, t.created_at.as_millis()).await?;
                                tx.commit().await?;
                            }
                        }
                        match page.last() {
                            Some(last) if page.len() as i64 == MATCH_PAGE => after = last.clone(),
                            _ => break,
                        }
                    }
                }
                Ok(done)
            }

            async fn list_tombstones(&self) -> $crate::Result<Vec<Tombstone>> {
                let sql = format!("SELECT {TOMBSTONE_COLUMNS} FROM tombstones ORDER BY created_at, keyed_hash");
                let rows: Vec<TombstoneRow> = sqlx::query_as(&sql).fetch_all(self.console_read()).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn cleanup_expired(&self, now: ferretwatch_types::Timestamp) -> $crate::Result<Cleanup> {
                let now = now.as_millis();
                let mut tx = self.console_begin().await?;
                let sessions = sqlx::query("DELETE FROM admin_sessions WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let oidc_pending = sqlx::query("DELETE FROM admin_oidc_pending WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let invitations =
                    sqlx::query("DELETE FROM admin_invitations WHERE used_at IS NULL AND expires_at <= $1")
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                tx.commit().await?;
                Ok(Cleanup {
                    sessions: sessions.rows_affected(),
                    oidc_pending: oidc_pending.rows_affected(),
                    invitations: invitations.rows_affected(),
                })
            }

            async fn analyze(&self) -> $crate::Result<Analyzed> {
                maintenance::analyze(self.console_write()).await
            }

            async fn slow_queries(&self, min_mean_ms: f64, limit: u32) -> $crate::Result<SlowQueries> {
                maintenance::slow_queries(self.console_read(), min_mean_ms, limit).await
            }

            async fn index_health(&self) -> $crate::Result<IndexReport> {
                maintenance::index_health(self.console_read()).await
            }

            async fn connection_states(&self) -> $crate::Result<Vec<ConnectionState>> {
                maintenance::connection_states(self).await
            }
        }
    };
}

/// The database type of a store, for helpers that take its transactions.
pub(crate) trait StoreDb {
    type Db: sqlx::Database;
}

impl StoreDb for crate::SqliteStore {
    type Db = sqlx::Sqlite;
}

impl StoreDb for crate::PostgresStore {
    type Db = sqlx::Postgres;
}

/// PostgreSQL's maintenance.
pub(crate) mod postgres_maintenance {
    use sqlx::PgPool;

    use crate::model::{Analyzed, ConnectionState, IndexInfo, IndexReport, SlowQueries, SlowQuery};
    use crate::Result;

    /// `VACUUM` cannot run in a transaction: each statement on its own, outside one.
    pub(crate) async fn analyze(pool: &PgPool) -> Result<Analyzed> {
        let statements = ["VACUUM (ANALYZE) reports", "VACUUM (ANALYZE) report_daily", "ANALYZE moderation"];
        for statement in statements {
            sqlx::raw_sql(statement).execute(pool).await?;
        }
        Ok(Analyzed { statements: statements.map(str::to_owned).to_vec(), free_pages: None })
    }

    pub(crate) async fn slow_queries(pool: &PgPool, min_mean_ms: f64, limit: u32) -> Result<SlowQueries> {
        let installed: Option<String> =
            sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'")
                .fetch_optional(pool)
                .await?;
        if installed.is_none() {
            return Ok(SlowQueries::Unavailable {
                reason: "the pg_stat_statements extension is not installed in this database \
                         (add it to shared_preload_libraries, restart, then CREATE EXTENSION pg_stat_statements)"
                    .into(),
            });
        }
        let rows: Result<Vec<(String, i64, f64, f64)>, sqlx::Error> = sqlx::query_as(
            "SELECT query, calls, mean_exec_time, total_exec_time FROM pg_stat_statements \
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND mean_exec_time > $1 ORDER BY mean_exec_time DESC LIMIT $2",
        )
        .bind(min_mean_ms)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await;
        match rows {
            Ok(rows) => Ok(SlowQueries::Available(
                rows.into_iter()
                    .map(|(query, calls, mean_ms, total_ms)| SlowQuery { query, calls, mean_ms, total_ms })
                    .collect(),
            )),
            // Installed but not loaded (not in shared_preload_libraries), or too old.
            Err(sqlx::Error::Database(e)) => Ok(SlowQueries::Unavailable {
                reason: format!("pg_stat_statements is installed but cannot be read: {}", e.message()),
            }),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn index_health(pool: &PgPool) -> Result<IndexReport> {
        let rows: Vec<(String, String, i64, i64, bool, bool)> = sqlx::query_as(
            "SELECT s.relname::text, s.indexrelname::text, pg_relation_size(s.indexrelid), s.idx_scan, \
                    i.indisvalid, i.indisunique \
             FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid \
             WHERE s.schemaname = current_schema() \
             ORDER BY pg_relation_size(s.indexrelid) DESC, s.relname, s.indexrelname",
        )
        .fetch_all(pool)
        .await?;
        let indexes = rows
            .into_iter()
            .map(|(table, name, size, scans, valid, unique)| IndexInfo {
                table,
                name,
                size_bytes: Some(size),
                scans: Some(scans),
                valid,
                unique,
            })
            .collect();
        Ok(IndexReport { integrity: None, indexes })
    }

    pub(crate) async fn connection_states(store: &crate::PostgresStore) -> Result<Vec<ConnectionState>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity \
             WHERE datname = current_database() GROUP BY 1 ORDER BY 2 DESC, 1",
        )
        .fetch_all(store.console_read())
        .await?;
        Ok(rows.into_iter().map(|(state, connections)| ConnectionState { state, connections }).collect())
    }
}

/// SQLite's maintenance.
pub(crate) mod sqlite_maintenance {
    use sqlx::SqlitePool;

    use crate::model::{Analyzed, ConnectionState, IndexInfo, IndexReport, SlowQueries};
    use crate::{Result, Store};

    /// No `incremental_vacuum`: the databases are created with `auto_vacuum=NONE`, where
    /// it does nothing, and switching needs a full `VACUUM` (an exclusive lock and a
    /// second copy of the file). The pages retention frees stay in the file and new
    /// reports reuse them; their number is reported.
    pub(crate) async fn analyze(pool: &SqlitePool) -> Result<Analyzed> {
        let statements = ["ANALYZE", "PRAGMA optimize"];
        for statement in statements {
            sqlx::query(statement).execute(pool).await?;
        }
        let free_pages: i64 = sqlx::query_scalar("PRAGMA freelist_count").fetch_one(pool).await?;
        Ok(Analyzed { statements: statements.map(str::to_owned).to_vec(), free_pages: Some(free_pages) })
    }

    pub(crate) async fn slow_queries(_pool: &SqlitePool, _min_mean_ms: f64, _limit: u32) -> Result<SlowQueries> {
        Ok(SlowQueries::Unavailable {
            reason: "SQLite keeps no statement statistics; the server's request-duration metrics show slow endpoints"
                .into(),
        })
    }

    pub(crate) async fn index_health(pool: &SqlitePool) -> Result<IndexReport> {
        let integrity: Vec<String> = sqlx::query_scalar("PRAGMA quick_check").fetch_all(pool).await?;
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT m.tbl_name, m.name, il.\"unique\" FROM sqlite_master m, pragma_index_list(m.tbl_name) il \
             WHERE m.type = 'index' AND il.name = m.name ORDER BY m.tbl_name, m.name",
        )
        .fetch_all(pool)
        .await?;
        let indexes = rows
            .into_iter()
            .map(|(table, name, unique)| IndexInfo {
                table,
                name,
                size_bytes: None,
                scans: None,
                valid: true,
                unique: unique != 0,
            })
            .collect();
        Ok(IndexReport { integrity: Some(integrity.join("; ")), indexes })
    }

    pub(crate) async fn connection_states(store: &crate::SqliteStore) -> Result<Vec<ConnectionState>> {
        let pool = store.pool_stats();
        Ok(vec![
            ConnectionState { state: "in use".into(), connections: i64::from(pool.size - pool.idle.min(pool.size)) },
            ConnectionState { state: "idle".into(), connections: i64::from(pool.idle) },
        ])
    }
}

mod sqlite_impl {
    // SQLite has one writer at a time: the write transaction is the lock.
    lifecycle_store!(crate::SqliteStore, crate::lifecycle_sql::sqlite_maintenance, None::<&str>);
    use crate::lifecycle_sql::StoreDb;
}

mod postgres_impl {
    // FOR UPDATE conflicts with the FOR KEY SHARE of the `reports_not_forgotten` trigger
    // (migration 0006), which a plain UPDATE's lock would not.
    lifecycle_store!(
        crate::PostgresStore,
        crate::lifecycle_sql::postgres_maintenance,
        Some("SELECT 1 FROM moderation WHERE url_hash = $1 FOR UPDATE")
    );
    use crate::lifecycle_sql::StoreDb;
}
