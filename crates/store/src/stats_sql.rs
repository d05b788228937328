//! The SQL of [`crate::ReviewStore::report_stats`] and its rows, shared by both backends
//! (`review_sql.rs` instantiates the methods). Each query is one range over the
//! `reports (received_at)` index (`$1` the window's start, `$2` its end) grouped in the
//! database; only counts come back. The host of a stored URL is cut out of its normalised
//! text, which always reads `SCHEME://HOST[:PORT]/…` (no user-info is kept); the two
//! databases spell that cut differently ([`SQLITE_HOST`], [`POSTGRES_HOST`]).

use ferretwatch_types::Timestamp;

use crate::model::{
    BucketCount, HostCount, LevelCount, ModerationState, OutcomeCount, ReasonCount, ReportKind, ReportStats,
    ReportStatsQuery,
};
use crate::StoreError;

/// The host of `url` in SQLite.
pub(crate) const SQLITE_HOST: &str = "substr(substr(url, instr(url, '://') + 3), 1, \
     instr(substr(url, instr(url, '://') + 3), '/') - 1)";

/// The host of `url` in PostgreSQL.
pub(crate) const POSTGRES_HOST: &str = "split_part(substr(url, strpos(url, '://') + 3), '/', 1)";

/// The database's size in bytes, in SQLite.
pub(crate) const SQLITE_SIZE: &str = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()";

/// The database's size in bytes, in PostgreSQL.
pub(crate) const POSTGRES_SIZE: &str = "SELECT pg_database_size(current_database())";

const IN_WINDOW: &str = "received_at >= $1 AND received_at < $2";

/// Totals per kind and distinct install tokens.
pub(crate) fn totals_sql() -> String {
    format!(
        "SELECT count(*) FILTER (WHERE kind = 'report') AS reports, \
                count(*) FILTER (WHERE kind = 'false_positive') AS false_positives, \
                count(DISTINCT install_token_id) AS install_tokens \
         FROM reports WHERE {IN_WINDOW}"
    )
}

/// Totals per kind and distinct install tokens for each pack version of `$3…` (one
/// placeholder per version from `$3`), in the window.
pub(crate) fn pack_counts_sql(versions: usize) -> String {
    let list: Vec<String> = (0..versions).map(|i| format!("${}", i + 3)).collect();
    format!(
        "SELECT pack_version, count(*) FILTER (WHERE kind = 'report') AS reports, \
                count(*) FILTER (WHERE kind = 'false_positive') AS false_positives, \
                count(DISTINCT install_token_id) AS install_tokens \
         FROM reports WHERE {IN_WINDOW} AND pack_version IN ({}) GROUP BY pack_version",
        list.join(", ")
    )
}

/// A row of [`pack_counts_sql`].
#[derive(sqlx::FromRow)]
pub(crate) struct PackCountRow {
    pub(crate) pack_version: String,
    pub(crate) reports: i64,
    pub(crate) false_positives: i64,
    pub(crate) install_tokens: i64,
}

/// Reports per kind and reason.
pub(crate) fn reasons_sql() -> String {
    format!("SELECT kind, reason, count(*) AS reports FROM reports WHERE {IN_WINDOW} GROUP BY kind, reason")
}

/// Reports per kind by level: `$3` the lowest yellow score, `$4` the lowest red.
pub(crate) fn levels_sql() -> String {
    format!(
        "SELECT kind, count(*) FILTER (WHERE score < $3) AS green, \
                count(*) FILTER (WHERE score >= $3 AND score < $4) AS yellow, \
                count(*) FILTER (WHERE score >= $4) AS red \
         FROM reports WHERE {IN_WINDOW} GROUP BY kind"
    )
}

/// Reports per kind and their URL's moderation state now.
pub(crate) fn outcomes_sql() -> String {
    "SELECT r.kind, m.state, count(DISTINCT r.url_hash) AS urls, count(*) AS reports \
     FROM reports r JOIN moderation m ON m.url_hash = r.url_hash \
     WHERE r.received_at >= $1 AND r.received_at < $2 GROUP BY r.kind, m.state"
        .to_owned()
}

/// The `$3` hosts with the most false-positive reports; `host` is the backend's cut.
pub(crate) fn hosts_sql(host: &str) -> String {
    format!(
        "SELECT host, count(*) AS reports, count(DISTINCT url_hash) AS urls \
         FROM (SELECT {host} AS host, url_hash FROM reports WHERE {IN_WINDOW} AND kind = 'false_positive') fp \
         GROUP BY host ORDER BY count(*) DESC, host LIMIT $3"
    )
}

/// Reports per kind in buckets of `$3` milliseconds from `$1`.
pub(crate) fn buckets_sql() -> String {
    format!(
        "SELECT (received_at - $1) / $3 AS bucket, count(*) FILTER (WHERE kind = 'report') AS reports, \
                count(*) FILTER (WHERE kind = 'false_positive') AS false_positives \
         FROM reports WHERE {IN_WINDOW} GROUP BY bucket"
    )
}

#[derive(sqlx::FromRow)]
pub(crate) struct TotalsRow {
    reports: i64,
    false_positives: i64,
    install_tokens: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ReasonRow {
    kind: String,
    reason: String,
    reports: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct LevelRow {
    kind: String,
    green: i64,
    yellow: i64,
    red: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct OutcomeRow {
    kind: String,
    state: String,
    urls: i64,
    reports: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct HostRow {
    host: String,
    reports: i64,
    urls: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct BucketRow {
    bucket: i64,
    reports: i64,
    false_positives: i64,
}

/// What each query returned.
pub(crate) struct Rows {
    pub(crate) totals: TotalsRow,
    pub(crate) reasons: Vec<ReasonRow>,
    pub(crate) levels: Vec<LevelRow>,
    pub(crate) outcomes: Vec<OutcomeRow>,
    pub(crate) hosts: Vec<HostRow>,
    pub(crate) buckets: Vec<BucketRow>,
}

fn kind(code: &str) -> Result<ReportKind, StoreError> {
    ReportKind::from_code(code).ok_or_else(|| StoreError::corrupt("unknown report kind"))
}

/// Reports first, then false positives.
fn kind_order(kind: ReportKind) -> u8 {
    match kind {
        ReportKind::Report => 0,
        ReportKind::FalsePositive => 1,
    }
}

/// The rows as [`ReportStats`], in the trait's orders, with every bucket of the window.
pub(crate) fn assemble(query: &ReportStatsQuery, rows: Rows) -> Result<ReportStats, StoreError> {
    let mut by_reason = rows
        .reasons
        .into_iter()
        .map(|r| Ok(ReasonCount { kind: kind(&r.kind)?, reason: r.reason, reports: r.reports }))
        .collect::<Result<Vec<_>, StoreError>>()?;
    by_reason.sort_by(|a, b| {
        (kind_order(a.kind), std::cmp::Reverse(a.reports), &a.reason).cmp(&(
            kind_order(b.kind),
            std::cmp::Reverse(b.reports),
            &b.reason,
        ))
    });
    let mut by_level = rows
        .levels
        .into_iter()
        .map(|r| Ok(LevelCount { kind: kind(&r.kind)?, green: r.green, yellow: r.yellow, red: r.red }))
        .collect::<Result<Vec<_>, StoreError>>()?;
    by_level.sort_by_key(|l| kind_order(l.kind));
    let mut outcomes = rows
        .outcomes
        .into_iter()
        .map(|r| {
            let state =
                ModerationState::parse(&r.state).map_err(|_| StoreError::corrupt("unknown moderation state"))?;
            Ok(OutcomeCount { kind: kind(&r.kind)?, state, urls: r.urls, reports: r.reports })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let state_order = |s: ModerationState| ModerationState::ALL.iter().position(|x| *x == s);
    outcomes.sort_by_key(|o| (kind_order(o.kind), state_order(o.state)));
    let false_positive_hosts =
        rows.hosts.into_iter().map(|h| HostCount { host: h.host, reports: h.reports, urls: h.urls }).collect();
    let mut buckets: Vec<BucketCount> = (0..query.bucket_count())
        .map(|i| BucketCount {
            start: Timestamp::from_millis(query.since.as_millis() + i * query.bucket_ms),
            reports: 0,
            false_positives: 0,
        })
        .collect();
    for row in rows.buckets {
        let slot = usize::try_from(row.bucket)
            .ok()
            .and_then(|i| buckets.get_mut(i))
            .ok_or_else(|| StoreError::corrupt("a report outside its window"))?;
        slot.reports = row.reports;
        slot.false_positives = row.false_positives;
    }
    Ok(ReportStats {
        reports: rows.totals.reports,
        false_positives: rows.totals.false_positives,
        install_tokens: rows.totals.install_tokens,
        by_reason,
        by_level,
        outcomes,
        false_positive_hosts,
        buckets,
    })
}
