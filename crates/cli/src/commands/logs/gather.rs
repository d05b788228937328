//! The parts of an evidence archive that come from elsewhere than the log: the console's
//! audit entries of the range (a signed export) and Prometheus's series over it.

use std::path::Path;
use std::time::Duration;

use ferretwatch_store::AuditEntry;
use ferretwatch_types::Timestamp;
use serde_json::Value;

use super::source::Window;
use crate::console::{signing_keys, with_store, DbArgs};
use crate::error::Failure;

/// The Prometheus range queries, by the file each answer is kept in.
pub const QUERIES: [(&str, &str); 5] = [
    ("requests_by_service", "sum by (service) (rate(ferretwatch_http_requests_total[5m]))"),
    ("errors_5xx_by_service", "sum by (service) (rate(ferretwatch_http_requests_total{status=~\"5..\"}[5m]))"),
    (
        "latency_p95_by_service",
        "histogram_quantile(0.95, sum by (service, le) (rate(ferretwatch_http_request_duration_seconds_bucket[5m])))",
    ),
    ("store_up", "ferretwatch_store_up"),
    ("alerts", "ALERTS"),
];

/// The console's audit entries in the range as a signed export; `None` when there are
/// none, an error (as a reason to note) when they cannot be read or signed.
pub fn audit_entries(db: &DbArgs, range: Window) -> Result<Option<Vec<u8>>, String> {
    let settings = db.settings().map_err(|e| e.to_string())?;
    let url = settings.db_url();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if !Path::new(path).exists() {
            return Err(format!("no database at {path} (give --config or --db, or FERRETWATCH_DATA_DIR)"));
        }
    }
    let keys = signing_keys(&settings, false).map_err(|e| e.to_string())?;
    // From the first entry in the range to the last, with any between them whose clock
    // says otherwise (several instances write the log): an unbroken run of the chain.
    // The log is read from its start, a page at a time; its entries are a few a day.
    let entries = with_store(&settings, async |store| {
        let mut kept: Vec<AuditEntry> = Vec::new();
        let mut last_in_range = 0;
        let mut after = 0;
        loop {
            let page = store.audit_after(after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            let full = page.len() == 1000;
            let mut past = false;
            for entry in page {
                // An hour past the range: no clock is that far off.
                if entry.at >= range.until.plus_secs(3600).as_millis() {
                    past = true;
                    break;
                }
                let inside = range.contains(Timestamp::from_millis(entry.at));
                if inside || !kept.is_empty() {
                    kept.push(entry);
                }
                if inside {
                    last_in_range = kept.len();
                }
            }
            if !full || past {
                break;
            }
        }
        kept.truncate(last_in_range);
        Ok(kept)
    })
    .map_err(|Failure(e)| e.to_string())?;
    if entries.is_empty() {
        return Ok(None);
    }
    super::super::audit::signed_export(&entries, &keys, Timestamp::now()).map(Some).map_err(|e| e.to_string())
}

/// One range query; Prometheus's answer as it came.
pub fn range_query(base: &str, query: &str, range: Window, step: u64) -> Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let url = format!("{}/api/v1/query_range", base.trim_end_matches('/'));
    let mut response = agent
        .get(&url)
        .query("query", query)
        .query("start", range.since.as_secs().to_string())
        .query("end", range.until.as_secs().to_string())
        .query("step", format!("{step}s"))
        .call()
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let body = response.body_mut().with_config().limit(64 << 20).read_to_vec().map_err(|e| format!("{url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}: {}", String::from_utf8_lossy(&body[..body.len().min(200)])));
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(answer) if answer["status"] == "success" => Ok(body),
        _ => Err(format!("{url}: not a successful Prometheus answer")),
    }
}
