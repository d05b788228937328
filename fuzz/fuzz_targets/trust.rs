//! The root of trust the pack fuzz targets verify against: two fixed keys, threshold 2,
//! signed once, so every run and every target sees the same root.

use std::sync::OnceLock;

use ferretwatch_pack_client::trust::metadata::{Envelope, Root};
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_types::Timestamp;

/// The fixed root of trust, signed by both of its keys.
pub fn root() -> &'static Vec<u8> {
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
