//! Types shared by every table: time, hashes, pagination.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::error::ValidationError;

/// A point in time: milliseconds since the Unix epoch, UTC.
///
/// Both backends store it as a 64-bit integer, so the two agree to the millisecond and no
/// time-zone conversion ever happens in the database (decision 0010).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        Self(i64::try_from(millis).unwrap_or(i64::MAX))
    }

    /// A timestamp from milliseconds since the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }
}

/// A SHA-256 digest, used as the key of the moderation table (hash of the normalised URL)
/// and as the stored form of admin tokens.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Parses 64 hexadecimal digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, ValidationError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out)
            .map_err(|_| ValidationError::new("hash", "must be 64 hexadecimal digits"))?;
        Ok(Self(out))
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub(crate) fn from_db(bytes: &[u8]) -> Result<Self, crate::StoreError> {
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| crate::StoreError::corrupt("stored hash is not 32 bytes"))
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({})", self.to_hex())
    }
}

/// Which slice of a listing to return. Offset pagination: the moderation inbox is
/// filtered by state and small; see decision 0010 for why not keyset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    offset: u64,
    limit: u32,
}

impl Page {
    /// The largest page the store returns.
    pub const MAX_LIMIT: u32 = 500;

    /// Items `offset..offset+limit`; `limit` is clamped to `1..=MAX_LIMIT`.
    pub fn new(offset: u64, limit: u32) -> Self {
        Self { offset, limit: limit.clamp(1, Self::MAX_LIMIT) }
    }

    /// The first `limit` items.
    pub fn first(limit: u32) -> Self {
        Self::new(0, limit)
    }

    /// How many items to skip.
    pub fn offset(self) -> u64 {
        self.offset
    }

    /// How many items at most.
    pub fn limit(self) -> u32 {
        self.limit
    }

    /// `offset` as a bind value (saturating: no database holds 2^63 rows).
    pub(crate) fn offset_i64(self) -> i64 {
        i64::try_from(self.offset).unwrap_or(i64::MAX)
    }

    /// One more than `limit`, to learn whether another page follows.
    pub(crate) fn probe_limit(self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// Cuts the probe row off `items` and says where the next page starts.
    pub(crate) fn finish<T>(self, mut items: Vec<T>) -> PageOf<T> {
        let more = items.len() > self.limit as usize;
        items.truncate(self.limit as usize);
        let next_offset = more.then(|| self.offset + u64::from(self.limit));
        PageOf { items, next_offset }
    }
}

impl Default for Page {
    fn default() -> Self {
        Self::first(50)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageOf<T> {
    /// The items of this page, in the listing's order.
    pub items: Vec<T>,
    /// The offset of the next page, or `None` when this is the last.
    pub next_offset: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_limit_is_clamped() {
        assert_eq!(Page::new(0, 0).limit(), 1);
        assert_eq!(Page::new(0, 10_000).limit(), Page::MAX_LIMIT);
    }

    #[test]
    fn finish_reports_a_next_page_only_when_the_probe_row_came_back() {
        let page = Page::new(10, 2);
        assert_eq!(page.finish(vec![1, 2, 3]), PageOf { items: vec![1, 2], next_offset: Some(12) });
        assert_eq!(page.finish(vec![1, 2]), PageOf { items: vec![1, 2], next_offset: None });
    }

    #[test]
    fn digest_round_trips_through_hex() {
        let d = Sha256Digest::of(b"abc");
        assert_eq!(d.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(Sha256Digest::from_hex(&d.to_hex().to_uppercase()).unwrap(), d);
        assert!(Sha256Digest::from_hex("abc").is_err());
    }
}
