//! Instants on the command line, one parser for every flag that takes one (`--now`,
//! `--first-seen`, `--created`, `--expires`): RFC 3339 UTC with whole seconds
//! (`2025-09-24T15:00:00Z`) or Unix seconds (`1758726000`).
//!
//! The log tools read a wider form ([`parse_time`]), because they meet times written by
//! others: the service's log lines carry microseconds (`2025-09-25T10:00:00.123456Z`), an
//! operator may give an offset, and the runbook writes its time ranges without a zone
//! (`2025-09-25T10:00:00`), which is UTC.

use ferretwatch_types::Timestamp;

/// A text that is neither form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a time: give YYYY-MM-DDTHH:MM:SSZ (UTC) or Unix seconds")]
pub struct InstantError(String);

/// Parses an instant (clap's value parser for every time flag).
pub fn parse_instant(text: &str) -> Result<Timestamp, InstantError> {
    if !text.is_empty() && text.len() <= 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map(Timestamp::from_secs).map_err(|_| InstantError(text.to_owned()));
    }
    Timestamp::parse(text).map_err(|_| InstantError(text.chars().take(64).collect()))
}

/// A text that is no time [`parse_time`] reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a time: give RFC 3339 (2025-09-25T10:00:00Z; a fraction and an offset may follow; no zone is UTC) or Unix seconds")]
pub struct TimeError(String);

/// Parses RFC 3339 with an optional fraction of a second (kept to the millisecond) and an
/// optional zone (`Z`, `+HH:MM`, `-HH:MM`; none is UTC), or Unix seconds.
pub fn parse_time(text: &str) -> Result<Timestamp, TimeError> {
    let bad = || TimeError(text.chars().take(64).collect());
    if !text.is_empty() && text.len() <= 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        return parse_instant(text).map_err(|_| bad());
    }
    let b = text.as_bytes();
    if b.len() < 19 || !b.is_ascii() {
        return Err(bad());
    }
    let base = Timestamp::parse(&format!("{}Z", &text[..19])).map_err(|_| bad())?;
    let mut rest = &text[19..];
    let mut millis = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        for (i, d) in fraction.bytes().take(3).take(digits).enumerate() {
            millis += i64::from(d - b'0') * [100, 10, 1][i];
        }
        rest = &fraction[digits..];
    }
    let offset_secs: i64 = match rest.as_bytes() {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()) => {
            let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if hours > 23 || minutes > 59 {
                return Err(bad());
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'+' {
                offset
            } else {
                -offset
            }
        }
        _ => return Err(bad()),
    };
    Ok(Timestamp::from_millis(base.as_millis() + millis - offset_secs * 1000))
}

/// The instant a command works at: `--now` when given, otherwise the wall clock to the
/// second (what every file a command writes holds).
pub fn now(given: Option<Timestamp>) -> Timestamp {
    given.unwrap_or_else(|| Timestamp::now().whole_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_name_the_same_instant_and_nothing_else_is_a_time() {
        let rfc = parse_instant("2025-09-24T15:00:00Z").unwrap();
        assert_eq!(parse_instant("1758726000").unwrap(), rfc);
        assert_eq!(parse_instant("0").unwrap(), Timestamp::EPOCH);
        for bad in ["", "-5", "1.5", "2025-09-24", "2025-09-24 15:00:00", "now", "9999999999999"] {
            assert!(parse_instant(bad).is_err(), "{bad:?}");
        }
        assert_eq!(now(Some(rfc)), rfc);
        assert_eq!(now(None).as_millis() % 1000, 0, "whole seconds");
    }

    #[test]
    fn log_times_take_fractions_offsets_and_no_zone_as_utc() {
        let utc = parse_instant("2025-09-25T10:00:00Z").unwrap();
        assert_eq!(parse_time("2025-09-25T10:00:00").unwrap(), utc, "no zone is UTC");
        assert_eq!(parse_time("2025-09-25T10:00:00Z").unwrap(), utc);
        assert_eq!(parse_time("2025-09-25T12:00:00+02:00").unwrap(), utc);
        assert_eq!(parse_time("2025-09-25T09:30:00-00:30").unwrap(), utc);
        assert_eq!(parse_time("1758794400").unwrap(), utc);
        let micro = parse_time("2025-09-25T10:00:00.123456Z").unwrap();
        assert_eq!(micro.as_millis() - utc.as_millis(), 123, "kept to the millisecond");
        assert_eq!(parse_time("2025-09-25T10:00:00.5").unwrap().as_millis() - utc.as_millis(), 500);
        for bad in [
            "",
            "2025-09-25",
            "2025-09-25 10:00:00",
            "2025-09-25T10:00:00.",
            "2025-09-25T10:00:00+2:00",
            "2025-09-25T10:00:00+24:00",
            "2025-09-25T10:00:00ZZ",
            "2025-02-30T10:00:00",
            "2025-09-25T10:00:00.1é",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
    }
}
