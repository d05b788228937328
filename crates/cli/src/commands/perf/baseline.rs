//! The performance baseline file (`docs/formats/performance-baseline.md`) and the
//! judgement of a measurement against it and against the runbook's targets.
//!
//! An endpoint fails when (runbook §2.1, §2.2):
//! - more than half its requests were rate-limited: it was not measured;
//! - more than 2% of the answered requests were errors;
//! - its p95 is over the runbook's absolute target for it;
//! - its p95 is more than twice the baseline's, and more than the slack (default 25 ms)
//!   above it: on loopback, a few milliseconds are scheduling noise, not a regression.

use std::collections::BTreeMap;
use std::path::Path;

use ferretwatch_types::Timestamp;
use serde::{Deserialize, Serialize};

use super::measure::{Endpoint, Measured};
use crate::error::CliError;

/// The `format` field of every baseline file.
pub const FORMAT: &str = "ferretwatch-performance-baseline";
/// The version this command reads and writes.
pub const VERSION: u32 = 1;
/// The share of errors tolerated (runbook §2.2: error rate > 2%).
pub const MAX_ERROR_SHARE: f64 = 0.02;
/// A p95 more than this many times its baseline is a regression (§2.2: > 2x baseline).
pub const MAX_RATIO: f64 = 2.0;

/// A baseline file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// When it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_at: Option<Timestamp>,
    /// The service measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Requests per endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// Threads sending them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// Each endpoint's figures, by name.
    pub endpoints: BTreeMap<String, EndpointBaseline>,
}

/// One endpoint's figures in a baseline (milliseconds).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointBaseline {
    /// The median.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<f64>,
    /// The 95th percentile: the figure compared.
    pub p95_ms: f64,
    /// The 99th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
    /// Requests measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// Errors among them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<u64>,
}

fn bad(path: &Path, why: impl std::fmt::Display) -> CliError {
    CliError::input("bad_baseline", format!("baseline {}: {why}", path.display()))
}

/// Reads and checks a baseline file.
pub fn read(path: &Path) -> Result<Baseline, CliError> {
    let bytes = std::fs::read(path).map_err(|e| bad(path, e))?;
    let baseline: Baseline = serde_json::from_slice(&bytes).map_err(|e| bad(path, format!("not a baseline: {e}")))?;
    if baseline.format != FORMAT {
        return Err(bad(path, format!("format {:?}, want {FORMAT:?}", baseline.format)));
    }
    if baseline.version != VERSION {
        return Err(bad(path, format!("version {}, this command reads version {VERSION}", baseline.version)));
    }
    if baseline.endpoints.is_empty() {
        return Err(bad(path, "no endpoints"));
    }
    for (name, figures) in &baseline.endpoints {
        if Endpoint::of(name).is_none() {
            let known: Vec<&str> = Endpoint::ALL.iter().map(|e| e.name()).collect();
            return Err(bad(path, format!("unknown endpoint {name:?} (known: {})", known.join(", "))));
        }
        for (field, value) in [("p50_ms", figures.p50_ms), ("p95_ms", Some(figures.p95_ms)), ("p99_ms", figures.p99_ms)]
        {
            if value.is_some_and(|v| !v.is_finite() || v <= 0.0) {
                return Err(bad(path, format!("{name}.{field} must be a positive number of milliseconds")));
            }
        }
    }
    Ok(baseline)
}

/// A baseline from a measurement.
pub fn from_measured(measured: &[Measured], url: &str, requests: u64, concurrency: usize) -> Baseline {
    Baseline {
        format: FORMAT.into(),
        version: VERSION,
        measured_at: Some(Timestamp::now().whole_second()),
        url: Some(url.to_owned()),
        requests: Some(requests),
        concurrency: Some(concurrency),
        endpoints: measured
            .iter()
            .filter_map(|m| {
                Some((
                    m.endpoint.to_owned(),
                    EndpointBaseline {
                        p50_ms: m.p50_ms,
                        p95_ms: m.p95_ms?,
                        p99_ms: m.p99_ms,
                        requests: Some(m.requests),
                        errors: Some(m.errors),
                    },
                ))
            })
            .collect(),
    }
}

/// One endpoint judged.
#[derive(Debug, Serialize)]
pub struct Judged {
    /// Its name.
    pub endpoint: &'static str,
    /// The baseline's p95, if it has the endpoint.
    pub baseline_p95_ms: Option<f64>,
    /// The p95 now.
    pub p95_ms: Option<f64>,
    /// Now over the baseline.
    pub ratio: Option<f64>,
    /// The runbook's target.
    pub target_ms: f64,
    /// The share of errors now.
    pub error_share: f64,
    /// Why it fails; empty when it passes.
    pub problems: Vec<String>,
}

/// Judges each measured endpoint against its target and, when given, its baseline.
pub fn judge(measured: &[Measured], baseline: Option<&Baseline>, slack_ms: f64) -> Vec<Judged> {
    measured
        .iter()
        .map(|m| {
            let endpoint = Endpoint::of(m.endpoint).expect("measured endpoints are known");
            let base = baseline.and_then(|b| b.endpoints.get(m.endpoint)).map(|b| b.p95_ms);
            let ratio = match (m.p95_ms, base) {
                (Some(now), Some(base)) => Some((now / base * 100.0).round() / 100.0),
                _ => None,
            };
            let mut problems = Vec::new();
            if m.unmeasured() {
                problems
                    .push(format!("not measured: {} of {} requests rate-limited (429)", m.rate_limited, m.requests));
            }
            if m.error_share > MAX_ERROR_SHARE {
                problems.push(format!(
                    "{:.1}% errors (more than 2%): {}",
                    m.error_share * 100.0,
                    m.first_error.as_deref().unwrap_or("")
                ));
            }
            if let Some(now) = m.p95_ms {
                if now > endpoint.target_ms() {
                    problems.push(format!("p95 {now:.1} ms over the target of {} ms", endpoint.target_ms()));
                }
                if let Some(base) = base {
                    if now > MAX_RATIO * base && now - base > slack_ms {
                        problems.push(format!("p95 {now:.1} ms is {:.1}x the baseline's {base:.1} ms", now / base));
                    }
                }
            } else if !m.unmeasured() && m.error_share <= MAX_ERROR_SHARE {
                problems.push("no request was answered".into());
            }
            Judged {
                endpoint: m.endpoint,
                baseline_p95_ms: base,
                p95_ms: m.p95_ms,
                ratio,
                target_ms: endpoint.target_ms(),
                error_share: m.error_share,
                problems,
            }
        })
        .collect()
}

/// The table people read: endpoint, baseline p95, now p95, ratio, errors, verdict.
pub fn table(judged: &[Judged]) -> String {
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1} ms"));
    let mut out = format!(
        "{:<15} {:>12} {:>12} {:>6} {:>7}  verdict\n",
        "endpoint", "baseline p95", "now p95", "ratio", "errors"
    );
    for j in judged {
        let verdict = if j.problems.is_empty() { "ok".to_owned() } else { format!("FAIL: {}", j.problems.join("; ")) };
        out.push_str(&format!(
            "{:<15} {:>12} {:>12} {:>6} {:>6.1}%  {verdict}\n",
            j.endpoint,
            ms(j.baseline_p95_ms),
            ms(j.p95_ms),
            j.ratio.map_or("-".to_owned(), |r| format!("{r:.2}")),
            j.error_share * 100.0,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(endpoint: &'static str, p95: f64, errors: u64, limited: u64) -> Measured {
        let answered = 100 - limited;
        Measured {
            endpoint,
            request: "",
            requests: 100,
            ok: answered - errors,
            rate_limited: limited,
            errors,
            error_share: errors as f64 / answered.max(1) as f64,
            p50_ms: Some(p95 / 2.0),
            p95_ms: Some(p95),
            p99_ms: Some(p95 * 1.5),
            first_error: (errors > 0).then(|| "HTTP 503".into()),
        }
    }

    #[test]
    fn a_written_baseline_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        let b = from_measured(&[measured("report", 20.0, 0, 0)], "http://x", 100, 4);
        std::fs::write(&path, serde_json::to_vec_pretty(&b).unwrap()).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.endpoints["report"].p95_ms, 20.0);
        assert_eq!(back.version, 1);
    }

    #[test]
    fn malformed_baselines_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        let cases = [
            ("{", "not a baseline"),
            (r#"{"format":"other","version":1,"endpoints":{"report":{"p95_ms":1}}}"#, "format"),
            (
                r#"{"format":"ferretwatch-performance-baseline","version":2,"endpoints":{"report":{"p95_ms":1}}}"#,
                "version 2",
            ),
            (r#"{"format":"ferretwatch-performance-baseline","version":1,"endpoints":{}}"#, "no endpoints"),
            (
                r#"{"format":"ferretwatch-performance-baseline","version":1,"endpoints":{"repot":{"p95_ms":1}}}"#,
                "unknown endpoint",
            ),
            (
                r#"{"format":"ferretwatch-performance-baseline","version":1,"endpoints":{"report":{"p95_ms":0}}}"#,
                "positive",
            ),
            (
                r#"{"format":"ferretwatch-performance-baseline","version":1,"endpoints":{"report":{"p95ms":1}}}"#,
                "unknown field",
            ),
        ];
        for (text, why) in cases {
            std::fs::write(&path, text).unwrap();
            let err = read(&path).unwrap_err();
            assert!(err.to_string().contains(why), "{text}: {err}");
        }
        assert!(read(&dir.path().join("missing.json")).unwrap_err().to_string().contains("missing.json"));
    }

    #[test]
    fn each_rule_of_the_runbook_fails_its_endpoint_and_names_why() {
        let baseline = from_measured(
            &[measured("pack_manifest", 10.0, 0, 0), measured("report", 10.0, 0, 0), measured("health", 1.0, 0, 0)],
            "http://x",
            100,
            4,
        );
        let now = [
            measured("pack_manifest", 25.0, 0, 0),
            measured("report", 1500.0, 0, 0),
            measured("health", 2.5, 0, 0),
            measured("status", 3.0, 3, 0),
            measured("pack_rules", 3.0, 0, 60),
        ];
        let judged = judge(&now, Some(&baseline), 10.0);
        let problems: Vec<String> = judged.iter().map(|j| j.problems.join("; ")).collect();
        assert!(problems[0].contains("2.5x the baseline"), "{problems:?}");
        assert!(problems[1].contains("p95 1500.0 ms over the target of 1000 ms"), "{problems:?}");
        assert!(problems[2].is_empty(), "2.5x but 1.5 ms above: noise: {problems:?}");
        assert!(problems[3].contains("3.0% errors") && problems[3].contains("HTTP 503"), "{problems:?}");
        assert!(problems[4].contains("not measured: 60 of 100"), "{problems:?}");
        let text = table(&judged);
        assert!(text.contains("pack_manifest") && text.contains("2.50") && text.contains("FAIL"), "{text}");
        let strict = judge(&now[2..3], Some(&baseline), 0.0);
        assert!(strict[0].problems[0].contains("2.5x"), "without slack: {:?}", strict[0].problems);
    }
}
