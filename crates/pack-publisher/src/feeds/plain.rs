//! A plain list: one domain, URL or IP address per line. `#` starts a comment at the start
//! of a line or after white space (a `#` inside a URL is a fragment). Hosts-file lines
//! (`0.0.0.0 evil.example`) are read as the host they block.

use super::Parsed;
use ferretwatch_pack_client::indicator as normalize;

pub(super) fn parse(data: &[u8], keep_query: bool, out: &mut Parsed) {
    for (index, raw) in data.split(|&b| b == b'\n').enumerate() {
        let line = index as u64 + 1;
        let Ok(text) = std::str::from_utf8(raw) else {
            out.bad(line, "line is not valid UTF-8");
            continue;
        };
        let text = strip_comment(text.trim_start_matches('\u{feff}')).trim();
        if text.is_empty() {
            continue;
        }
        let fields: Vec<&str> = text.split_whitespace().collect();
        let entry = match fields.as_slice() {
            [entry] => *entry,
            [sink, entry] if matches!(*sink, "0.0.0.0" | "127.0.0.1" | "::" | "::1") => *entry,
            _ => {
                out.bad(line, format!("{} fields, want one entry per line", fields.len()));
                continue;
            }
        };
        match normalize::plain(entry, keep_query) {
            Ok(indicator) => out.accept(indicator, None),
            Err(reason) => out.bad(line, reason.0),
        }
    }
}

fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #").or_else(|| line.find("\t#")) {
        Some(at) => &line[..at],
        None => line,
    }
}
