//! Latency distribution of a full-page scan (200 KB HTML, 100 YARA rules) on one core:
//! prints p50, p95 and p99 over 1000 scans. Criterion reports medians; the target is a p95.
//!
//! `cargo bench -p ferretwatch-detect --bench page_latency`

mod common;

use std::time::{Duration, Instant};

use ferretwatch_detect::{Engine, Page, Rules, ScanOptions};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let html = common::page_200kb();
    let engine = common::engine_with_100_rules();
    let without_yara = Engine::new(Rules::builtin()).unwrap();
    let options = ScanOptions::default();
    let page = Page { url: "https://portal.example-news.com/login", html: Some(&html), ..Page::default() };
    let kb = html.len() / 1024;
    report(&format!("full page {kb} KB, 100 YARA rules"), || {
        std::hint::black_box(engine.scan(&page, &options).unwrap());
    });
    report(&format!("full page {kb} KB, no YARA"), || {
        std::hint::black_box(without_yara.scan(&page, &options).unwrap());
    });
    report(&format!("HTML extraction only, {kb} KB"), || {
        std::hint::black_box(ferretwatch_detect::bench::extract(&html));
    });

    // URL-only: every URL of a browsing-traffic stream timed on its own.
    let default_engine = Engine::builtin();
    let urls = common::traffic(20_000);
    for url in &urls[..2_000] {
        default_engine.scan(&Page::url(url), &options).unwrap();
    }
    let mut samples: Vec<Duration> = urls
        .iter()
        .map(|url| {
            let start = Instant::now();
            std::hint::black_box(default_engine.scan(&Page::url(url), &options).unwrap());
            start.elapsed()
        })
        .collect();
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)].as_secs_f64() * 1e6;
    println!(
        "URL-only, {} URLs of browsing traffic, each timed: p50 {:.2} µs, p95 {:.2} µs, p99 {:.2} µs",
        urls.len(),
        at(0.50),
        at(0.95),
        at(0.99)
    );
}

/// Runs `f` 50 times to warm up, then 1000 times, and prints p50, p95 and p99.
fn report(name: &str, mut f: impl FnMut()) {
    for _ in 0..50 {
        f();
    }
    let mut samples: Vec<Duration> = (0..1000)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)].as_secs_f64() * 1e3;
    println!("{name}, 1000 runs: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms", at(0.50), at(0.95), at(0.99));
}
