//! Fuzzes the URL path (parsing, PSL, punycode, lookalike matching, reputation keys).
#![no_main]

#[path = "common.rs"]
mod common;

use common::engine;
use ferretwatch_detect::{Page, ScanOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = engine().scan(&Page::url(&text), &ScanOptions::default());
    let _ = engine().scan(&Page::url(&format!("https://{text}/")), &ScanOptions::default());
});
