//! Brand asset similarity: a DCT perceptual hash (pHash, 64 bits) of the favicon compared
//! with the brands' hashes; a Hamming distance of at most 8 on a host that is not the
//! brand's is a brand-asset mismatch.

use std::io::Cursor;

use image::{ImageReader, Limits};
use image_hasher::{HashAlg, HasherConfig};

use crate::brands::BrandIndex;
use crate::domain::Target;
use crate::rules::Key;
use crate::verdict::Signal;

/// Largest Hamming distance that counts as the same image.
pub(crate) const MAX_DISTANCE: u32 = 8;

/// Decodes an image (ICO, PNG, GIF, JPEG, BMP) within tight limits and hashes it.
/// Returns `None` for anything that does not decode.
pub fn phash(bytes: &[u8]) -> Option<u64> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().ok()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(1024);
    limits.max_image_height = Some(1024);
    limits.max_alloc = Some(16 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().ok()?;
    let hasher = HasherConfig::new().hash_size(8, 8).hash_alg(HashAlg::Median).preproc_dct().to_hasher();
    let hash = hasher.hash_image(&image);
    let bytes: [u8; 8] = hash.as_bytes().try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// Compares the favicon's hash with the brands'.
pub(crate) fn check(target: &Target, favicon: Option<&[u8]>, index: &BrandIndex, out: &mut Vec<Signal>) {
    let Some(bytes) = favicon else { return };
    if index.phashes.is_empty() || index.is_brand_domain(target.registrable()) {
        return;
    }
    let Some(hash) = phash(bytes) else { return };
    let best = index.phashes.iter().map(|&(h, brand)| ((h ^ hash).count_ones(), brand)).min();
    if let Some((distance, brand)) = best.filter(|&(d, _)| d <= MAX_DISTANCE) {
        let name = &index.names[brand];
        let confidence = if distance <= 4 { 900 } else { 700 };
        let evidence = format!(
            "the favicon matches {name}'s (perceptual hash distance {distance} of 64), but {} is not {name}'s",
            target.registrable()
        );
        out.push(Signal::new(Key::brand_asset_mismatch, confidence, evidence).with_brand(name));
    }
}
