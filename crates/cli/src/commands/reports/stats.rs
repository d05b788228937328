//! `ferretwatch reports stats` (runbook §5.1: the weekly feedback review and the monthly
//! capacity planning): the report log's aggregates over a window, on either database.
//! Counts only: no report, URL path or query, install token or network leaves the
//! database.
//!
//! The false-positive figures come by domain: the store groups false-positive reports by
//! the host of their URL (the [`HOSTS_READ`] most reported hosts), and each host counts
//! for its registrable domain (eTLD+1, from the engine's Public Suffix List), the unit an
//! allow-list entry takes. The levels of the scores use the built-in rules' thresholds
//! unless `--yellow` and `--red` say otherwise (a pack may set its own). The result also
//! names the backend, the database's size, the reports the whole log holds and the data
//! directory, for capacity planning.

use std::collections::HashMap;
use std::fmt::Write;

use clap::Args;
use ferretwatch_detect::filter::Target;
use ferretwatch_detect::Thresholds;
use ferretwatch_store::{HostCount, ReportKind, ReportStats, ReportStatsQuery, Score};
use ferretwatch_types::Timestamp;
use serde_json::json;

use crate::clock::parse_instant;
use crate::console::{with_store, DbArgs};
use crate::error::{CliError, Failure};
use crate::output::{FormatArg, Report};

/// Hosts of false-positive reports read from the store before they are folded into
/// domains.
pub const HOSTS_READ: u32 = 1000;

/// `reports stats`.
#[derive(Args)]
pub struct StatsArgs {
    /// Reports received at or after this instant (RFC 3339 UTC or Unix seconds).
    #[arg(long, value_parser = parse_instant)]
    since: Timestamp,
    /// Reports received before this instant; default: now.
    #[arg(long, value_parser = parse_instant)]
    until: Option<Timestamp>,
    /// The width of each bucket of the per-bucket counts, in seconds (default a day).
    #[arg(long, default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    bucket_secs: u64,
    /// The lowest yellow score (default: the built-in rules', 40).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100))]
    yellow: Option<u8>,
    /// The lowest red score (default: the built-in rules', 70).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100))]
    red: Option<u8>,
    /// How many of the domains most reported as false positives to list.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=1000))]
    top: u32,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    pub output: FormatArg,
}

/// False-positive reports of one registrable domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainCount {
    /// The registrable domain (an IP address stays itself).
    pub domain: String,
    /// Reports.
    pub reports: i64,
    /// Distinct URLs.
    pub urls: i64,
    /// Distinct hosts.
    pub hosts: i64,
}

/// The registrable domain of a stored host (`HOST[:PORT]`, lower case, punycode); the
/// host without its port when it has none, `None` when it is no host at all.
pub fn domain_of(host: &str) -> Option<String> {
    Target::parse(&format!("https://{host}/")).ok().map(|t| t.registrable().to_owned())
}

/// Hosts folded into their domains, most reported first (then by name), at most `top`.
pub fn by_domain(hosts: &[HostCount], top: usize) -> Vec<DomainCount> {
    let mut domains: HashMap<String, DomainCount> = HashMap::new();
    for h in hosts {
        let Some(domain) = domain_of(&h.host) else { continue };
        let entry = domains.entry(domain.clone()).or_insert(DomainCount { domain, reports: 0, urls: 0, hosts: 0 });
        entry.reports += h.reports;
        entry.urls += h.urls;
        entry.hosts += 1;
    }
    let mut domains: Vec<DomainCount> = domains.into_values().collect();
    domains.sort_by(|a, b| (std::cmp::Reverse(a.reports), &a.domain).cmp(&(std::cmp::Reverse(b.reports), &b.domain)));
    domains.truncate(top);
    domains
}

/// What the store says, with the storage facts.
struct Gathered {
    stats: ReportStats,
    backend: &'static str,
    database_bytes: u64,
    /// Reports of both kinds in the whole log.
    log_reports: i64,
}

/// Runs the queries and renders them.
pub fn stats(args: &StatsArgs) -> Result<Report, Failure> {
    let settings = args.db.settings()?;
    let defaults = Thresholds::default();
    let score =
        |value: u8| Score::new(i64::from(value)).map_err(|e| CliError::input("invalid_argument", e.to_string()));
    let query = ReportStatsQuery {
        since: args.since,
        until: args.until.unwrap_or_else(|| Timestamp::now().whole_second()),
        bucket_ms: i64::try_from(args.bucket_secs * 1000).unwrap_or(i64::MAX),
        yellow: score(args.yellow.unwrap_or(defaults.yellow))?,
        red: score(args.red.unwrap_or(defaults.red))?,
        top_hosts: HOSTS_READ,
    };
    let gathered = with_store(&settings, async |store| {
        let stats = store.report_stats(&query).await?;
        let database_bytes = store.database_size().await?;
        let counts = store.counts().await?;
        let log_reports = counts.reports + counts.false_positives;
        Ok(Gathered { stats, backend: store.backend().name(), database_bytes, log_reports })
    })?;
    let domains = by_domain(&gathered.stats.false_positive_hosts, args.top as usize);
    let data_dir = std::path::absolute(&settings.data_dir).unwrap_or_else(|_| settings.data_dir.clone());
    let data_dir = data_dir.display().to_string();
    Ok(Report::new(text(&query, &gathered, &domains, &data_dir), &to_json(&query, &gathered, &domains, &data_dir)))
}

fn share(stats: &ReportStats) -> Option<f64> {
    (stats.total() > 0).then(|| stats.false_positives as f64 / stats.total() as f64)
}

fn to_json(query: &ReportStatsQuery, g: &Gathered, domains: &[DomainCount], data_dir: &str) -> serde_json::Value {
    let s = &g.stats;
    json!({
        "since": query.since.to_string(),
        "until": query.until.to_string(),
        "bucket_seconds": query.bucket_ms / 1000,
        "levels": {"yellow": query.yellow.get(), "red": query.red.get()},
        "total": s.total(),
        "reports": s.reports,
        "false_positives": s.false_positives,
        "false_positive_share": share(s),
        "install_tokens": s.install_tokens,
        "by_reason": s.by_reason.iter().map(|r| json!({
            "kind": r.kind.code(), "reason": r.reason, "reports": r.reports,
        })).collect::<Vec<_>>(),
        "by_level": s.by_level.iter().map(|l| json!({
            "kind": l.kind.code(), "green": l.green, "yellow": l.yellow, "red": l.red,
        })).collect::<Vec<_>>(),
        "moderation": s.outcomes.iter().map(|o| json!({
            "kind": o.kind.code(), "state": o.state.code(), "urls": o.urls, "reports": o.reports,
        })).collect::<Vec<_>>(),
        "false_positive_domains": domains.iter().map(|d| json!({
            "domain": d.domain, "reports": d.reports, "urls": d.urls, "hosts": d.hosts,
        })).collect::<Vec<_>>(),
        "buckets": s.buckets.iter().map(|b| json!({
            "start": b.start.to_string(), "reports": b.reports, "false_positives": b.false_positives,
        })).collect::<Vec<_>>(),
        "database": {
            "backend": g.backend, "bytes": g.database_bytes, "reports": g.log_reports, "data_dir": data_dir,
        },
    })
}

fn kind_name(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Report => "reports",
        ReportKind::FalsePositive => "false positives",
    }
}

fn text(query: &ReportStatsQuery, g: &Gathered, domains: &[DomainCount], data_dir: &str) -> String {
    let s = &g.stats;
    let mut out = format!(
        "reports received from {} to {}: {} ({} reports, {} false positives{}), from {} install token(s)\n",
        query.since,
        query.until,
        s.total(),
        s.reports,
        s.false_positives,
        share(s).map(|x| format!(": {:.1}%", x * 100.0)).unwrap_or_default(),
        s.install_tokens,
    );
    out.push_str("by reason:\n");
    for r in &s.by_reason {
        let _ = writeln!(out, "  {} {}: {}", kind_name(r.kind), r.reason, r.reports);
    }
    let _ = writeln!(out, "by level (yellow from {}, red from {}):", query.yellow.get(), query.red.get());
    for l in &s.by_level {
        let _ = writeln!(out, "  {}: green {}, yellow {}, red {}", kind_name(l.kind), l.green, l.yellow, l.red);
    }
    out.push_str("by the URL's moderation state now:\n");
    for o in &s.outcomes {
        let _ = writeln!(out, "  {} {}: {} URL(s), {} report(s)", kind_name(o.kind), o.state, o.urls, o.reports);
    }
    out.push_str("domains most reported as false positives:\n");
    for d in domains {
        let _ = writeln!(out, "  {}: {} report(s) of {} URL(s) on {} host(s)", d.domain, d.reports, d.urls, d.hosts);
    }
    let _ = writeln!(out, "per {} s:", query.bucket_ms / 1000);
    for b in &s.buckets {
        let _ = writeln!(out, "  {}: {} report(s), {} false positive(s)", b.start, b.reports, b.false_positives);
    }
    let _ = write!(
        out,
        "database: {}, {} bytes, {} report(s) in the log; data directory {data_dir}",
        g.backend, g.database_bytes, g.log_reports
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(host: &str, reports: i64, urls: i64) -> HostCount {
        HostCount { host: host.into(), reports, urls }
    }

    #[test]
    fn hosts_count_for_their_registrable_domain_without_their_port() {
        assert_eq!(domain_of("www.news.example.co.uk").as_deref(), Some("example.co.uk"));
        assert_eq!(domain_of("shop.example.com:8443").as_deref(), Some("example.com"));
        assert_eq!(domain_of("203.0.113.7").as_deref(), Some("203.0.113.7"));
        assert_eq!(domain_of("[2001:db8::1]:8080").as_deref(), Some("[2001:db8::1]"));
        assert_eq!(domain_of("not a host/"), None);
    }

    #[test]
    fn domains_sum_their_hosts_most_reported_first_and_are_cut_to_top() {
        let hosts = [
            host("a.bank.example", 3, 2),
            host("news.test", 4, 1),
            host("b.bank.example:8443", 2, 1),
            host("zz.test", 4, 4),
        ];
        let domains = by_domain(&hosts, 2);
        let got: Vec<(&str, i64, i64, i64)> =
            domains.iter().map(|d| (d.domain.as_str(), d.reports, d.urls, d.hosts)).collect();
        assert_eq!(got, [("bank.example", 5, 3, 2), ("news.test", 4, 1, 1)]);
    }
}
