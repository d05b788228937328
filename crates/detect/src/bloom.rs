//! A Bloom filter with double hashing (Kirsch–Mitzenmacher): index_i = h1 + i·h2 mod m,
//! from one 128-bit xxh3 hash per item, so lookups hash once whatever the number of probes.
//!
//! The hash, the probe formula and the word layout are part of the signed pack format
//! (`docs/formats/reputation-filter.md`): changing any of them is a format version change.

use xxhash_rust::xxh3::xxh3_128;

/// A Bloom filter over byte strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BloomFilter {
    bits: Vec<u64>,
    num_bits: u64,
    hashes: u32,
}

/// The most probes a filter may use; more never helps below a 1e-12 target.
pub(crate) const MAX_HASHES: u32 = 64;

impl BloomFilter {
    /// An empty filter sized for `items` at false-positive rate `rate` (0 < rate < 1), with
    /// the optimal number of probes: m = −n·ln p / ln²2 bits, k = (m/n)·ln 2 (20 at 1e-6).
    pub fn with_rate(items: usize, rate: f64) -> Self {
        let (num_bits, hashes) = Self::dimensions(items, rate);
        Self::empty(num_bits, hashes)
    }

    /// The bit count and probe count [`BloomFilter::with_rate`] would choose.
    pub fn dimensions(items: usize, rate: f64) -> (u64, u32) {
        let items = items.max(1) as f64;
        let rate = if rate.is_finite() { rate.clamp(1e-12, 0.5) } else { 0.5 };
        let ln2 = std::f64::consts::LN_2;
        let num_bits = (-(items * rate.ln()) / (ln2 * ln2)).ceil().max(64.0) as u64;
        let hashes = ((num_bits as f64 / items) * ln2).round().clamp(1.0, 32.0) as u32;
        (num_bits, hashes)
    }

    /// An empty filter of `num_bits` bits probed `hashes` times per item.
    pub fn empty(num_bits: u64, hashes: u32) -> Self {
        let num_bits = num_bits.max(64);
        BloomFilter { bits: vec![0; num_bits.div_ceil(64) as usize], num_bits, hashes: hashes.clamp(1, MAX_HASHES) }
    }

    /// Rebuilds a filter from its parts (as a pack stores them); `None` when they disagree.
    pub fn from_parts(bits: Vec<u64>, num_bits: u64, hashes: u32) -> Option<Self> {
        (num_bits >= 64 && bits.len() as u64 == num_bits.div_ceil(64) && (1..=MAX_HASHES).contains(&hashes))
            .then_some(BloomFilter { bits, num_bits, hashes })
    }

    /// The bit words, bit count and probe count.
    pub fn parts(&self) -> (&[u64], u64, u32) {
        (&self.bits, self.num_bits, self.hashes)
    }

    /// The false-positive rate expected once `items` distinct items are in:
    /// (1 − e^(−k·n/m))^k.
    pub fn expected_fp_rate(&self, items: u64) -> f64 {
        let k = f64::from(self.hashes);
        (1.0 - (-k * items as f64 / self.num_bits as f64).exp()).powf(k)
    }

    #[inline]
    fn seeds(item: &[u8]) -> (u64, u64) {
        let h = xxh3_128(item);
        // h2 is odd so that consecutive probes never collapse onto one bit when m is even.
        (h as u64, ((h >> 64) as u64) | 1)
    }

    /// Adds an item.
    pub fn insert(&mut self, item: &[u8]) {
        let (h1, h2) = Self::seeds(item);
        for i in 0..u64::from(self.hashes) {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % self.num_bits;
            self.bits[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }

    /// Whether the item may be present (false positives at the configured rate, no false
    /// negatives). Stops at the first clear bit, so a non-member costs about two probes.
    #[inline]
    pub fn contains(&self, item: &[u8]) -> bool {
        let (h1, h2) = Self::seeds(item);
        (0..u64::from(self.hashes)).all(|i| {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % self.num_bits;
            self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_always_found() {
        let mut f = BloomFilter::with_rate(1000, 1e-6);
        for i in 0..1000 {
            f.insert(format!("host{i}.example").as_bytes());
        }
        assert!((0..1000).all(|i| f.contains(format!("host{i}.example").as_bytes())));
    }

    #[test]
    fn false_positive_rate_is_near_the_target() {
        let mut f = BloomFilter::with_rate(10_000, 1e-3);
        for i in 0..10_000 {
            f.insert(format!("in{i}").as_bytes());
        }
        let fp = (0..100_000).filter(|i| f.contains(format!("out{i}").as_bytes())).count();
        // Expect ~100; allow generous noise but catch a broken hash.
        assert!(fp < 300, "{fp} false positives in 100000");
    }

    /// The pack target: 1e-6 measured on a million non-members. With 100,000 members the
    /// expected count is 1; Poisson(1) exceeds 8 with probability below 1e-5, so a count
    /// above that means the filter is mis-sized or the hash is broken.
    #[test]
    fn false_positive_rate_at_one_in_a_million_holds_over_a_million_non_members() {
        let members = 100_000;
        let mut f = BloomFilter::with_rate(members, 1e-6);
        assert_eq!(f.parts().2, 20, "optimal probe count at 1e-6");
        let mut key = Vec::with_capacity(32);
        for i in 0..members {
            key.clear();
            key.extend_from_slice(b"member-");
            key.extend_from_slice(&(i as u64).to_le_bytes());
            f.insert(&key);
        }
        assert!(f.expected_fp_rate(members as u64) <= 1.01e-6);
        let mut fp = 0;
        for i in 0..1_000_000u64 {
            key.clear();
            key.extend_from_slice(b"stranger-");
            key.extend_from_slice(&i.to_le_bytes());
            fp += usize::from(f.contains(&key));
        }
        assert!(fp <= 8, "{fp} false positives in 1,000,000 at a 1e-6 target");
    }

    #[test]
    fn dimensions_match_the_textbook_formula() {
        let (bits, k) = BloomFilter::dimensions(1_000_000, 1e-6);
        // 28.755 bits per item: 3.59 MB for a million.
        assert!((28_755_000..28_760_000).contains(&bits), "{bits}");
        assert_eq!(k, 20);
        let (bits, k) = BloomFilter::dimensions(0, f64::NAN);
        assert!(bits >= 64 && k >= 1);
    }

    #[test]
    fn parts_round_trip_and_mismatched_parts_are_refused() {
        let mut f = BloomFilter::with_rate(10, 1e-6);
        f.insert(b"x");
        let (bits, n, k) = f.parts();
        let g = BloomFilter::from_parts(bits.to_vec(), n, k).unwrap();
        assert!(g.contains(b"x"));
        assert!(BloomFilter::from_parts(vec![0; 1], 1000, 3).is_none());
        assert!(BloomFilter::from_parts(vec![0; 1], 64, 0).is_none());
        assert!(BloomFilter::from_parts(vec![0; 1], 64, MAX_HASHES + 1).is_none());
    }
}
