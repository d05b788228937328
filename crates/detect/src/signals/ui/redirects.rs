//! Redirects: to unrelated domains, and evasive landers that hide where and whom they send.

use super::forms::looks_like_email;
use crate::domain::{resolve_host, Target};
use crate::html::PageFacts;
use crate::rules::Key;
use crate::verdict::Signal;

/// Redirect landers hide where they send people and whom they send: the target is decoded at
/// run time, crawlers get another page, or the visitor's address travels along.
pub(super) fn evasive_redirect(target: &Target, facts: &PageFacts, out: &mut Vec<Signal>) {
    let script = facts.inline_scripts.as_str();
    let literal: Vec<String> =
        facts.script_redirects.iter().cloned().chain(facts.meta_refresh.iter().map(|(u, _)| u.clone())).collect();
    let navigates_by_script = [
        "location.replace(",
        "location.href=",
        "location.href =",
        "location.assign(",
        "location=",
        "location =",
        ".submit()",
    ]
    .iter()
    .any(|p| script.contains(p));
    if literal.is_empty() && !navigates_by_script {
        return;
    }
    // Only same-site literal targets and nothing computed: an ordinary internal redirect.
    let all_same_site = !literal.is_empty()
        && literal.iter().all(|u| resolve_host(&target.url, u).is_none_or(|h| target.same_site(&h)));
    let decodes = ["atob(", "fromCharCode", "unescape("].iter().any(|p| script.contains(p));
    if all_same_site && !decodes && !script.contains(".submit()") {
        return;
    }
    let mut traits = Vec::new();
    if decodes {
        traits.push("decodes its target at run time");
    }
    let lower_script = script.to_ascii_lowercase();
    let crawler_names =
        ["bot|", "|bot", "googlebot", "bingbot", "crawl", "spider", "headless", "slurp", "facebookexternalhit"];
    if (lower_script.contains("navigator.useragent") && crawler_names.iter().any(|w| lower_script.contains(w)))
        || script.contains("navigator.webdriver")
    {
        traits.push("shows crawlers another page");
    }
    let forwards_identity = literal.iter().any(|u| carries_email(u))
        || (script.contains("location.hash") && navigates_by_script)
        || (script.contains(".submit()") && facts.inputs().any(|i| i.kind == "hidden" && looks_like_email(&i.value)));
    if forwards_identity {
        traits.push("forwards the visitor's email address");
    }
    let confidence = match traits.len() {
        0 => return,
        1 => 600,
        _ => 900,
    };
    out.push(Signal::new(Key::evasive_redirect, confidence, format!("the page redirects and {}", traits.join(", "))));
}

/// Whether a URL carries an email address in its query or fragment (plain or %40-encoded).
fn carries_email(url: &str) -> bool {
    let Some((_, tail)) = url.split_once(['?', '#']) else { return false };
    tail.split(['&', '=', '#', '?']).any(|part| looks_like_email(&part.replace("%40", "@")))
}

pub(super) fn redirects(target: &Target, facts: &PageFacts, out: &mut Vec<Signal>) {
    let mut candidates: Vec<(String, u16, &str)> = Vec::new();
    if let Some((url, delay)) = &facts.meta_refresh {
        candidates.push((url.clone(), if *delay <= 5 { 700 } else { 400 }, "meta refresh"));
    }
    for url in facts.script_redirects.iter().cloned() {
        candidates.push((url, 500, "script redirect"));
    }
    for (url, confidence, how) in candidates {
        let Some(host) = resolve_host(&target.url, &url) else { continue };
        if !target.same_site(&host) {
            out.push(Signal::new(
                Key::redirect_unrelated_domain,
                confidence,
                format!("{how} to {host}, unrelated to {}", target.registrable()),
            ));
            return;
        }
    }
}
