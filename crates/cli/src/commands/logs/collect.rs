//! `logs collect` (runbook §7.3 "Collect logs for incident investigation"): one evidence
//! archive for an incident and a time range.
//!
//! `EVIDENCE_DIR/ID-logs-FROM-TO.tar.gz` holds one directory of the same name with:
//! - `incident.json`: the incident and its timeline (`ferretwatch incident show ID
//!   --format json`, run as a child so that the id is read exactly as that command reads
//!   it);
//! - `logs/NAME`: the log lines in `[FROM, TO)`, unchanged, one file per log file (a
//!   `.gz` one decompressed) or `logs/journal.log`;
//! - `audit.jsonl`: the console's audit entries in the range, written as `audit export`
//!   writes them, with a trailer signed by the audit key (`audit verify-export` checks it);
//! - `prometheus/NAME.json`: Prometheus's answers to range queries for the key series
//!   ([`super::gather::QUERIES`]), when a Prometheus URL is given;
//! - `MANIFEST.json`: every other file with its SHA-256 and size, and the incident, the
//!   range, the command, the host, the collector (`$USER`) and what was skipped and why;
//! - `SHA256SUMS`: every file, `MANIFEST.json` included, for `sha256sum -c`.
//!
//! Beside the archive, `….tar.gz.sha256` holds the archive's own digest. Evidence may
//! hold personal data: directories are 0700 and files 0600, on disk and in the archive.
//! The archive is staged under a hidden name and renamed when complete, and an existing
//! one is never overwritten.

use std::io::{BufWriter, Write};
use std::path::Path;

use ferretwatch_types::Timestamp;
use serde::Serialize;
use serde_json::{json, Value};

use super::gather::{audit_entries, range_query, QUERIES};
use super::source::{read, LogSource, Window};
use super::staging::{private_dir, write_archive, write_private, Staging};
use crate::console::DbArgs;
use crate::error::{CliError, Failure};
use crate::output::{self, Report};

/// What one collection is told.
pub struct Collect<'a> {
    /// The incident, as given (`7`, or the runbook's `INC-2025-001`).
    pub incident_id: &'a str,
    /// The time range.
    pub range: Window,
    /// `FERRETWATCH_LOG_FILES`, if given ([`LogSource::resolve`]).
    pub log_files: Option<&'a str>,
    /// Where the archive goes.
    pub evidence_dir: &'a Path,
    /// Prometheus's base URL, if any.
    pub prometheus: Option<&'a str>,
    /// The console's database, for its audit entries.
    pub db: &'a DbArgs,
    /// The incidents' database, when not the configured one.
    pub incidents_db: Option<&'a str>,
}

/// One file of the bundle, as the manifest lists it.
#[derive(Debug, Serialize)]
struct Listed {
    path: String,
    sha256: String,
    bytes: u64,
    source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    lines: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entries: Option<u64>,
}

impl Listed {
    /// A file not yet digested.
    fn of(path: &str, source: impl Into<String>) -> Self {
        Listed {
            path: path.to_owned(),
            sha256: String::new(),
            bytes: 0,
            source: source.into(),
            lines: None,
            entries: None,
        }
    }
}

/// `MANIFEST.json` (`docs/logs.md`, "The evidence archive").
#[derive(Debug, Serialize)]
struct Manifest<'a> {
    format: &'static str,
    version: u32,
    incident_id: &'a str,
    time_range: TimeRange,
    collected_at: Timestamp,
    collector: String,
    host: String,
    command: Vec<String>,
    ferretwatch_version: &'static str,
    log_source: String,
    files: &'a [Listed],
    skipped: &'a [Skipped],
    warnings: &'a [String],
}

#[derive(Debug, Serialize)]
struct TimeRange {
    from: Timestamp,
    to: Timestamp,
    half_open: bool,
}

/// A part that is not in the bundle, and why.
#[derive(Debug, Serialize)]
struct Skipped {
    part: String,
    reason: String,
}

/// The compact form of an instant in a file name: `20250925T100000Z`.
fn compact(at: Timestamp) -> String {
    at.to_string().replace(['-', ':'], "")
}

/// An incident id that can be part of a file name.
fn check_id(id: &str) -> Result<(), CliError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(CliError::input(
            "invalid_argument",
            format!("--incident-id {id:?}: letters, digits, '-', '_' and '.' only (at most 64)"),
        ))
    }
}

/// Runs the collection; the report names the archive.
pub fn collect(c: &Collect<'_>) -> Result<Report, Failure> {
    check_id(c.incident_id)?;
    if c.range.since >= c.range.until {
        return Err(CliError::failed(
            "empty_range",
            format!("the time range is empty: {} is not before {}", c.range.since, c.range.until),
        )
        .into());
    }
    let incident = incident_json(c.incident_id, c.db, c.incidents_db)?;
    let source = LogSource::resolve(c.log_files)?;

    let stem = format!("{}-logs-{}-{}", c.incident_id, compact(c.range.since), compact(c.range.until));
    let archive = c.evidence_dir.join(format!("{stem}.tar.gz"));
    if archive.exists() {
        return Err(CliError::failed(
            "evidence_exists",
            format!("{} exists; evidence is never overwritten: move it away first", archive.display()),
        )
        .into());
    }
    private_dir(c.evidence_dir)?;
    let staging = Staging::new(c.evidence_dir.join(format!(".{stem}.partial")))?;
    let mut skipped = Vec::new();
    let mut warnings = Vec::new();
    let mut sources: Vec<Listed> = Vec::new();

    staging.write("incident.json", &incident)?;
    sources.push(Listed::of("incident.json", format!("ferretwatch incident show {} --format json", c.incident_id)));

    let logged = collect_lines(&source, c.range, &staging, &mut sources)?;
    if logged == 0 {
        let warning = format!("no log line falls in the range ({})", source.describe(c.range));
        output::warn(&warning);
        warnings.push(warning);
    }

    match audit_entries(c.db, c.range) {
        Ok(Some(bytes)) => {
            let entries = bytes.iter().filter(|&&b| b == b'\n').count() as u64 - 1;
            staging.write("audit.jsonl", &bytes)?;
            sources.push(Listed {
                entries: Some(entries),
                ..Listed::of("audit.jsonl", "the console's audit log, signed (audit verify-export)")
            });
        }
        Ok(None) => skipped.push(Skipped { part: "audit".into(), reason: "no audit entry in the range".into() }),
        Err(reason) => {
            output::warn(format_args!("audit entries not collected: {reason}"));
            skipped.push(Skipped { part: "audit".into(), reason });
        }
    }

    match c.prometheus {
        None => skipped.push(Skipped {
            part: "prometheus".into(),
            reason: "no Prometheus URL (FERRETWATCH_PROMETHEUS_URL) was given".into(),
        }),
        Some(base) => {
            let step = (c.range.until.secs_since(c.range.since).div_ceil(1000)).max(15);
            for (name, query) in QUERIES {
                match range_query(base, query, c.range, step) {
                    Ok(body) => {
                        let path = format!("prometheus/{name}.json");
                        staging.write(&path, &body)?;
                        sources.push(Listed::of(&path, format!("{query} (step {step}s)")));
                    }
                    Err(reason) => {
                        output::warn(format_args!("Prometheus query {name} failed: {reason}"));
                        skipped.push(Skipped { part: format!("prometheus/{name}"), reason });
                    }
                }
            }
        }
    }

    let mut listed = sources;
    for file in &mut listed {
        (file.sha256, file.bytes) = staging.digest(&file.path)?;
    }
    let now = Timestamp::now();
    let manifest = Manifest {
        format: "ferretwatch-evidence",
        version: 1,
        incident_id: c.incident_id,
        time_range: TimeRange { from: c.range.since, to: c.range.until, half_open: true },
        collected_at: now,
        collector: std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into()),
        host: host_name(),
        command: std::env::args().collect(),
        ferretwatch_version: env!("CARGO_PKG_VERSION"),
        log_source: source.describe(c.range),
        files: &listed,
        skipped: &skipped,
        warnings: &warnings,
    };
    let manifest_text = serde_json::to_string_pretty(&manifest).expect("a manifest serialises") + "\n";
    staging.write("MANIFEST.json", manifest_text.as_bytes())?;
    let (manifest_sha, _) = staging.digest("MANIFEST.json")?;
    let mut sums = format!("{manifest_sha}  MANIFEST.json\n");
    for file in &listed {
        sums.push_str(&format!("{}  {}\n", file.sha256, file.path));
    }
    staging.write("SHA256SUMS", sums.as_bytes())?;

    let mut order = vec!["MANIFEST.json".to_owned(), "SHA256SUMS".to_owned()];
    order.extend(listed.iter().map(|f| f.path.clone()));
    let digest = write_archive(&staging, &stem, &order, &archive, now)?;
    let sidecar = c.evidence_dir.join(format!("{stem}.tar.gz.sha256"));
    write_private(&sidecar, format!("{digest}  {stem}.tar.gz\n").as_bytes())?;
    drop(staging);

    let mut text = format!("evidence: {}\nsha256: {digest} (also in {})\n", archive.display(), sidecar.display());
    for file in &listed {
        let detail = match (file.lines, file.entries) {
            (Some(lines), _) => format!("{lines} line(s) from {}", file.source),
            (_, Some(entries)) => format!("{entries} entry(ies): {}", file.source),
            _ => file.source.clone(),
        };
        text.push_str(&format!("  {:<36} {:>10} bytes  {detail}\n", file.path, file.bytes));
    }
    for s in &skipped {
        text.push_str(&format!("skipped {}: {}\n", s.part, s.reason));
    }
    for w in &warnings {
        text.push_str(&format!("WARN {w}\n"));
    }
    let json = json!({ "ok": true, "archive": archive.display().to_string(), "sha256": digest, "manifest": manifest });
    Ok(Report::new(text, &json))
}

/// `ferretwatch incident show ID --format json`, run as a child of this very binary.
fn incident_json(id: &str, db: &DbArgs, incidents_db: Option<&str>) -> Result<Vec<u8>, Failure> {
    let exe = std::env::current_exe().map_err(|e| CliError::failed("incident_failed", e.to_string()))?;
    let mut command = std::process::Command::new(exe);
    command.args(["incident", "show", id, "--format", "json"]);
    if let Some(config) = &db.config {
        command.arg("--config").arg(config);
    }
    if let Some(incidents_db) = incidents_db {
        command.args(["--db", incidents_db]);
    }
    let out = command.output().map_err(|e| CliError::failed("incident_failed", e.to_string()))?;
    let answer: Option<Value> = serde_json::from_slice(&out.stdout).ok();
    if out.status.success() {
        let answer = answer.ok_or_else(|| CliError::failed("incident_failed", "incident show printed no JSON"))?;
        return Ok((serde_json::to_string_pretty(&answer).expect("JSON") + "\n").into_bytes());
    }
    let stderr = String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("").trim().to_owned();
    match answer.as_ref().and_then(|a| a["error"]["code"].as_str()) {
        Some("not_found") => Err(CliError::failed("no_such_incident", format!("incident {id} does not exist")).into()),
        Some(code) => Err(CliError::failed(
            "incident_failed",
            format!(
                "incident {id}: {code}: {}",
                answer.as_ref().and_then(|a| a["error"]["message"].as_str()).unwrap_or("")
            ),
        )
        .into()),
        // No JSON at all: the id was refused as an argument.
        None => Err(CliError::input("invalid_argument", format!("incident {id}: {stderr}")).into()),
    }
}

/// Copies the lines in the range, stream by stream; the number copied.
fn collect_lines(
    source: &LogSource,
    range: Window,
    staging: &Staging,
    sources: &mut Vec<Listed>,
) -> Result<u64, Failure> {
    let mut total = 0;
    let mut used_names = std::collections::HashSet::new();
    for stream in source.open(range)? {
        let mut name = format!("logs/{}", stream.file_name);
        let mut n = 1;
        while !used_names.insert(name.clone()) {
            n += 1;
            name = format!("logs/{n}-{}", stream.file_name);
        }
        let source = stream.name.clone();
        let mut out = BufWriter::new(staging.create(&name)?);
        let mut lines = 0u64;
        let mut failed = None;
        read(stream, range, &mut |line| {
            if failed.is_none() {
                lines += 1;
                if let Err(e) = out.write_all(line.raw).and_then(|()| out.write_all(b"\n")) {
                    failed = Some(e);
                }
            }
        })?;
        out.flush().map_err(|e| staging.failed(&name, e))?;
        if let Some(e) = failed {
            return Err(staging.failed(&name, e).into());
        }
        drop(out);
        if lines == 0 {
            staging.remove(&name);
            continue;
        }
        total += lines;
        sources.push(Listed { lines: Some(lines), ..Listed::of(&name, source) });
    }
    Ok(total)
}
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_name_files_safely_are_accepted_and_no_others() {
        for ok in ["7", "INC-2025-001", "inc_7.b"] {
            assert!(check_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../x", "a/b", ".hidden", "a b", &"x".repeat(65)] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        assert_eq!(compact(Timestamp::parse("2025-09-25T10:00:00Z").unwrap()), "20250925T100000Z");
    }
}
