//! Criterion benchmarks: URL-only checks and full pages.
//!
//! `cargo bench -p ferretwatch-detect --bench engine`

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferretwatch_detect::{Engine, Page, ScanOptions};

fn url_only(c: &mut Criterion) {
    let engine = Engine::builtin();
    let options = ScanOptions::default();
    let mut group = c.benchmark_group("url_only");
    group.throughput(Throughput::Elements(common::URLS.len() as u64));
    group.bench_function("mixed_16_urls", |b| {
        b.iter(|| {
            for url in common::URLS {
                std::hint::black_box(engine.scan(&Page::url(url), &options).unwrap());
            }
        })
    });
    group.throughput(Throughput::Elements(1));
    for url in [
        "https://www.bbc.co.uk/news/technology-67012345",
        "https://paypa1-resolution.com/webapps/signin",
        "https://xn--pypal-4ve.com/",
    ] {
        group.bench_with_input(BenchmarkId::new("one", url), url, |b, url| {
            b.iter(|| std::hint::black_box(engine.scan(&Page::url(url), &options).unwrap()))
        });
    }
    group.finish();
}

fn full_page(c: &mut Criterion) {
    let html = common::page_200kb();
    let engine = common::engine_with_100_rules();
    let options = ScanOptions::default();
    let page = Page { url: "https://portal.example-news.com/login", html: Some(&html), ..Page::default() };
    let mut group = c.benchmark_group("full_page");
    group.throughput(Throughput::Bytes(html.len() as u64));
    group.sample_size(50);
    group.bench_function("200kb_100_yara_rules", |b| {
        b.iter(|| std::hint::black_box(engine.scan(&page, &options).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, url_only, full_page);
criterion_main!(benches);
