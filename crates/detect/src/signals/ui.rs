//! Phishing UI heuristics from the page's HTML facts: where credentials are posted, what
//! hidden fields carry, data: URLs, obfuscated script, brand titles on foreign hosts,
//! lure phrases and redirects to unrelated domains.

use aho_corasick::AhoCorasick;

use crate::brands::BrandIndex;
use crate::domain::{resolve_host, Target};
use crate::html::{script_redirects, Form, Input, PageFacts};
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
    forms(target, facts, out);
    hidden_fields(facts, out);
    if facts.inputs().filter(|i| is_card_field(i)).count() >= 2 && !own_brand {
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
    if !own_brand {
        brand_title(target, facts, index, has_password, out);
    }
    if let Some(keywords) = keywords {
        lure_phrases(facts, keywords, has_password, out);
    }
    redirects(target, facts, out);
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
        let confidence = if has_password
            || lower.contains(name.to_lowercase().as_str()) && login_words.iter().any(|w| lower.contains(w))
        {
            800
        } else {
            400
        };
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
    let haystack = [facts.title.as_str(), facts.text.as_str()];
    let mut found: Vec<usize> = Vec::new();
    for text in haystack {
        for m in keywords.find_iter(text) {
            if !found.contains(&m.pattern().as_usize()) {
                found.push(m.pattern().as_usize());
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
    let mut phrases: Vec<&str> = found.iter().filter_map(|&p| phrase_at(facts, keywords, p)).collect();
    phrases.sort_unstable();
    phrases.dedup();
    phrases.truncate(5);
    out.push(Signal::new(
        Key::phishing_keywords_only,
        confidence,
        format!("{} lure phrase(s) in the page: {}", found.len(), phrases.join(", ")),
    ));
}

/// The text of pattern `p` as it appears in the page (first occurrence).
fn phrase_at<'a>(facts: &'a PageFacts, keywords: &AhoCorasick, p: usize) -> Option<&'a str> {
    [facts.title.as_str(), facts.text.as_str()].into_iter().find_map(|text| {
        keywords.find_iter(text).find(|m| m.pattern().as_usize() == p).map(|m| &text[m.start()..m.end()])
    })
}

fn redirects(target: &Target, facts: &PageFacts, out: &mut Vec<Signal>) {
    let mut candidates: Vec<(String, u16, &str)> = Vec::new();
    if let Some((url, delay)) = &facts.meta_refresh {
        candidates.push((url.clone(), if *delay <= 5 { 700 } else { 400 }, "meta refresh"));
    }
    for url in script_redirects(&facts.inline_scripts) {
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
