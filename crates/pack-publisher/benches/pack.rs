//! Pack targets (`docs/benchmarks.md`): build from one million indicators ≤ 10 s; filters
//! for one million indicators at 1e-6 ≤ 4 MB; reputation lookup ≤ 200 ns per URL.
//!
//! `cargo bench -p ferretwatch-pack-publisher --bench pack`

use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ferretwatch_detect::filter::{FilterFile, IndicatorKind, Target};
use ferretwatch_detect::Reputation;
use ferretwatch_pack_client::dir::read_manifest;
use ferretwatch_pack_client::indicator::Indicator;
use ferretwatch_pack_client::manifest::FeedSource as Source;
use ferretwatch_pack_client::manifest::Role;
use ferretwatch_pack_publisher::feedfile::{FeedFile, FeedHeader};
use ferretwatch_pack_publisher::feeds::{ParseReport, Record};
use ferretwatch_pack_publisher::{build, BuildOptions};
use ferretwatch_types::{PackVersion, Timestamp};

const TOTAL: usize = 1_000_000;

/// One million distinct indicators: 40% hosts, 40% URLs, 20% IPs, in two feeds.
fn write_feeds(dir: &Path) {
    let fetched = Timestamp::from_secs(1_758_725_700);
    let header = |name: &str, source| FeedHeader {
        name: name.into(),
        source,
        origin: "bench".into(),
        fetched_at: fetched,
        expires: fetched.plus_secs(72 * 3600),
        confidence: 900,
        keep_query: true,
        license: "bench".into(),
        report: ParseReport::default(),
        indicators: 0,
    };
    let record = |kind, value: String| Record { indicator: Indicator { kind, value }, id: None };
    let hosts_and_ips = (0..TOTAL * 2 / 5)
        .map(|i| record(IndicatorKind::Host, format!("login-{i:x}.kit{}.example", i % 977)))
        .chain((0..TOTAL / 5).map(|i| {
            let i = i as u32 + 0x0b00_0000;
            record(IndicatorKind::Ip, std::net::Ipv4Addr::from(i).to_string())
        }))
        .collect();
    let urls = (0..TOTAL * 2 / 5)
        .map(|i| record(IndicatorKind::Url, format!("cdn{}.example.net/files/{i:x}/invoice.exe", i % 331)))
        .collect();
    FeedFile::new(header("plain", Source::Plain), hosts_and_ips).write(&dir.join("plain.feed")).unwrap();
    FeedFile::new(header("urlhaus", Source::Urlhaus), urls).write(&dir.join("urlhaus.feed")).unwrap();
}

fn options(feeds: &Path, out: &Path) -> BuildOptions {
    BuildOptions::new(PackVersion::parse("2025.09.24.15").unwrap(), feeds, out)
}

fn load(out: &Path) -> (Reputation, u64) {
    let manifest = read_manifest(out).unwrap().unwrap();
    let filters: Vec<_> = manifest.files.iter().filter(|f| f.role == Role::Filter).collect();
    let bytes: u64 = filters.iter().map(|f| f.size).sum();
    let files = filters.iter().map(|f| FilterFile::from_bytes(&std::fs::read(out.join(&f.name)).unwrap()).unwrap());
    (Reputation::from_filters(files).unwrap(), bytes)
}

fn benches(c: &mut Criterion) {
    let feeds = tempfile::tempdir().unwrap();
    write_feeds(feeds.path());
    let out = tempfile::tempdir().unwrap();
    build(&options(feeds.path(), out.path())).unwrap();
    let (reputation, filter_bytes) = load(out.path());
    eprintln!(
        "filters for {TOTAL} indicators at 1e-6: {filter_bytes} bytes ({:.2} MB, {:.2} bits per indicator)",
        filter_bytes as f64 / 1e6,
        filter_bytes as f64 * 8.0 / TOTAL as f64
    );

    let mut group = c.benchmark_group("pack");
    group.sample_size(10);
    group.bench_function("build_1m_indicators", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| build(&options(feeds.path(), dir.path())).unwrap(),
            BatchSize::PerIteration,
        )
    });
    group.finish();

    // Browsing traffic: mostly unlisted pages with subdomains, paths and queries, some listed.
    let urls: Vec<Target> = (0..1000)
        .map(|i| match i % 10 {
            0 => format!("https://login-{:x}.kit{}.example/account", i * 7, (i * 7) % 977),
            1 => format!("http://cdn{}.example.net/files/{:x}/invoice.exe", (i * 3) % 331, i * 3),
            2 => format!("http://11.0.{}.{}/gate.php", i % 200, i % 250),
            _ => format!("https://www.site{i}.example.com/articles/{i}/read?ref=home&page={}", i % 9),
        })
        .map(|u| Target::parse(&u).unwrap())
        .collect();
    let mut group = c.benchmark_group("reputation");
    group.throughput(criterion::Throughput::Elements(urls.len() as u64));
    group.bench_function("lookup_1000_urls_1m_listed", |b| {
        b.iter(|| urls.iter().filter_map(|target| reputation.lookup(target)).count())
    });
    group.finish();
    let hits = urls.iter().filter_map(|target| reputation.lookup(target)).count();
    eprintln!("reputation hits on the 1000 traffic URLs: {hits} (300 listed by construction)");
}

criterion_group!(pack, benches);
criterion_main!(pack);
