//! Pack versions: `YYYY.MM.DD.HH`, with a `.N` suffix when one hour needs more than one
//! pack. Versions only ever increase, so they order by time, then by suffix.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::VersionError;
use crate::time::Timestamp;

/// A validated pack version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PackVersion {
    hour: Timestamp,
    suffix: Option<u32>,
    text: String,
}

impl PackVersion {
    /// Parses and validates `YYYY.MM.DD.HH[.N]`: a real UTC date and hour, `N` from 1
    /// without leading zeros.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let bad = || VersionError(text.chars().take(64).collect());
        let parts: Vec<&str> = text.split('.').collect();
        if !(4..=5).contains(&parts.len()) {
            return Err(bad());
        }
        let widths = [4, 2, 2, 2];
        let mut fields = [0u32; 4];
        for (i, width) in widths.into_iter().enumerate() {
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

    /// The start of the version's hour, UTC: the pack's default creation time.
    pub fn hour(&self) -> Timestamp {
        self.hour
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
    type Err = VersionError;
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

    #[test]
    fn valid_versions_parse_and_order_by_time_then_suffix() {
        let v = |s: &str| PackVersion::parse(s).unwrap();
        assert_eq!(v("2025.09.24.15").hour().to_string(), "2025-09-24T15:00:00Z");
        assert!(v("2025.09.24.15") < v("2025.09.24.15.1"));
        assert!(v("2025.09.24.15.2") < v("2025.09.24.15.10"));
        assert!(v("2025.09.24.15.10") < v("2025.09.24.16"));
        assert!(v("2024.12.31.23") < v("2025.01.01.00"));
        assert_eq!(v("2025.09.24.15.3").to_string(), "2025.09.24.15.3");
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
            "2025.09.24.15.0",
            "2025.09.24.15.01",
            "2025.09.24.15.1.1",
            "25.09.24.15",
            "2025-09-24-15",
            "2025.09.24.1a",
            "v2025.09.24.15",
        ] {
            assert!(PackVersion::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
