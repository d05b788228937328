//! `incident stats`: the runbook's reliability figures from the records. Per priority, the
//! incidents opened in the period and the mean time to detect (first alert to incident),
//! to respond (incident to acknowledgement) and to recover (incident to resolution); with
//! the origin, the change failure rate: the share of the period's pack deploys that a later
//! rollback reverted.

use std::fmt::Write;

use clap::Args;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::{deploy_history, reverted};
use ferretwatch_store::{Incident, Priority};
use ferretwatch_types::Timestamp;
use serde_json::json;

use super::DbArgs;
use crate::console::with_store;
use crate::error::{CliError, Failure};
use crate::output::{FormatArg, Report};

/// `incident stats`.
#[derive(Args)]
pub struct StatsArgs {
    /// The period, in days back from now.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3650))]
    days: u64,
    /// The pack origin whose deploys the change failure rate counts (file:///DIR, a
    /// directory or s3://BUCKET[/PREFIX]); default the server's `origin` setting; without
    /// either the rate is left out.
    #[arg(long)]
    origin: Option<String>,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    pub(super) output: FormatArg,
}

/// The mean of some durations in seconds, when there are any.
fn mean(values: &[u64]) -> Option<u64> {
    (!values.is_empty()).then(|| values.iter().sum::<u64>() / values.len() as u64)
}

fn minutes(value: Option<u64>) -> String {
    value.map_or_else(|| "—".to_owned(), |s| format!("{} min", s.div_ceil(60)))
}

/// Runs `incident stats`.
pub fn run(args: &StatsArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let now = Timestamp::now();
    let since = now.minus_secs(args.days * 86_400);
    let all = with_store(&settings, async |store| Ok(store.list_incidents(&[], 100_000).await?))?;
    let period: Vec<&Incident> = all.iter().filter(|i| i.opened_at >= since).collect();
    let mut text = format!("incidents opened in the last {} days: {}\n", args.days, period.len());
    let mut rows = Vec::new();
    for priority in Priority::ALL {
        let of: Vec<&&Incident> = period.iter().filter(|i| i.priority == priority).collect();
        let detect = mean(&of.iter().map(|i| i.opened_at.secs_since(i.detected_at)).collect::<Vec<_>>());
        let respond = mean(
            &of.iter()
                .filter_map(|i| i.acknowledged.as_ref().map(|(at, _)| at.secs_since(i.opened_at)))
                .collect::<Vec<_>>(),
        );
        let recover = mean(
            &of.iter()
                .filter_map(|i| i.resolved.as_ref().map(|(at, _)| at.secs_since(i.opened_at)))
                .collect::<Vec<_>>(),
        );
        let _ = writeln!(
            text,
            "  {priority}: {} incident(s), MTTD {}, time to respond {}, MTTR {}",
            of.len(),
            minutes(detect),
            minutes(respond),
            minutes(recover)
        );
        rows.push(json!({
            "priority": priority.code(), "incidents": of.len(),
            "mttd_seconds": detect, "mtta_seconds": respond, "mttr_seconds": recover,
        }));
    }

    let origin = args.origin.clone().or_else(|| args.db.service_settings().ok().and_then(|s| s.origin));
    let changes = match origin {
        Some(url) => {
            let origin = Origin::open(&url).map_err(|e| CliError::input("bad_origin", e.to_string()))?;
            let history = deploy_history(&origin).map_err(|e| CliError::failed("origin", e.to_string()))?;
            let failed = reverted(&history);
            let deploys: Vec<_> = history.iter().filter(|r| r.deployed_at >= since).collect();
            let failed_now = deploys.iter().filter(|r| failed.contains(&&r.version)).count();
            let rate = (!deploys.is_empty()).then(|| failed_now as f64 / deploys.len() as f64);
            let _ = writeln!(
                text,
                "pack deploys: {}, reverted by a rollback: {failed_now}, change failure rate {}",
                deploys.len(),
                rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
            );
            json!({
                "origin": url, "deploys": deploys.len(), "failed": failed_now, "change_failure_rate": rate,
                "failed_versions": deploys.iter().filter(|r| failed.contains(&&r.version)).map(|r| r.version.as_str()).collect::<Vec<_>>(),
            })
        }
        None => serde_json::Value::Null,
    };
    Ok(Report::new(text.trim_end().to_owned(), &json!({ "days": args.days, "priorities": rows, "changes": changes })))
}
