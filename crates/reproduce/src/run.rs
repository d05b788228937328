//! One reproduction, start to finish, under one hard time cap.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::time::Instant;
use url::Url;

use crate::browser::Browser;
use crate::cdp::{Cdp, CdpError, Event};
use crate::proxy::{Proxy, ProxyLog};
use crate::{Guard, Hop, Limits, Refusal, ReproduceError, Reproduction};

/// What the driver collected so far (kept when the time cap cuts it short).
#[derive(Debug, Default)]
struct Collected {
    chain: Vec<Hop>,
    final_url: Option<String>,
    dom_html: String,
    screenshot_png: Vec<u8>,
    /// The page did not fire its load event within its share of the time.
    load_timed_out: bool,
    /// The main document failed (`net::ERR_…`).
    failure: Option<String>,
    /// The hosts of every request the page made (documents and subresources).
    page_hosts: std::collections::BTreeSet<String>,
}

/// Checks that `url` is one to reproduce: http or https, with a host, no credentials.
fn check_url(url: &Url) -> Result<(), ReproduceError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ReproduceError::Url(format!("only http and https URLs are reproduced, not {}:", url.scheme())));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ReproduceError::Url("a URL with credentials is not reproduced".into()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ReproduceError::Url("the URL has no host".into()));
    }
    Ok(())
}

/// Fetches `url` in headless Chromium behind an egress proxy that applies `guard`, and
/// returns the redirect chain, refusals, rendered DOM and screenshot. The whole run is
/// bounded by `limits.time`: on expiry the browser is killed and what was collected is
/// returned with `timed_out`. Whatever happens, no browser process survives the call and
/// its profile is removed.
pub async fn reproduce(url: &Url, limits: &Limits, guard: Guard) -> Result<Reproduction, ReproduceError> {
    check_url(url)?;
    let started = Instant::now();
    let deadline = started + limits.time;
    let proxy = Proxy::start(guard, limits.max_bytes).await?;
    let mut browser = Browser::launch(&limits.chromium, limits.scratch_dir.as_deref(), proxy.addr())?;
    let mut collected = Collected::default();
    // The page gets most of the time to load; the rest is for the screenshot and the DOM.
    let load_deadline = started + limits.time.mul_f32(0.65);
    let outcome = tokio::time::timeout_at(
        deadline,
        drive(&mut browser, proxy.log(), url, limits, &mut collected, load_deadline, deadline),
    )
    .await;
    browser.kill();
    drop(browser);
    let log = proxy.log().clone();
    drop(proxy);

    let timed_out = outcome.is_err() || collected.load_timed_out;
    let mut errors = Vec::new();
    if log.cap_reached() {
        errors.push(format!("the transfer cap of {} bytes was reached", limits.max_bytes));
    }
    match outcome {
        Ok(Err(DriveError::Launch(e))) => return Err(e),
        Ok(Err(DriveError::Cdp(e))) => errors.push(e.to_string()),
        _ => {}
    }
    if let Some(failure) = collected.failure.take() {
        errors.push(format!("the page failed to load: {failure}"));
    }
    let dom_sha256 = hex::encode(Sha256::digest(collected.dom_html.as_bytes()));
    Ok(Reproduction {
        requested_url: url.to_string(),
        final_url: collected
            .final_url
            .or_else(|| collected.chain.last().map(|h| h.url.clone()))
            .unwrap_or_else(|| url.to_string()),
        chain: collected.chain,
        proxied: log.requests(),
        refused: log
            .refused()
            .into_iter()
            .map(|r| Refusal { by_page: collected.page_hosts.contains(&r.host), ..r })
            .collect(),
        dom_html: collected.dom_html,
        dom_sha256,
        screenshot_png: collected.screenshot_png,
        bytes_transferred: log.bytes(),
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        timed_out,
        error: (!errors.is_empty()).then(|| errors.join("; ")),
    })
}

enum DriveError {
    Launch(ReproduceError),
    Cdp(CdpError),
}

impl From<CdpError> for DriveError {
    fn from(e: CdpError) -> Self {
        DriveError::Cdp(e)
    }
}

/// Records the main document's redirects and responses.
fn record(collected: &mut Collected, frame: &str, session: &str, event: &Event) {
    if event.session.as_deref() != Some(session) {
        return;
    }
    let p = &event.params;
    if event.method == "Network.requestWillBeSent" {
        let host = p.pointer("/request/url").and_then(Value::as_str).and_then(|u| Url::parse(u).ok());
        if let Some(host) = host.as_ref().and_then(Url::host_str) {
            collected.page_hosts.insert(host.trim_start_matches('[').trim_end_matches(']').to_owned());
        }
    }
    let is_main_document = p.get("type").and_then(Value::as_str) == Some("Document")
        && p.get("frameId").and_then(Value::as_str) == Some(frame);
    if !is_main_document {
        return;
    }
    let hop_of = |response: &Value| {
        Some(Hop {
            url: response.get("url")?.as_str()?.to_owned(),
            status: u16::try_from(response.get("status")?.as_f64()? as u64).ok()?,
        })
    };
    match event.method.as_str() {
        "Network.requestWillBeSent" => {
            if let Some(hop) = p.get("redirectResponse").and_then(hop_of) {
                collected.chain.push(hop);
            }
        }
        "Network.responseReceived" => {
            if let Some(hop) = p.get("response").and_then(hop_of) {
                collected.chain.push(hop);
            }
        }
        "Network.loadingFailed" => {
            let text = p.get("errorText").and_then(Value::as_str).unwrap_or("failed");
            collected.failure = Some(text.to_owned());
        }
        _ => {}
    }
}

async fn drive(
    browser: &mut Browser,
    log: &ProxyLog,
    url: &Url,
    limits: &Limits,
    collected: &mut Collected,
    load_deadline: Instant,
    deadline: Instant,
) -> Result<(), DriveError> {
    let ws = browser.devtools_url(deadline).await.map_err(DriveError::Launch)?;
    let mut cdp = Cdp::connect(&ws).await?;
    let mut ignore = |_: Event| {};
    let target = cdp.call("Target.createTarget", json!({ "url": "about:blank" }), None, &mut ignore).await?;
    let target_id = target.get("targetId").and_then(Value::as_str).unwrap_or_default().to_owned();
    let attached =
        cdp.call("Target.attachToTarget", json!({ "targetId": target_id, "flatten": true }), None, &mut ignore).await?;
    let session = attached.get("sessionId").and_then(Value::as_str).unwrap_or_default().to_owned();
    let s = Some(session.as_str());
    cdp.call("Network.enable", json!({}), s, &mut ignore).await?;
    cdp.call("Page.enable", json!({}), s, &mut ignore).await?;
    // Nothing is cached or kept: each reproduction starts as a first visit.
    cdp.call("Network.setCacheDisabled", json!({ "cacheDisabled": true }), s, &mut ignore).await?;

    // The main frame of a page target has the target's id.
    let frame = target_id.clone();
    let mut loaded = false;
    {
        let mut on_event = |event: Event| {
            if event.method == "Page.loadEventFired" && event.session.as_deref() == Some(session.as_str()) {
                loaded = true;
            }
            record(collected, &frame, &session, &event);
        };
        let navigated = cdp.call("Page.navigate", json!({ "url": url.as_str() }), s, &mut on_event).await?;
        if let Some(error) = navigated.get("errorText").and_then(Value::as_str) {
            tracing::info!(%error, "reproduction: navigation failed");
        }
    }
    // Wait for the load event, the load deadline, or the byte cap (checked a few times a
    // second: past it, nothing more will arrive).
    while !loaded && !log.cap_reached() {
        let tick = (Instant::now() + Duration::from_millis(250)).min(load_deadline);
        match tokio::time::timeout_at(tick, cdp.next_event()).await {
            Err(_) if Instant::now() >= load_deadline => {
                collected.load_timed_out = true;
                break;
            }
            Err(_) => continue,
            Ok(event) => {
                let event = event?;
                if event.method == "Page.loadEventFired" && event.session.as_deref() == Some(session.as_str()) {
                    loaded = true;
                }
                record(collected, &frame, &session, &event);
            }
        }
    }
    let history = cdp.call("Page.getNavigationHistory", json!({}), s, &mut ignore).await?;
    let current = history.get("currentIndex").and_then(Value::as_u64).unwrap_or(0) as usize;
    collected.final_url = history
        .get("entries")
        .and_then(|e| e.get(current))
        .and_then(|e| e.get("url"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let shot = cdp.call("Page.captureScreenshot", json!({ "format": "png" }), s, &mut ignore).await?;
    if let Some(data) = shot.get("data").and_then(Value::as_str) {
        collected.screenshot_png = base64::engine::general_purpose::STANDARD.decode(data).unwrap_or_default();
    }
    let dom = cdp
        .call(
            "Runtime.evaluate",
            json!({ "expression": "document.documentElement ? document.documentElement.outerHTML : ''", "returnByValue": true }),
            s,
            &mut ignore,
        )
        .await?;
    let html = dom.pointer("/result/value").and_then(Value::as_str).unwrap_or_default();
    collected.dom_html = truncate(html, limits.max_dom_bytes).to_owned();
    Ok(())
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_web_urls_without_credentials_are_reproduced() {
        let ok = |u: &str| check_url(&Url::parse(u).unwrap()).is_ok();
        assert!(ok("https://example.com/login"));
        assert!(ok("http://example.com:8080/"));
        assert!(!ok("file:///etc/passwd"));
        assert!(!ok("javascript:alert(1)"));
        assert!(!ok("data:text/html,hi"));
        assert!(!ok("ftp://example.com/"));
        assert!(!ok("https://user:pw@example.com/"));
        assert!(!ok("https://user@example.com/"));
    }

    #[test]
    fn a_reproduction_can_run_on_any_worker_thread() {
        fn send<T: Send>(_: &T) {}
        let url = Url::parse("https://example.com/").unwrap();
        let limits = Limits::default();
        send(&reproduce(&url, &limits, Guard::strict()));
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
