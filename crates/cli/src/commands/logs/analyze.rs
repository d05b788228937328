//! `logs analyze` (runbook §5.1 "Review error logs for patterns"): yesterday's WARN and
//! ERROR lines grouped into patterns and set against the day before, with every panic and
//! every line that is not JSON.
//!
//! A pattern is the level, the target and the message's pattern ([`super::pattern`]).
//! Each has its count, first and last time and one redacted example, in the window and
//! in the one before it (the same length). A pattern is `NEW` when the window before had
//! none of it, and marked with its growth (`x2.5`) when it is at least twice as frequent.
//! Lines that are not JSON are grouped the same way under the level `TEXT`; a line that
//! says `panicked at` (a panic, as the standard library prints it, on a JSON line or not)
//! is listed with the line after it, which holds the panic's message.
//!
//! The analysis streams: memory holds the table of patterns, at most [`MAX_PATTERNS`]
//! (later ones of each level are counted in one `(other patterns)` row), and at most
//! [`MAX_PANICS`] panics shown (all counted).
//!
//! It is a gate. Exit 1 when the window holds a panic, an ERROR pattern that is new, or
//! more ERROR lines than the threshold; 0 otherwise.

use std::collections::HashMap;
use std::fmt::Write;

use ferretwatch_types::{Timestamp, DAY};
use serde::Serialize;
use serde_json::Value;

use super::pattern::{clip, pattern, redact_line, redact_text};
use super::source::{read, Line, LogSource, Window};
use crate::error::Failure;
use crate::exit;
use crate::output::Report;

/// Distinct patterns kept, at most.
pub const MAX_PATTERNS: usize = 10_000;
/// Panics listed, at most (all are counted).
pub const MAX_PANICS: usize = 20;
/// Characters of a pattern kept.
const PATTERN_CHARS: usize = 300;
/// Characters of an example kept.
const EXAMPLE_CHARS: usize = 1000;
/// Patterns of each level printed as text (JSON has them all).
const SHOWN_PER_LEVEL: usize = 40;
/// The pattern that takes every pattern after the table is full.
const OTHER: &str = "(other patterns: more than 10000 distinct ones)";

/// The window the analysis looks at: yesterday (UTC), or the one given.
pub fn yesterday(now: Timestamp) -> Window {
    let today = Timestamp::from_secs(now.as_secs() / DAY * DAY);
    Window { since: today.minus_secs(DAY), until: today }
}

/// The window of the same length just before `window`.
pub fn before(window: Window) -> Window {
    let length = window.until.as_millis() - window.since.as_millis();
    Window { since: Timestamp::from_millis(window.since.as_millis() - length), until: window.since }
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
struct Seen {
    count: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

impl Seen {
    fn add(&mut self, at: Timestamp) {
        self.count += 1;
        self.first = Some(self.first.map_or(at, |f| f.min(at)));
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    level: String,
    target: String,
    pattern: String,
}

#[derive(Debug, Default)]
struct Stats {
    now: Seen,
    before: Seen,
    /// An example from the window if there is one, else from the window before.
    example: Option<(bool, String)>,
}

#[derive(Debug, Serialize)]
struct Panic {
    at: Timestamp,
    line: String,
    message: Option<String>,
}

/// Counts of lines by kind, in one window.
#[derive(Debug, Default, Serialize)]
struct Counts {
    lines: u64,
    json: u64,
    text: u64,
    cut: u64,
    warn: u64,
    error: u64,
    panics: u64,
}

/// Everything the analysis found.
#[derive(Default)]
struct Analysis {
    table: HashMap<Key, Stats>,
    now: Counts,
    before: Counts,
    panics: Vec<Panic>,
    /// The last panic line of the stream being read, waiting for its message.
    awaiting_message: bool,
}

impl Analysis {
    fn line(&mut self, line: &Line<'_>, current: bool) {
        let counts = if current { &mut self.now } else { &mut self.before };
        counts.lines += 1;
        counts.cut += u64::from(line.cut);
        let text = String::from_utf8_lossy(line.raw);
        let (key, example, panic) = match line.record {
            Some(record) => {
                counts.json += 1;
                self.awaiting_message = false;
                let level = record.get("level").and_then(Value::as_str).unwrap_or("").to_ascii_uppercase();
                let message = record.get("message").and_then(Value::as_str).unwrap_or("");
                let panic = message.contains("panicked at");
                match level.as_str() {
                    "ERROR" => counts.error += 1,
                    "WARN" => counts.warn += 1,
                    _ if !panic => return,
                    _ => {}
                }
                let target = record.get("target").and_then(Value::as_str).unwrap_or("").to_owned();
                let key = Key { level, target, pattern: clip(&pattern(message), PATTERN_CHARS) };
                (key, redact_line(&text, record), panic)
            }
            None => {
                counts.text += 1;
                let redacted = redact_text(text.trim_end());
                if std::mem::take(&mut self.awaiting_message) && current {
                    if let Some(last) = self.panics.last_mut().filter(|p| p.message.is_none()) {
                        last.message = Some(clip(redacted.trim(), EXAMPLE_CHARS));
                    }
                }
                let key =
                    Key { level: "TEXT".into(), target: String::new(), pattern: clip(&pattern(&text), PATTERN_CHARS) };
                (key, redacted, text.contains("panicked at"))
            }
        };
        if panic && current {
            self.now.panics += 1;
            if self.panics.len() < MAX_PANICS {
                self.panics.push(Panic { at: line.at, line: clip(&example, EXAMPLE_CHARS), message: None });
                // The standard library's hook prints the message on the next line.
                self.awaiting_message = line.record.is_none() && text.trim_end().ends_with(':');
            }
        }
        let full = self.table.len() >= MAX_PATTERNS;
        let key = if full && !self.table.contains_key(&key) {
            Key { level: key.level, target: String::new(), pattern: OTHER.into() }
        } else {
            key
        };
        let stats = self.table.entry(key).or_default();
        if current { &mut stats.now } else { &mut stats.before }.add(line.at);
        if stats.example.as_ref().is_none_or(|(from_now, _)| current && !from_now) {
            stats.example = Some((current, clip(&example, EXAMPLE_CHARS)));
        }
    }
}

/// One pattern as reported.
#[derive(Debug, Serialize)]
struct Row {
    level: String,
    target: String,
    pattern: String,
    count: u64,
    count_before: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    new: bool,
    /// How many times as frequent as the window before (absent when new or less than 2x).
    grown: Option<f64>,
    example: String,
}

/// Settings of one analysis.
pub struct Analyze<'a> {
    /// The source.
    pub source: &'a LogSource,
    /// The window looked at.
    pub window: Window,
    /// ERROR lines tolerated in it.
    pub error_threshold: u64,
}

/// Runs the analysis; its report and exit status.
pub fn analyze(settings: &Analyze<'_>) -> Result<Report, Failure> {
    let window = settings.window;
    let earlier = before(window);
    let both = Window { since: earlier.since, until: window.until };
    let mut analysis = Analysis::default();
    for stream in settings.source.open(both)? {
        analysis.awaiting_message = false;
        read(stream, both, &mut |line| analysis.line(line, window.contains(line.at)))?;
    }
    let mut rows: Vec<Row> = analysis
        .table
        .into_iter()
        .filter(|(_, s)| s.now.count > 0)
        .map(|(key, s)| Row {
            new: s.before.count == 0,
            grown: (s.before.count > 0 && s.now.count >= 2 * s.before.count)
                .then(|| (s.now.count as f64 / s.before.count as f64 * 10.0).round() / 10.0),
            level: key.level,
            target: key.target,
            pattern: key.pattern,
            count: s.now.count,
            count_before: s.before.count,
            first: s.now.first,
            last: s.now.last,
            example: s.example.map(|(_, e)| e).unwrap_or_default(),
        })
        .collect();
    let rank = |level: &str| match level {
        "ERROR" => 0,
        "WARN" => 1,
        "TEXT" => 3,
        _ => 2,
    };
    rows.sort_by(|a, b| {
        (rank(&a.level), !a.new, std::cmp::Reverse(a.count), &a.target, &a.pattern).cmp(&(
            rank(&b.level),
            !b.new,
            std::cmp::Reverse(b.count),
            &b.target,
            &b.pattern,
        ))
    });

    let new_errors: Vec<&Row> = rows.iter().filter(|r| r.level == "ERROR" && r.new).collect();
    let mut failures = Vec::new();
    if analysis.now.panics > 0 {
        failures.push(format!("{} panic(s)", analysis.now.panics));
    }
    if !new_errors.is_empty() {
        failures.push(format!("{} new ERROR pattern(s)", new_errors.len()));
    }
    if analysis.now.error > settings.error_threshold {
        failures.push(format!(
            "{} ERROR lines, more than the threshold of {}",
            analysis.now.error, settings.error_threshold
        ));
    }
    let verdict = if failures.is_empty() {
        format!(
            "ok: no panic, no new ERROR pattern, {} ERROR line(s) (threshold {})",
            analysis.now.error, settings.error_threshold
        )
    } else {
        format!("FAIL: {}", failures.join("; "))
    };

    let mut text = String::new();
    let _ = writeln!(
        text,
        "window {} to {}, compared with {} to {}",
        window.since, window.until, earlier.since, earlier.until
    );
    let _ = writeln!(text, "source: {}", settings.source.describe(both));
    let c = &analysis.now;
    let _ = writeln!(
        text,
        "lines: {} ({} JSON, {} not JSON, {} cut at 1 MiB); ERROR {} (the window before: {}), WARN {} ({})",
        c.lines, c.json, c.text, c.cut, c.error, analysis.before.error, c.warn, analysis.before.warn
    );
    if c.lines == 0 {
        let _ =
            writeln!(text, "WARN no log line at all in the window: is the source right, and was the service running?");
        crate::output::warn("no log line at all in the window: is the source right, and was the service running?");
    }
    for p in &analysis.panics {
        let message = p.message.as_deref().map(|m| format!(" — {m}")).unwrap_or_default();
        let _ = writeln!(text, "PANIC {} {}{message}", p.at, p.line);
    }
    if analysis.now.panics > analysis.panics.len() as u64 {
        let _ = writeln!(text, "PANIC … and {} more", analysis.now.panics - analysis.panics.len() as u64);
    }
    for (level, title) in [("ERROR", "ERROR patterns"), ("WARN", "WARN patterns"), ("TEXT", "lines that are not JSON")]
    {
        let of_level: Vec<&Row> = rows.iter().filter(|r| r.level == level).collect();
        if of_level.is_empty() {
            continue;
        }
        let _ = writeln!(text, "{title} (count in the window, in the window before):");
        for row in of_level.iter().take(SHOWN_PER_LEVEL) {
            let mark = if row.new { "NEW".to_owned() } else { row.grown.map(|g| format!("x{g}")).unwrap_or_default() };
            let target = if row.target.is_empty() { String::new() } else { format!("{}  ", row.target) };
            let _ = writeln!(text, "  {mark:<5} {:>7} ({:>7})  {target}{}", row.count, row.count_before, row.pattern);
            if let (Some(first), Some(last)) = (row.first, row.last) {
                let _ = writeln!(text, "        first {first}, last {last}");
            }
            let _ = writeln!(text, "        e.g. {}", clip(&row.example, 300));
        }
        if of_level.len() > SHOWN_PER_LEVEL {
            let _ = writeln!(text, "  … {} more (--format json lists them all)", of_level.len() - SHOWN_PER_LEVEL);
        }
    }
    let _ = write!(text, "{verdict}");

    let json = serde_json::json!({
        "ok": failures.is_empty(),
        "window": { "since": window.since, "until": window.until },
        "window_before": { "since": earlier.since, "until": earlier.until },
        "source": settings.source.describe(both),
        "error_threshold": settings.error_threshold,
        "counts": analysis.now,
        "counts_before": analysis.before,
        "panics": analysis.panics,
        "patterns": rows,
        "failures": failures,
    });
    let status = if failures.is_empty() { exit::SUCCESS } else { exit::FAILED };
    Ok(Report::new(text, &json).with_status(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yesterday_is_the_previous_utc_day_and_the_window_before_has_its_length() {
        let now = Timestamp::parse("2025-09-25T10:20:30Z").unwrap();
        let w = yesterday(now);
        assert_eq!(
            (w.since.to_string(), w.until.to_string()),
            ("2025-09-24T00:00:00Z".into(), "2025-09-25T00:00:00Z".into())
        );
        let b = before(w);
        assert_eq!(
            (b.since.to_string(), b.until.to_string()),
            ("2025-09-23T00:00:00Z".into(), "2025-09-24T00:00:00Z".into())
        );
        let short = Window { since: now, until: now.plus_secs(90) };
        assert_eq!(before(short).since, now.minus_secs(90));
    }

    fn run(lines: &str, threshold: u64) -> (u8, serde_json::Value, String) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.log");
        std::fs::write(&file, lines).unwrap();
        let source = LogSource::Files(vec![file]);
        let window = Window {
            since: Timestamp::parse("2025-09-25T00:00:00Z").unwrap(),
            until: Timestamp::parse("2025-09-26T00:00:00Z").unwrap(),
        };
        let report = analyze(&Analyze { source: &source, window, error_threshold: threshold }).unwrap();
        let (text, json, status) = report.parts();
        (status, serde_json::from_str(json).unwrap(), text.to_owned())
    }

    fn line(at: &str, level: &str, message: &str) -> String {
        serde_json::json!({"timestamp": at, "level": level, "message": message, "target": "ferretwatch_server"})
            .to_string()
            + "\n"
    }

    #[test]
    fn a_new_error_pattern_fails_and_a_known_one_under_the_threshold_passes() {
        let known = line("2025-09-24T10:00:00Z", "ERROR", "store failed after 12 ms")
            + &line("2025-09-25T10:00:00Z", "ERROR", "store failed after 30 ms");
        let (status, json, text) = run(&known, 5);
        assert_eq!(status, 0, "{text}");
        assert_eq!(json["patterns"][0]["pattern"], "store failed after <n> ms");
        assert_eq!(json["patterns"][0]["new"], false);
        let (status, _, text) = run(&known, 0);
        assert_eq!(status, 1, "over the threshold: {text}");
        assert!(text.contains("more than the threshold of 0"), "{text}");

        let new = known + &line("2025-09-25T11:00:00Z", "ERROR", "origin store failed");
        let (status, json, text) = run(&new, 5);
        assert_eq!(status, 1, "{text}");
        assert_eq!(json["failures"][0], "1 new ERROR pattern(s)");
        assert!(text.contains("NEW         1 (      0)  ferretwatch_server  origin store failed"), "{text}");
    }

    #[test]
    fn warnings_are_marked_new_or_grown_but_do_not_fail() {
        let mut lines = line("2025-09-24T10:00:00Z", "WARN", "slow request from 10.0.0.1");
        for i in 0..5 {
            lines += &line(&format!("2025-09-25T10:00:0{i}Z"), "WARN", &format!("slow request from 10.0.0.{i}"));
        }
        lines += &line("2025-09-25T12:00:00Z", "WARN", "something else");
        lines += &line("2025-09-25T12:00:00Z", "INFO", "response");
        let (status, json, text) = run(&lines, 5);
        assert_eq!(status, 0, "{text}");
        assert_eq!(json["counts"]["warn"], 6);
        assert_eq!(json["counts"]["lines"], 7);
        let grown =
            json["patterns"].as_array().unwrap().iter().find(|p| p["pattern"] == "slow request from <ip>").unwrap();
        assert_eq!((grown["count"].as_u64(), grown["grown"].as_f64()), (Some(5), Some(5.0)));
        assert!(text.contains("x5 ") && text.contains("NEW "), "{text}");
        assert_eq!(grown["first"], "2025-09-25T10:00:00Z");
        assert_eq!(grown["last"], "2025-09-25T10:00:04Z");
    }

    #[test]
    fn a_panic_in_plain_text_is_found_with_its_message_and_fails() {
        let lines = line("2025-09-25T10:00:00Z", "INFO", "response")
            + "thread 'tokio-runtime-worker' panicked at crates/server/src/x.rs:10:5:\n"
            + "index out of bounds: the len is 0 but the index is 3\n"
            + "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        let (status, json, text) = run(&lines, 5);
        assert_eq!(status, 1, "{text}");
        assert_eq!(json["panics"][0]["at"], "2025-09-25T10:00:00Z");
        assert_eq!(json["panics"][0]["message"], "index out of bounds: the len is 0 but the index is 3");
        assert_eq!(json["counts"]["text"], 3);
        assert!(text.contains("PANIC 2025-09-25T10:00:00Z thread 'tokio-runtime-worker' panicked at"), "{text}");
        assert!(text.contains("lines that are not JSON"), "{text}");
    }

    #[test]
    fn examples_never_show_secrets() {
        let lines = line("2025-09-25T10:00:00Z", "WARN", "refused Bearer abcdef0123 for token=zzz9");
        let (_, json, text) = run(&lines, 5);
        for shown in [text, json.to_string()] {
            assert!(!shown.contains("abcdef0123") && !shown.contains("zzz9"), "{shown}");
        }
    }

    #[test]
    fn the_table_is_bounded_and_later_patterns_fall_into_other() {
        let mut analysis = Analysis::default();
        let at = Timestamp::parse("2025-09-25T10:00:00Z").unwrap();
        for i in 0..MAX_PATTERNS + 50 {
            let raw = format!("text line {}", "x".repeat(i % 97) + &"y".repeat(i / 97));
            analysis.line(&Line { at, raw: raw.as_bytes(), record: None, cut: false }, true);
        }
        assert_eq!(analysis.table.len(), MAX_PATTERNS + 1);
        let other = analysis.table.iter().find(|(k, _)| k.pattern == OTHER).unwrap();
        assert_eq!(other.1.now.count, 50);
    }
}
