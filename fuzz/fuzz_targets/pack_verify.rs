//! Fuzzes pack verification and the reputation filter decoder: arbitrary bytes as the
//! timestamp, snapshot and targets metadata (and as the files they list) of a pack
//! checked against a fixed root of trust, and as a filter file. Nothing may panic; only
//! a refusal or a verified pack can come out, and a filter file that decodes is exactly
//! the canonical encoding of what it holds.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ferretwatch_detect::filter::FilterFile;
use ferretwatch_pack_client::trust::metadata::{Envelope, Root};
use ferretwatch_pack_client::trust::verify::{Source, State, VerifyError, Verifier};
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_types::Timestamp;
use libfuzzer_sys::fuzz_target;

struct Memory(BTreeMap<String, Vec<u8>>);

impl Source for Memory {
    fn fetch(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, VerifyError> {
        match self.0.get(name) {
            Some(bytes) if bytes.len() as u64 > limit => Err(VerifyError::Oversized { file: name.into(), limit }),
            other => Ok(other.cloned()),
        }
    }
}

fn root() -> &'static Vec<u8> {
    static ROOT: OnceLock<Vec<u8>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let key = |seed: &str| {
            let text = format!(
                r#"{{"keytype":"ed25519","scheme":"ed25519","keyval":{{"public":"{}","private":"{seed}"}}}}"#,
                public_of(seed)
            );
            PrivateKey::from_json(&text).unwrap()
        };
        let (a, b) = (key(&"11".repeat(32)), key(&"22".repeat(32)));
        let root = Root::new(1, Timestamp::from_secs(4_102_444_800), &[a.public(), b.public()], 2).unwrap();
        let mut envelope = Envelope::new(&root);
        a.sign_envelope(&mut envelope).unwrap();
        b.sign_envelope(&mut envelope).unwrap();
        envelope.to_bytes()
    })
}

/// The public half of a fixed seed, so the fuzzer's root is the same in every run.
fn public_of(seed_hex: &str) -> String {
    let seed: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&seed_hex[2 * i..2 * i + 2], 16).unwrap()).collect();
    let seed: [u8; 32] = seed.try_into().unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    key.verifying_key().as_bytes().iter().map(|b| format!("{b:02x}")).collect()
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
