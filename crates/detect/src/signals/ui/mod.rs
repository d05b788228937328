//! Phishing UI heuristics from the page's HTML facts: where credentials are posted, what
//! hidden fields carry, data: URLs, obfuscated script, brand titles on foreign hosts,
//! lure phrases and redirects to unrelated domains.

mod brand;
mod forms;
mod redirects;
mod scripts;

use aho_corasick::AhoCorasick;

use crate::brands::BrandIndex;
use crate::domain::{resolve_host, Target};
use crate::html::PageFacts;
use crate::rules::Key;
use crate::verdict::Signal;
use brand::{brand_credentials, brand_icon, brand_title, lure_phrases};
use forms::{forms, hidden_fields, is_card_field, seed_phrase};
use redirects::{evasive_redirect, redirects};
use scripts::{obfuscation, scareware};

/// Runs the UI heuristics.
pub(crate) fn check(
    target: &Target,
    facts: &PageFacts,
    index: &BrandIndex,
    keywords: Option<&AhoCorasick>,
    out: &mut Vec<Signal>,
) {
    let own_brand = index.is_brand_domain(target.registrable());
    let has_password = facts.inputs().any(|i| i.kind == "password");
    let asks_for_card = facts.inputs().filter(|i| is_card_field(i)).count() >= 2;
    forms(target, facts, out);
    hidden_fields(facts, out);
    if asks_for_card && !own_brand {
        out.push(Signal::new(Key::payment_card_form, 500, "the page asks for a payment card number and security code"));
    }
    seed_phrase(facts, out);
    if facts.data_scripts > 0 {
        out.push(Signal::new(
            Key::data_uri_script,
            900,
            format!("{} script(s) loaded from data: URLs", facts.data_scripts),
        ));
    }
    let (images, largest) = facts.data_images;
    if images > 0 {
        let confidence = if largest > 2048 { 600 } else { 300 };
        out.push(Signal::new(
            Key::data_uri_image,
            confidence,
            format!("{images} image(s) embedded as data: URLs (largest {largest} bytes)"),
        ));
    }
    obfuscation(&facts.inline_scripts, out);
    scareware(facts, out);
    if !own_brand {
        brand_title(target, facts, index, has_password, out);
        brand_icon(target, facts, index, out);
        brand_credentials(target, has_password, asks_for_card, out);
    }
    if let Some(keywords) = keywords {
        lure_phrases(facts, keywords, has_password, out);
    }
    redirects(target, facts, out);
    evasive_redirect(target, facts, out);
}

/// Absolute URLs the page redirects to by itself (meta refresh, script redirects), at most 8.
pub(crate) fn redirect_targets(target: &Target, facts: &PageFacts) -> Vec<String> {
    let refresh = facts.meta_refresh.iter().map(|(url, _)| url.as_str());
    refresh
        .chain(facts.script_redirects.iter().map(String::as_str))
        .filter_map(|url| target.url.join(url.trim()).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .map(String::from)
        .take(8)
        .collect()
}

/// Hosts the page sends visitors to: form actions, redirect targets, then links.
pub(crate) fn outbound_hosts(target: &Target, facts: &PageFacts) -> Vec<String> {
    let actions = facts.forms.iter().filter_map(|f| f.action.as_deref());
    let refresh = facts.meta_refresh.iter().map(|(url, _)| url.as_str());
    let scripted = &facts.script_redirects;
    actions
        .chain(refresh)
        .chain(scripted.iter().map(String::as_str))
        .chain(facts.links.iter().map(String::as_str))
        .filter_map(|url| resolve_host(&target.url, url))
        .collect()
}

pub(super) fn mentions(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| text.contains(w))
}

pub(super) fn word_bounded(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
    let after = text[end..].chars().next().is_none_or(|c| !c.is_alphanumeric());
    before && after
}

pub(super) fn clip(text: &str, max: usize) -> String {
    let (cut, truncated) = crate::input::truncate_str(text, max);
    if truncated {
        format!("{cut}…")
    } else {
        cut.to_owned()
    }
}
