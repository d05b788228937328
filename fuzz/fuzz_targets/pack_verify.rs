//! Fuzzes pack verification and the reputation filter decoder: arbitrary bytes as the
//! timestamp, snapshot and targets metadata (and as the files they list) of a pack
//! checked against a fixed root of trust, and as a filter file. Nothing may panic; only
//! a refusal or a verified pack can come out.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ferretwatch_detect::signals::reputation::FilterFile;
use ferretwatch_pack::time::Timestamp;
use ferretwatch_pack::trust::keys::PrivateKey;
use ferretwatch_pack::trust::metadata::{Envelope, Root};
use ferretwatch_pack::trust::verify::{Source, State, VerifyError, Verifier};
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
        let root = Root::new(1, Timestamp(4_102_444_800), &[a.public(), b.public()], 2).unwrap();
        let mut envelope = Envelope::new(&root);
        envelope.sign(&a).unwrap();
        envelope.sign(&b).unwrap();
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
    let _ = FilterFile::from_bytes(data);
    let mut parts = data.split(|&b| b == 0xff);
    let mut files = BTreeMap::new();
    for name in ["timestamp.json", "snapshot.json", "targets.json", "manifest.json", "2.root.json"] {
        if let Some(part) = parts.next() {
            files.insert(name.to_owned(), part.to_vec());
        }
    }
    let verifier = Verifier::new(root().clone(), Timestamp(1_800_000_000), State::default());
    let _ = verifier.verify(&Memory(files));
});
