//! `admin access-audit` (runbook §7.1 "Monitor admin access", with §7.2's two queries)
//! and `admin sessions-cleanup` (§5.3 "Clean up expired sessions").
//!
//! The audit runs the runbook's review query (per address: attempts, failures, first and
//! last over the window) and its anomaly query (per address and client network, more than
//! 50 attempts in the last 24 hours), and alerts on an address with too many failures or
//! on any anomaly row.

use std::fmt::Write;
use std::process::ExitCode;

use clap::Args;
use ferretwatch_store::{AccessByNetwork, AccessSummary};
use ferretwatch_types::Timestamp;
use serde_json::json;

use super::printable;
use crate::console::{with_store, DbArgs};
use crate::error::CliError;
use crate::exit;
use crate::output::{self, FormatArg, Report};

/// More attempts than this from one network for one address in 24 hours is an anomaly
/// (the runbook's `HAVING COUNT(*) > 50`).
pub const NETWORK_ATTEMPTS_OVER: i64 = 50;

/// `admin access-audit`.
#[derive(Args)]
pub struct AccessAuditArgs {
    /// Alert on an address with at least this many failed sign-ins in the window.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(i64).range(1..))]
    alert_threshold: i64,
    /// The review window, in days.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=3650))]
    days: u64,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// Runs the two queries; exit 1 when anything alerts.
pub fn audit(args: AccessAuditArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let settings = args.db.settings()?;
        let now = Timestamp::now();
        let since = now.minus_secs(args.days * 86_400);
        let day_ago = now.minus_secs(86_400);
        let (summary, anomalies) = with_store(&settings, async |store| {
            Ok((store.access_summary(since).await?, store.access_by_network(day_ago, NETWORK_ATTEMPTS_OVER).await?))
        })?;
        let mut alerts: Vec<String> = summary
            .iter()
            .filter(|row| row.failures >= args.alert_threshold)
            .map(|row| {
                format!(
                    "{}: {} failed sign-ins in {} days (threshold {})",
                    printable(&row.email),
                    row.failures,
                    args.days,
                    args.alert_threshold
                )
            })
            .collect();
        alerts.extend(anomalies.iter().map(|row| {
            format!(
                "{} from {}: {} attempts in 24 hours ({} failed; more than {NETWORK_ATTEMPTS_OVER})",
                printable(&row.email),
                printable(&row.client_net),
                row.attempts,
                row.failures
            )
        }));
        let json = json!({
            "ok": alerts.is_empty(),
            "since": since.to_string(),
            "days": args.days,
            "alert_threshold": args.alert_threshold,
            "summary": summary.iter().map(|r| json!({
                "email": r.email, "attempts": r.attempts, "failures": r.failures,
                "first": r.first.to_string(), "last": r.last.to_string(),
            })).collect::<Vec<_>>(),
            "anomalies": anomalies.iter().map(|r| json!({
                "email": r.email, "network": r.client_net, "attempts": r.attempts, "failures": r.failures,
            })).collect::<Vec<_>>(),
            "alerts": alerts,
        });
        let status = if alerts.is_empty() { exit::SUCCESS } else { exit::FAILED };
        Ok(Report::new(text(&args, since, &summary, &anomalies, &alerts), &json).with_status(status))
    })
}

fn text(
    args: &AccessAuditArgs,
    since: Timestamp,
    summary: &[AccessSummary],
    anomalies: &[AccessByNetwork],
    alerts: &[String],
) -> String {
    let mut out = format!("Admin access over the last {} days (since {since}):\n", args.days);
    if summary.is_empty() {
        out.push_str("  no sign-in attempts\n");
    } else {
        let width = summary.iter().map(|r| printable(&r.email).chars().count()).max().unwrap_or(5).max(5);
        let _ = writeln!(out, "  {:width$}  {:>8}  {:>8}  {:20}  LAST", "EMAIL", "ATTEMPTS", "FAILURES", "FIRST");
        for r in summary {
            let _ = writeln!(
                out,
                "  {:width$}  {:>8}  {:>8}  {:20}  {}",
                printable(&r.email),
                r.attempts,
                r.failures,
                r.first.to_string(),
                r.last
            );
        }
    }
    let _ = writeln!(out, "More than {NETWORK_ATTEMPTS_OVER} attempts for one address from one network in 24 hours:");
    if anomalies.is_empty() {
        out.push_str("  none\n");
    }
    for r in anomalies {
        let _ = writeln!(
            out,
            "  {}  {}  {} attempts, {} failed",
            printable(&r.email),
            printable(&r.client_net),
            r.attempts,
            r.failures
        );
    }
    for alert in alerts {
        let _ = writeln!(out, "ALERT {alert}");
    }
    let _ = write!(out, "{}", if alerts.is_empty() { "no alerts" } else { "ALERTS: see above" });
    out
}

/// `admin sessions-cleanup`.
#[derive(Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// Deletes sessions past their absolute end or idle longer than the console's
/// `idle_timeout_minutes`, and pending single sign-ons past theirs.
pub fn cleanup(args: CleanupArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let settings = args.db.settings()?;
        let now = Timestamp::now();
        let idle_minutes = settings.console.idle_timeout_minutes;
        if idle_minutes == 0 {
            return Err(CliError::input("invalid_config", "console.idle_timeout_minutes must be at least 1").into());
        }
        let idle_cutoff = now.minus_secs(u64::from(idle_minutes) * 60);
        let removed = with_store(&settings, async |store| Ok(store.delete_expired_sessions(now, idle_cutoff).await?))?;
        let json = json!({ "ok": true, "removed": removed, "idle_timeout_minutes": idle_minutes });
        Ok(Report::new(
            format!(
                "removed {removed} expired session(s) and pending sign-in(s) (idle longer than {idle_minutes} minutes, \
                 or past their end)"
            ),
            &json,
        ))
    })
}
