//! Aggregates of the report log over a window, for the weekly feedback review and capacity
//! planning ([`crate::ReviewStore::report_stats`]): counts only, never a report, an
//! install token or a network.

use super::moderation::ModerationState;
use super::report::{ReportKind, Score};
use crate::error::ValidationError;
use ferretwatch_types::Timestamp;

/// What [`crate::ReviewStore::report_stats`] aggregates, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportStatsQuery {
    /// Reports received at or after this instant.
    pub since: Timestamp,
    /// Reports received before this instant.
    pub until: Timestamp,
    /// The width of each bucket of [`ReportStats::buckets`], in milliseconds.
    pub bucket_ms: i64,
    /// The lowest yellow score: below it a report's score is green.
    pub yellow: Score,
    /// The lowest red score.
    pub red: Score,
    /// At most this many hosts in [`ReportStats::false_positive_hosts`].
    pub top_hosts: u32,
}

impl ReportStatsQuery {
    /// The most buckets a query may ask for.
    pub const MAX_BUCKETS: i64 = 10_000;

    /// The narrowest bucket, in milliseconds.
    pub const MIN_BUCKET_MS: i64 = 1_000;

    /// The number of buckets from `since` to `until` (the last may be partial).
    pub fn bucket_count(&self) -> i64 {
        let span = self.until.as_millis().saturating_sub(self.since.as_millis());
        span.div_euclid(self.bucket_ms.max(1)) + i64::from(span.rem_euclid(self.bucket_ms.max(1)) != 0)
    }

    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        if self.until <= self.since {
            return Err(ValidationError::new("until", "must be after since"));
        }
        if self.bucket_ms < Self::MIN_BUCKET_MS {
            return Err(ValidationError::new("bucket", "must be at least a second"));
        }
        if self.bucket_count() > Self::MAX_BUCKETS {
            return Err(ValidationError::new(
                "bucket",
                format!("at most {} buckets over the window", Self::MAX_BUCKETS),
            ));
        }
        if self.yellow.get() == 0 || self.yellow > self.red {
            return Err(ValidationError::new("levels", "must satisfy 0 < yellow <= red"));
        }
        Ok(())
    }
}

/// The report log's aggregates over a window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportStats {
    /// Reports of kind `report`.
    pub reports: i64,
    /// False-positive reports.
    pub false_positives: i64,
    /// Distinct install tokens among the reports of both kinds.
    pub install_tokens: i64,
    /// Reports per kind and reason: by kind (reports first), then most first.
    pub by_reason: Vec<ReasonCount>,
    /// Reports per kind and the level of their score (reports first).
    pub by_level: Vec<LevelCount>,
    /// Reports per kind and the moderation state of their URL now: by kind, then in
    /// [`ModerationState::ALL`] order.
    pub outcomes: Vec<OutcomeCount>,
    /// The hosts of false-positive reports, most reported first (then by host).
    pub false_positive_hosts: Vec<HostCount>,
    /// One per bucket from `since`, in order, empty ones included.
    pub buckets: Vec<BucketCount>,
}

impl ReportStats {
    /// Reports of both kinds.
    pub fn total(&self) -> i64 {
        self.reports + self.false_positives
    }
}

/// Reports of one kind with one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonCount {
    /// The kind.
    pub kind: ReportKind,
    /// The reason's code ([`crate::ReportReason::CODES`]).
    pub reason: String,
    /// How many.
    pub reports: i64,
}

/// Reports of one kind by the level of their score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelCount {
    /// The kind.
    pub kind: ReportKind,
    /// Scored below yellow.
    pub green: i64,
    /// Scored yellow.
    pub yellow: i64,
    /// Scored red.
    pub red: i64,
}

/// Reports of one kind whose URL is in one moderation state now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeCount {
    /// The kind.
    pub kind: ReportKind,
    /// The URL's state.
    pub state: ModerationState,
    /// Distinct URLs.
    pub urls: i64,
    /// Reports.
    pub reports: i64,
}

/// False-positive reports of pages on one host (with its port, if the URL had one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCount {
    /// The host as the normalised URL spells it: lower case, punycode.
    pub host: String,
    /// Reports.
    pub reports: i64,
    /// Distinct URLs.
    pub urls: i64,
}

/// Reports received in one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketCount {
    /// The bucket's start.
    pub start: Timestamp,
    /// Reports of kind `report`.
    pub reports: i64,
    /// False-positive reports.
    pub false_positives: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(since: i64, until: i64, bucket_ms: i64) -> ReportStatsQuery {
        ReportStatsQuery {
            since: Timestamp::from_millis(since),
            until: Timestamp::from_millis(until),
            bucket_ms,
            yellow: Score::new(40).unwrap(),
            red: Score::new(70).unwrap(),
            top_hosts: 10,
        }
    }

    #[test]
    fn buckets_cover_the_window_with_a_partial_last_one() {
        assert_eq!(query(0, 10_000, 1_000).bucket_count(), 10);
        assert_eq!(query(0, 10_001, 1_000).bucket_count(), 11);
        assert_eq!(query(0, 999, 1_000).bucket_count(), 1);
    }

    #[test]
    fn an_empty_window_too_many_buckets_or_crossed_levels_are_refused() {
        assert!(query(0, 10_000, 1_000).validate().is_ok());
        assert!(query(5, 5, 1_000).validate().is_err());
        assert!(query(0, 10_000, 999).validate().is_err());
        assert!(query(0, 10_001_000, 1_000).validate().is_err());
        let mut crossed = query(0, 10_000, 1_000);
        crossed.yellow = Score::new(80).unwrap();
        assert!(crossed.validate().is_err());
    }
}

/// Reports received from installs running one pack version
/// ([`crate::ReviewStore::pack_report_counts`], for canary monitoring).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PackReportCount {
    /// The pack version the reports carry.
    pub pack_version: String,
    /// Reports of a dangerous page.
    pub reports: u64,
    /// False-positive reports.
    pub false_positives: u64,
    /// Distinct install tokens among them.
    pub install_tokens: u64,
}
