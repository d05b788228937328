//! Fuzzes pack verification and the reputation filter decoder: arbitrary bytes as the
//! timestamp, snapshot and targets metadata (and as the files they list) of a pack
//! checked against a fixed root of trust, and as a filter file. Nothing may panic; only
//! a refusal or a verified pack can come out, and a filter file that decodes is exactly
//! the canonical encoding of what it holds.
#![no_main]

#[path = "trust.rs"]
mod trust;

use std::collections::BTreeMap;

use ferretwatch_detect::filter::FilterFile;
use ferretwatch_pack_client::trust::verify::{Source, State, VerifyError, Verifier};
use ferretwatch_types::Timestamp;
use libfuzzer_sys::fuzz_target;
use trust::root;

struct Memory(BTreeMap<String, Vec<u8>>);

impl Source for Memory {
    fn fetch(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, VerifyError> {
        match self.0.get(name) {
            Some(bytes) if bytes.len() as u64 > limit => Err(VerifyError::Oversized { file: name.into(), limit }),
            other => Ok(other.cloned()),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(filter) = FilterFile::from_bytes(data) {
        assert_eq!(filter.to_bytes(), data, "a filter that decodes re-encodes to the same bytes");
    }
    let mut parts = data.split(|&b| b == 0xff);
    let mut files = BTreeMap::new();
    for name in ["timestamp.json", "snapshot.json", "targets.json", "manifest.json", "2.root.json"] {
        if let Some(part) = parts.next() {
            files.insert(name.to_owned(), part.to_vec());
        }
    }
    let verifier = Verifier::new(root().clone(), Timestamp::from_secs(1_800_000_000), State::default());
    if let Ok(pack) = verifier.verify(&Memory(files.clone())) {
        // Only what the signed metadata lists comes out, byte for byte as served.
        assert!(pack.files.iter().all(|(name, bytes)| files.get(name) == Some(bytes)));
    }
});
