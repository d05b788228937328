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
    /// directory or s3://BUCKET[/PREFIX]); default the server's (`origin`, else
    /// DATA_DIR/origin), left out when that holds no deploys.
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

    // The origin given, else the server's (its `origin` setting, else DATA_DIR/origin): one
    // given must answer; the server's may not exist on this machine, and then the rate is
    // left out with the reason.
    let (url, given) = match &args.origin {
        Some(url) => (url.clone(), true),
        None => (args.db.service_settings()?.origin_url(), false),
    };
    let history = Origin::open(&url).and_then(|origin| deploy_history(&origin));
    let changes = match history {
        Ok(history) if given || !history.is_empty() => {
            let failed = reverted(&history);
            let deploys: Vec<_> = history.iter().filter(|r| r.deployed_at >= since).collect();
            let failed_now: Vec<&str> =
                deploys.iter().filter(|r| failed.contains(&&r.version)).map(|r| r.version.as_str()).collect();
            let rate = (!deploys.is_empty()).then(|| failed_now.len() as f64 / deploys.len() as f64);
            let _ = writeln!(
                text,
                "pack deploys: {}, reverted by a rollback: {}, change failure rate {}",
                deploys.len(),
                failed_now.len(),
                rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
            );
            json!({
                "origin": url, "deploys": deploys.len(), "failed": failed_now.len(),
                "change_failure_rate": rate, "failed_versions": failed_now,
            })
        }
        Ok(_) => {
            let _ = writeln!(text, "pack deploys: none recorded at {url}");
            serde_json::Value::Null
        }
        Err(e) if given => return Err(CliError::failed("origin", format!("{url}: {e}")).into()),
        Err(e) => {
            let _ = writeln!(text, "pack deploys: not read ({e})");
            serde_json::Value::Null
        }
    };
    Ok(Report::new(text.trim_end().to_owned(), &json!({ "days": args.days, "priorities": rows, "changes": changes })))
}
