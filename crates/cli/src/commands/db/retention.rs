//! `ferretwatch db retention`: the reports received more than `--days` days ago are added
//! to the daily aggregates and deleted, `--batch` at a time, each batch one transaction
//! (`LifecycleStore::retention_batch`). Progress goes to standard error after each
//! committed batch; the result says how many batches, reports and aggregate rows, and how
//! long it took. Interrupted (even by `kill -9`), it loses and double-counts nothing: run
//! it again. `--dry-run` only counts what would go.

use std::time::Instant;

use clap::Args;
use ferretwatch_detect::filter::Target;
use ferretwatch_detect::Thresholds;
use ferretwatch_store::{RetentionBatch, Score, Store, DAY_MS, MAX_BATCH};
use ferretwatch_types::Timestamp;
use serde::Serialize;

use crate::console::{with_store, DbArgs};
use crate::error::{CliError, Failure};
use crate::output::{self, FormatArg, Report};

/// `db retention`.
#[derive(Args)]
pub struct RetentionArgs {
    /// Keep this many days of reports (default: the setting lifecycle.retention_days, 90).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub days: Option<u32>,
    /// Reports per batch, each one transaction (default: lifecycle.retention_batch, 10000).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_BATCH)))]
    pub batch: Option<u32>,
    /// Only count the reports that would be deleted.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub output: FormatArg,
}

/// What a retention run did.
#[derive(Debug, Serialize)]
pub struct RetentionDone {
    /// Reports received before this instant were in scope.
    pub cutoff: Timestamp,
    /// Days kept.
    pub days: u32,
    /// Whether only counted.
    pub dry_run: bool,
    /// Batches committed.
    pub batches: u64,
    /// Reports deleted (with `dry_run`: that would be).
    pub deleted: u64,
    /// Aggregate rows added to, summed over the batches.
    pub aggregate_rows: u64,
    /// Wall time, milliseconds.
    pub elapsed_ms: u64,
    /// Reports deleted per second.
    pub reports_per_second: u64,
}

/// The registrable domain of a stored URL, from the engine's Public Suffix List; the
/// host as it is for an IP address; `(invalid)` for what no longer parses.
pub fn registrable_domain(url: &str) -> String {
    Target::parse(url).map(|t| t.registrable().to_owned()).unwrap_or_else(|_| "(invalid)".to_owned())
}

/// The settings' batch for `days` and `batch`, with the built-in rules' levels.
pub fn plan(days: u32, batch: u32, now: Timestamp) -> Result<RetentionBatch, CliError> {
    let defaults = Thresholds::default();
    let score = |v: u8| Score::new(i64::from(v)).map_err(|e| CliError::input("invalid_argument", e.to_string()));
    Ok(RetentionBatch {
        cutoff: Timestamp::from_millis(now.as_millis() - i64::from(days) * DAY_MS),
        limit: batch,
        yellow: score(defaults.yellow)?,
        red: score(defaults.red)?,
        domain_of: registrable_domain,
    })
}

/// Runs batches until none is left, reporting each on standard error.
pub async fn retain(store: &dyn Store, batch: &RetentionBatch, days: u32) -> Result<RetentionDone, Failure> {
    let started = Instant::now();
    let mut done = RetentionDone {
        cutoff: batch.cutoff,
        days,
        dry_run: false,
        batches: 0,
        deleted: 0,
        aggregate_rows: 0,
        elapsed_ms: 0,
        reports_per_second: 0,
    };
    loop {
        let outcome = store.retention_batch(batch).await?;
        if outcome.deleted == 0 {
            break;
        }
        done.batches += 1;
        done.deleted += outcome.deleted;
        done.aggregate_rows += outcome.aggregate_rows;
        output::note(format_args!(
            "retention: batch {} committed: {} report(s) deleted, {} aggregate row(s), {} in all",
            done.batches, outcome.deleted, outcome.aggregate_rows, done.deleted
        ));
        if outcome.deleted < u64::from(batch.limit) {
            break;
        }
    }
    let elapsed = started.elapsed();
    done.elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    done.reports_per_second = (done.deleted as f64 / elapsed.as_secs_f64().max(0.001)) as u64;
    Ok(done)
}

/// The text of a run.
pub fn text(done: &RetentionDone) -> String {
    if done.dry_run {
        return format!("{} report(s) received before {} would be aggregated and deleted\n", done.deleted, done.cutoff);
    }
    format!(
        "retention: {} report(s) received before {} ({} days) aggregated and deleted in {} batch(es), \
         {} aggregate row(s) added to, {:.1} s ({} reports/s)\n",
        done.deleted,
        done.cutoff,
        done.days,
        done.batches,
        done.aggregate_rows,
        done.elapsed_ms as f64 / 1000.0,
        done.reports_per_second
    )
}

pub fn run(args: &RetentionArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let days = args.days.unwrap_or(settings.lifecycle.retention_days);
    let size = args.batch.unwrap_or(settings.lifecycle.retention_batch);
    if days == 0 || size == 0 || size > MAX_BATCH {
        return Err(CliError::input(
            "invalid_argument",
            format!("lifecycle.retention_days must be at least 1 and lifecycle.retention_batch 1 to {MAX_BATCH}"),
        )
        .into());
    }
    let batch = plan(days, size, Timestamp::now())?;
    let done = with_store(&settings, async |store| {
        if args.dry_run {
            let deleted = store.reports_before(batch.cutoff).await?;
            return Ok(RetentionDone {
                cutoff: batch.cutoff,
                days,
                dry_run: true,
                batches: 0,
                deleted,
                aggregate_rows: 0,
                elapsed_ms: 0,
                reports_per_second: 0,
            });
        }
        retain(store, &batch, days).await
    })?;
    Ok(Report::new(text(&done), &done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_registrable_domains() {
        assert_eq!(registrable_domain("https://login.paypal.co.uk/x"), "paypal.co.uk");
        assert_eq!(registrable_domain("https://a.b.example.com/"), "example.com");
        assert_eq!(registrable_domain("http://192.0.2.1:8080/"), "192.0.2.1");
    }

    #[test]
    fn the_cutoff_is_days_before_now() {
        let batch = plan(90, 10, Timestamp::from_millis(100 * DAY_MS)).unwrap();
        assert_eq!(batch.cutoff, Timestamp::from_millis(10 * DAY_MS));
    }
}
