//! Fuzzes the page path: the first line is the URL, the rest is the HTML (also fed as the favicon).
#![no_main]

#[path = "common.rs"]
mod common;

use common::engine;
use ferretwatch_detect::{Page, ScanOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (url, html) = text.split_once('\n').unwrap_or(("https://fuzz.example/", &text));
    let page = Page { url, html: Some(html), favicon: Some(data), ..Page::default() };
    if let Ok(verdict) = engine().scan(&page, &ScanOptions::default()) {
        assert!(verdict.score <= 100);
    }
});
