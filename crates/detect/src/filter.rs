//! Reputation filter files (`docs/formats/reputation-filter.md`): the indicators of one
//! kind (hosts, URLs or IP addresses), as an exact set or a Bloom filter, in a binary file
//! with a magic, a version and a checksum. Packs ship one per kind; every client (the
//! command line, the service, a WebAssembly build) decodes them with this code.
//!
//! The keys a filter lists are the engine's own: a host as [`Target::parse`] writes it, a
//! URL as [`url_key`] writes it, an IP address in its canonical text form. Whoever builds
//! a filter keys its indicators with these, so that a pack lists exactly the strings the
//! engine looks up.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use xxhash_rust::xxh3::Xxh3;

pub use crate::bloom::BloomFilter;
use crate::bloom::MAX_HASHES;
pub use crate::domain::Target;
pub use crate::normalize::url_key;
use ferretwatch_types::Coded;

/// A set of indicators of one kind.
#[derive(Clone, Debug)]
pub enum IndicatorSet {
    /// Exact membership.
    Exact(HashSet<String>),
    /// Probabilistic membership.
    Bloom(BloomFilter),
}

impl Default for IndicatorSet {
    fn default() -> Self {
        IndicatorSet::Exact(HashSet::new())
    }
}

impl IndicatorSet {
    /// Whether `item` is (or may be, for a Bloom filter) listed.
    #[inline]
    pub fn contains(&self, item: &str) -> bool {
        match self {
            IndicatorSet::Exact(set) => set.contains(item),
            IndicatorSet::Bloom(filter) => filter.contains(item.as_bytes()),
        }
    }
}

/// What a filter lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndicatorKind {
    /// Hosts and registrable domains (a listed host covers its subdomains).
    Host = 1,
    /// URLs as [`url_key`] writes them.
    Url = 2,
    /// IP addresses in canonical text form.
    Ip = 3,
}

impl IndicatorKind {
    /// Every kind, in file order.
    pub const ALL: [IndicatorKind; 3] = [IndicatorKind::Host, IndicatorKind::Url, IndicatorKind::Ip];

    /// The kind's name in feed files and manifests.
    pub fn name(self) -> &'static str {
        match self {
            IndicatorKind::Host => "host",
            IndicatorKind::Url => "url",
            IndicatorKind::Ip => "ip",
        }
    }

    /// The kind of a name written by [`IndicatorKind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        IndicatorKind::ALL.into_iter().find(|k| k.name() == name)
    }

    fn from_code(code: u8) -> Option<Self> {
        IndicatorKind::ALL.into_iter().find(|k| *k as u8 == code)
    }
}

/// The magic that opens every filter file.
pub const FILTER_MAGIC: [u8; 4] = *b"FWRF";
/// The filter format version this build reads and writes.
pub const FILTER_VERSION: u16 = 1;
/// Bytes before the body: magic, version, kind, encoding, count, body length, checksum.
pub const FILTER_HEADER_LEN: usize = 32;
/// The largest filter file accepted (well above the 10 MB pack budget).
pub const MAX_FILTER_BYTES: usize = 64 << 20;
/// The longest indicator an exact set may hold, in bytes.
pub const MAX_INDICATOR_BYTES: usize = 4096;

const ENCODING_EXACT: u8 = 1;
const ENCODING_BLOOM: u8 = 2;
const BLOOM_PARAMS_LEN: usize = 16;

/// Why a filter file was refused. Nothing in a refused file is used.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// Shorter than the fixed header.
    #[error("filter file truncated: {len} bytes, the header alone is {FILTER_HEADER_LEN}")]
    Truncated {
        /// The input length.
        len: usize,
    },
    /// Larger than [`MAX_FILTER_BYTES`].
    #[error("filter file too large: {len} bytes (limit {max})")]
    TooLarge {
        /// The input length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The file does not start with [`FILTER_MAGIC`].
    #[error("not a FerretWatch reputation filter (bad magic)")]
    BadMagic,
    /// A format version this build does not read.
    #[error("unsupported filter format version {actual} (this build reads {expected})")]
    UnsupportedVersion {
        /// The version this build reads.
        expected: u16,
        /// The file's version.
        actual: u16,
    },
    /// The body length in the header disagrees with the file.
    #[error("filter body length is {declared} in the header but {actual} in the file")]
    LengthMismatch {
        /// Declared by the header.
        declared: u64,
        /// Present in the input.
        actual: u64,
    },
    /// The checksum over header and body does not match.
    #[error("filter checksum mismatch (file says {expected:016x}, content hashes to {actual:016x})")]
    ChecksumMismatch {
        /// Stored in the header.
        expected: u64,
        /// Computed over the content.
        actual: u64,
    },
    /// The header or body holds an impossible value.
    #[error("invalid filter: {0}")]
    Invalid(String),
    /// Two files of the same kind were given to [`crate::Reputation::from_filters`].
    #[error("two {} filters in one pack", .0.name())]
    DuplicateKind(IndicatorKind),
}

impl Coded for FilterError {
    fn code(&self) -> &'static str {
        match self {
            FilterError::Truncated { .. } => "filter_truncated",
            FilterError::TooLarge { .. } => "filter_too_large",
            FilterError::BadMagic => "filter_bad_magic",
            FilterError::UnsupportedVersion { .. } => "filter_version",
            FilterError::LengthMismatch { .. } => "filter_length",
            FilterError::ChecksumMismatch { .. } => "filter_checksum",
            FilterError::Invalid(_) => "filter_invalid",
            FilterError::DuplicateKind(_) => "filter_duplicate_kind",
        }
    }
}

/// One decoded filter file: the indicators of one kind, exact or as a Bloom filter.
#[derive(Clone, Debug)]
pub struct FilterFile {
    /// What the file lists.
    pub kind: IndicatorKind,
    /// How many distinct indicators went in.
    pub count: u64,
    /// The membership structure.
    pub set: IndicatorSet,
}

impl FilterFile {
    /// Builds the smaller of an exact set and a Bloom filter at `fp_rate` over `items`
    /// (which must be normalised; duplicates are counted once).
    pub fn build<'a>(kind: IndicatorKind, items: impl IntoIterator<Item = &'a str>, fp_rate: f64) -> Self {
        let mut items: Vec<&str> = items.into_iter().collect();
        items.sort_unstable();
        items.dedup();
        let count = items.len() as u64;
        let exact_len: usize = items.iter().map(|s| 2 + s.len()).sum();
        let (num_bits, hashes) = BloomFilter::dimensions(items.len(), fp_rate);
        let bloom_len = BLOOM_PARAMS_LEN + 8 * num_bits.div_ceil(64) as usize;
        let fits_exact = items.iter().all(|s| !s.is_empty() && s.len() <= MAX_INDICATOR_BYTES);
        let set = if fits_exact && exact_len <= bloom_len {
            IndicatorSet::Exact(items.iter().map(|s| (*s).to_owned()).collect())
        } else {
            let mut filter = BloomFilter::empty(num_bits, hashes);
            for item in &items {
                filter.insert(item.as_bytes());
            }
            IndicatorSet::Bloom(filter)
        };
        FilterFile { kind, count, set }
    }

    /// Whether the file holds an exact set (`"exact"`) or a Bloom filter (`"bloom"`).
    pub fn encoding(&self) -> &'static str {
        match self.set {
            IndicatorSet::Exact(_) => "exact",
            IndicatorSet::Bloom(_) => "bloom",
        }
    }

    /// The file's bytes. Deterministic: an exact set is written sorted.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (encoding, body) = match &self.set {
            IndicatorSet::Exact(set) => {
                let mut items: Vec<&String> = set.iter().collect();
                items.sort_unstable();
                let mut body = Vec::with_capacity(items.iter().map(|s| 2 + s.len()).sum());
                for item in items {
                    // Items longer than the limit cannot come from `build`; cut defensively
                    // at a char boundary so the file still decodes.
                    let mut end = item.len().min(MAX_INDICATOR_BYTES);
                    while !item.is_char_boundary(end) {
                        end -= 1;
                    }
                    body.extend_from_slice(&(end as u16).to_le_bytes());
                    body.extend_from_slice(&item.as_bytes()[..end]);
                }
                (ENCODING_EXACT, body)
            }
            IndicatorSet::Bloom(filter) => {
                let (words, num_bits, hashes) = filter.parts();
                let mut body = Vec::with_capacity(BLOOM_PARAMS_LEN + words.len() * 8);
                body.extend_from_slice(&num_bits.to_le_bytes());
                body.extend_from_slice(&hashes.to_le_bytes());
                body.extend_from_slice(&0u32.to_le_bytes());
                for word in words {
                    body.extend_from_slice(&word.to_le_bytes());
                }
                (ENCODING_BLOOM, body)
            }
        };
        let mut out = Vec::with_capacity(FILTER_HEADER_LEN + body.len());
        out.extend_from_slice(&FILTER_MAGIC);
        out.extend_from_slice(&FILTER_VERSION.to_le_bytes());
        out.push(self.kind as u8);
        out.push(encoding);
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        let checksum = checksum(&out, &body);
        out.extend_from_slice(&checksum.to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Decodes a filter file: checks size, magic, version and checksum before reading the
    /// body, then bounds-checks every field. Never panics on any input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FilterError> {
        if bytes.len() > MAX_FILTER_BYTES {
            return Err(FilterError::TooLarge { len: bytes.len(), max: MAX_FILTER_BYTES });
        }
        if bytes.len() < FILTER_HEADER_LEN {
            if bytes.len() >= 4 && bytes[..4] != FILTER_MAGIC {
                return Err(FilterError::BadMagic);
            }
            return Err(FilterError::Truncated { len: bytes.len() });
        }
        let (header, body) = bytes.split_at(FILTER_HEADER_LEN);
        if header[..4] != FILTER_MAGIC {
            return Err(FilterError::BadMagic);
        }
        let version = u16::from_le_bytes([header[4], header[5]]);
        if version != FILTER_VERSION {
            return Err(FilterError::UnsupportedVersion { expected: FILTER_VERSION, actual: version });
        }
        let declared = read_u64(&header[16..24]);
        if declared != body.len() as u64 {
            return Err(FilterError::LengthMismatch { declared, actual: body.len() as u64 });
        }
        let expected = read_u64(&header[24..32]);
        let actual = checksum(&header[..24], body);
        if expected != actual {
            return Err(FilterError::ChecksumMismatch { expected, actual });
        }
        let kind = IndicatorKind::from_code(header[6])
            .ok_or_else(|| FilterError::Invalid(format!("unknown indicator kind {}", header[6])))?;
        let count = read_u64(&header[8..16]);
        let set = match header[7] {
            ENCODING_EXACT => IndicatorSet::Exact(decode_exact(body, count)?),
            ENCODING_BLOOM => IndicatorSet::Bloom(decode_bloom(body)?),
            other => return Err(FilterError::Invalid(format!("unknown encoding {other}"))),
        };
        Ok(FilterFile { kind, count, set })
    }
}

fn checksum(header: &[u8], body: &[u8]) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(&header[..24]);
    hasher.update(body);
    hasher.digest()
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

fn decode_exact(mut body: &[u8], count: u64) -> Result<HashSet<String>, FilterError> {
    // Each item takes at least 3 bytes, which bounds the allocation by the input size.
    if count > (body.len() / 3) as u64 {
        return Err(FilterError::Invalid(format!("{count} items cannot fit in {} bytes", body.len())));
    }
    let mut set = HashSet::with_capacity(count as usize);
    let mut previous: Option<&str> = None;
    while !body.is_empty() {
        if body.len() < 2 {
            return Err(FilterError::Invalid("exact set ends inside an item length".into()));
        }
        let len = usize::from(u16::from_le_bytes([body[0], body[1]]));
        if len == 0 || len > MAX_INDICATOR_BYTES || body.len() < 2 + len {
            return Err(FilterError::Invalid(format!("exact set item of {len} bytes out of bounds")));
        }
        let item = std::str::from_utf8(&body[2..2 + len])
            .map_err(|_| FilterError::Invalid("exact set item is not UTF-8".into()))?;
        if previous.is_some_and(|p| p >= item) {
            return Err(FilterError::Invalid("exact set items are not strictly sorted".into()));
        }
        previous = Some(item);
        set.insert(item.to_owned());
        body = &body[2 + len..];
    }
    if set.len() as u64 != count {
        return Err(FilterError::Invalid(format!("header counts {count} items, the set holds {}", set.len())));
    }
    Ok(set)
}

fn decode_bloom(body: &[u8]) -> Result<BloomFilter, FilterError> {
    if body.len() < BLOOM_PARAMS_LEN {
        return Err(FilterError::Invalid("Bloom parameters truncated".into()));
    }
    let num_bits = read_u64(&body[..8]);
    let hashes = u32::from_le_bytes([body[8], body[9], body[10], body[11]]);
    if body[12..16] != [0; 4] {
        return Err(FilterError::Invalid("reserved Bloom field is not zero".into()));
    }
    if !(1..=MAX_HASHES).contains(&hashes) {
        return Err(FilterError::Invalid(format!("{hashes} probes (1 to {MAX_HASHES} allowed)")));
    }
    let words = &body[BLOOM_PARAMS_LEN..];
    if num_bits < 64 || words.len() % 8 != 0 || num_bits.div_ceil(64) != (words.len() / 8) as u64 {
        return Err(FilterError::Invalid(format!("{num_bits} bits do not match {} bytes of words", words.len())));
    }
    let bits = words.chunks_exact(8).map(read_u64).collect();
    BloomFilter::from_parts(bits, num_bits, hashes)
        .ok_or_else(|| FilterError::Invalid("inconsistent Bloom filter".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(file: &FilterFile) -> FilterFile {
        FilterFile::from_bytes(&file.to_bytes()).unwrap()
    }

    #[test]
    fn small_sets_are_exact_and_large_ones_bloom_and_both_round_trip() {
        let small = FilterFile::build(IndicatorKind::Ip, ["203.0.113.9"], 1e-6);
        assert_eq!(small.encoding(), "exact");
        let back = round_trip(&small);
        assert_eq!((back.kind, back.count), (IndicatorKind::Ip, 1));
        assert!(back.set.contains("203.0.113.9") && !back.set.contains("203.0.113.1"));

        let hosts: Vec<String> = (0..500).map(|i| format!("phish-{i}.example")).collect();
        let large = FilterFile::build(IndicatorKind::Host, hosts.iter().map(String::as_str), 1e-6);
        assert_eq!(large.encoding(), "bloom");
        let bytes = large.to_bytes();
        assert_eq!(bytes, round_trip(&large).to_bytes(), "re-encoding is byte-identical");
        let back = FilterFile::from_bytes(&bytes).unwrap();
        assert_eq!(back.count, 500);
        assert!(hosts.iter().all(|h| back.set.contains(h)));
        assert!(!back.set.contains("phish-500.example"));
    }

    #[test]
    fn damaged_files_are_refused_with_precise_errors() {
        let good = FilterFile::build(IndicatorKind::Url, ["evil.example/a", "evil.example/b"], 1e-6).to_bytes();
        let code = |bytes: &[u8]| FilterFile::from_bytes(bytes).unwrap_err().code();
        assert_eq!(code(&good[..10]), "filter_truncated");
        assert_eq!(code(&good[..good.len() - 1]), "filter_length");
        let mut longer = good.clone();
        longer.push(0);
        assert_eq!(code(&longer), "filter_length");
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(code(&flipped), "filter_checksum");
        let mut kind = good.clone();
        kind[6] = 2 + 1;
        assert_eq!(code(&kind), "filter_checksum", "the checksum covers the header");
        let mut magic = good.clone();
        magic[0] = b'X';
        assert_eq!(code(&magic), "filter_bad_magic");
        let mut version = good.clone();
        version[4] = 9;
        assert_eq!(
            FilterFile::from_bytes(&version).unwrap_err(),
            FilterError::UnsupportedVersion { expected: 1, actual: 9 }
        );
        assert_eq!(code(&vec![0; MAX_FILTER_BYTES + 1]), "filter_too_large");
    }

    /// Re-frames a body with a valid header and checksum, to reach the body checks.
    fn framed(kind: u8, encoding: u8, count: u64, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&FILTER_MAGIC);
        out.extend_from_slice(&FILTER_VERSION.to_le_bytes());
        out.extend_from_slice(&[kind, encoding]);
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        let sum = checksum(&out, body);
        out.extend_from_slice(&sum.to_le_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn well_framed_but_inconsistent_bodies_are_refused() {
        let invalid = |bytes: Vec<u8>| FilterFile::from_bytes(&bytes).unwrap_err().code();
        assert_eq!(invalid(framed(7, 1, 0, &[])), "filter_invalid");
        assert_eq!(invalid(framed(1, 9, 0, &[])), "filter_invalid");
        assert_eq!(invalid(framed(1, 1, 1, b"\x01\x00ab")), "filter_invalid", "trailing byte");
        assert_eq!(invalid(framed(1, 1, 2, b"\x01\x00b\x01\x00a")), "filter_invalid", "unsorted");
        assert_eq!(invalid(framed(1, 1, 2, b"\x01\x00a\x01\x00a")), "filter_invalid", "duplicate");
        assert_eq!(invalid(framed(1, 1, u64::MAX, b"\x01\x00a")), "filter_invalid", "count");
        assert_eq!(invalid(framed(1, 1, 1, b"\x01\x00\xff")), "filter_invalid", "not UTF-8");
        let mut bloom = Vec::new();
        bloom.extend_from_slice(&u64::MAX.to_le_bytes());
        bloom.extend_from_slice(&20u32.to_le_bytes());
        bloom.extend_from_slice(&[0; 4]);
        bloom.extend_from_slice(&[0; 8]);
        assert_eq!(invalid(framed(1, 2, 1, &bloom)), "filter_invalid", "bits beyond the words");
        assert!(FilterFile::from_bytes(&framed(1, 1, 0, &[])).is_ok(), "an empty exact set is valid");
    }

    /// A file either decodes to what re-encodes to the very same bytes (so a filter has one
    /// encoding and nothing in it goes unread), or is refused with a filter code.
    fn decodes_canonically(bytes: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
        match FilterFile::from_bytes(bytes) {
            Ok(file) => {
                proptest::prop_assert_eq!(file.to_bytes(), bytes);
                let listed = match &file.set {
                    IndicatorSet::Exact(set) => set.len() as u64,
                    IndicatorSet::Bloom(_) => file.count,
                };
                proptest::prop_assert_eq!(listed, file.count);
            }
            Err(e) => proptest::prop_assert!(e.code().starts_with("filter_"), "{}", e),
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_are_refused_or_are_exactly_a_files_encoding(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
        ) {
            decodes_canonically(&bytes)?;
        }

        #[test]
        fn arbitrary_bodies_behind_a_valid_frame_are_refused_or_are_exactly_a_files_encoding(
            kind in 0u8..5, encoding in 0u8..4, count in 0u64..64,
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
        ) {
            decodes_canonically(&framed(kind, encoding, count, &body))?;
        }

        #[test]
        fn every_single_byte_corruption_is_detected(index in 0usize..4096, flip in 1u8..=255) {
            let file = FilterFile::build(IndicatorKind::Host, ["a.example", "b.example", "c.example"], 1e-6);
            let mut bytes = file.to_bytes();
            let index = index % bytes.len();
            bytes[index] ^= flip;
            proptest::prop_assert!(FilterFile::from_bytes(&bytes).is_err());
        }
    }
}
