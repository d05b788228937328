//! Metrics (Prometheus text format on their own listener) and structured JSON logs.
//!
//! Metric names (`docs/formats/report-api.md`, "Metrics"):
//! - `ferretwatch_http_requests_total{service,route,method,status}` and
//!   `ferretwatch_http_request_duration_seconds{service,route,method}` (histogram, with a
//!   bucket at 2 s, the pack download objective); `service` is [`service_of`] the route;
//! - `ferretwatch_reports_accepted_total{kind}`, `ferretwatch_reports_rejected_total{kind,reason}`;
//! - `ferretwatch_rate_limited_total{scope}`, `ferretwatch_captcha_total{result}`;
//! - `ferretwatch_origin_responses_total{result="not_modified"|"full"}` (the conditional
//!   hit ratio is `not_modified / (not_modified + full)`);
//! - `ferretwatch_pack_info{version}` (1 for the version served);
//! - `ferretwatch_db_pool_connections{state="open"|"idle"|"max"}`;
//! - `ferretwatch_store_up` (1 when the database answered a ping at the scrape, 0 not);
//! - with `[tls]`: `ferretwatch_tls_cert_not_after_seconds` and
//!   `ferretwatch_tls_reloads_total{result}` ([`crate::tls::reload`]);
//! - the process's own: `process_cpu_seconds_total`, `process_resident_memory_bytes`,
//!   `process_open_fds`, `process_threads`, `process_start_time_seconds`
//!   (`metrics-process`, read at each scrape).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle).
pub fn recorder() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0],
                )
                .expect("non-empty buckets")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (a test harness): then ours only
            // renders what we record through it, which is nothing; that is acceptable.
            let _ = metrics::set_global_recorder(recorder);
            zero_counters();
            handle
        })
        .clone()
}

/// Creates the counters whose label values are known at 0, so that the first refusal,
/// failure or telemetry body is a visible increase: a counter that first appears at 1 is
/// its first sample, and `rate()` cannot see it.
fn zero_counters() {
    for scope in ["ip", "install_token", "url", "url_network", "telemetry"] {
        metrics::counter!("ferretwatch_rate_limited_total", "scope" => scope).increment(0);
    }
    for result in ["passed", "failed", "unavailable"] {
        metrics::counter!("ferretwatch_captcha_total", "result" => result).increment(0);
    }
    for result in ["not_modified", "full"] {
        metrics::counter!("ferretwatch_origin_responses_total", "result" => result).increment(0);
    }
    for kind in ["report", "false_positive"] {
        metrics::counter!("ferretwatch_reports_accepted_total", "kind" => kind).increment(0);
    }
    metrics::counter!("ferretwatch_connections_refused_total").increment(0);
    crate::client_telemetry::zero_counters();
}

/// The service a route belongs to, as the runbook's service levels name them: `reports`
/// (report, false positive, install, telemetry), `packs` (the origin), `admin` (the console
/// and the admin API, the alert webhook), `health` (health, readiness, the API document, the
/// status page), `other` (no route).
pub fn service_of(route: &str) -> &'static str {
    match route {
        "/v1/report" | "/v1/false-positive" | "/v1/install" | "/v1/telemetry" => "reports",
        r if r.starts_with("/v1/") => "packs",
        r if r.starts_with("/admin") || r.starts_with("/api/") => "admin",
        "/health" | "/ready" | "/openapi.json" | "/status" | "/status.json" => "health",
        _ => "other",
    }
}

/// Counts and times every request by its service and route template (never the raw path,
/// so label cardinality stays bounded).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let service = service_of(&route);
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(
        "ferretwatch_http_request_duration_seconds",
        "service" => service, "route" => route.clone(), "method" => method.clone()
    )
    .record(started.elapsed().as_secs_f64());
    metrics::counter!(
        "ferretwatch_http_requests_total",
        "service" => service, "route" => route, "method" => method, "status" => status
    )
    .increment(1);
    response
}

/// A refusal that floods can produce by the thousand: never logged one by one.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    /// 429 `rate_limited`.
    RateLimited,
    /// A connection over `limits.max_connections_per_ip`, closed unread.
    Connections,
}

static RATE_LIMITED: AtomicU64 = AtomicU64::new(0);
static CONNECTIONS: AtomicU64 = AtomicU64::new(0);
static RATE_LIMITED_TOTAL: AtomicU64 = AtomicU64::new(0);
static CONNECTIONS_TOTAL: AtomicU64 = AtomicU64::new(0);

/// Refusals since this process started: (rate limited, connections refused), for the
/// console's dashboard.
pub fn refusal_totals() -> (u64, u64) {
    (RATE_LIMITED_TOTAL.load(Ordering::Relaxed), CONNECTIONS_TOTAL.load(Ordering::Relaxed))
}

/// Counts a refusal for the next summary line (metrics count it too).
pub fn count_refusal(kind: Refusal) {
    let (counter, total) = match kind {
        Refusal::RateLimited => (&RATE_LIMITED, &RATE_LIMITED_TOTAL),
        Refusal::Connections => (&CONNECTIONS, &CONNECTIONS_TOTAL),
    };
    counter.fetch_add(1, Ordering::Relaxed);
    total.fetch_add(1, Ordering::Relaxed);
}

/// Logs one line for the refusals counted since the last call, if any (the housekeeping
/// task calls it every few seconds: a flood costs a line per interval, not per request).
pub fn log_refusals(interval: Duration) {
    let limited = RATE_LIMITED.swap(0, Ordering::Relaxed);
    let connections = CONNECTIONS.swap(0, Ordering::Relaxed);
    if limited + connections > 0 {
        tracing::warn!(
            rate_limited = limited,
            connections_refused = connections,
            seconds = interval.as_secs(),
            "refused requests (one line per interval; see ferretwatch_rate_limited_total)"
        );
    }
}

/// The per-request log line: every response but the refusals [`count_refusal`] counts.
pub fn log_response(status: axum::http::StatusCode, latency: Duration) {
    if status == axum::http::StatusCode::TOO_MANY_REQUESTS {
        count_refusal(Refusal::RateLimited);
        return;
    }
    tracing::info!(status = status.as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "response");
}

/// `GET /metrics` on the metrics listener.
pub async fn render(State(state): State<AppState>) -> Response {
    static PROCESS: OnceLock<metrics_process::Collector> = OnceLock::new();
    PROCESS
        .get_or_init(|| {
            let collector = metrics_process::Collector::default();
            collector.describe();
            collector
        })
        .collect();
    let up = tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await.is_ok_and(|r| r.is_ok());
    metrics::gauge!("ferretwatch_store_up").set(if up { 1.0 } else { 0.0 });
    let pool = state.store.pool_stats();
    metrics::gauge!("ferretwatch_db_pool_connections", "state" => "open").set(f64::from(pool.size));
    metrics::gauge!("ferretwatch_db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("ferretwatch_db_pool_connections", "state" => "max").set(f64::from(pool.max));
    let handle = recorder();
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
}

/// Records the pack version served (1 for it, 0 for the one before).
pub fn set_pack_version(previous: Option<&str>, current: Option<&str>) {
    if let Some(previous) = previous {
        metrics::gauge!("ferretwatch_pack_info", "version" => previous.to_owned()).set(0.0);
    }
    if let Some(current) = current {
        metrics::gauge!("ferretwatch_pack_info", "version" => current.to_owned()).set(1.0);
    }
}

/// A log filter that is not `tracing` target syntax.
#[derive(Debug, thiserror::Error)]
#[error("log filter {filter:?}: {source}")]
pub struct LogFilterError {
    /// The filter as given.
    pub filter: String,
    /// Why it does not parse.
    pub source: tracing_subscriber::filter::ParseError,
}

/// Structured JSON logs on standard output, filtered by `tracing` target syntax.
/// Idempotent: a second call (tests) keeps the first subscriber.
pub fn init_logging(filter: &str) -> Result<(), LogFilterError> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let targets: tracing_subscriber::filter::Targets =
        filter.parse().map_err(|source| LogFilterError { filter: filter.to_owned(), source })?;
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .flatten_event(true);
    let _ = tracing_subscriber::registry().with(layer).with(targets).try_init();
    Ok(())
}
