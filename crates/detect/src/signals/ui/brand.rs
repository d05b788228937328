//! A brand presented on a host that is not the brand's: its title, its icon, credentials
//! asked for under it, and lure phrases.

use aho_corasick::AhoCorasick;

use super::{clip, word_bounded};
use crate::brands::BrandIndex;
use crate::domain::{resolve_host, Target};
use crate::html::PageFacts;
use crate::rules::Key;
use crate::verdict::Signal;

pub(super) fn brand_title(
    target: &Target,
    facts: &PageFacts,
    index: &BrandIndex,
    has_password: bool,
    out: &mut Vec<Signal>,
) {
    let Some(aliases) = &index.aliases else { return };
    for (field, text) in [("title", facts.title.as_str()), ("og:site_name", facts.site_name.as_str())] {
        if text.is_empty() {
            continue;
        }
        let Some(m) = aliases.find_iter(text).find(|m| word_bounded(text, m.start(), m.end())) else { continue };
        let brand = index.alias_brands[m.pattern().as_usize()];
        let name = &index.names[brand];
        let lower = text.to_lowercase();
        let login_words =
            ["sign in", "sign-in", "signin", "log in", "login", "log-in", "account", "verify", "secure", "password"];
        // The alias matched already: a login word beside it makes the impersonation explicit.
        let confidence = if has_password || login_words.iter().any(|w| lower.contains(w)) { 800 } else { 400 };
        out.push(
            Signal::new(
                Key::brand_title_mismatch,
                confidence,
                format!(
                    "the {field} \"{}\" names {name}, but {} is not {name}'s",
                    clip(text, 80),
                    target.registrable()
                ),
            )
            .with_brand(name),
        );
        return;
    }
}

/// A `<link rel=icon>` served from a brand's host on a page the brand does not own: kits
/// hotlink the real favicon so the tab looks right.
pub(super) fn brand_icon(target: &Target, facts: &PageFacts, index: &BrandIndex, out: &mut Vec<Signal>) {
    let Some(icon) = &facts.icon else { return };
    let Some(host) = resolve_host(&target.url, icon) else { return };
    if let Some(Some(brand)) = index.owner(crate::domain::registrable_of(&host)) {
        let name = &index.names[brand];
        let evidence =
            format!("the page icon is {name}'s, loaded from {host}, but {} is not {name}'s", target.registrable());
        out.push(Signal::new(Key::brand_asset_mismatch, 800, evidence).with_brand(name));
    }
}

/// Credentials asked for on a page that presents a brand (title, site name or icon) it is
/// not hosted by: the spec's "generic login form on unknown host", elevated by brand assets.
/// Runs after `brand_title` and `brand_icon`, whose signals say which brand is presented.
pub(super) fn brand_credentials(target: &Target, has_password: bool, asks_for_card: bool, out: &mut Vec<Signal>) {
    let Some(brand) = out
        .iter()
        .find(|s| matches!(s.key, Key::brand_title_mismatch | Key::brand_asset_mismatch))
        .and_then(|s| s.brand.clone())
    else {
        return;
    };
    let asks = if has_password {
        "a password"
    } else if asks_for_card {
        "payment card details"
    } else if out.iter().any(|s| s.key == Key::seed_phrase_form) {
        "a wallet secret"
    } else {
        return;
    };
    let evidence = format!(
        "the page presents itself as {brand} and asks for {asks}, but {} is not {brand}'s",
        target.registrable()
    );
    out.push(Signal::new(Key::brand_credential_form, 900, evidence).with_brand(&brand));
}

pub(super) fn lure_phrases(facts: &PageFacts, keywords: &AhoCorasick, has_password: bool, out: &mut Vec<Signal>) {
    // (pattern, text as it appears in the page at its first occurrence)
    let mut found: Vec<(usize, &str)> = Vec::new();
    for text in [facts.title.as_str(), facts.text.as_str()] {
        for m in keywords.find_iter(text) {
            let pattern = m.pattern().as_usize();
            if !found.iter().any(|&(p, _)| p == pattern) {
                found.push((pattern, &text[m.start()..m.end()]));
            }
        }
    }
    if found.is_empty() {
        return;
    }
    // Phrases alone are weak evidence; with a credential form they are stronger.
    let confidence = match (found.len(), has_password) {
        (1, false) => 300,
        (1, true) | (2, false) => 500,
        (_, false) => 650,
        (_, true) => 850,
    };
    let mut phrases: Vec<&str> = found.iter().map(|&(_, phrase)| phrase).collect();
    phrases.sort_unstable();
    phrases.dedup();
    phrases.truncate(5);
    out.push(Signal::new(
        Key::phishing_keywords_only,
        confidence,
        format!("{} lure phrase(s) in the page: {}", found.len(), phrases.join(", ")),
    ));
}
