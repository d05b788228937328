//! Fuzzes the pack updater: arbitrary bytes cut into a sequence of answers (bodies,
//! 304, 404, failures with statuses and Retry-After) to whatever it asks, against a fixed
//! root of trust. Nothing may panic, nothing may be installed (no answer can carry a
//! valid signature), and every cycle ends within a bounded number of requests.
#![no_main]

#[path = "trust.rs"]
mod trust;

use ferretwatch_pack_client::update::{Config, Persisted, Response, Step, Updater};
use ferretwatch_types::Timestamp;
use libfuzzer_sys::fuzz_target;
use trust::root;

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
            Step::ReadBase(_) => panic!("a delta without an installed base"),
            Step::Done(_) => return,
        };
    }
    panic!("a cycle did not end");
});
