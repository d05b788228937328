//! Where the service's log lines are, and each line with its time.
//!
//! The source is `FERRETWATCH_LOG_FILES` (`--log-files`): files or globs, separated by
//! spaces, gzip read transparently (by its magic, whatever the name). Without it, the
//! systemd journal of the `ferretwatch@*` units through `journalctl -o cat` when
//! `journalctl` is on `PATH`. With neither, an error says so.
//!
//! A line's time is its own `timestamp` field when it is a JSON object that has one.
//! Other lines (a panic prints plain text to standard error, which journald and a `2>&1`
//! redirect keep) take the time of the JSON line before them in the same file; lines at
//! the start of a file, of the first JSON line after them; in a file with no JSON line at
//! all, the file's modification time (for the journal, the window's end: journalctl has
//! already chosen them). So a panic is always placed and never dropped. Lines longer than
//! [`MAX_LINE`] are cut there and counted.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use ferretwatch_types::Timestamp;
use serde_json::{Map, Value};

use crate::clock::parse_time;
use crate::error::CliError;

/// The longest line read whole; longer ones are cut here.
pub const MAX_LINE: usize = 1 << 20;

/// Undated lines held at the start of a file while waiting for a time, at most.
const MAX_PENDING_LINES: usize = 10_000;
/// … and their bytes, at most.
const MAX_PENDING_BYTES: usize = 16 << 20;

/// The journal units read when no files are given.
pub const JOURNAL_UNITS: &str = "ferretwatch@*";

/// Where the lines come from.
#[derive(Debug, Clone)]
pub enum LogSource {
    /// Files, oldest first (by modification time).
    Files(Vec<PathBuf>),
    /// `journalctl -u 'ferretwatch@*' -o cat`.
    Journal,
}

/// A half-open range of instants, `[since, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first instant in it.
    pub since: Timestamp,
    /// The first instant after it.
    pub until: Timestamp,
}

impl Window {
    /// Whether `at` falls in it.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.since <= at && at < self.until
    }
}

/// One line with its time.
pub struct Line<'a> {
    /// Its time (see the module's documentation).
    pub at: Timestamp,
    /// The line as read, without its line break (cut at [`MAX_LINE`]).
    pub raw: &'a [u8],
    /// The JSON object it holds, when it is one.
    pub record: Option<&'a Map<String, Value>>,
    /// Whether it was longer than [`MAX_LINE`].
    pub cut: bool,
}

/// One stream of lines: a file or the journal.
pub struct Stream {
    /// What it is, for people: the file's path, or the journal command.
    pub name: String,
    /// A short name for a copy of its lines (the file's name without `.gz`).
    pub file_name: String,
    reader: Box<dyn BufRead>,
    fallback: Timestamp,
    child: Option<Child>,
}

impl LogSource {
    /// The source: the files `patterns` names (`FERRETWATCH_LOG_FILES`), else the journal
    /// when `journalctl` is on `PATH`, else an error.
    pub fn resolve(patterns: Option<&str>) -> Result<LogSource, CliError> {
        match patterns.map(str::trim).filter(|p| !p.is_empty()) {
            Some(patterns) => expand(patterns).map(LogSource::Files),
            None if on_path("journalctl") => Ok(LogSource::Journal),
            None => Err(CliError::input(
                "no_log_source",
                "no log source: set FERRETWATCH_LOG_FILES to the service's log files (globs and .gz welcome), \
                 or run where journalctl can read the ferretwatch@* units",
            )),
        }
    }

    /// For people: the files, or the journal command for `window`.
    pub fn describe(&self, window: Window) -> String {
        match self {
            LogSource::Files(files) => {
                let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                format!("{} file(s): {}", files.len(), names.join(" "))
            }
            LogSource::Journal => journal_args(window).join(" "),
        }
    }

    /// Opens its streams for lines in `window` (the journal is asked for that window;
    /// files are read whole, and [`read`] keeps the lines in it).
    pub fn open(&self, window: Window) -> Result<Vec<Stream>, CliError> {
        match self {
            LogSource::Files(files) => files.iter().map(|f| open_file(f)).collect(),
            LogSource::Journal => {
                let args = journal_args(window);
                let mut child = Command::new(&args[0])
                    .args(&args[1..])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    // Its hints (no permission to read the system journal, …) reach the
                    // operator as they are, and a full pipe can never stall it.
                    .stderr(Stdio::inherit())
                    .spawn()
                    .map_err(|e| CliError::input("journal_failed", format!("journalctl: {e}")))?;
                let stdout = child.stdout.take().expect("piped");
                Ok(vec![Stream {
                    name: args.join(" "),
                    file_name: "journal.log".into(),
                    reader: Box::new(BufReader::with_capacity(1 << 16, stdout)),
                    fallback: Timestamp::from_millis(window.until.as_millis() - 1),
                    child: Some(child),
                }])
            }
        }
    }
}

fn journal_args(window: Window) -> Vec<String> {
    // Whole seconds: the start rounded down, the end up (the lines' own times decide).
    let until = window.until.as_secs() + u64::from(window.until.as_millis() % 1000 != 0);
    vec![
        "journalctl".into(),
        "-u".into(),
        JOURNAL_UNITS.into(),
        "-o".into(),
        "cat".into(),
        "--no-pager".into(),
        "--quiet".into(),
        "--since".into(),
        format!("@{}", window.since.as_secs()),
        "--until".into(),
        format!("@{until}"),
    ]
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The files that space-separated `patterns` name, oldest first. A `*` or `?` in a file
/// name (not in a directory) matches the directory's entries; a pattern matching nothing,
/// or a missing file, is an error (a wrong path must not read as a quiet day).
pub fn expand(patterns: &str) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for pattern in patterns.split_whitespace() {
        let path = Path::new(pattern);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.contains(['*', '?']) {
            if !path.is_file() {
                return Err(CliError::input("no_log_files", format!("FERRETWATCH_LOG_FILES: {pattern} is not a file")));
            }
            files.push(path.to_path_buf());
            continue;
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| CliError::input("no_log_files", format!("FERRETWATCH_LOG_FILES: {}: {e}", dir.display())))?;
        let before = files.len();
        for entry in entries.flatten() {
            let entry_name = entry.file_name();
            if let Some(entry_name) = entry_name.to_str() {
                if wildcard(name.as_bytes(), entry_name.as_bytes()) && entry.path().is_file() {
                    files.push(dir.join(entry_name));
                }
            }
        }
        if files.len() == before {
            return Err(CliError::input("no_log_files", format!("FERRETWATCH_LOG_FILES: nothing matches {pattern}")));
        }
    }
    let mut dated: Vec<(std::time::SystemTime, PathBuf)> = files
        .into_iter()
        .map(|f| (std::fs::metadata(&f).and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH), f))
        .collect();
    dated.sort();
    dated.dedup_by(|a, b| a.1 == b.1);
    Ok(dated.into_iter().map(|(_, f)| f).collect())
}

/// `*` (any run) and `?` (any one byte) against a whole name.
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

fn open_file(path: &Path) -> Result<Stream, CliError> {
    let unreadable = |e: std::io::Error| CliError::input("unreadable_log", format!("{}: {e}", path.display()));
    let file = File::open(path).map_err(unreadable)?;
    let modified = file.metadata().and_then(|m| m.modified()).map_err(unreadable)?;
    let fallback = Timestamp::from_millis(
        modified.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
    );
    let mut buffered = BufReader::with_capacity(1 << 16, file);
    let gzip = buffered.fill_buf().map_err(unreadable)?.starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(1 << 16, flate2::bufread::MultiGzDecoder::new(buffered)))
    } else {
        Box::new(buffered)
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("log");
    Ok(Stream {
        name: path.display().to_string(),
        file_name: name.strip_suffix(".gz").unwrap_or(name).to_owned(),
        reader,
        fallback,
        child: None,
    })
}

/// Reads one line of at most [`MAX_LINE`] bytes into `buf` (without its line break);
/// the rest of a longer line is skipped. `None` at the end.
fn next_line(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    let read = Read::take(&mut *reader, MAX_LINE as u64 + 1).read_until(b'\n', buf)?;
    if read == 0 {
        return Ok(None);
    }
    let mut cut = false;
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() > MAX_LINE {
        buf.truncate(MAX_LINE);
        cut = true;
        // Skip to the end of the line.
        loop {
            let available = reader.fill_buf()?;
            if available.is_empty() {
                break;
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    reader.consume(i + 1);
                    break;
                }
                None => {
                    let len = available.len();
                    reader.consume(len);
                }
            }
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(cut))
}

/// The JSON object a line holds, if any.
fn record_of(raw: &[u8]) -> Option<Map<String, Value>> {
    let start = raw.iter().position(|b| !b.is_ascii_whitespace())?;
    if raw[start] != b'{' {
        return None;
    }
    match serde_json::from_slice(raw) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

fn time_of(record: &Map<String, Value>) -> Option<Timestamp> {
    record.get("timestamp").and_then(Value::as_str).and_then(|t| parse_time(t).ok())
}

/// Reads `stream` to its end, passing each line whose time falls in `window` to `visit`
/// in the order read.
pub fn read(mut stream: Stream, window: Window, visit: &mut dyn FnMut(&Line<'_>)) -> Result<(), CliError> {
    let failed = |e: std::io::Error| CliError::input("unreadable_log", format!("{}: {e}", stream.name));
    let mut buf = Vec::new();
    let mut last: Option<Timestamp> = None;
    let mut pending: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut pending_bytes = 0usize;
    let mut emit = |at: Timestamp, raw: &[u8], record: Option<&Map<String, Value>>, cut: bool| {
        if window.contains(at) {
            visit(&Line { at, raw, record, cut });
        }
    };
    let flush = |pending: &mut Vec<(Vec<u8>, bool)>, at: Timestamp, emit: &mut dyn FnMut(Timestamp, &[u8], bool)| {
        for (raw, cut) in pending.drain(..) {
            emit(at, &raw, cut);
        }
    };
    while let Some(cut) = next_line(&mut *stream.reader, &mut buf).map_err(failed)? {
        let record = record_of(&buf);
        match (record.as_ref().and_then(time_of), last) {
            (Some(at), _) => {
                if !pending.is_empty() {
                    flush(&mut pending, at, &mut |t, raw, cut| emit(t, raw, record_of(raw).as_ref(), cut));
                    pending_bytes = 0;
                }
                last = Some(at);
                emit(at, &buf, record.as_ref(), cut);
            }
            (None, Some(at)) => emit(at, &buf, record.as_ref(), cut),
            (None, None) => {
                pending_bytes += buf.len();
                pending.push((buf.clone(), cut));
                if pending.len() >= MAX_PENDING_LINES || pending_bytes >= MAX_PENDING_BYTES {
                    let fallback = stream.fallback;
                    flush(&mut pending, fallback, &mut |t, raw, cut| emit(t, raw, record_of(raw).as_ref(), cut));
                    pending_bytes = 0;
                }
            }
        }
    }
    let fallback = stream.fallback;
    flush(&mut pending, fallback, &mut |t, raw, cut| emit(t, raw, record_of(raw).as_ref(), cut));
    if let Some(mut child) = stream.child.take() {
        let status = child.wait().map_err(|e| CliError::input("journal_failed", format!("journalctl: {e}")))?;
        if !status.success() {
            return Err(CliError::input("journal_failed", format!("{} failed ({status}); see above", stream.name)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(text: &str, fallback: Timestamp) -> Stream {
        Stream {
            name: "test".into(),
            file_name: "test".into(),
            reader: Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            fallback,
            child: None,
        }
    }

    fn t(text: &str) -> Timestamp {
        parse_time(text).unwrap()
    }

    fn lines(text: &str, window: Window) -> Vec<(String, String)> {
        let mut out = Vec::new();
        read(stream(text, t("2025-09-25T23:00:00Z")), window, &mut |l| {
            out.push((l.at.to_string(), String::from_utf8_lossy(l.raw).into_owned()))
        })
        .unwrap();
        out
    }

    const DAY: Window = Window {
        since: Timestamp::from_secs(1_758_758_400), // 2025-09-25T00:00:00Z
        until: Timestamp::from_secs(1_758_844_800),
    };

    #[test]
    fn plain_text_lines_take_the_time_of_the_json_line_before_them_or_else_after_them() {
        let text = "early text\n\
            {\"timestamp\":\"2025-09-25T10:00:00.5Z\",\"level\":\"INFO\",\"message\":\"a\"}\n\
            thread 'x' panicked at src/lib.rs:1:1:\n\
            boom\r\n\
            {\"timestamp\":\"2025-09-25T11:00:00Z\",\"level\":\"WARN\",\"message\":\"b\"}\n\
            {\"not\":\"dated\"}\n";
        let got = lines(text, DAY);
        let at: Vec<&str> = got.iter().map(|(at, _)| at.as_str()).collect();
        assert_eq!(
            at,
            [
                "2025-09-25T10:00:00Z",
                "2025-09-25T10:00:00Z",
                "2025-09-25T10:00:00Z",
                "2025-09-25T10:00:00Z",
                "2025-09-25T11:00:00Z",
                "2025-09-25T11:00:00Z"
            ]
        );
        assert_eq!(got[0].1, "early text");
        assert_eq!(got[3].1, "boom", "the carriage return is not part of the line");
    }

    #[test]
    fn the_window_is_half_open_and_a_file_without_json_takes_its_fallback_time() {
        let text = "{\"timestamp\":\"2025-09-24T23:59:59.999Z\",\"message\":\"before\"}\n\
            {\"timestamp\":\"2025-09-25T00:00:00Z\",\"message\":\"first\"}\n\
            {\"timestamp\":\"2025-09-26T00:00:00Z\",\"message\":\"after\"}\n";
        let got = lines(text, DAY);
        assert_eq!(got.len(), 1);
        assert!(got[0].1.contains("first"));
        let got = lines("only\ntext\n", DAY);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "2025-09-25T23:00:00Z", "the file's modification time");
    }

    #[test]
    fn a_line_longer_than_the_limit_is_cut_and_the_next_line_is_whole() {
        let long = "x".repeat(MAX_LINE + 10);
        let first = r#"{"timestamp":"2025-09-25T01:00:00Z"}"#;
        let text = format!("{first}\n{long}\nnext\n");
        let mut seen = Vec::new();
        read(stream(&text, t("2025-09-25T23:00:00Z")), DAY, &mut |l| seen.push((l.raw.len(), l.cut))).unwrap();
        assert_eq!(seen, [(first.len(), false), (MAX_LINE, true), (4, false)]);
    }

    #[test]
    fn wildcards_match_whole_names() {
        assert!(wildcard(b"*.log*", b"ferretwatch.log.2.gz"));
        assert!(wildcard(b"ferretwatch.log", b"ferretwatch.log"));
        assert!(wildcard(b"f?rret*", b"ferretwatch.log"));
        assert!(!wildcard(b"*.log", b"ferretwatch.log.1"));
        assert!(!wildcard(b"a*b*c", b"abbbd"));
        assert!(wildcard(b"a*b*c", b"axxbyyc"));
    }

    #[test]
    fn globs_expand_to_files_oldest_first_and_matching_nothing_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        for (name, age) in [("app.log", 0u64), ("app.log.1", 100), ("app.log.2.gz", 200), ("other.txt", 0)] {
            let path = dir.path().join(name);
            std::fs::write(&path, "x\n").unwrap();
            let when = std::time::SystemTime::now() - std::time::Duration::from_secs(age);
            File::options().write(true).open(&path).unwrap().set_modified(when).unwrap();
        }
        let pattern = format!("{}/app.log*", dir.path().display());
        let files = expand(&pattern).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap().to_str().unwrap()).collect();
        assert_eq!(names, ["app.log.2.gz", "app.log.1", "app.log"]);
        let err = expand(&format!("{}/nothing*", dir.path().display())).unwrap_err();
        assert!(err.to_string().contains("nothing matches"), "{err}");
        assert!(expand(&format!("{}/missing.log", dir.path().display())).is_err());
    }
}
