//! Fuzzes rules.json parsing and compilation.
#![no_main]

use ferretwatch_detect::{Engine, Rules};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(rules) = Rules::from_json(text) {
            let _ = Engine::new(rules);
        }
    }
});
