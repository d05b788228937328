//! Fuzzes the URL path (parsing, PSL, punycode, lookalike matching, reputation keys).
#![no_main]

use std::sync::OnceLock;

use ferretwatch_detect::{Engine, Page, ScanOptions};
use libfuzzer_sys::fuzz_target;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::builtin)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = engine().scan(&Page::url(&text), &ScanOptions::default());
    let _ = engine().scan(&Page::url(&format!("https://{text}/")), &ScanOptions::default());
});
