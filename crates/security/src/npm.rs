//! The browser extension's npm dependencies: `npm audit --json --audit-level=moderate` in a
//! directory with a `package-lock.json`, its report (npm 7 and later) turned into
//! findings. Moderate, high and critical advisories are errors, low and info notes.
//!
//! The audit asks the npm registry. When there is no lockfile, no npm, or the registry's
//! audit endpoint does not answer, the check is skipped and says why: it is never
//! reported as passed.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{line_of, Finding, Location, Report, Rule, Status};

/// How long one audit may take.
const AUDIT_TIMEOUT: Duration = Duration::from_secs(120);

/// Audits the npm project in `dir` (shown as `shown`, relative to the source root) with
/// the `npm` program.
pub fn audit(npm: &OsStr, dir: &Path, shown: &str) -> Report {
    let subject = format!("npm audit {shown}");
    let lock_shown = format!("{}/package-lock.json", shown.trim_end_matches('/'));
    let skipped = |why: String| {
        let mut report = Report::default();
        report.notice(Finding::notice(Status::Skipped, &subject, format!("skipped: {why}")));
        report
    };
    let Ok(lock) = std::fs::read_to_string(dir.join("package-lock.json")) else {
        return skipped(format!("{lock_shown} does not exist (no npm dependencies to audit)"));
    };
    let output = match run(npm, dir) {
        Ok(output) => output,
        Err(why) => return skipped(why),
    };
    match serde_json::from_str::<Value>(&output) {
        Ok(json) => match parse(&json, &lock, &lock_shown, &subject) {
            Ok(report) => report,
            Err(why) => skipped(why),
        },
        Err(_) => skipped(format!("npm printed no JSON report: {}", output.chars().take(200).collect::<String>())),
    }
}

/// Runs the audit; its standard output.
fn run(npm: &OsStr, dir: &Path) -> Result<String, String> {
    let mut child = Command::new(npm)
        .args(["audit", "--json", "--audit-level=moderate"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("npm could not be run ({}: {e})", npm.to_string_lossy()))?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + AUDIT_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("npm audit did not finish within {} s", AUDIT_TIMEOUT.as_secs()));
            }
        }
    }
    Ok(reader.join().unwrap_or_default())
}

/// The findings of an `npm audit --json` report (format 2), or why it says nothing.
pub fn parse(json: &Value, lock: &str, lock_shown: &str, subject: &str) -> Result<Report, String> {
    let Some(vulnerabilities) = json.get("vulnerabilities").and_then(Value::as_object) else {
        let reason = json
            .pointer("/error/summary")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| json.get("message").and_then(Value::as_str))
            .or_else(|| json.pointer("/error/code").and_then(Value::as_str))
            .unwrap_or("an unrecognised report");
        return Err(format!("the registry's audit did not answer: {reason}"));
    };
    let mut report = Report::default();
    let mut seen = BTreeSet::new();
    let mut serious = 0;
    for (name, entry) in vulnerabilities {
        // `via` lists the advisories against this package itself (objects) and the
        // vulnerable packages it depends on (names, reported under their own entries).
        for via in entry.get("via").and_then(Value::as_array).into_iter().flatten().filter(|v| v.is_object()) {
            let text = |key: &str| via.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
            let url = text("url");
            let id = url
                .rsplit('/')
                .next()
                .filter(|s| s.starts_with("GHSA-"))
                .map(str::to_owned)
                .unwrap_or_else(|| format!("npm-{}", via.get("source").map(Value::to_string).unwrap_or_default()));
            if !seen.insert((id.clone(), name.clone())) {
                continue;
            }
            let severity = text("severity");
            let status = match severity.as_str() {
                "critical" | "high" | "moderate" => Status::Error,
                _ => Status::Note,
            };
            serious += usize::from(status == Status::Error);
            let score = via.pointer("/cvss/score").and_then(Value::as_f64).filter(|s| *s > 0.0);
            let rule = Rule {
                id: id.clone(),
                name: "NpmAdvisory".into(),
                short: format!("{name}: {}", text("title")),
                help_uri: Some(url).filter(|u| u.starts_with("https://")),
                level: status,
                cvss_score: score,
                tags: vec!["security".into(), "npm".into()],
            };
            let fix = match entry.get("fixAvailable") {
                Some(Value::Bool(true)) => "; `npm audit fix` fixes it".to_owned(),
                Some(Value::Object(f)) => format!(
                    "; fixed by {} {}",
                    f.get("name").and_then(Value::as_str).unwrap_or(name),
                    f.get("version").and_then(Value::as_str).unwrap_or("?")
                ),
                _ => "; no fix available".to_owned(),
            };
            let cvss = score.map(|s| format!(" (CVSS {s:.1})")).unwrap_or_default();
            let message = format!("{}; severity {severity}{cvss}; affected {}{fix}", text("title"), text("range"));
            let key = format!("\"node_modules/{name}\"");
            let line = line_of(lock, |l| l.trim_start().starts_with(&key));
            let finding = Finding::new(status, &rule, format!("{id} {name} (npm)"), message)
                .identified_by(format!("{id}|npm|{name}"))
                .at(Location::source(lock_shown, line));
            report.push(&rule, finding);
        }
    }
    let total = json.pointer("/metadata/dependencies/total").and_then(Value::as_u64);
    let status = if serious > 0 { Status::Error } else { Status::Ok };
    let checked = total.map(|n| format!("{n} packages checked: ")).unwrap_or_default();
    report.notice(Finding::notice(
        status,
        subject,
        format!("{checked}{} advisories, {serious} moderate or worse", report.findings.len()),
    ));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_audit_endpoint_is_a_reason_never_a_pass() {
        let json = serde_json::json!({"message": "405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk", "statusCode": 405});
        let why = parse(&json, "{}", "extension/package-lock.json", "npm audit extension").unwrap_err();
        assert!(why.contains("405 Method Not Allowed"), "{why}");
        let json =
            serde_json::json!({"error": {"code": "ENOLOCK", "summary": "This command requires an existing lockfile."}});
        assert!(parse(&json, "{}", "x", "y").unwrap_err().contains("requires an existing lockfile"));
    }
}
