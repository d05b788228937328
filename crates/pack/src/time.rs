//! UTC timestamps in whole seconds, written as RFC 3339 (`2025-09-24T15:00:00Z`).
//!
//! Only this one form is written and read, so a few lines of civil-calendar arithmetic
//! (Howard Hinnant's `days_from_civil`) replace a date crate; see decision 0007.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Seconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

/// One hour, in seconds.
pub const HOUR: u64 = 3600;

impl Timestamp {
    /// The wall clock now. Only fetches read it; builds take time from the pack version.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        Timestamp(since.map_or(0, |d| d.as_secs()))
    }

    /// The timestamp of a calendar date and time, when it exists.
    pub fn from_civil(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<Self> {
        if !(1970..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let days = days_from_civil(i64::from(year), month, day);
        let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
        u64::try_from(secs).ok().map(Timestamp)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ` (also with a space instead of `T` and without `Z`,
    /// as abuse.ch writes UTC times).
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        match b.len() {
            19 => {}
            20 if b[19] == b'Z' => {}
            _ => return None,
        }
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = text.get(range)?;
            part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
        };
        Self::from_civil(num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?)
    }

    /// This time plus `seconds`, saturating.
    pub fn plus(self, seconds: u64) -> Self {
        Timestamp(self.0.saturating_add(seconds))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = (self.0 / 86_400) as i64;
        let secs = self.0 % 86_400;
        let (year, month, day) = civil_from_days(days);
        write!(f, "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid UTC time {text:?} (want YYYY-MM-DDTHH:MM:SSZ)")))
    }
}

fn is_leap(year: u32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_format_and_parse_back() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(1_758_726_000).to_string(), "2025-09-24T15:00:00Z");
        assert_eq!(Timestamp(951_782_400).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(Timestamp::parse("2025-09-24T15:00:00Z"), Some(Timestamp(1_758_726_000)));
        assert_eq!(Timestamp::parse("2025-09-24 15:00:00"), Some(Timestamp(1_758_726_000)));
        for t in (0..4_102_444_800u64).step_by(86_400 * 37 + 3_601) {
            assert_eq!(Timestamp::parse(&Timestamp(t).to_string()), Some(Timestamp(t)));
        }
    }

    #[test]
    fn impossible_dates_are_refused() {
        for bad in
            ["2025-02-29T00:00:00Z", "2025-13-01T00:00:00Z", "2025-09-24T24:00:00Z", "2025-9-24T1:00:00Z", "", "x"]
        {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
        assert_eq!(
            Timestamp::parse("2024-02-29T00:00:00Z").map(|t| t.to_string()).as_deref(),
            Some("2024-02-29T00:00:00Z")
        );
    }
}
