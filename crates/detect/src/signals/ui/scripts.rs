//! Inline script: obfuscation (decoders, evaluators, encoded blobs, entropy) and
//! tech-support scareware screens.

use crate::html::PageFacts;
use crate::rules::Key;
use crate::verdict::Signal;

/// Indicators of script that hides what it runs: decoders, evaluators, encoded blobs.
pub(super) fn obfuscation(script: &str, out: &mut Vec<Signal>) {
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
pub(super) fn scareware(facts: &PageFacts, out: &mut Vec<Signal>) {
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
