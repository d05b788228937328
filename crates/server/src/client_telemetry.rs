//! The privacy-preserving client telemetry intake (`docs/formats/telemetry.md`):
//! `POST /v1/telemetry` takes one period's aggregates from a client — counts, fixed
//! histogram buckets, a peak and a mean — and adds them to Prometheus counters. Nothing
//! is stored, and nothing identifies anyone: no URL, no host, no identifier is in the
//! format (unknown fields are refused), and the install token that authenticates the call
//! is only used to bound how often one install may send.
//!
//! Bounds: 12 bodies per install and 120 per client network per hour
//! (429 beyond, with `Retry-After`); every count at most 10 000 000; a period of 1 minute
//! to 1 day.

use std::collections::BTreeMap;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode};
use crate::extract::{parse_json, read_json_bytes, ClientIp};
use crate::state::AppState;

/// The largest count a body may carry.
pub const MAX_COUNT: u64 = 10_000_000;
/// The error kinds a client counts.
pub const ERROR_KINDS: [&str; 5] = ["pack_download", "pack_verify", "engine", "report_submit", "storage"];
/// The detection latency buckets, in milliseconds (the last is everything slower).
pub const LATENCY_BUCKETS_MS: [&str; 6] = ["10", "50", "100", "250", "1000", "+Inf"];
/// The extension's budgets (runbook 2.2): memory in MB and CPU in percent.
pub const MEMORY_BUDGET_MB: u32 = 100;
/// See [`MEMORY_BUDGET_MB`].
pub const CPU_BUDGET_PERCENT: f64 = 10.0;

/// Verdicts by level.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Detections {
    /// Pages left green.
    pub green: u64,
    /// Pages warned yellow.
    pub yellow: u64,
    /// Pages warned red.
    pub red: u64,
}

/// One period's aggregates from one client.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TelemetryRequest {
    /// 1.
    pub format: u32,
    /// The seconds the aggregates cover (60 to 86 400).
    pub period_seconds: u32,
    /// The extension's version (MAJOR.MINOR.PATCH).
    pub extension_version: String,
    /// Browser sessions started in the period.
    pub sessions: u64,
    /// Sessions that ended in a crash of the extension.
    pub crashes: u64,
    /// Pages the engine was asked to scan.
    pub page_loads: u64,
    /// Verdicts by level.
    pub detections: Detections,
    /// Scans that failed (no verdict).
    pub detection_failures: u64,
    /// Scan latency: the number of scans in each bucket (keys from
    /// [`LATENCY_BUCKETS_MS`]: at most 10 ms, 50, 100, 250, 1000, slower), not cumulative.
    #[schema(value_type = Object)]
    pub detection_latency_ms: BTreeMap<String, u64>,
    /// Errors by kind (keys from [`ERROR_KINDS`]).
    #[schema(value_type = Object)]
    pub errors: BTreeMap<String, u64>,
    /// False-positive reports the user sent.
    pub false_positive_reports: u64,
    /// Age of the installed pack at the end of the period, in seconds.
    pub pack_age_seconds: u64,
    /// The extension's peak memory in the period, MB.
    pub memory_peak_mb: u32,
    /// The extension's mean CPU use in the period, percent of one core.
    pub cpu_mean_percent: f64,
}

/// The pack-age buckets, in hours.
const PACK_AGE_HOURS: [(u64, &str); 4] = [(6, "6"), (24, "24"), (72, "72"), (u64::MAX, "+Inf")];

impl TelemetryRequest {
    /// Checks the bounds; the reason names the field.
    pub fn check(&self) -> Result<(), String> {
        if self.format != 1 {
            return Err(format!("format {}: only 1", self.format));
        }
        if !(60..=86_400).contains(&self.period_seconds) {
            return Err("period_seconds: 60 to 86400".into());
        }
        let version_ok = self.extension_version.len() <= 32
            && self.extension_version.split('.').count() == 3
            && self.extension_version.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !version_ok {
            return Err("extension_version: MAJOR.MINOR.PATCH".into());
        }
        let counts = [
            ("sessions", self.sessions),
            ("crashes", self.crashes),
            ("page_loads", self.page_loads),
            ("detections.green", self.detections.green),
            ("detections.yellow", self.detections.yellow),
            ("detections.red", self.detections.red),
            ("detection_failures", self.detection_failures),
            ("false_positive_reports", self.false_positive_reports),
        ];
        for (name, value) in counts {
            if value > MAX_COUNT {
                return Err(format!("{name}: at most {MAX_COUNT}"));
            }
        }
        if self.crashes > self.sessions {
            return Err("crashes: at most sessions".into());
        }
        let verdicts = self.detections.green + self.detections.yellow + self.detections.red;
        if verdicts + self.detection_failures > self.page_loads {
            return Err("detections and detection_failures: at most page_loads together".into());
        }
        for (map, allowed, name) in [
            (&self.detection_latency_ms, &LATENCY_BUCKETS_MS[..], "detection_latency_ms"),
            (&self.errors, &ERROR_KINDS[..], "errors"),
        ] {
            if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(format!(
                    "{name}: unknown key {:?} (one of {})",
                    key.chars().take(40).collect::<String>(),
                    allowed.join(", ")
                ));
            }
            if map.values().any(|v| *v > MAX_COUNT) {
                return Err(format!("{name}: each count at most {MAX_COUNT}"));
            }
        }
        if self.detection_latency_ms.values().sum::<u64>() > self.page_loads {
            return Err("detection_latency_ms: at most page_loads scans".into());
        }
        if self.pack_age_seconds > 365 * 86_400 {
            return Err("pack_age_seconds: at most a year".into());
        }
        if self.memory_peak_mb > 65_536 {
            return Err("memory_peak_mb: at most 65536".into());
        }
        if !(0.0..=6400.0).contains(&self.cpu_mean_percent) {
            return Err("cpu_mean_percent: 0 to 6400".into());
        }
        Ok(())
    }

    /// Adds the body to the counters.
    fn record(&self) {
        let add = |name: &'static str, value: u64| metrics::counter!(name).increment(value);
        metrics::counter!("ferretwatch_client_reports_total").increment(1);
        add("ferretwatch_client_sessions_total", self.sessions);
        add("ferretwatch_client_crashes_total", self.crashes);
        add("ferretwatch_client_page_loads_total", self.page_loads);
        add("ferretwatch_client_detection_failures_total", self.detection_failures);
        add("ferretwatch_client_false_positive_reports_total", self.false_positive_reports);
        for (level, count) in
            [("green", self.detections.green), ("yellow", self.detections.yellow), ("red", self.detections.red)]
        {
            metrics::counter!("ferretwatch_client_detections_total", "level" => level).increment(count);
        }
        for kind in ERROR_KINDS {
            let count = self.errors.get(kind).copied().unwrap_or(0);
            metrics::counter!("ferretwatch_client_errors_total", "kind" => kind).increment(count);
        }
        // Cumulative buckets, as Prometheus histograms have them.
        let mut cumulative = 0;
        for le in LATENCY_BUCKETS_MS {
            cumulative += self.detection_latency_ms.get(le).copied().unwrap_or(0);
            metrics::counter!("ferretwatch_client_detection_latency_ms_bucket", "le" => le).increment(cumulative);
        }
        let age_hours = self.pack_age_seconds / 3600;
        for (hours, le) in PACK_AGE_HOURS {
            let within = u64::from(age_hours < hours);
            metrics::counter!("ferretwatch_client_pack_age_hours_bucket", "le" => le).increment(within);
        }
        let over = |over: bool| if over { "true" } else { "false" };
        metrics::counter!("ferretwatch_client_memory_reports_total", "over_budget" => over(self.memory_peak_mb > MEMORY_BUDGET_MB))
            .increment(1);
        metrics::counter!("ferretwatch_client_cpu_reports_total", "over_budget" => over(self.cpu_mean_percent > CPU_BUDGET_PERCENT))
            .increment(1);
    }
}

/// Creates the client counters at 0 (see `telemetry::zero_counters`).
pub fn zero_counters() {
    for name in [
        "ferretwatch_client_reports_total",
        "ferretwatch_client_sessions_total",
        "ferretwatch_client_crashes_total",
        "ferretwatch_client_page_loads_total",
        "ferretwatch_client_detection_failures_total",
        "ferretwatch_client_false_positive_reports_total",
    ] {
        metrics::counter!(name).increment(0);
    }
    for over in ["true", "false"] {
        metrics::counter!("ferretwatch_client_memory_reports_total", "over_budget" => over).increment(0);
        metrics::counter!("ferretwatch_client_cpu_reports_total", "over_budget" => over).increment(0);
    }
}

/// Takes one period's aggregates (see the module documentation).
#[utoipa::path(post, path = "/v1/telemetry", tag = "reports", request_body = TelemetryRequest,
    params(("x-install-token" = String, Header, description = "The install token from POST /v1/install")),
    responses(
        (status = 204, description = "Counted"),
        (status = 400, description = "Not JSON", body = crate::error::ErrorBody),
        (status = 401, description = "Install token missing, invalid or expired", body = crate::error::ErrorBody),
        (status = 413, description = "Body over the limit", body = crate::error::ErrorBody),
        (status = 415, description = "Not application/json", body = crate::error::ErrorBody),
        (status = 422, description = "A field is refused", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limited (see Retry-After)", body = crate::error::ErrorBody,
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    ))]
pub async fn receive(State(state): State<AppState>, ClientIp(ip): ClientIp, req: Request) -> Response {
    use crate::degradation::{Admission, Gate};
    if state.degradation.admission(Gate::Telemetry) == Admission::Shed {
        return crate::degradation::shed_response(&state, req).await;
    }
    match accept(&state, ip, req).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => {
            metrics::counter!("ferretwatch_client_telemetry_rejected_total", "reason" => err.code()).increment(1);
            err.into_response()
        }
    }
}

async fn accept(state: &AppState, ip: std::net::IpAddr, req: Request) -> Result<(), ApiError> {
    let install = crate::report_api::verify_install(state, req.headers())?;
    let net = ferretwatch_store::ClientNet::from_ip(ip);
    let throttle = &state.console.telemetry;
    let hour = std::time::Duration::from_secs(3600);
    for (key, count) in
        [(format!("telemetry:net:{}", net.as_str()), 120), (format!("telemetry:install:{}", install.id), 12)]
    {
        if let Err(wait) = throttle.check_rate(&key, count, hour) {
            metrics::counter!("ferretwatch_rate_limited_total", "scope" => "telemetry").increment(1);
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                "at most 12 telemetry bodies an hour per install and 120 per network; retry later",
            )
            .retry_after(wait));
        }
    }
    let bytes = read_json_bytes(req, &state.settings.limits).await?;
    let body: TelemetryRequest = parse_json(&bytes)?;
    body.check().map_err(|why| ApiError::new(ErrorCode::InvalidField, why))?;
    body.record();
    Ok(())
}
