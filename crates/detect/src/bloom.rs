//! A Bloom filter with double hashing (Kirsch–Mitzenmacher): index_i = h1 + i·h2 mod m,
//! from one 128-bit xxh3 hash per item, so lookups hash once whatever the number of probes.

use xxhash_rust::xxh3::xxh3_128;

/// A Bloom filter over byte strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BloomFilter {
    bits: Vec<u64>,
    num_bits: u64,
    hashes: u32,
}

impl BloomFilter {
    /// An empty filter sized for `items` at false-positive rate `rate` (0 < rate < 1).
    pub fn with_rate(items: usize, rate: f64) -> Self {
        let items = items.max(1) as f64;
        let rate = rate.clamp(1e-12, 0.5);
        let ln2 = std::f64::consts::LN_2;
        let num_bits = (-(items * rate.ln()) / (ln2 * ln2)).ceil().max(64.0) as u64;
        let hashes = ((num_bits as f64 / items) * ln2).round().clamp(1.0, 32.0) as u32;
        Self::empty(num_bits, hashes)
    }

    /// An empty filter of `num_bits` bits probed `hashes` times per item.
    pub fn empty(num_bits: u64, hashes: u32) -> Self {
        let num_bits = num_bits.max(64);
        BloomFilter { bits: vec![0; num_bits.div_ceil(64) as usize], num_bits, hashes: hashes.max(1) }
    }

    /// Rebuilds a filter from its parts (as a pack stores them); `None` when they disagree.
    pub fn from_parts(bits: Vec<u64>, num_bits: u64, hashes: u32) -> Option<Self> {
        (num_bits >= 64 && bits.len() as u64 == num_bits.div_ceil(64) && (1..=64).contains(&hashes))
            .then_some(BloomFilter { bits, num_bits, hashes })
    }

    /// The bit words, bit count and probe count.
    pub fn parts(&self) -> (&[u64], u64, u32) {
        (&self.bits, self.num_bits, self.hashes)
    }

    fn probes(&self, item: &[u8]) -> impl Iterator<Item = u64> + '_ {
        let h = xxh3_128(item);
        let (h1, h2) = (h as u64, ((h >> 64) as u64) | 1);
        (0..u64::from(self.hashes)).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % self.num_bits)
    }

    /// Adds an item.
    pub fn insert(&mut self, item: &[u8]) {
        let positions: Vec<u64> = self.probes(item).collect();
        for bit in positions {
            self.bits[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }

    /// Whether the item may be present (false positives at the configured rate, no false negatives).
    pub fn contains(&self, item: &[u8]) -> bool {
        self.probes(item).all(|bit| self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
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

    #[test]
    fn parts_round_trip_and_mismatched_parts_are_refused() {
        let mut f = BloomFilter::with_rate(10, 1e-6);
        f.insert(b"x");
        let (bits, n, k) = f.parts();
        let g = BloomFilter::from_parts(bits.to_vec(), n, k).unwrap();
        assert!(g.contains(b"x"));
        assert!(BloomFilter::from_parts(vec![0; 1], 1000, 3).is_none());
    }
}
