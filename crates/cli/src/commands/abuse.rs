//! `ferretwatch abuse detect` (runbook §7.1 "Suspicious report patterns"): coordinated
//! reporting in the report log over the last WINDOW seconds, on either database.
//!
//! Four patterns, each at the same threshold N ([`ferretwatch_store::AbuseKind`]):
//!
//! - one URL with N or more reports, counting reports and false-positive reports apart
//!   (many false positives of one URL are an attempt to get a real phishing page
//!   allow-listed);
//! - one install token with N or more reports, across URLs;
//! - one client network with N or more reports;
//! - an install farm: one URL reported by N or more distinct install tokens from at most
//!   two networks.
//!
//! The check is a gate: each finding is printed on an `ALERT` line and the command exits
//! 1, so a timer can run it as it is. Install tokens are shown shortened to their first 8
//! characters: enough to find them, not enough to replay them anywhere.

use std::fmt::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferretwatch_store::{AbuseFinding, AbuseKind};
use ferretwatch_types::Timestamp;
use serde_json::json;

use super::admin::printable;
use crate::console::{with_store, DbArgs};
use crate::exit;
use crate::output::{self, FormatArg, Report};

/// The longest window, in seconds: the 90 days the report log is kept.
pub const MAX_WINDOW_SECS: u64 = 90 * 86_400;

/// How many characters of an install token a finding shows.
pub const TOKEN_SHOWN_CHARS: usize = 8;

/// Abuse checks on the report log.
#[derive(Subcommand)]
pub enum AbuseCommand {
    /// Coordinated reporting over the last WINDOW seconds: one URL, install token or
    /// network with N or more reports, or N or more installs behind at most two networks;
    /// exit 1 when anything is found.
    Detect(DetectArgs),
}

/// `abuse detect`.
#[derive(Args)]
pub struct DetectArgs {
    /// Report a pattern at this many reports (for an install farm: install tokens) or more.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    threshold: i64,
    /// The window: the last this many seconds (at most 90 days).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_WINDOW_SECS))]
    window: u64,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    output: FormatArg,
}

/// Runs an abuse command.
pub fn run(command: AbuseCommand) -> ExitCode {
    match command {
        AbuseCommand::Detect(args) => detect(args),
    }
}

/// Runs the queries; exit 1 when anything is found.
fn detect(args: DetectArgs) -> ExitCode {
    output::run(args.output.format, None, || {
        let settings = args.db.settings()?;
        let since = Timestamp::now().minus_secs(args.window);
        let findings = with_store(&settings, async |store| Ok(store.abuse_findings(since, args.threshold).await?))?;
        let json = json!({
            "ok": findings.is_empty(),
            "since": since.to_string(),
            "window": args.window,
            "threshold": args.threshold,
            "findings": findings.iter().map(|f| json!({
                "kind": f.kind.code(),
                "key": shown_key(f),
                "url_hash": f.url_hash.map(|h| h.to_string()),
                "count": f.count(),
                "reports": f.reports,
                "install_tokens": f.install_tokens,
                "networks": f.networks,
                "first": f.first.to_string(),
                "last": f.last.to_string(),
            })).collect::<Vec<_>>(),
        });
        let status = if findings.is_empty() { exit::SUCCESS } else { exit::FAILED };
        Ok(Report::new(text(&args, since, &findings), &json).with_status(status))
    })
}

/// The finding's key as shown: an install token shortened, anything else as stored (made
/// safe for a terminal).
pub fn shown_key(finding: &AbuseFinding) -> String {
    match finding.kind {
        AbuseKind::InstallToken => shorten_token(&finding.key),
        _ => printable(&finding.key),
    }
}

/// The first [`TOKEN_SHOWN_CHARS`] characters of an install token, with `…` when there
/// were more.
pub fn shorten_token(token: &str) -> String {
    let mut shown: String = printable(token).chars().take(TOKEN_SHOWN_CHARS).collect();
    if token.chars().count() > TOKEN_SHOWN_CHARS {
        shown.push('…');
    }
    shown
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What a finding counted, in words.
fn describe(f: &AbuseFinding) -> String {
    let reports = plural(f.reports, "report", "reports");
    let installs = plural(f.install_tokens, "install token", "install tokens");
    let networks = plural(f.networks, "network", "networks");
    match f.kind {
        AbuseKind::UrlReports => format!("{reports} from {installs} on {networks}"),
        AbuseKind::UrlFalsePositives => format!(
            "{} from {installs} on {networks}",
            plural(f.reports, "false-positive report", "false-positive reports")
        ),
        AbuseKind::InstallToken => format!("{reports} from {networks}"),
        AbuseKind::Network => format!("{reports} from {installs}"),
        AbuseKind::InstallFarm => format!("{installs} behind {networks}, {reports}"),
    }
}

fn text(args: &DetectArgs, since: Timestamp, findings: &[AbuseFinding]) -> String {
    let mut out =
        format!("Reports over the last {} seconds (since {since}), threshold {}:\n", args.window, args.threshold);
    for f in findings {
        let _ = writeln!(out, "ALERT {} {}: {}, first {}, last {}", f.kind, shown_key(f), describe(f), f.first, f.last);
    }
    if findings.is_empty() {
        out.push_str("no coordinated reporting found");
    } else {
        let _ = write!(out, "ALERTS: {}: see above", plural(findings.len() as i64, "finding", "findings"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_tokens_are_shown_shortened_and_nothing_else_is() {
        assert_eq!(shorten_token("0123456789abcdef"), "01234567…");
        assert_eq!(shorten_token("01234567"), "01234567");
        assert_eq!(shorten_token("abc"), "abc");
    }
}
