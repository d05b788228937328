//! Queries over the report log for reviews and investigations: coordinated-abuse
//! detection and the export of suspicious reports (runbook §7.1 and §7.3), the log's
//! aggregates over a window and the database's size (the weekly feedback review and
//! capacity planning of §5.1). A supertrait of
//! [`crate::Store`], implemented for both backends from one body of SQL in
//! `review_sql.rs`.
//!
//! Both read only. The window of [`ReviewStore::abuse_findings`] is found through the
//! `received_at` index; [`ReviewStore::suspicious_reports`] walks the log backwards by id
//! (keyset pagination), so an export of any size holds one page at a time and the pages
//! together read the log once. [`ReviewStore::report_stats`] ranges over the same index
//! and returns counts only.

use async_trait::async_trait;
use ferretwatch_types::Timestamp;

use crate::model::{
    AbuseFinding, PackReportCount, ReportId, ReportStats, ReportStatsQuery, SuspiciousFilter, SuspiciousReport,
};
use crate::Result;

/// Report-log queries for reviews (see the module documentation).
#[async_trait]
pub trait ReviewStore: Send + Sync {
    /// Coordinated reporting among the reports received at or after `since`, each pattern
    /// of [`crate::AbuseKind`] at `threshold` (at least 1): a URL with `threshold` or more
    /// reports of one kind; an install token or a client network with `threshold` or more
    /// reports; a URL reported by `threshold` or more distinct install tokens from at most
    /// [`crate::AbuseKind::FARM_MAX_NETWORKS`] networks (counting reports that carry both).
    ///
    /// Ordered by kind (as [`crate::AbuseKind::ALL`]), then the finding's count, highest
    /// first, then key. Reports without an install token or a network are never grouped
    /// by the one they lack.
    async fn abuse_findings(&self, since: Timestamp, threshold: i64) -> Result<Vec<AbuseFinding>>;

    /// One page of the reports that `filter` selects, newest first (by id), each with its
    /// URL's moderation state: at most `limit` reports with an id below `before` (`None`:
    /// from the newest). Pass the last id of a page as the next `before`; a page shorter
    /// than `limit` is the last.
    async fn suspicious_reports(
        &self,
        filter: &SuspiciousFilter,
        before: Option<ReportId>,
        limit: u32,
    ) -> Result<Vec<SuspiciousReport>>;

    /// The reports received in `[query.since, query.until)`, aggregated: totals per kind,
    /// distinct install tokens, reports per reason and per level of score, per moderation
    /// state of their URL now, the hosts most reported as false positives, and per
    /// bucket. `Validation` for a query [`ReportStatsQuery`] refuses.
    async fn report_stats(&self, query: &ReportStatsQuery) -> Result<ReportStats>;

    /// For each of `versions` (at most 16), the reports received in `[since, until)` from
    /// installs running it: per kind, and distinct install tokens (canary monitoring,
    /// `docs/canaries.md`). A version without reports comes back with zeros, in the order
    /// given.
    async fn pack_report_counts(
        &self,
        versions: &[String],
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<PackReportCount>>;

    /// The bytes the database takes: for SQLite its main file (pages × page size), for
    /// PostgreSQL `pg_database_size` of the current database.
    async fn database_size(&self) -> Result<u64>;
}
