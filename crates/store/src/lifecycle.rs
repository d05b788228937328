//! The data lifecycle (docs/data-lifecycle.md): retention of the report log into daily
//! aggregates, tombstones for what was deleted on request, the cleanup of expired console
//! state, and the maintenance reports. A supertrait of [`crate::Store`], implemented for
//! both backends from one body of SQL in `lifecycle_sql.rs`.
//!
//! Retention works in batches, each one transaction that deletes the oldest reports
//! received before the cutoff (`DELETE … RETURNING`) and adds exactly the returned rows
//! to the aggregates. A crash between batches therefore loses and double-counts nothing,
//! no cursor is needed (the log itself is the cursor), and two runs at once never count a
//! row twice: a row is counted by the transaction that deleted it.
//!
//! Tombstones are keyed (HMAC-SHA256 under a secret key of a URL's hash or an install
//! token id), so the list of what was deleted reveals nothing without the key, and can be
//! exported and applied to a database restored from an older backup.

use async_trait::async_trait;
use ferretwatch_types::Timestamp;

use crate::model::{
    Analyzed, BatchOutcome, Cleanup, ConnectionState, DailyCount, ForgetTarget, Forgotten, IndexReport, Reapplied,
    RetentionBatch, SlowQueries, Tombstone, TombstoneKey,
};
use crate::Result;

/// Retention, tombstones, cleanup and maintenance (see the module documentation).
#[async_trait]
pub trait LifecycleStore: Send + Sync {
    /// Deletes the oldest reports received before `batch.cutoff`, at most `batch.limit`,
    /// and adds them to the daily aggregates, in one transaction. Never touches a report
    /// received at or after the cutoff. `deleted == 0` when none is left. Moderation
    /// entries stay, with their counts.
    async fn retention_batch(&self, batch: &RetentionBatch) -> Result<BatchOutcome>;

    /// How many reports were received before `cutoff` (what retention would delete).
    async fn reports_before(&self, cutoff: Timestamp) -> Result<u64>;

    /// The daily aggregates of the days in `[since, until)`, ordered by day, kind, reason,
    /// level and domain.
    async fn daily_counts(&self, since: Timestamp, until: Timestamp) -> Result<Vec<DailyCount>>;

    /// Records a tombstone for `target` (keyed by `key`) and, in the same transaction,
    /// deletes its reports: for a URL every report, and the moderation entry's URL text is
    /// redacted; for an install the reports received up to `at`. Forgetting again is
    /// allowed (an install's tombstone then covers up to the later instant).
    async fn forget(&self, key: &TombstoneKey, target: &ForgetTarget, reason: &str, at: Timestamp)
        -> Result<Forgotten>;

    /// Stores `tombstones` (those already stored are kept) and deletes whatever any stored
    /// tombstone covers: for a database restored from a backup older than some deletions.
    /// Idempotent.
    async fn reapply_tombstones(&self, key: &TombstoneKey, tombstones: &[Tombstone]) -> Result<Reapplied>;

    /// Every tombstone, oldest first.
    async fn list_tombstones(&self) -> Result<Vec<Tombstone>>;

    /// Deletes console sessions, pending OpenID Connect sign-ins and unused invitations
    /// that expired at or before `now`.
    async fn cleanup_expired(&self, now: Timestamp) -> Result<Cleanup>;

    /// Refreshes the planner's statistics after a retention run (PostgreSQL:
    /// `VACUUM (ANALYZE)` of the log and the aggregates; SQLite: `ANALYZE` and
    /// `PRAGMA optimize`).
    async fn analyze(&self) -> Result<Analyzed>;

    /// The statements whose mean execution exceeds `min_mean_ms`, slowest first, at most
    /// `limit`: from `pg_stat_statements`, or why not.
    async fn slow_queries(&self, min_mean_ms: f64, limit: u32) -> Result<SlowQueries>;

    /// The indexes of the application's tables and their health.
    async fn index_health(&self) -> Result<IndexReport>;

    /// The database's connections by state (PostgreSQL: this database's in
    /// `pg_stat_activity`; SQLite: this process's pool).
    async fn connection_states(&self) -> Result<Vec<ConnectionState>>;
}
