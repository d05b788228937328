//! `ferretwatch scan --batch`: one JSON verdict per input line, in input order, on all cores.
//!
//! Lines are scanned in parallel blocks and written in order. Blank lines are skipped;
//! every output object carries the 1-based `line` it answers. A malformed line yields an
//! error object for that line and the batch goes on.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use ferretwatch_detect::{Engine, Finding, Level, Page, Resource, ScanOptions};
use ferretwatch_types::Coded;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::input::read_input;
use crate::output::{self, Format};

/// Lines scanned between two writes.
const BLOCK_LINES: usize = 64 * 1024;
/// Lines one worker scans in one go.
const CHUNK_LINES: usize = 512;

/// A JSON input line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputLine {
    url: String,
    #[serde(default)]
    html: Option<String>,
    #[serde(default)]
    resources: Vec<Resource>,
}

#[derive(Serialize)]
struct VerdictLine<'a> {
    line: usize,
    url: &'a str,
    score: u8,
    level: Level,
    findings: &'a [Finding],
    pack_version: &'a str,
    partial: bool,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    truncated: &'a [&'static str],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    allowlisted: bool,
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    error: ErrorBody,
}

#[derive(Serialize)]
struct ErrorBody {
    code: &'static str,
    message: String,
}

/// Runs the batch over `path`.
pub fn run(engine: &Engine, options: &ScanOptions, path: &Path) -> ExitCode {
    let data = match read_input(path) {
        Ok(data) => data,
        Err(e) => return output::fail(Format::Text, None, &e),
    };
    let lines: Vec<(usize, &[u8])> = data
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim_ascii()))
        .filter(|(_, line)| !line.is_empty())
        .collect();
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    for block in lines.chunks(BLOCK_LINES) {
        let parts: Vec<Vec<u8>> = block
            .par_chunks(CHUNK_LINES)
            .map(|chunk| {
                let mut buf = Vec::with_capacity(chunk.len() * 256);
                for &(number, line) in chunk {
                    scan_line(engine, options, number, line, &mut buf);
                }
                buf
            })
            .collect();
        for part in parts {
            if out.write_all(&part).is_err() {
                // The reader went away (for example `| head`): stop quietly.
                return ExitCode::SUCCESS;
            }
        }
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}

fn scan_line(engine: &Engine, options: &ScanOptions, number: usize, line: &[u8], buf: &mut Vec<u8>) {
    let Ok(text) = std::str::from_utf8(line) else {
        return write_error(buf, number, None, "bad_line", "line is not valid UTF-8".into());
    };
    let parsed;
    let page = if text.starts_with('{') {
        parsed = match serde_json::from_str::<InputLine>(text) {
            Ok(parsed) => parsed,
            Err(e) => return write_error(buf, number, None, "bad_line", format!("invalid JSON line: {e}")),
        };
        Page { url: &parsed.url, html: parsed.html.as_deref(), resources: &parsed.resources, ..Page::default() }
    } else {
        Page::url(text)
    };
    match engine.scan(&page, options) {
        Ok(v) => {
            let line = VerdictLine {
                line: number,
                url: page.url,
                score: v.score,
                level: v.level,
                findings: &v.findings,
                pack_version: &v.pack_version,
                partial: v.partial,
                truncated: &v.truncated,
                allowlisted: v.allowlisted,
            };
            serde_json::to_writer(&mut *buf, &line).expect("verdict serialises");
            buf.push(b'\n');
        }
        Err(e) => write_error(buf, number, Some(page.url), e.code(), e.to_string()),
    }
}

fn write_error(buf: &mut Vec<u8>, line: usize, url: Option<&str>, code: &'static str, message: String) {
    let url = url.map(preview);
    let error = ErrorLine { line, url: url.as_deref(), error: ErrorBody { code, message } };
    serde_json::to_writer(&mut *buf, &error).expect("error serialises");
    buf.push(b'\n');
}

/// Echoes at most 2 KiB of a bad URL back.
fn preview(url: &str) -> String {
    let mut end = url.len().min(2048);
    while !url.is_char_boundary(end) {
        end -= 1;
    }
    url[..end].to_owned()
}
