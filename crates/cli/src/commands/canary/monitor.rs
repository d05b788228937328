//! `canary monitor`: the canary's false-positive share against the control's, from the
//! reports in the service's database, polled until the test ([`super::stats`]) decides or
//! the duration ends.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use ferretwatch_store::PackReportCount;
use serde_json::json;

use super::deploy::running;
use super::stats::{decide, Counts, Decision, Verdict};
use crate::clock;
use crate::console::{with_store, DbArgs};
use crate::error::CliError;
use crate::exit;
use crate::output::{self, FormatArg, Report};

/// The exit status of an inconclusive run.
pub const INCONCLUSIVE: u8 = 3;

/// `canary monitor`.
#[derive(Args)]
pub struct MonitorArgs {
    /// Seconds to watch at most (the run ends earlier once the test decides).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=30 * 86_400))]
    pub duration: u64,
    /// The largest tolerated absolute increase of the false-positive share of reports
    /// (0.02: the canary's share may exceed the control's by two percentage points).
    #[arg(long)]
    pub alert_threshold: f64,
    /// Seconds between two looks at the database.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub poll_interval: u64,
    /// The origin that records the running canary.
    #[arg(long, env = "FERRETWATCH_ORIGIN")]
    pub from: String,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub output: FormatArg,
}

/// Watches the canary: exit 0 promote, 1 rollback, 3 inconclusive, 2 without a canary.
pub fn run(args: MonitorArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        if !(args.alert_threshold > 0.0 && args.alert_threshold < 1.0) {
            return Err(CliError::input(
                "invalid_argument",
                format!("--alert-threshold {} must be between 0 and 1 (exclusive)", args.alert_threshold),
            )
            .into());
        }
        let record = running(&args.from)?;
        let settings = args.db.settings()?;
        let versions = vec![record.pack_version.to_string(), record.control_version.to_string()];
        let started = Instant::now();
        let deadline = started + Duration::from_secs(args.duration);
        let (verdict, counts) = loop {
            let until = clock::now(None).plus_secs(1);
            let counts = with_store(&settings, async |store| {
                Ok(store.pack_report_counts(&versions, record.started_at, until).await?)
            })?;
            let (canary, control) = (side(&counts[0]), side(&counts[1]));
            let verdict = decide(canary, control, args.alert_threshold);
            output::note(format!(
                "[{:>5}s] canary {}: {}/{} false positives ({:.2}%); control {}: {}/{} ({:.2}%); upper bound of the \
                 excess {:.2} points: {}",
                started.elapsed().as_secs(),
                record.pack_version,
                canary.false_positives,
                canary.reports,
                verdict.canary_share * 100.0,
                record.control_version,
                control.false_positives,
                control.reports,
                verdict.control_share * 100.0,
                verdict.upper_bound * 100.0,
                word(verdict.decision)
            ));
            let now = Instant::now();
            if verdict.decision != Decision::Inconclusive || now >= deadline {
                break (verdict, counts);
            }
            std::thread::sleep(Duration::from_secs(args.poll_interval).min(deadline - now));
        };
        let text = summary(&record.pack_version.to_string(), &verdict, args.alert_threshold);
        let json = json!({
            "decision": verdict.decision,
            "canary": record,
            "threshold": args.alert_threshold,
            "verdict": verdict,
            "counts": counts,
            "watched_secs": started.elapsed().as_secs(),
        });
        let status = match verdict.decision {
            Decision::Promote => exit::SUCCESS,
            Decision::Rollback => exit::FAILED,
            Decision::Inconclusive => INCONCLUSIVE,
        };
        Ok(Report::new(text, &json).with_status(status))
    })
}

fn side(count: &PackReportCount) -> Counts {
    Counts { false_positives: count.false_positives, reports: count.reports + count.false_positives }
}

fn word(decision: Decision) -> &'static str {
    match decision {
        Decision::Promote => "promote",
        Decision::Rollback => "rollback",
        Decision::Inconclusive => "inconclusive",
    }
}

fn summary(canary: &str, v: &Verdict, threshold: f64) -> String {
    let next = match v.decision {
        Decision::Promote => "./scripts/finalize-rule-deployment.sh --decision promote",
        Decision::Rollback => "./scripts/finalize-rule-deployment.sh --decision rollback",
        Decision::Inconclusive => "watch longer, or finalize by judgement",
    };
    format!(
        "decision: {} for canary {canary}: false-positive share {:.2}% against {:.2}% (excess {:+.2} points, z = \
         {:.2}, 95% upper bound {:.2} points, threshold {:.2} points); next: {next}",
        word(v.decision),
        v.canary_share * 100.0,
        v.control_share * 100.0,
        v.excess * 100.0,
        v.z,
        v.upper_bound * 100.0,
        threshold * 100.0
    )
}
