//! Fuzzes the pack updater: arbitrary bytes cut into a sequence of answers (bodies,
//! 304, 404, failures with statuses and Retry-After) to whatever it asks, against a fixed
//! root of trust. Nothing may panic, nothing may be installed (no answer can carry a
//! valid signature), and every cycle ends within a bounded number of requests.
#![no_main]

use std::sync::OnceLock;

use ferretwatch_pack_client::trust::metadata::{Envelope, Root};
use ferretwatch_pack_client::update::{Config, Persisted, Response, Step, Updater};
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_types::Timestamp;
use libfuzzer_sys::fuzz_target;

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
    let config = Config::new(vec!["https://a".into(), "https://b".into()], "fuzz");
    let mut updater = Updater::new(config, root(), Persisted::default()).unwrap();
    let mut answers = data.split(|&b| b == 0xff).map(|part| match part.first() {
        Some(0) => Response::NotModified,
        Some(1) => Response::NotFound,
        Some(2) => Response::Failed {
            status: part.get(1).map(|s| 300 + u16::from(*s)),
            retry_after: part.get(2).map(|r| u64::from(*r)),
        },
        _ => Response::Body { bytes: part.to_vec(), etag: None },
    });
    let mut step = updater.start(Timestamp::from_secs(1_800_000_000));
    for _ in 0..1000 {
        step = match step {
            Step::Fetch(request) => {
                let answer = answers.next().unwrap_or(Response::Failed { status: None, retry_after: None });
                updater.handle(request.not_before, answer)
            }
            Step::Install(_) => panic!("an unverified pack reached install"),
            Step::Done(_) => return,
        };
    }
    panic!("a cycle did not end");
});
