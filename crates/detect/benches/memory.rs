//! Resident memory of the engine with the default rules (and built-in YARA rules):
//! VmRSS before building it, after building it, and after scanning pages.
//!
//! `cargo bench -p ferretwatch-detect --bench memory`

mod common;

use ferretwatch_detect::{Engine, Page, ScanOptions};

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let html = common::page_200kb();
    let before = rss_kib();
    let engine = Engine::builtin();
    let built = rss_kib();
    for url in common::URLS {
        engine.scan(&Page { url, html: Some(&html), ..Page::default() }, &ScanOptions::default()).unwrap();
    }
    let scanned = rss_kib();
    println!(
        "VmRSS: process before engine {before} KiB; after Engine::builtin() {built} KiB (+{} KiB); after 16 page scans {scanned} KiB (+{} KiB over baseline)",
        built - before,
        scanned - before
    );
}
