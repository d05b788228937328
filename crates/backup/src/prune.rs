//! `backup prune`: which backups retention removes. A backup is kept when it is younger
//! than `keep_days` or among the newest `keep_count`; the newest is always kept.

use ferretwatch_types::Timestamp;

use crate::error::{BackupError, Result};
use crate::id::BackupId;

/// How many backups to keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep backups younger than this many days.
    pub keep_days: Option<u64>,
    /// Keep the newest this many.
    pub keep_count: Option<usize>,
}

/// The backups (of `ids`, any order) that retention removes at `now`, oldest first.
pub fn expired(ids: &[BackupId], now: Timestamp, retention: Retention) -> Result<Vec<BackupId>> {
    if retention.keep_days.is_none() && retention.keep_count.is_none() {
        return Err(BackupError::Invalid(
            "no retention: give --keep-days N and/or --keep-count N (or keep_days/keep_count in [backup])".into(),
        ));
    }
    let mut newest_first = ids.to_vec();
    newest_first.sort_by(|a, b| b.cmp(a));
    let count = retention.keep_count.unwrap_or(0).max(1);
    let mut expired: Vec<BackupId> = newest_first
        .into_iter()
        .enumerate()
        .filter(|(rank, id)| {
            let young = retention.keep_days.is_some_and(|days| now.secs_since(id.time()) < days * 86_400);
            *rank >= count && !young
        })
        .map(|(_, id)| id)
        .collect();
    expired.reverse();
    Ok(expired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u32) -> BackupId {
        BackupId::at(Timestamp::from_civil(2026, 12, n, 3, 0, 0).unwrap())
    }

    #[test]
    fn retention_keeps_the_young_and_the_newest_count_and_always_the_newest() {
        let ids: Vec<BackupId> = (1..=10).map(day).collect();
        let now = Timestamp::from_civil(2026, 12, 10, 12, 0, 0).unwrap();
        let by_days = expired(&ids, now, Retention { keep_days: Some(3), keep_count: None }).unwrap();
        assert_eq!(by_days, (1..=7).map(day).collect::<Vec<_>>());
        let by_count = expired(&ids, now, Retention { keep_days: None, keep_count: Some(4) }).unwrap();
        assert_eq!(by_count, (1..=6).map(day).collect::<Vec<_>>());
        let both = expired(&ids, now, Retention { keep_days: Some(2), keep_count: Some(5) }).unwrap();
        assert_eq!(both, (1..=5).map(day).collect::<Vec<_>>());
        let long_ago = Timestamp::from_civil(2027, 6, 1, 0, 0, 0).unwrap();
        let all_old = expired(&ids, long_ago, Retention { keep_days: Some(1), keep_count: None }).unwrap();
        assert_eq!(all_old, (1..=9).map(day).collect::<Vec<_>>(), "the newest stays");
        assert!(expired(&ids, now, Retention::default()).is_err());
    }
}
