//! Instants in milliseconds since the Unix epoch, UTC, written as RFC 3339 with whole
//! seconds (`2025-09-24T15:00:00Z`).
//!
//! One unit: milliseconds, because the store orders reports by them and both databases
//! keep them as 64-bit integers. One text form: `YYYY-MM-DDTHH:MM:SSZ`, because every
//! signed document (pack metadata, manifests, bulletins) and every API field uses it;
//! [`Timestamp::parse`] reads exactly that form and `Display` writes it, dropping the
//! milliseconds (which are zero for every instant that is ever written to a file). A few
//! lines of civil-calendar arithmetic (Howard Hinnant's `days_from_civil`) replace a date
//! crate: this is the only form read or written.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One hour, in seconds.
pub const HOUR: u64 = 3600;
/// One day, in seconds.
pub const DAY: u64 = 24 * HOUR;

/// An instant: milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

/// A text that is not `YYYY-MM-DDTHH:MM:SSZ`, or not a real UTC date and time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid UTC time {0:?}: want YYYY-MM-DDTHH:MM:SSZ (a real date and time)")]
pub struct TimestampError(String);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp::from_secs(0);

    /// The wall clock now, to the millisecond.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        Timestamp(since.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
    }

    /// An instant from milliseconds since the epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    /// An instant from whole seconds since the epoch (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        let secs = if secs > (i64::MAX / 1000) as u64 { i64::MAX / 1000 } else { secs as i64 };
        Timestamp(secs * 1000)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (0 before it).
    pub const fn as_secs(self) -> u64 {
        if self.0 < 0 {
            0
        } else {
            (self.0 / 1000) as u64
        }
    }

    /// The instant with its milliseconds dropped: what its text form holds.
    pub const fn whole_second(self) -> Self {
        Timestamp(self.0.div_euclid(1000) * 1000)
    }

    /// The instant `seconds` later (saturating).
    pub const fn plus_secs(self, seconds: u64) -> Self {
        let millis = if seconds > (i64::MAX / 1000) as u64 { i64::MAX } else { seconds as i64 * 1000 };
        Timestamp(self.0.saturating_add(millis))
    }

    /// The instant `seconds` earlier (saturating).
    pub const fn minus_secs(self, seconds: u64) -> Self {
        let millis = if seconds > (i64::MAX / 1000) as u64 { i64::MAX } else { seconds as i64 * 1000 };
        Timestamp(self.0.saturating_sub(millis))
    }

    /// Whole seconds from `earlier` to this instant (0 when `earlier` is not earlier).
    pub const fn secs_since(self, earlier: Timestamp) -> u64 {
        let diff = self.0.saturating_sub(earlier.0);
        if diff < 0 {
            0
        } else {
            (diff / 1000) as u64
        }
    }

    /// The instant of a calendar date and time (UTC, years 1970 to 9999), when it exists.
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
        Some(Timestamp((days * 86_400 + i64::from(hour * 3600 + minute * 60 + second)) * 1000))
    }

    /// The calendar date and time (UTC) of the instant's second: year, month, day, hour,
    /// minute, second.
    pub fn to_civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let secs = self.0.div_euclid(1000);
        let (days, second_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) as u32);
        let (year, month, day) = civil_from_days(days);
        (year, month, day, second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ`: exactly that form, a real date and time.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let bad = || TimestampError(text.chars().take(64).collect());
        let b = text.as_bytes();
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
        {
            return Err(bad());
        }
        let num = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = &b[range];
            part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
        };
        let field = |range| num(range).ok_or_else(bad);
        Self::from_civil(field(0..4)?, field(5..7)?, field(8..10)?, field(11..13)?, field(14..16)?, field(17..19)?)
            .ok_or_else(bad)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day, hour, minute, second) = self.to_civil();
        write!(f, "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(text)
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
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
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

    fn t(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn known_instants_format_and_parse_back() {
        assert_eq!(Timestamp::EPOCH.to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp::from_secs(1_758_726_000).to_string(), "2025-09-24T15:00:00Z");
        assert_eq!(Timestamp::from_secs(951_782_400).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(t("2025-09-24T15:00:00Z"), Timestamp::from_secs(1_758_726_000));
        assert_eq!(t("2025-09-24T15:00:00Z").as_millis(), 1_758_726_000_000);
        for secs in (0..4_102_444_800u64).step_by(86_400 * 37 + 3_601) {
            let instant = Timestamp::from_secs(secs);
            assert_eq!(t(&instant.to_string()), instant);
        }
    }

    #[test]
    fn only_the_one_form_of_real_instants_is_read() {
        for bad in [
            "2025-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-09-24T24:00:00Z",
            "2025-9-24T1:00:00Z",
            "2025-09-24 15:00:00",
            "2025-09-24T15:00:00",
            "2025-09-24T15:00:00.000Z",
            "2025-09-24t15:00:00z",
            "+025-09-24T15:00:00Z",
            "1969-12-31T23:59:59Z",
            "",
            "x",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?} was read");
        }
        assert_eq!(t("2024-02-29T00:00:00Z").to_string(), "2024-02-29T00:00:00Z");
    }

    #[test]
    fn milliseconds_are_kept_in_the_number_and_dropped_from_the_text() {
        let instant = Timestamp::from_millis(1_758_726_000_999);
        assert_eq!(instant.to_string(), "2025-09-24T15:00:00Z");
        assert_eq!(instant.whole_second(), Timestamp::from_secs(1_758_726_000));
        assert_eq!(instant.as_secs(), 1_758_726_000);
        assert!(instant > instant.whole_second());
        assert_eq!(Timestamp::from_millis(-1).to_string(), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn arithmetic_saturates() {
        let start = t("2025-09-24T15:00:00Z");
        assert_eq!(start.plus_secs(HOUR).to_string(), "2025-09-24T16:00:00Z");
        assert_eq!(start.minus_secs(DAY).to_string(), "2025-09-23T15:00:00Z");
        assert_eq!(start.plus_secs(DAY).secs_since(start), DAY);
        assert_eq!(start.secs_since(start.plus_secs(1)), 0);
        assert_eq!(Timestamp::from_millis(i64::MAX - 5).plus_secs(10).as_millis(), i64::MAX);
        assert_eq!(Timestamp::from_secs(u64::MAX).as_secs(), (i64::MAX / 1000) as u64);
    }

    #[test]
    fn serde_uses_the_text_form() {
        let json = serde_json::to_string(&t("2025-09-24T15:00:00Z")).unwrap();
        assert_eq!(json, "\"2025-09-24T15:00:00Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t("2025-09-24T15:00:00Z"));
        assert!(serde_json::from_str::<Timestamp>("\"2025-09-24 15:00:00\"").is_err());
    }

    proptest::proptest! {
        #[test]
        fn every_whole_second_round_trips_through_its_text(secs in 0u64..253_402_300_800) {
            let instant = Timestamp::from_secs(secs);
            proptest::prop_assert_eq!(Timestamp::parse(&instant.to_string()), Ok(instant));
        }

        #[test]
        fn parse_accepts_only_what_display_writes(text in "\\PC{0,24}") {
            if let Ok(instant) = Timestamp::parse(&text) {
                proptest::prop_assert_eq!(instant.to_string(), text);
            }
        }
    }
}
