//! Pack versions: `YYYY.MM.DD.HH`, with a `.N` suffix when one hour needs more than one
//! pack. Versions only ever increase, so they order by time, then by suffix.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::time::{Timestamp, HOUR};

/// The largest `.N` suffix (six digits).
const MAX_SUFFIX: u32 = 999_999;

/// A validated pack version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PackVersion {
    hour: Timestamp,
    suffix: Option<u32>,
    text: String,
}

/// A text that is not a pack version.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("invalid pack version {0:?}: want YYYY.MM.DD.HH or YYYY.MM.DD.HH.N (a real UTC date and hour, N from 1)")]
pub struct PackVersionError(String);

impl PackVersion {
    /// Parses `YYYY.MM.DD.HH[.N]`: a real UTC date and hour, `N` from 1 to 999999 without
    /// leading zeros.
    pub fn parse(text: &str) -> Result<Self, PackVersionError> {
        let bad = || PackVersionError(text.chars().take(64).collect());
        let parts: Vec<&str> = text.split('.').collect();
        if !(4..=5).contains(&parts.len()) {
            return Err(bad());
        }
        let mut fields = [0u32; 4];
        for (i, width) in [4, 2, 2, 2].into_iter().enumerate() {
            let part = parts[i];
            if part.len() != width || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            fields[i] = part.parse().map_err(|_| bad())?;
        }
        let hour = Timestamp::from_civil(fields[0], fields[1], fields[2], fields[3], 0, 0).ok_or_else(bad)?;
        let suffix = match parts.get(4) {
            None => None,
            Some(n)
                if !n.is_empty() && n.len() <= 6 && n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0') =>
            {
                Some(n.parse().map_err(|_| bad())?)
            }
            Some(_) => return Err(bad()),
        };
        Ok(PackVersion { hour, suffix, text: text.to_owned() })
    }

    /// The version of the hour `instant` falls in, without a suffix.
    pub fn of_hour(instant: Timestamp) -> Self {
        let (year, month, day, hour, _, _) = instant.to_civil();
        let text = format!("{year:04}.{month:02}.{day:02}.{hour:02}");
        PackVersion::parse(&text).unwrap_or_else(|_| panic!("{instant} lies outside the years 1970 to 9999"))
    }

    /// The same hour with suffix `n` (from 1; `None` beyond the largest suffix).
    pub fn with_suffix(&self, n: u32) -> Option<Self> {
        if n == 0 || n > MAX_SUFFIX {
            return None;
        }
        let base = self.text.split('.').take(4).collect::<Vec<_>>().join(".");
        Some(PackVersion { hour: self.hour, suffix: Some(n), text: format!("{base}.{n}") })
    }

    /// The start of the version's hour, UTC: the pack's default creation time.
    pub fn hour(&self) -> Timestamp {
        self.hour
    }

    /// The `.N` suffix, when there is one.
    pub fn suffix(&self) -> Option<u32> {
        self.suffix
    }

    /// Hours since the epoch × 10⁶ + the suffix: a number that increases exactly when the
    /// version does (TUF metadata versions are integers).
    pub fn ordinal(&self) -> u64 {
        self.hour.as_secs() / HOUR * 1_000_000 + u64::from(self.suffix.unwrap_or(0))
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Ord for PackVersion {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.hour, self.suffix.unwrap_or(0)).cmp(&(other.hour, other.suffix.unwrap_or(0)))
    }
}

impl PartialOrd for PackVersion {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for PackVersion {
    type Err = PackVersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PackVersion::parse(s)
    }
}

impl fmt::Display for PackVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for PackVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for PackVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PackVersion::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> PackVersion {
        PackVersion::parse(s).unwrap()
    }

    #[test]
    fn valid_versions_parse_and_order_by_time_then_suffix() {
        assert_eq!(v("2025.09.24.15").hour().to_string(), "2025-09-24T15:00:00Z");
        assert!(v("2025.09.24.15") < v("2025.09.24.15.1"));
        assert!(v("2025.09.24.15.2") < v("2025.09.24.15.10"));
        assert!(v("2025.09.24.15.10") < v("2025.09.24.16"));
        assert!(v("2024.12.31.23") < v("2025.01.01.00"));
        assert_eq!(v("2025.09.24.15.3").to_string(), "2025.09.24.15.3");
        assert_eq!(v("2025.09.24.15.3").suffix(), Some(3));
        assert_eq!(v("2028.02.29.23").suffix(), None);
    }

    #[test]
    fn malformed_versions_are_refused() {
        for bad in [
            "",
            "2025.9.24.15",
            "2025.09.24",
            "2025.09.24.15.",
            "2025.09.24.24",
            "2025.02.30.10",
            "2026.02.29.00",
            "2026.13.40.25",
            "2025.09.24.15.0",
            "2025.09.24.15.01",
            "2026.11.27.15.007",
            "2025.09.24.15.1234567",
            "2025.09.24.15.1.1",
            "25.09.24.15",
            "2025-09-24-15",
            "2025.09.24.1a",
            "2026.11.27.01.x",
            "v2025.09.24.15",
        ] {
            assert!(PackVersion::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn the_hour_of_an_instant_and_its_suffixes_are_versions() {
        let now = Timestamp::parse("2025-09-24T17:42:10Z").unwrap();
        assert_eq!(PackVersion::of_hour(now).as_str(), "2025.09.24.17");
        let with = PackVersion::of_hour(now).with_suffix(10).unwrap();
        assert_eq!(with, v("2025.09.24.17.10"));
        assert_eq!(v("2025.09.24.17.4").with_suffix(5).unwrap().as_str(), "2025.09.24.17.5");
        assert!(v("2025.09.24.17").with_suffix(0).is_none());
        assert!(v("2025.09.24.17").with_suffix(1_000_000).is_none());
    }

    #[test]
    fn the_ordinal_increases_exactly_with_the_version() {
        let versions = ["2024.12.31.23", "2025.01.01.00", "2025.01.01.00.1", "2025.01.01.00.999999", "2025.01.01.01"];
        for pair in versions.windows(2) {
            assert!(v(pair[0]) < v(pair[1]));
            assert!(v(pair[0]).ordinal() < v(pair[1]).ordinal(), "{pair:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn order_and_ordinal_agree(a in 0u64..2_000_000, sa in 0u32..50, b in 0u64..2_000_000, sb in 0u32..50) {
            let make = |hours: u64, suffix: u32| {
                let base = PackVersion::of_hour(Timestamp::from_secs(hours * HOUR));
                if suffix == 0 { base } else { base.with_suffix(suffix).unwrap() }
            };
            let (x, y) = (make(a, sa), make(b, sb));
            proptest::prop_assert_eq!(x.cmp(&y), x.ordinal().cmp(&y.ordinal()));
            proptest::prop_assert_eq!(PackVersion::parse(x.as_str()).unwrap(), x);
        }
    }
}
