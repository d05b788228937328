//! [`crate::ReviewStore`] for both backends from one body of SQL (the same approach as
//! `console_sql.rs`): `$N` parameters, `count(DISTINCT …)`, `CAST(… AS TEXT)` and a
//! correlated subquery are all both databases need, so [`review_store!`] instantiates one
//! implementation per pool type.
//!
//! Plans: the abuse queries range over `reports (received_at)` and group what the window
//! holds (materialised first, see `WINDOW`). The export walks the primary key backwards
//! from the cursor and fetches each returned row's moderation state by the moderation
//! table's primary key (a correlated subquery rather than a join, so that no planner is
//! tempted to sort the whole log for every page).

use ferretwatch_types::Timestamp;

use crate::model::{AbuseFinding, AbuseKind, ModerationState, ReportKind, StoredReport, SuspiciousReport, UrlHash};
use crate::rows::ReportRow;
use crate::StoreError;

/// One group's figures, as every abuse query selects them.
#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    group_key: String,
    reports: i64,
    install_tokens: i64,
    networks: i64,
    first_at: i64,
    last_at: i64,
}

impl GroupRow {
    pub(crate) fn finding(self, kind: AbuseKind, url_hash: Option<&[u8]>) -> Result<AbuseFinding, StoreError> {
        Ok(AbuseFinding {
            kind,
            key: self.group_key,
            url_hash: url_hash.map(url_hash_from_db).transpose()?,
            reports: self.reports,
            install_tokens: self.install_tokens,
            networks: self.networks,
            first: Timestamp::from_millis(self.first_at),
            last: Timestamp::from_millis(self.last_at),
        })
    }
}

/// A URL's reports of one kind.
#[derive(sqlx::FromRow)]
pub(crate) struct UrlGroupRow {
    kind: String,
    url_hash: Vec<u8>,
    #[sqlx(flatten)]
    group: GroupRow,
}

impl TryFrom<UrlGroupRow> for AbuseFinding {
    type Error = StoreError;
    fn try_from(row: UrlGroupRow) -> Result<Self, StoreError> {
        let kind = ReportKind::from_code(&row.kind).ok_or_else(|| StoreError::corrupt("unknown report kind"))?;
        row.group.finding(AbuseKind::for_url(kind), Some(&row.url_hash))
    }
}

/// A URL's reports that carry an install token and a network.
#[derive(sqlx::FromRow)]
pub(crate) struct FarmRow {
    url_hash: Vec<u8>,
    #[sqlx(flatten)]
    group: GroupRow,
}

/// A report and its URL's moderation state.
#[derive(sqlx::FromRow)]
pub(crate) struct SuspiciousRow {
    #[sqlx(flatten)]
    report: ReportRow,
    moderation_state: Option<String>,
}

impl TryFrom<SuspiciousRow> for SuspiciousReport {
    type Error = StoreError;
    fn try_from(row: SuspiciousRow) -> Result<Self, StoreError> {
        let state = row.moderation_state.ok_or_else(|| StoreError::corrupt("a report without its moderation entry"))?;
        Ok(Self {
            report: StoredReport::try_from(row.report)?,
            state: ModerationState::parse(&state).map_err(|_| StoreError::corrupt("unknown moderation state"))?,
        })
    }
}

fn url_hash_from_db(bytes: &[u8]) -> Result<UrlHash, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(|b| UrlHash(ferretwatch_types::Sha256::from_bytes(b)))
        .map_err(|_| StoreError::corrupt("stored hash is not 32 bytes"))
}

/// The reports of the window (`received_at >= $1`), read once through the `received_at`
/// index. `MATERIALIZED` (PostgreSQL 12, SQLite 3.35) keeps it that way: without
/// statistics SQLite would rather walk a whole index in `GROUP BY` order than sort the
/// window.
const WINDOW: &str = "WITH w AS MATERIALIZED (SELECT url_hash, url, kind, install_token_id, client_net, received_at \
     FROM reports WHERE received_at >= $1)";

/// The figures every abuse query selects, over the rows it groups.
const GROUP_FIGURES: &str = "count(*) AS reports, count(DISTINCT install_token_id) AS install_tokens, \
     count(DISTINCT client_net) AS networks, min(received_at) AS first_at, max(received_at) AS last_at";

/// One URL, one kind, `$2` or more reports since `$1`.
pub(crate) fn url_sql() -> String {
    format!(
        "{WINDOW} SELECT kind, url_hash, min(url) AS group_key, {GROUP_FIGURES} FROM w \
         GROUP BY url_hash, kind HAVING count(*) >= $2"
    )
}

/// One value of `column` (a fixed column name, never user text), `$2` or more reports
/// since `$1`.
pub(crate) fn shared_sql(column: &str) -> String {
    format!(
        "{WINDOW} SELECT {column} AS group_key, {GROUP_FIGURES} FROM w \
         WHERE {column} IS NOT NULL GROUP BY {column} HAVING count(*) >= $2"
    )
}

/// One URL reported by `$2` or more install tokens from at most `$3` networks since `$1`.
pub(crate) fn farm_sql() -> String {
    format!(
        "{WINDOW} SELECT url_hash, min(url) AS group_key, {GROUP_FIGURES} FROM w \
         WHERE install_token_id IS NOT NULL AND client_net IS NOT NULL \
         GROUP BY url_hash HAVING count(DISTINCT install_token_id) >= $2 AND count(DISTINCT client_net) <= $3"
    )
}

/// A page of the export: `$1` the cursor (ids below it), `$2` the lowest score, `$3` the
/// page size, and with `since` the earliest `received_at` as `$4`.
pub(crate) fn suspicious_sql(since: bool) -> String {
    let since = if since { " AND r.received_at >= $4" } else { "" };
    format!(
        "SELECT r.id, r.received_at, r.kind, r.url, r.url_hash, r.reason, r.reason_text, r.client_timestamp, \
                r.extension_version, r.pack_version, r.score, CAST(r.findings AS TEXT) AS findings, \
                r.screenshot_hash, r.install_token_id, r.client_net, \
                (SELECT m.state FROM moderation m WHERE m.url_hash = r.url_hash) AS moderation_state \
         FROM reports r WHERE r.id < $1 AND r.score >= $2{since} ORDER BY r.id DESC LIMIT $3"
    )
}

/// Lists findings in the trait's order.
pub(crate) fn ordered(mut findings: Vec<AbuseFinding>) -> Vec<AbuseFinding> {
    findings.sort_by(|a, b| {
        (a.kind, std::cmp::Reverse(a.count()), &a.key).cmp(&(b.kind, std::cmp::Reverse(b.count()), &b.key))
    });
    findings
}

/// Implements [`crate::ReviewStore`] for `$store`, whose `console_read()` returns its pool;
/// `$host` cuts the host out of `url` and `$size` selects the database's size in bytes,
/// in the backend's own SQL (`stats_sql.rs`).
macro_rules! review_store {
    ($store:ty, $host:expr, $size:expr) => {
        use $crate::model::{
            AbuseFinding, AbuseKind, ReportId, ReportStats, ReportStatsQuery, SuspiciousFilter, SuspiciousReport,
        };
        use $crate::review_sql::*;
        use $crate::stats_sql;

        #[async_trait::async_trait]
        impl $crate::review::ReviewStore for $store {
            async fn abuse_findings(
                &self,
                since: ferretwatch_types::Timestamp,
                threshold: i64,
            ) -> $crate::Result<Vec<AbuseFinding>> {
                if threshold < 1 {
                    return Err($crate::ValidationError::new("threshold", "must be at least 1").into());
                }
                let since = since.as_millis();
                let pool = self.console_read();
                let mut findings = Vec::new();
                let urls: Vec<UrlGroupRow> =
                    sqlx::query_as(&url_sql()).bind(since).bind(threshold).fetch_all(pool).await?;
                for row in urls {
                    findings.push(row.try_into()?);
                }
                for (kind, column) in
                    [(AbuseKind::InstallToken, "install_token_id"), (AbuseKind::Network, "client_net")]
                {
                    let rows: Vec<GroupRow> =
                        sqlx::query_as(&shared_sql(column)).bind(since).bind(threshold).fetch_all(pool).await?;
                    for row in rows {
                        findings.push(row.finding(kind, None)?);
                    }
                }
                let farms: Vec<FarmRow> = sqlx::query_as(&farm_sql())
                    .bind(since)
                    .bind(threshold)
                    .bind(AbuseKind::FARM_MAX_NETWORKS)
                    .fetch_all(pool)
                    .await?;
                for row in farms {
                    findings.push(row.group.finding(AbuseKind::InstallFarm, Some(&row.url_hash))?);
                }
                Ok(ordered(findings))
            }

            async fn suspicious_reports(
                &self,
                filter: &SuspiciousFilter,
                before: Option<ReportId>,
                limit: u32,
            ) -> $crate::Result<Vec<SuspiciousReport>> {
                let sql = suspicious_sql(filter.since.is_some());
                let mut query = sqlx::query_as::<_, SuspiciousRow>(&sql)
                    .bind(before.map_or(i64::MAX, |id| id.0))
                    .bind(i16::from(filter.min_score.get()))
                    .bind(i64::from(limit));
                if let Some(since) = filter.since {
                    query = query.bind(since.as_millis());
                }
                let rows = query.fetch_all(self.console_read()).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn report_stats(&self, query: &ReportStatsQuery) -> $crate::Result<ReportStats> {
                query.validate()?;
                let pool = self.console_read();
                let (since, until) = (query.since.as_millis(), query.until.as_millis());
                let totals = sqlx::query_as(&stats_sql::totals_sql()).bind(since).bind(until).fetch_one(pool).await?;
                let reasons = sqlx::query_as(&stats_sql::reasons_sql()).bind(since).bind(until).fetch_all(pool).await?;
                let levels = sqlx::query_as(&stats_sql::levels_sql())
                    .bind(since)
                    .bind(until)
                    .bind(i16::from(query.yellow.get()))
                    .bind(i16::from(query.red.get()))
                    .fetch_all(pool)
                    .await?;
                let outcomes =
                    sqlx::query_as(&stats_sql::outcomes_sql()).bind(since).bind(until).fetch_all(pool).await?;
                let hosts = sqlx::query_as(&stats_sql::hosts_sql($host))
                    .bind(since)
                    .bind(until)
                    .bind(i64::from(query.top_hosts))
                    .fetch_all(pool)
                    .await?;
                let buckets = sqlx::query_as(&stats_sql::buckets_sql())
                    .bind(since)
                    .bind(until)
                    .bind(query.bucket_ms)
                    .fetch_all(pool)
                    .await?;
                let rows = stats_sql::Rows { totals, reasons, levels, outcomes, hosts, buckets };
                stats_sql::assemble(query, rows)
            }

            async fn pack_report_counts(
                &self,
                versions: &[String],
                since: ferretwatch_types::Timestamp,
                until: ferretwatch_types::Timestamp,
            ) -> $crate::Result<Vec<$crate::model::PackReportCount>> {
                if versions.is_empty() || versions.len() > 16 {
                    return Err($crate::ValidationError::new("versions", "1 to 16 pack versions").into());
                }
                let sql = stats_sql::pack_counts_sql(versions.len());
                let mut query =
                    sqlx::query_as::<_, stats_sql::PackCountRow>(&sql).bind(since.as_millis()).bind(until.as_millis());
                for version in versions {
                    query = query.bind(version.as_str());
                }
                let rows = query.fetch_all(self.console_read()).await?;
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                Ok(versions
                    .iter()
                    .map(|version| {
                        let row = rows.iter().find(|r| &r.pack_version == version);
                        $crate::model::PackReportCount {
                            pack_version: version.clone(),
                            reports: row.map_or(0, |r| count(r.reports)),
                            false_positives: row.map_or(0, |r| count(r.false_positives)),
                            install_tokens: row.map_or(0, |r| count(r.install_tokens)),
                        }
                    })
                    .collect())
            }

            async fn database_size(&self) -> $crate::Result<u64> {
                let bytes: i64 = sqlx::query_scalar($size).fetch_one(self.console_read()).await?;
                Ok(u64::try_from(bytes).unwrap_or(0))
            }
        }
    };
}

mod sqlite_impl {
    review_store!(crate::SqliteStore, crate::stats_sql::SQLITE_HOST, crate::stats_sql::SQLITE_SIZE);
}

mod postgres_impl {
    review_store!(crate::PostgresStore, crate::stats_sql::POSTGRES_HOST, crate::stats_sql::POSTGRES_SIZE);
}
