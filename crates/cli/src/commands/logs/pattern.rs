//! A log message turned into its pattern, and examples with their secrets taken out.
//!
//! A pattern is the message with what varies from one occurrence to the next replaced:
//! quoted values (`"…"`, `` `…` ``, and `'…'` when the quote opens a word) by `<q>`,
//! UUIDs by `<uuid>`, IP addresses (with a port) by `<ip>`, runs of 8 or more hexadecimal
//! digits with at least one digit (or `0x…`) by `<hex>`, and every other run of decimal
//! digits by `<n>`. So `report 7 from 10.0.0.1:443 took 12ms` and `report 9 from
//! 10.0.0.2:80 took 3ms` are one pattern, `report <n> from <ip> took <n>ms`.
//!
//! The service logs no secret, but an example line is printed and kept, so anything that
//! looks like one is replaced by `[REDACTED]` anyway: a bearer token, the value of
//! `token=`, `secret=`, `password=` or `key=` (any name ending so, such as
//! `install_token=`), and in a JSON line the value of every field whose name holds
//! `token`, `secret`, `password`, `authorization`, `cookie` or `key`.

use serde_json::{Map, Value};

/// What a redacted value reads as.
pub const REDACTED: &str = "[REDACTED]";

/// The pattern of `message` (redacted first, then normalised).
pub fn pattern(message: &str) -> String {
    normalise(&redact_text(message))
}

fn is_atom(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '_')
}

/// Replaces what varies in `text` (see the module's documentation).
pub fn normalise(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '`') || (c == '\'' && opens_word(&chars, i)) {
            if let Some(end) = closing(&chars, i) {
                out.push_str("<q>");
                i = end + 1;
                continue;
            }
        }
        if is_atom(c) {
            let start = i;
            while i < chars.len() && is_atom(chars[i]) {
                i += 1;
            }
            // Sentence punctuation at the end is not part of the value.
            let mut end = i;
            while end > start && matches!(chars[end - 1], '.' | ':' | '-' | '_') {
                end -= 1;
            }
            let atom: String = chars[start..end].iter().collect();
            out.push_str(&classify(&atom));
            out.extend(&chars[end..i]);
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn opens_word(chars: &[char], i: usize) -> bool {
    i == 0 || !chars[i - 1].is_alphanumeric()
}

/// The index of the quote that closes the one at `open` (a single quote must end a word).
fn closing(chars: &[char], open: usize) -> Option<usize> {
    let quote = chars[open];
    let mut i = open + 1;
    while i < chars.len() {
        if chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == quote && (quote != '\'' || chars.get(i + 1).is_none_or(|n| !n.is_alphanumeric())) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn classify(atom: &str) -> String {
    if atom.is_empty() {
        return String::new();
    }
    if is_uuid(atom) {
        return "<uuid>".into();
    }
    if is_ip(atom) {
        return "<ip>".into();
    }
    let hex_body = atom.strip_prefix("0x").or_else(|| atom.strip_prefix("0X"));
    if let Some(body) = hex_body {
        if !body.is_empty() && body.bytes().all(|b| b.is_ascii_hexdigit()) {
            return "<hex>".into();
        }
    }
    if atom.len() >= 8 && atom.bytes().all(|b| b.is_ascii_hexdigit()) && atom.bytes().any(|b| b.is_ascii_digit()) {
        // All decimal digits is a number, unless it is long enough to be an identifier.
        return if atom.bytes().all(|b| b.is_ascii_digit()) && atom.len() < 16 { "<n>".into() } else { "<hex>".into() };
    }
    // Every other run of digits is a number (times, sizes, versions, ports).
    let mut out = String::with_capacity(atom.len());
    let mut in_digits = false;
    for c in atom.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push_str("<n>");
                in_digits = true;
            }
        } else {
            in_digits = false;
            out.push(c);
        }
    }
    out
}

fn is_uuid(atom: &str) -> bool {
    let b = atom.as_bytes();
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

fn is_ip(atom: &str) -> bool {
    if atom.parse::<std::net::IpAddr>().is_ok() || atom.parse::<std::net::SocketAddr>().is_ok() {
        return atom.contains(['.', ':']) && atom.bytes().any(|b| b.is_ascii_digit() || b == b':');
    }
    // An IPv4 address with a port.
    atom.rsplit_once(':').is_some_and(|(ip, port)| {
        ip.parse::<std::net::Ipv4Addr>().is_ok() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Field names whose values are never shown: any name holding `token`, `secret`,
/// `password`, `authorization` or `cookie`, or ending in `key` (`api_key`; not `key_id`).
fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["token", "secret", "password", "authorization", "cookie"].iter().any(|s| name.contains(s)) || name.ends_with("key")
}

/// Whether a record has a string field with a secret's name, at any depth.
fn has_secret_field(record: &Map<String, Value>) -> bool {
    record.iter().any(|(name, value)| match value {
        Value::String(_) => is_secret_name(name),
        Value::Object(inner) => has_secret_field(inner),
        _ => false,
    })
}

/// An example of a JSON line: the line as found with secrets in its text redacted, or,
/// when a field's name says it holds a secret, the record written again without it.
pub fn redact_line(raw: &str, record: &Map<String, Value>) -> String {
    if has_secret_field(record) {
        Value::Object(redact_record(record)).to_string()
    } else {
        redact_text(raw)
    }
}

/// `text` with bearer tokens and `…token=`/`…secret=`/`…password=`/`…key=` values redacted.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let rest = &lower[i..];
        let secret_value_at = if rest.starts_with("bearer ") {
            Some(i + "bearer ".len())
        } else {
            ["token=", "secret=", "password=", "key=", "token:", "secret:", "password:"]
                .iter()
                .find(|k| rest.starts_with(*k))
                .map(|k| i + k.len())
        };
        if let Some(start) = secret_value_at {
            let mut end = start;
            while end < bytes.len() && bytes[end] == b' ' && bytes[start - 1] == b':' {
                end += 1;
            }
            let value_start = end;
            while end < bytes.len() && !matches!(bytes[end], b' ' | b'&' | b'"' | b'\'' | b',' | b';' | b')' | b'\\') {
                end += 1;
            }
            if end > value_start {
                out.push_str(&text[i..value_start]);
                out.push_str(REDACTED);
                i = end;
                continue;
            }
        }
        let c = text[i..].chars().next().expect("in bounds");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// A JSON record with secret-named fields replaced and every string redacted.
fn redact_record(record: &Map<String, Value>) -> Map<String, Value> {
    record
        .iter()
        .map(|(name, value)| {
            let value = if is_secret_name(name) && value.is_string() {
                Value::String(REDACTED.into())
            } else {
                redact_value(value)
            };
            (name.clone(), value)
        })
        .collect()
}

fn redact_value(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(redact_text(s)),
        Value::Array(items) => Value::Array(items.iter().map(redact_value).collect()),
        Value::Object(map) => Value::Object(redact_record(map)),
        other => other.clone(),
    }
}

/// `text` cut to `max` characters (with `…` when cut).
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_varies_between_occurrences_is_normalised_away() {
        let cases = [
            ("report 7 from 10.0.0.1:443 took 12ms", "report <n> from <ip> took <n>ms"),
            ("report 9 from 10.0.0.2 took 3ms.", "report <n> from <ip> took <n>ms."),
            ("request d2824eee-78ec-4d75-bcb9-141134297332 failed", "request <uuid> failed"),
            ("digest 9c8b769d9b207c1c85bc mismatch at 0x7fff12", "digest <hex> mismatch at <hex>"),
            ("object \"rules.abc.json\" missing", "object <q> missing"),
            ("object `x y` and 'a b' missing", "object <q> and <q> missing"),
            ("the server's state isn't 'ok'", "the server's state isn't <q>"),
            ("peer [2001:db8::1]:8443 reset", "peer [<ip>]:<n> reset"),
            ("pack 2026.12.05.04 served", "pack <n>.<n>.<n>.<n> served"),
            ("at 2026-12-05T04:31:15Z", "at <n>-<n>-<n>T<n>:<n>:<n>Z"),
            ("decade accepted defaced", "decade accepted defaced"),
            ("sha256 verified", "sha<n> verified"),
            ("unterminated \"quote", "unterminated \"quote"),
        ];
        for (message, want) in cases {
            assert_eq!(normalise(message), want, "{message:?}");
        }
        assert_eq!(pattern("a 1 b"), pattern("a 22 b"));
    }

    #[test]
    fn secrets_in_text_are_redacted_and_the_rest_is_kept() {
        let cases = [
            ("Authorization: Bearer abc.def-123 sent", "Authorization: Bearer [REDACTED] sent"),
            ("GET /x?install_token=s3cr3t&page=2", "GET /x?install_token=[REDACTED]&page=2"),
            ("client_secret=hunter2, next", "client_secret=[REDACTED], next"),
            ("password: hunter2 rejected", "password: [REDACTED] rejected"),
            ("api_key=AKIA123", "api_key=[REDACTED]"),
            ("no secret here: token= alone", "no secret here: token= alone"),
            ("ünïcode token=x ok", "ünïcode token=[REDACTED] ok"),
        ];
        for (text, want) in cases {
            assert_eq!(redact_text(text), want, "{text:?}");
        }
    }

    #[test]
    fn secret_fields_of_a_record_are_redacted_at_any_depth() {
        let raw = r#"{"message":"sent token=abc","install_token":"t0k","span":{"authorization":"Bearer x","path":"/v1/x"},"n":3,"list":["secret=y"],"new_keys":true}"#;
        let record: Map<String, Value> = serde_json::from_str(raw).unwrap();
        let redacted = redact_line(raw, &record);
        for secret in ["abc", "t0k", "Bearer x", "secret=y"] {
            assert!(!redacted.contains(secret), "{secret} in {redacted}");
        }
        assert!(redacted.contains("/v1/x") && redacted.contains("\"n\":3"), "{redacted}");
        assert!(redacted.contains("\"new_keys\":true"), "not a secret: {redacted}");
        // Without a secret-named field, the line is kept as found (its field order too).
        let raw = r#"{"timestamp":"x","level":"WARN","message":"sent token=abc","key_id":"k1"}"#;
        let record: Map<String, Value> = serde_json::from_str(raw).unwrap();
        assert_eq!(
            redact_line(raw, &record),
            r#"{"timestamp":"x","level":"WARN","message":"sent token=[REDACTED]","key_id":"k1"}"#
        );
    }

    #[test]
    fn clipping_counts_characters() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("äöü", 3), "äöü");
    }
}
