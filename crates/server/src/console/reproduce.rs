//! Reproductions (`docs/reproduce.md`): a Reviewer has the server fetch a reported URL in
//! headless Chromium behind the egress guard, scan the rendered page with the reporter's
//! pack version and the current one, and keep the summary, screenshot and DOM as
//! artifacts. At most [`MAX_RUNNING`] run at once in this process; each is audited.

use std::path::PathBuf;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ferretwatch_pack_publisher::origin::{open_store, Store};
use ferretwatch_reproduce::artifacts::{self, Summary};
use ferretwatch_reproduce::scan::{self, Comparison, Reported};
use ferretwatch_reproduce::{reproduce, Guard, Limits, ReproduceError};
use ferretwatch_store::{Page, UrlHash};
use ferretwatch_types::Timestamp;
use tokio::sync::Semaphore;

use super::error::ConsoleError;
use super::session::{Signed, Triage};
use super::views::{render, time, ErrorPage, Nav};
use crate::settings::Settings;
use crate::state::AppState;

/// Reproductions running at once, at most (each is a browser: memory and CPU).
pub const MAX_RUNNING: usize = 2;

/// The permits of running reproductions, shared by the process (one server per process).
static RUNNING: Semaphore = Semaphore::const_new(MAX_RUNNING);

/// The artifact store in force.
fn artifact_store(settings: &Settings) -> Result<Store, ConsoleError> {
    let url =
        settings.console.artifacts.clone().unwrap_or_else(|| settings.data_dir.join("artifacts").display().to_string());
    open_store(&url, &settings.server.s3_options()).map_err(|e| ConsoleError::Internal(format!("artifacts: {e}")))
}

/// The root of trust packs are verified against: `server.root`, else the development root.
fn root_path(settings: &Settings) -> PathBuf {
    settings.server.root.clone().unwrap_or_else(|| settings.data_dir.join(crate::dev::DEV_KEYS_DIR).join("root.json"))
}

fn busy(signed: &Signed<Triage>) -> Response {
    let mut response = render(
        StatusCode::TOO_MANY_REQUESTS,
        &ErrorPage {
            nav: Some(Nav::new(&signed.viewer, "/admin/reports")),
            flash: None,
            title: "Busy".into(),
            message: format!("{MAX_RUNNING} reproductions are running already. Try again in a minute."),
            elevate_to: None,
            back: "/admin/reports".into(),
        },
    );
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    response
}

/// `POST /admin/reports/{hash}/reproduce`: reproduces the reported URL and shows the
/// result.
pub async fn run(
    State(state): State<AppState>,
    signed: Signed<Triage>,
    Path(hash): Path<String>,
) -> Result<Response, ConsoleError> {
    let url_hash = UrlHash::from_hex(&hash).map_err(|_| ConsoleError::NotFound)?;
    let entry = state.store.get_moderation(&url_hash).await?;
    let newest = state.store.list_reports_for_url(&url_hash, Page::first(1)).await?.items.into_iter().next();
    let url =
        url::Url::parse(&entry.url).map_err(|e| ConsoleError::BadRequest(format!("The URL does not parse: {e}")))?;
    let Ok(_permit) = RUNNING.try_acquire() else { return Ok(busy(&signed)) };

    let settings = state.settings.clone();
    let limits = Limits {
        time: Duration::from_secs(u64::from(settings.console.reproduce_seconds.clamp(1, 120))),
        ..Limits::default()
    };
    let guard = Guard { allow_loopback: settings.console.reproduce_allow_loopback, loopback_ports: Vec::new() };
    let reproduction = reproduce(&url, &limits, guard).await.map_err(|e| match e {
        ReproduceError::Url(why) => ConsoleError::BadRequest(why),
        other => ConsoleError::Internal(format!("reproduction: {other}")),
    })?;

    let now = Timestamp::now();
    let (comparison, comparison_error) = match &newest {
        None => (None, Some("The group has no report to compare with.".to_owned())),
        Some(report) => {
            let reported = Reported {
                pack_version: report.pack_version.clone(),
                keys: report.findings.iter().map(|f| f.key().to_owned()).collect(),
                score: Some(report.score),
            };
            compare(&settings, reported, &reproduction, now).await
        }
    };
    let id = artifacts::new_id(now);
    let summary = Summary {
        id: id.clone(),
        created_ms: now.as_millis(),
        actor: signed.viewer.actor(),
        url_hash: Some(hash.clone()),
        reproduction,
        comparison,
        comparison_error,
        reporter_reason: newest.as_ref().map(|n| match n.reason.text() {
            Some(text) => format!("{}: {text}", n.reason.code()),
            None => n.reason.code().to_owned(),
        }),
    };
    let store = artifact_store(&settings)?;
    let r = &summary.reproduction;
    artifacts::write(&store, &summary, &r.dom_html, &r.screenshot_png)
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let audit = signed.viewer.audit_entry(
        "report.reproduced",
        &hash,
        serde_json::json!({
            "reproduction": id,
            "final_url": r.final_url,
            "dom_sha256": r.dom_sha256,
            "refused": r.refused.len(),
            "timed_out": r.timed_out,
            "pack_version": newest.as_ref().map(|n| n.pack_version.clone()),
        }),
    );
    state.store.append_audit(state.console.audited(&audit)).await?;
    Ok(Redirect::to(&format!("/admin/reproductions/{id}")).into_response())
}

/// Scans the reproduced page with the reporter's pack version and the current one.
async fn compare(
    settings: &Settings,
    reported: Reported,
    reproduction: &ferretwatch_reproduce::Reproduction,
    now: Timestamp,
) -> (Option<Comparison>, Option<String>) {
    let root_path = root_path(settings);
    let root = match std::fs::read(&root_path) {
        Ok(root) => root,
        Err(e) => return (None, Some(format!("The root of trust {} is unreadable: {e}", root_path.display()))),
    };
    let origin = settings.origin_url();
    let s3 = settings.server.s3_options();
    let html = reproduction.dom_html.clone();
    let page_url = if reproduction.final_url.starts_with("http") {
        reproduction.final_url.clone()
    } else {
        reproduction.requested_url.clone()
    };
    // The pack library blocks on its own runtime: not on this one.
    let job = tokio::task::spawn_blocking(move || scan::compare(&origin, &s3, &root, &reported, &html, &page_url, now));
    match job.await {
        Ok(comparison) => (Some(comparison), None),
        Err(e) => (None, Some(format!("The scan failed: {e}"))),
    }
}

/// One scan as shown.
#[derive(Debug)]
pub struct SideView {
    /// Which.
    pub label: &'static str,
    /// The pack version.
    pub version: String,
    /// Level and score, or why there is none.
    pub verdict: String,
    /// (key, evidence).
    pub findings: Vec<(String, String)>,
}

/// The result page.
#[derive(Template)]
#[template(path = "console/reproduction.html")]
pub struct ReproductionPage {
    /// The header.
    pub nav: Option<Nav>,
    /// No flash.
    pub flash: Option<String>,
    /// The reproduction's id.
    pub id: String,
    /// When and by whom.
    pub when: String,
    /// Who asked.
    pub actor: String,
    /// The report group's hash.
    pub url_hash: Option<String>,
    /// The summary.
    pub summary: Summary,
    /// Connections the page asked for that the guard refused.
    pub page_refused: Vec<ferretwatch_reproduce::Refusal>,
    /// Hosts of the browser's own refused background connections, once each.
    pub background_refused: Vec<String>,
    /// Whether there is a screenshot.
    pub screenshot: bool,
    /// The reporter's findings (keys).
    pub reporter_keys: Vec<String>,
    /// The reporter's score.
    pub reporter_score: String,
    /// The scans.
    pub sides: Vec<SideView>,
    /// (label, added, removed, kept).
    pub diffs: Vec<(&'static str, String, String, String)>,
    /// Why there is no comparison.
    pub comparison_error: Option<String>,
}

fn side_view(label: &'static str, side: &scan::Side) -> SideView {
    match &side.scan {
        Some(s) => SideView {
            label,
            version: s.version.clone(),
            verdict: format!("{} ({})", s.level, s.score),
            findings: s.findings.iter().map(|f| (f.key.clone(), f.evidence.clone())).collect(),
        },
        None => SideView {
            label,
            version: side.version.clone(),
            verdict: side.error.clone().unwrap_or_else(|| "no verdict".into()),
            findings: Vec::new(),
        },
    }
}

fn list(keys: &[String]) -> String {
    if keys.is_empty() {
        "none".into()
    } else {
        keys.join(", ")
    }
}

/// `GET /admin/reproductions/{id}`.
pub async fn page(
    State(state): State<AppState>,
    signed: Signed<Triage>,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    if !artifacts::is_id(&id) {
        return Err(ConsoleError::NotFound);
    }
    let store = artifact_store(&state.settings)?;
    let summary = artifacts::read_summary(&store, &id)
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?
        .ok_or(ConsoleError::NotFound)?;
    let screenshot = artifacts::read(&store, &id, "screenshot.png")
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?
        .is_some();
    let (reporter_keys, reporter_score, sides, diffs) = match &summary.comparison {
        Some(c) => (
            c.reporter_keys.clone(),
            c.reporter_score.map_or_else(|| "unknown".into(), |s| s.to_string()),
            vec![
                side_view("With the reporter's pack version", &c.at_reporter_version),
                side_view("With the current pack", &c.at_current),
            ],
            vec![
                (
                    "Reporter → reproduced (same pack version)",
                    list(&c.reporter_to_reproduced.added),
                    list(&c.reporter_to_reproduced.removed),
                    list(&c.reporter_to_reproduced.kept),
                ),
                (
                    "Reporter's version → current version",
                    list(&c.reproduced_to_current.added),
                    list(&c.reproduced_to_current.removed),
                    list(&c.reproduced_to_current.kept),
                ),
            ],
        ),
        None => (Vec::new(), "unknown".into(), Vec::new(), Vec::new()),
    };
    let page = ReproductionPage {
        nav: Some(Nav::new(&signed.viewer, "/admin/reports")),
        flash: None,
        when: time(Timestamp::from_millis(summary.created_ms)),
        actor: summary.actor.clone(),
        url_hash: summary.url_hash.clone(),
        comparison_error: summary.comparison_error.clone(),
        id,
        screenshot,
        reporter_keys,
        reporter_score,
        sides,
        diffs,
        page_refused: summary.reproduction.refused.iter().filter(|r| r.by_page).cloned().collect(),
        background_refused: summary
            .reproduction
            .refused
            .iter()
            .filter(|r| !r.by_page)
            .map(|r| r.host.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        summary,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /admin/reproductions/{id}/screenshot.png`: the screenshot, for the result page
/// (the console's CSP allows images from its own origin only).
pub async fn screenshot(
    State(state): State<AppState>,
    _signed: Signed<Triage>,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let store = artifact_store(&state.settings)?;
    let bytes = artifacts::read(&store, &id, "screenshot.png")
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?
        .ok_or(ConsoleError::NotFound)?;
    let mut response = bytes.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    Ok(response)
}
