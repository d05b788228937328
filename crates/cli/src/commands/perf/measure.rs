//! Measuring the critical endpoints of a running service, as clients use them.
//!
//! Each endpoint gets N requests from C threads, one endpoint after the other, over
//! kept-alive connections (each thread first opens its connection with an untimed
//! `GET /health`). A request is timed from sending to the last byte of its body. Answers:
//! - the expected status (200, or 201 for a report): timed;
//! - 429: rate-limited, neither timed nor an error, but counted (a measurement that the
//!   service's own limits stopped is no measurement);
//! - anything else, or no answer within 10 s: an error.
//!
//! Percentiles are nearest-rank over the timed requests, in milliseconds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferretwatch_types::Timestamp;
use serde::Serialize;

/// The endpoints measured, their request and their absolute target (runbook §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /v1/timestamp.json`: the metadata every client polls.
    PackTimestamp,
    /// `GET /v1/manifest.json`: the pack's manifest.
    PackManifest,
    /// `GET /v1/RULES`: the pack's rules file, named by the manifest (the bulk of a pack
    /// download).
    PackRules,
    /// `POST /health {"check":"health"}`: the report API's health check.
    Health,
    /// `POST /v1/report`: a report about a URL under `.invalid`.
    Report,
    /// `GET /status.json`: the public status page.
    Status,
}

impl Endpoint {
    /// Every endpoint, in the order measured.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::PackTimestamp,
        Endpoint::PackManifest,
        Endpoint::PackRules,
        Endpoint::Health,
        Endpoint::Report,
        Endpoint::Status,
    ];

    /// Its name in tables and baseline files.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::PackTimestamp => "pack_timestamp",
            Endpoint::PackManifest => "pack_manifest",
            Endpoint::PackRules => "pack_rules",
            Endpoint::Health => "health",
            Endpoint::Report => "report",
            Endpoint::Status => "status",
        }
    }

    /// The endpoint of a name.
    pub fn of(name: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The runbook's response time target for it, in milliseconds (§2.1: a rule pack
    /// download under 2 s, a report submission under 1 s, admin operations under 5 s; the
    /// report API's health check counts as the report API, the status page as operations).
    pub fn target_ms(self) -> f64 {
        match self {
            Endpoint::PackTimestamp | Endpoint::PackManifest | Endpoint::PackRules => 2000.0,
            Endpoint::Health | Endpoint::Report => 1000.0,
            Endpoint::Status => 5000.0,
        }
    }

    /// The request, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Endpoint::PackTimestamp => "GET /v1/timestamp.json",
            Endpoint::PackManifest => "GET /v1/manifest.json",
            Endpoint::PackRules => "GET /v1/RULES (from the manifest)",
            Endpoint::Health => "POST /health",
            Endpoint::Report => "POST /v1/report",
            Endpoint::Status => "GET /status.json",
        }
    }
}

/// One endpoint's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// The endpoint's name.
    pub endpoint: &'static str,
    /// Its request, for people.
    pub request: &'static str,
    /// Requests sent.
    pub requests: u64,
    /// Answered as expected, and timed.
    pub ok: u64,
    /// Refused with 429.
    pub rate_limited: u64,
    /// Any other answer, or none.
    pub errors: u64,
    /// Errors over the requests that were not rate-limited.
    pub error_share: f64,
    /// Percentiles of the timed requests (milliseconds); absent when none was timed.
    pub p50_ms: Option<f64>,
    /// 95th percentile.
    pub p95_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
    /// The first error, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl Measured {
    /// Whether the service's rate limits stopped the measurement (more than half the
    /// requests refused).
    pub fn unmeasured(&self) -> bool {
        self.rate_limited * 2 > self.requests
    }
}

/// How to measure.
pub struct Plan {
    /// The service's base URL.
    pub base: String,
    /// Requests per endpoint.
    pub requests: u64,
    /// Threads sending them.
    pub concurrency: usize,
    /// Reports submitted (at most `requests`), one at a time: each is stored and counts
    /// against the report limits.
    pub report_requests: u64,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .max_idle_connections_per_host(64)
        .build()
        .into()
}

/// What the endpoints need from the service before they are measured.
struct Context {
    rules_path: Option<String>,
    pack_version: String,
    install_token: Result<String, String>,
    run: String,
}

fn prepare(agent: &ureq::Agent, base: &str) -> Context {
    let json = |response: Result<ureq::http::Response<ureq::Body>, ureq::Error>, status: u16| {
        response
            .ok()
            .filter(|r| r.status() == status)
            .and_then(|mut r| r.body_mut().read_to_vec().ok())
            .and_then(|body| serde_json::from_slice::<serde_json::Value>(&body).ok())
    };
    let manifest = json(agent.get(&format!("{base}/v1/manifest.json")).call(), 200);
    let rules_path = manifest.as_ref().and_then(|m| {
        m["files"].as_array()?.iter().find(|f| f["role"] == "rules")?["name"].as_str().map(|n| format!("/v1/{n}"))
    });
    let pack_version = manifest.as_ref().and_then(|m| m["version"].as_str()).unwrap_or("2000.01.01.00").to_owned();
    let install_token = json(agent.post(&format!("{base}/v1/install")).send_empty(), 201)
        .and_then(|v| v["install_token"].as_str().map(str::to_owned))
        .ok_or_else(|| "no install token: POST /v1/install did not answer 201 with one".to_owned());
    let run = Timestamp::now().as_millis().to_string();
    Context { rules_path, pack_version, install_token, run }
}

enum Outcome {
    Timed(f64),
    Limited,
    Error(String),
}

fn send(agent: &ureq::Agent, base: &str, endpoint: Endpoint, ctx: &Context, i: usize) -> Outcome {
    let started = Instant::now();
    let sent = match endpoint {
        Endpoint::PackTimestamp => agent.get(&format!("{base}/v1/timestamp.json")).call(),
        Endpoint::PackManifest => agent.get(&format!("{base}/v1/manifest.json")).call(),
        Endpoint::PackRules => match &ctx.rules_path {
            Some(path) => agent.get(&format!("{base}{path}")).call(),
            None => return Outcome::Error("the manifest names no rules file".into()),
        },
        Endpoint::Health => agent
            .post(&format!("{base}/health"))
            .header("content-type", "application/json")
            .send(&br#"{"check":"health"}"#[..]),
        Endpoint::Report => {
            let token = match &ctx.install_token {
                Ok(token) => token,
                Err(why) => return Outcome::Error(why.clone()),
            };
            let body = serde_json::json!({
                "url": format!("https://perf-check.invalid/{}/{i}", ctx.run),
                "reason": "other",
                "reason_text": "performance validation (ferretwatch perf)",
                "timestamp": Timestamp::now().whole_second(),
                "extension_version": "0.0.0",
                "pack_version": ctx.pack_version,
                "score": 0,
                "findings": [],
            });
            agent
                .post(&format!("{base}/v1/report"))
                .header("content-type", "application/json")
                .header("x-install-token", token)
                .send(body.to_string().as_bytes())
        }
        Endpoint::Status => agent.get(&format!("{base}/status.json")).call(),
    };
    let mut response = match sent {
        Ok(response) => response,
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let status = response.status().as_u16();
    let body = response.body_mut().with_config().limit(64 << 20).read_to_vec();
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let expected = if endpoint == Endpoint::Report { 201 } else { 200 };
    match (status, body) {
        (429, _) => Outcome::Limited,
        (s, Ok(_)) if s == expected => Outcome::Timed(elapsed),
        (s, Ok(body)) => Outcome::Error(format!("HTTP {s}: {}", String::from_utf8_lossy(&body[..body.len().min(200)]))),
        (_, Err(e)) => Outcome::Error(e.to_string()),
    }
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// Measures every endpoint.
pub fn measure(plan: &Plan) -> Vec<Measured> {
    let agent = agent();
    let base = plan.base.trim_end_matches('/');
    let ctx = prepare(&agent, base);
    Endpoint::ALL.into_iter().map(|endpoint| measure_one(&agent, base, endpoint, &ctx, plan)).collect()
}

fn measure_one(agent: &ureq::Agent, base: &str, endpoint: Endpoint, ctx: &Context, plan: &Plan) -> Measured {
    let (requests, concurrency) = match endpoint {
        Endpoint::Report => (plan.report_requests.min(plan.requests), 1),
        _ => (plan.requests, plan.concurrency.max(1)),
    };
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::with_capacity(requests as usize));
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| {
                // Opens this thread's connection, untimed.
                let _ = agent.get(&format!("{base}/health")).call().map(|mut r| r.body_mut().read_to_vec());
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i as u64 >= requests {
                        break;
                    }
                    mine.push(send(agent, base, endpoint, ctx, i));
                }
                outcomes.lock().expect("not poisoned").extend(mine);
            });
        }
    });
    let outcomes = outcomes.into_inner().expect("not poisoned");
    let mut timed = Vec::new();
    let (mut limited, mut errors, mut first_error) = (0u64, 0u64, None);
    for outcome in outcomes {
        match outcome {
            Outcome::Timed(ms) => timed.push(ms),
            Outcome::Limited => limited += 1,
            Outcome::Error(why) => {
                errors += 1;
                first_error.get_or_insert(why);
            }
        }
    }
    timed.sort_by(f64::total_cmp);
    let answered = requests - limited;
    Measured {
        endpoint: endpoint.name(),
        request: endpoint.describe(),
        requests,
        ok: timed.len() as u64,
        rate_limited: limited,
        errors,
        error_share: if answered == 0 { 0.0 } else { errors as f64 / answered as f64 },
        p50_ms: percentile(&timed, 50.0).map(round),
        p95_ms: percentile(&timed, 95.0).map(round),
        p99_ms: percentile(&timed, 99.0).map(round),
        first_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), Some(50.0));
        assert_eq!(percentile(&samples, 95.0), Some(95.0));
        assert_eq!(percentile(&samples, 99.0), Some(99.0));
        assert_eq!(percentile(&[3.0], 99.0), Some(3.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[1.0, 2.0], 0.0), Some(1.0));
    }

    #[test]
    fn names_round_trip_and_targets_follow_the_runbook() {
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::of(e.name()), Some(e));
        }
        assert_eq!(Endpoint::of("nope"), None);
        assert_eq!(Endpoint::PackRules.target_ms(), 2000.0);
        assert_eq!(Endpoint::Report.target_ms(), 1000.0);
        assert_eq!(Endpoint::Status.target_ms(), 5000.0);
    }
}
