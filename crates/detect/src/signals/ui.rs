//! Phishing UI heuristics from the page's HTML facts: where credentials are posted, what
//! hidden fields carry, data: URLs, obfuscated script, brand titles on foreign hosts,
//! lure phrases and redirects to unrelated domains.

use aho_corasick::AhoCorasick;

use crate::brands::BrandIndex;
use crate::domain::{resolve_host, Target};
use crate::html::{Form, Input, PageFacts};
use crate::rules::Key;
use crate::verdict::Signal;

/// Runs the UI heuristics.
pub fn check(
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

/// Hosts the page sends visitors to: form actions, redirect targets, then links.
pub fn outbound_hosts(target: &Target, facts: &PageFacts) -> Vec<String> {
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

fn forms(target: &Target, facts: &PageFacts, out: &mut Vec<Signal>) {
    let mut reported_other = false;
    for form in &facts.forms {
        let Some(action) = form.action.as_deref().map(str::trim).filter(|a| !a.is_empty()) else {
            continue;
        };
        let Some(host) = resolve_host(&target.url, action) else { continue };
        if target.same_site(&host) {
            continue;
        }
        let has_password = form.inputs.iter().any(|i| i.kind == "password");
        if has_password {
            out.push(Signal::new(
                Key::phishing_form_cross_domain,
                900,
                format!("a password form on {} posts to {host}", target.registrable()),
            ));
        } else if !reported_other {
            reported_other = true;
            let confidence = if collects_identity(form) { 600 } else { 300 };
            out.push(Signal::new(
                Key::form_action_off_domain,
                confidence,
                format!("a form on {} posts to {host}", target.registrable()),
            ));
        }
    }
}

fn collects_identity(form: &Form) -> bool {
    form.inputs.iter().any(|i| {
        matches!(i.kind.as_str(), "email" | "tel")
            || is_card_field(i)
            || mentions(&i.name, &["email", "phone", "ssn", "card"])
    })
}

fn mentions(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| text.contains(w))
}

fn hidden_fields(facts: &PageFacts, out: &mut Vec<Signal>) {
    let carried: Vec<&Input> = facts
        .inputs()
        .filter(|i| i.kind == "hidden")
        .filter(|i| {
            looks_like_email(&i.value)
                || mentions(&i.name, &["email", "e-mail", "phone", "login", "username", "userid"])
        })
        .collect();
    if let Some(first) = carried.first() {
        let what = if looks_like_email(&first.value) {
            "an email address".to_owned()
        } else {
            format!("field '{}'", first.name)
        };
        out.push(Signal::new(
            Key::hidden_identity_fields,
            650,
            format!("{} hidden input(s) carry identity data, e.g. {what}", carried.len()),
        ));
    }
}

fn looks_like_email(value: &str) -> bool {
    let value = value.trim();
    match value.split_once('@') {
        Some((user, domain)) => !user.is_empty() && domain.contains('.') && !value.contains(char::is_whitespace),
        None => false,
    }
}

fn is_card_field(input: &Input) -> bool {
    let text = format!("{} {}", input.name, input.hint);
    mentions(
        &text,
        &[
            "cc-number",
            "cardnumber",
            "card_number",
            "card-number",
            "ccnum",
            "cvv",
            "cvc",
            "csc",
            "cc-csc",
            "securitycode",
        ],
    )
}

fn seed_phrase(facts: &PageFacts, out: &mut Vec<Signal>) {
    let phrase_field = facts.inputs().find(|i| {
        let text = format!("{} {}", i.name, i.hint);
        mentions(
            &text,
            &[
                "mnemonic",
                "seed phrase",
                "seedphrase",
                "recovery phrase",
                "secret phrase",
                "private key",
                "privatekey",
                "phrase",
            ],
        )
    });
    let word_fields = facts
        .inputs()
        .filter(|i| {
            let n = i.name.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
            n.starts_with("word") || n.starts_with("seed") || n.starts_with("mnemonic")
        })
        .count();
    if let Some(field) = phrase_field {
        out.push(Signal::new(
            Key::seed_phrase_form,
            900,
            format!("a field asks for a wallet secret ('{}')", field_label(field)),
        ));
    } else if word_fields >= 12 {
        out.push(Signal::new(
            Key::seed_phrase_form,
            900,
            format!("{word_fields} word fields ask for a wallet recovery phrase"),
        ));
    }
}

fn field_label(input: &Input) -> &str {
    if input.hint.is_empty() {
        &input.name
    } else {
        &input.hint
    }
}

/// Indicators of script that hides what it runs: decoders, evaluators, encoded blobs.
fn obfuscation(script: &str, out: &mut Vec<Signal>) {
    if script.is_empty() {
        return;
    }
    let mut reasons = Vec::new();
    let evaluates =
        ["eval(", "new Function(", "document.write(unescape", "setTimeout(atob"].iter().any(|p| script.contains(p));
    if evaluates {
        reasons.push("evaluates generated code");
    }
    let decodes =
        ["atob(", "unescape(", "fromCharCode", "decodeURIComponent(escape"].iter().any(|p| script.contains(p));
    if decodes {
        reasons.push("decodes strings at run time");
    }
    let blob = longest_base64_run(script) >= 300 || escape_count(script) >= 40;
    if blob {
        reasons.push("carries a long encoded blob");
    }
    let entropy = high_entropy(script);
    if entropy {
        reasons.push("has high-entropy content");
    }
    let confidence = match (evaluates, decodes, blob || entropy) {
        (true, true, true) => 950,
        (true, true, false) | (true, false, true) => 800,
        (false, true, true) => 700,
        (true, false, false) => 300,
        (false, false, true) => 400,
        (false, true, false) => 200,
        (false, false, false) => return,
    };
    out.push(Signal::new(Key::obfuscated_script, confidence, format!("inline script {}", reasons.join(", "))));
}

/// Tech-support scam screens: alarm text, a number to call, and script that traps the
/// visitor (exit prompts, back-button traps, forced fullscreen, alert loops, popup storms)
/// or plays an alarm by itself.
fn scareware(facts: &PageFacts, out: &mut Vec<Signal>) {
    let script = facts.inline_scripts.as_str();
    let traps: Vec<&str> = [
        ("beforeunload", "exit prompt"),
        ("onpopstate", "back-button trap"),
        ("popstate", "back-button trap"),
        ("requestFullscreen", "forced fullscreen"),
        ("RequestFullScreen", "forced fullscreen"),
        ("keyboard.lock", "keyboard lock"),
        ("window.open(location", "popup storm"),
        ("navigator.vibrate", "vibration"),
    ]
    .iter()
    .filter(|(needle, _)| script.contains(needle))
    .map(|&(_, what)| what)
    .chain(
        (script.matches("alert(").count() >= 2 || script.contains("setInterval(function(){alert"))
            .then_some("alert loop"),
    )
    .chain(facts.dials_or_plays.1.then_some("autoplaying audio"))
    .collect();
    let lower = format!("{} {}", facts.title, facts.text).to_lowercase();
    let alarms = [
        "virus",
        "infected",
        "spyware",
        "trojan",
        "malware",
        "has been blocked",
        "been compromised",
        "hacked",
        "security alert",
        "critical alert",
    ];
    let alarm = alarms.iter().find(|a| lower.contains(*a));
    let phone = facts.dials_or_plays.0 || has_phone_number(&facts.text);
    let confidence = match (!traps.is_empty(), phone, alarm.is_some()) {
        (true, true, true) => 900,
        (false, true, true) => 500,
        (true, false, true) => 500,
        _ => return,
    };
    let mut parts = Vec::new();
    if let Some(alarm) = alarm {
        parts.push(format!("alarm text (\"{alarm}\")"));
    }
    if phone {
        parts.push("a phone number to call".to_owned());
    }
    if !traps.is_empty() {
        let mut traps = traps;
        traps.dedup();
        parts.push(traps.join(", "));
    }
    out.push(Signal::new(Key::scareware_screen, confidence, format!("scareware screen: {}", parts.join("; "))));
}

/// A run of 10 or 11 digits written with the separators phone numbers use, e.g.
/// "+1 (888) 519-4037" or "1-855-740-3182".
fn has_phone_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() || bytes[i] == b'+' || bytes[i] == b'(' {
            let mut digits = 0;
            let mut j = i;
            while j < bytes.len() && j - i < 22 && (bytes[j].is_ascii_digit() || b" -.()+".contains(&bytes[j])) {
                digits += usize::from(bytes[j].is_ascii_digit());
                j += 1;
            }
            let groups = text[i..j].split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).count();
            if (10..=11).contains(&digits) && groups >= 3 {
                return true;
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    false
}

fn longest_base64_run(text: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=' {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

fn escape_count(text: &str) -> usize {
    text.matches("\\x").count() + text.matches("\\u00").count() + text.matches('%').count() / 2
}

/// Shannon entropy above 5.6 bits per byte over a long inline script (minified code sits
/// near 5.0–5.3, base64 and packed payloads near 6).
fn high_entropy(text: &str) -> bool {
    if text.len() < 2048 {
        return false;
    }
    let mut counts = [0u32; 256];
    for b in text.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = text.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    entropy > 5.6
}

fn brand_title(target: &Target, facts: &PageFacts, index: &BrandIndex, has_password: bool, out: &mut Vec<Signal>) {
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
fn brand_icon(target: &Target, facts: &PageFacts, index: &BrandIndex, out: &mut Vec<Signal>) {
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
fn brand_credentials(target: &Target, has_password: bool, asks_for_card: bool, out: &mut Vec<Signal>) {
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

fn word_bounded(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
    let after = text[end..].chars().next().is_none_or(|c| !c.is_alphanumeric());
    before && after
}

fn clip(text: &str, max: usize) -> String {
    let (cut, truncated) = crate::input::truncate_str(text, max);
    if truncated {
        format!("{cut}…")
    } else {
        cut.to_owned()
    }
}

fn lure_phrases(facts: &PageFacts, keywords: &AhoCorasick, has_password: bool, out: &mut Vec<Signal>) {
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

/// Redirect landers hide where they send people and whom they send: the target is decoded at
/// run time, crawlers get another page, or the visitor's address travels along.
fn evasive_redirect(target: &Target, facts: &PageFacts, out: &mut Vec<Signal>) {
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

fn redirects(target: &Target, facts: &PageFacts, out: &mut Vec<Signal>) {
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
