//! Instants on the command line, one parser for every flag that takes one (`--now`,
//! `--first-seen`, `--created`, `--expires`): RFC 3339 UTC with whole seconds
//! (`2025-09-24T15:00:00Z`) or Unix seconds (`1758726000`).

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
}
