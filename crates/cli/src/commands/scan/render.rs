//! A verdict for people: the level and score, then each finding with its weight,
//! confidence, brand and evidence.

use std::fmt::Write;

use ferretwatch_detect::Verdict;

/// The verdict as text.
pub fn render_text(url: &str, verdict: &Verdict) -> String {
    let mut out = String::new();
    let level = verdict.level.as_str().to_uppercase();
    let _ = writeln!(out, "{level}  score {}/100  {url}", verdict.score);
    let _ = writeln!(out, "rules {}", verdict.pack_version);
    if verdict.allowlisted {
        let _ = writeln!(out, "allowlisted by you: warning suppressed");
    }
    if verdict.partial {
        let _ = writeln!(out, "partial: a signal hit its time limit; the score is a lower bound");
    }
    if !verdict.truncated.is_empty() {
        let _ = writeln!(out, "truncated to documented limits: {}", verdict.truncated.join(", "));
    }
    if verdict.findings.is_empty() {
        let _ = writeln!(out, "no findings");
    }
    for f in &verdict.findings {
        let brand = f.brand.as_deref().map(|b| format!(" [{b}]")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  +{:>5.1}  {:<28} (weight {} × confidence {:.2}){brand}\n          {}",
            f64::from(f.contribution) / 1000.0,
            f.key.name(),
            f.weight,
            f64::from(f.confidence) / 1000.0,
            f.evidence
        );
    }
    out
}
