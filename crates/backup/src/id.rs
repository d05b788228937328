//! Backup ids: the UTC time a backup was made, `YYYYMMDDTHHMMSSmmmZ`
//! (`20261205T072000123Z`), so that sorting ids sorts backups by age and a date picks
//! the backups of that day.

use ferretwatch_types::Timestamp;

use crate::error::{BackupError, Result};

/// A backup's id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BackupId(String);

impl BackupId {
    /// The id of a backup made at `at`.
    pub fn at(at: Timestamp) -> Self {
        let (year, month, day, hour, minute, second) = at.to_civil();
        let millis = at.as_millis().rem_euclid(1000);
        BackupId(format!("{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}{millis:03}Z"))
    }

    /// Parses an id: exactly the form above, a real time.
    pub fn parse(text: &str) -> Result<Self> {
        Self::time_of(text)
            .map(|_| BackupId(text.to_owned()))
            .ok_or_else(|| BackupError::Invalid(format!("{text:?} is not a backup id (YYYYMMDDTHHMMSSmmmZ)")))
    }

    fn time_of(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        if b.len() != 19 || b[8] != b'T' || b[18] != b'Z' {
            return None;
        }
        let digits = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = text.get(range)?;
            part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
        };
        let at = Timestamp::from_civil(
            digits(0..4)?,
            digits(4..6)?,
            digits(6..8)?,
            digits(9..11)?,
            digits(11..13)?,
            digits(13..15)?,
        )?;
        Some(Timestamp::from_millis(at.as_millis() + i64::from(digits(15..18)?)))
    }

    /// When the backup was made.
    pub fn time(&self) -> Timestamp {
        Self::time_of(&self.0).expect("a parsed id")
    }

    /// Its day, `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        format!("{}-{}-{}", &self.0[0..4], &self.0[4..6], &self.0[6..8])
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BackupId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_the_utc_millisecond_and_sort_by_age() {
        let at = Timestamp::from_millis(Timestamp::from_civil(2026, 12, 5, 7, 20, 0).unwrap().as_millis() + 123);
        let id = BackupId::at(at);
        assert_eq!(id.as_str(), "20261205T072000123Z");
        assert_eq!(BackupId::parse(id.as_str()).unwrap().time(), at);
        assert_eq!(id.date(), "2026-12-05");
        assert!(BackupId::at(Timestamp::from_millis(at.as_millis() + 1)) > id);
        for bad in ["latest", "20261305T072000123Z", "20261205T072000123", "2026-12-05", "20261205T07200012xZ"] {
            assert!(BackupId::parse(bad).is_err(), "{bad}");
        }
    }
}
