//! Applying a delta to the filter files a client holds: every digest is checked, before
//! (the base) and after (the result), so nothing of a delta that does not fit is used.

use std::collections::BTreeMap;

use ferretwatch_detect::filter::{BloomFilter, FilterFile, IndicatorKind, IndicatorSet};
use ferretwatch_types::{PackVersion, Sha256};

use super::{Delta, DeltaError, Patch};

impl Delta {
    /// Applies the delta to the filter files of the base pack (keyed by kind, as bytes).
    /// Checks the base version and each base file's SHA-256 first, and each result's
    /// SHA-256 after; any mismatch refuses the whole delta.
    pub fn apply(
        &self,
        base_version: &PackVersion,
        base_filters: &BTreeMap<IndicatorKind, Vec<u8>>,
    ) -> Result<Vec<FilterFile>, DeltaError> {
        if *base_version != self.base_version {
            return Err(DeltaError::BaseMismatch {
                expected: format!("pack {}", self.base_version),
                actual: format!("pack {base_version}"),
            });
        }
        let mut out = Vec::with_capacity(self.sections.len());
        for section in &self.sections {
            let base = base_filters.get(&section.kind).ok_or_else(|| DeltaError::BaseMismatch {
                expected: format!("a {} filter", section.kind.name()),
                actual: "none".into(),
            })?;
            let digest = Sha256::of(base);
            if digest != section.base_sha256 {
                return Err(DeltaError::BaseMismatch {
                    expected: format!("{} filter {}", section.kind.name(), section.base_sha256),
                    actual: digest.to_string(),
                });
            }
            let base = FilterFile::from_bytes(base)?;
            let set = match (base.set, &section.patch) {
                (IndicatorSet::Exact(mut set), Patch::Exact { removed, added }) => {
                    for item in removed {
                        if !set.remove(item) {
                            return Err(DeltaError::Invalid(format!("removes {item:?}, which the base lacks")));
                        }
                    }
                    for item in added {
                        if !set.insert(item.clone()) {
                            return Err(DeltaError::Invalid(format!("adds {item:?}, which the base has")));
                        }
                    }
                    IndicatorSet::Exact(set)
                }
                (IndicatorSet::Bloom(bloom), Patch::Bloom { flips }) => IndicatorSet::Bloom(flip(&bloom, flips)?),
                _ => {
                    return Err(DeltaError::Invalid(format!(
                        "{} patch does not fit the base encoding",
                        section.kind.name()
                    )))
                }
            };
            let result = FilterFile { kind: section.kind, count: section.result_count, set };
            let digest = Sha256::of(&result.to_bytes());
            if digest != section.result_sha256 {
                return Err(DeltaError::ResultMismatch(section.kind));
            }
            out.push(result);
        }
        Ok(out)
    }
}

fn flip(base: &BloomFilter, flips: &[u64]) -> Result<BloomFilter, DeltaError> {
    let (words, num_bits, hashes) = base.parts();
    let mut words = words.to_vec();
    for &position in flips {
        if position >= num_bits {
            return Err(DeltaError::Invalid(format!("bit {position} beyond the filter's {num_bits}")));
        }
        words[(position / 64) as usize] ^= 1 << (position % 64);
    }
    BloomFilter::from_parts(words, num_bits, hashes)
        .ok_or_else(|| DeltaError::Invalid("inconsistent Bloom filter".into()))
}
