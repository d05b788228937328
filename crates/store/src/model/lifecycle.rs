//! The data lifecycle's model: retention batches and the daily aggregates they leave,
//! tombstones and their key, cleanup and the maintenance reports (see
//! [`crate::LifecycleStore`]).

use std::fmt;

use ferretwatch_types::Timestamp;
use hmac::{Hmac, Mac};

use crate::model::{InstallTokenId, ReportKind, Score, UrlHash};
use crate::ValidationError;

/// Milliseconds in a UTC day.
pub const DAY_MS: i64 = 86_400_000;

/// The URL a moderation entry keeps once its URL has been forgotten: the entry stays (it
/// is the URL's moderation state, and the audit refers to it by hash) but no longer says
/// what the URL was.
pub const FORGOTTEN_URL: &str = "(forgotten)";

/// The most reports one retention batch may take (a batch is one transaction, and its rows
/// are held in memory while their counts are added).
pub const MAX_BATCH: u32 = 100_000;

/// The secret that keys tombstones: 32 bytes. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TombstoneKey([u8; 32]);

impl TombstoneKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key from 64 hexadecimal digits (surrounding white space ignored).
    pub fn from_hex(text: &str) -> Result<Self, ValidationError> {
        let bytes = hex::decode(text.trim()).map_err(|_| ValidationError::new("tombstone_key", "must be hex"))?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(Self)
            .map_err(|_| ValidationError::new("tombstone_key", "must be 32 bytes (64 hex digits)"))
    }

    /// HMAC-SHA256 of `subject` under this key.
    pub fn keyed(&self, subject: &[u8]) -> KeyedHash {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(subject);
        KeyedHash(mac.finalize().into_bytes().into())
    }

    /// The key's check value: the keyed hash of a constant no subject can be (it has
    /// spaces). An export records it, so that a ledger is never applied under another key,
    /// where it would match nothing and look like success.
    pub fn check_value(&self) -> KeyedHash {
        self.keyed(b"ferretwatch tombstone key check v1")
    }

    /// The keyed hash of what `target` names.
    pub fn keyed_target(&self, target: &ForgetTarget) -> KeyedHash {
        match target {
            ForgetTarget::Url(hash) => self.keyed(hash.digest().as_bytes()),
            ForgetTarget::Install(id) => self.keyed(id.as_str().as_bytes()),
        }
    }
}

impl fmt::Debug for TombstoneKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TombstoneKey([REDACTED])")
    }
}

impl Drop for TombstoneKey {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

/// A tombstone's key: HMAC-SHA256 of its subject under the [`TombstoneKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyedHash(pub [u8; 32]);

impl KeyedHash {
    /// Parses 64 hexadecimal digits.
    pub fn from_hex(text: &str) -> Result<Self, ValidationError> {
        let bytes = hex::decode(text).map_err(|_| ValidationError::new("hash", "must be 64 hex digits"))?;
        <[u8; 32]>::try_from(bytes.as_slice()).map(Self).map_err(|_| ValidationError::new("hash", "must be 32 bytes"))
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// What a tombstone stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TombstoneSubject {
    /// A URL (by its hash): its reports are deleted and never accepted again.
    Url,
    /// An install token id: its reports received up to the tombstone's creation are
    /// deleted; later ones are accepted.
    Install,
}

impl TombstoneSubject {
    /// `url` or `install`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Url => "url",
            Self::Install => "install",
        }
    }

    /// The subject a code names.
    pub fn parse(code: &str) -> Result<Self, ValidationError> {
        match code {
            "url" => Ok(Self::Url),
            "install" => Ok(Self::Install),
            _ => Err(ValidationError::new("kind", "must be url or install")),
        }
    }
}

/// What to forget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgetTarget {
    /// Every report of a URL, and the URL's text in its moderation entry.
    Url(UrlHash),
    /// Every report an install sent up to now.
    Install(InstallTokenId),
}

impl ForgetTarget {
    /// The tombstone's subject.
    pub fn subject(&self) -> TombstoneSubject {
        match self {
            Self::Url(_) => TombstoneSubject::Url,
            Self::Install(_) => TombstoneSubject::Install,
        }
    }
}

/// A stored tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// The keyed hash of the subject.
    pub keyed_hash: KeyedHash,
    /// What the subject is.
    pub subject: TombstoneSubject,
    /// When it was recorded; for an install, reports received up to this instant are
    /// covered.
    pub created_at: Timestamp,
    /// Why (operator's words, or `deletion request`).
    pub reason: String,
}

/// What [`crate::LifecycleStore::forget`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgotten {
    /// The tombstone as stored.
    pub tombstone: Tombstone,
    /// Whether the tombstone is new (false: it existed, and was applied again).
    pub new: bool,
    /// Reports deleted.
    pub reports_deleted: u64,
    /// Whether a moderation entry's URL text was redacted.
    pub moderation_redacted: bool,
}

/// What [`crate::LifecycleStore::reapply_tombstones`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reapplied {
    /// Tombstones that were not stored yet.
    pub inserted: u64,
    /// Reports deleted.
    pub reports_deleted: u64,
    /// Moderation entries whose URL text was redacted.
    pub moderation_redacted: u64,
}

/// The band of a score, as the engine's verdicts name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScoreLevel {
    /// Below the yellow threshold.
    Green,
    /// At or above yellow, below red.
    Yellow,
    /// At or above red.
    Red,
}

impl ScoreLevel {
    /// `green`, `yellow` or `red`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Green => "green",
            Self::Yellow => "yellow",
            Self::Red => "red",
        }
    }

    /// The level a code names.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "green" => Some(Self::Green),
            "yellow" => Some(Self::Yellow),
            "red" => Some(Self::Red),
            _ => None,
        }
    }

    /// The level of `score` under the thresholds.
    pub fn of(score: u8, yellow: Score, red: Score) -> Self {
        if score >= red.get() {
            Self::Red
        } else if score >= yellow.get() {
            Self::Yellow
        } else {
            Self::Green
        }
    }
}

/// One retention batch: the oldest reports received before `cutoff`, at most `limit`.
#[derive(Debug, Clone, Copy)]
pub struct RetentionBatch {
    /// Reports received strictly before this instant are deleted.
    pub cutoff: Timestamp,
    /// The most reports the batch takes (1 to [`MAX_BATCH`]).
    pub limit: u32,
    /// The lowest yellow score, for the aggregates' levels.
    pub yellow: Score,
    /// The lowest red score.
    pub red: Score,
    /// The registrable domain (eTLD+1) of a stored URL, for the aggregates. The caller
    /// supplies it (the engine's Public Suffix List), so the store stays free of it.
    pub domain_of: fn(&str) -> String,
}

impl RetentionBatch {
    /// Refuses a batch size out of range or crossed thresholds.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.limit == 0 || self.limit > MAX_BATCH {
            return Err(ValidationError::new("batch", format!("must be between 1 and {MAX_BATCH}")));
        }
        if self.yellow.get() > self.red.get() {
            return Err(ValidationError::new("levels", "yellow must not exceed red"));
        }
        Ok(())
    }
}

/// The host of a normalised URL (`SCHEME://HOST[:PORT]/…`), without its port: the domain
/// to use when no Public Suffix List is at hand.
pub fn host_of(url: &str) -> String {
    url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default()
}

/// What one retention batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchOutcome {
    /// Reports deleted (and counted); 0 when nothing older than the cutoff is left.
    pub deleted: u64,
    /// Aggregate rows added to (a row is one day, kind, reason, level and domain).
    pub aggregate_rows: u64,
    /// The earliest `received_at` deleted.
    pub oldest: Option<Timestamp>,
    /// The latest `received_at` deleted.
    pub newest: Option<Timestamp>,
}

/// One row of the daily aggregates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DailyCount {
    /// The UTC midnight of the day.
    pub day: Timestamp,
    /// The reports' kind.
    pub kind: ReportKind,
    /// Their reason's code.
    pub reason: String,
    /// Their score's level.
    pub level: ScoreLevel,
    /// Their URL's registrable domain.
    pub domain: String,
    /// How many.
    pub reports: i64,
}

/// What [`crate::LifecycleStore::cleanup_expired`] deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cleanup {
    /// Console sessions past their expiry.
    pub sessions: u64,
    /// Pending OpenID Connect sign-ins past their expiry.
    pub oidc_pending: u64,
    /// Invitations never used and past their expiry.
    pub invitations: u64,
}

/// The statistics statement that took the longest on average.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowQuery {
    /// The normalised statement.
    pub query: String,
    /// How often it ran.
    pub calls: i64,
    /// Mean execution time, milliseconds.
    pub mean_ms: f64,
    /// Total execution time, milliseconds.
    pub total_ms: f64,
}

/// The slow-query report, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum SlowQueries {
    /// The statements above the threshold, slowest first.
    Available(Vec<SlowQuery>),
    /// The database keeps no statistics to report from.
    Unavailable {
        /// Why, and how to enable it where possible.
        reason: String,
    },
}

/// One index and what the database knows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// Its table.
    pub table: String,
    /// Its name.
    pub name: String,
    /// Its size in bytes, where the database tells.
    pub size_bytes: Option<i64>,
    /// Scans since statistics were reset, where the database counts them.
    pub scans: Option<i64>,
    /// Whether it is usable (PostgreSQL marks an index left by a failed concurrent build
    /// invalid).
    pub valid: bool,
    /// Whether it enforces uniqueness (never a candidate for dropping when unused).
    pub unique: bool,
}

/// Index health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexReport {
    /// SQLite's `PRAGMA quick_check` result (`ok` when sound); `None` for PostgreSQL.
    pub integrity: Option<String>,
    /// Every index of the application's tables, largest first where sizes are known.
    pub indexes: Vec<IndexInfo>,
}

impl IndexReport {
    /// Indexes that are invalid.
    pub fn invalid(&self) -> impl Iterator<Item = &IndexInfo> {
        self.indexes.iter().filter(|i| !i.valid)
    }

    /// Indexes never scanned that enforce nothing.
    pub fn unused(&self) -> impl Iterator<Item = &IndexInfo> {
        self.indexes.iter().filter(|i| i.scans == Some(0) && !i.unique)
    }

    /// Whether nothing needs attention (integrity sound, no invalid index).
    pub fn healthy(&self) -> bool {
        self.integrity.as_deref().is_none_or(|s| s == "ok") && self.invalid().next().is_none()
    }
}

/// Connections in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionState {
    /// `active`, `idle`, `idle in transaction`, … (for SQLite, this pool's `in use` and
    /// `idle`).
    pub state: String,
    /// How many.
    pub connections: i64,
}

/// What [`crate::LifecycleStore::analyze`] ran.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Analyzed {
    /// The statements, in order.
    pub statements: Vec<String>,
    /// Free pages left in the file (SQLite), which new rows reuse.
    pub free_pages: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hashes_depend_on_the_key_and_never_equal_the_subject_hash() {
        let url = crate::ReportUrl::parse("https://a.example/login").unwrap().hash();
        let a = TombstoneKey::from_bytes([1; 32]);
        let b = TombstoneKey::from_bytes([2; 32]);
        let target = ForgetTarget::Url(url);
        assert_ne!(a.keyed_target(&target), b.keyed_target(&target));
        assert_eq!(a.keyed_target(&target), a.keyed_target(&target));
        assert_ne!(a.keyed_target(&target).0, *url.digest().as_bytes());
        assert!(!format!("{a:?}").contains("01"));
    }

    #[test]
    fn keys_and_hashes_parse_from_hex_or_are_refused() {
        assert!(TombstoneKey::from_hex(&"ab".repeat(32)).is_ok());
        assert!(TombstoneKey::from_hex(&"ab".repeat(31)).is_err());
        assert!(TombstoneKey::from_hex("zz").is_err());
        let hash = KeyedHash([7; 32]);
        assert_eq!(KeyedHash::from_hex(&hash.to_hex()).unwrap(), hash);
        assert!(KeyedHash::from_hex("07").is_err());
    }

    #[test]
    fn levels_follow_the_thresholds() {
        let (y, r) = (Score::new(40).unwrap(), Score::new(70).unwrap());
        assert_eq!(ScoreLevel::of(39, y, r), ScoreLevel::Green);
        assert_eq!(ScoreLevel::of(40, y, r), ScoreLevel::Yellow);
        assert_eq!(ScoreLevel::of(69, y, r), ScoreLevel::Yellow);
        assert_eq!(ScoreLevel::of(70, y, r), ScoreLevel::Red);
    }
}
