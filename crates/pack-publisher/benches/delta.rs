//! Intel delta target (`docs/benchmarks.md`): at 1% daily churn of one million indicators
//! (10,000 removed, 10,000 added) a delta is at most 2 MB.
//!
//! The million is split as the pack bench splits it (400,000 hosts, 400,000 URLs, 200,000
//! IPs), each a Bloom filter at 1e-6; the churn is spread in the same proportions. The bench
//! prints the delta's size, then times making it (rebuilding both filters per kind at the
//! base's dimensions, as `pack delta` does) and applying it (decode, SHA-256 checks, bit
//! flips, re-encode), which is what a client pays.
//!
//! `cargo bench -p ferretwatch-pack-publisher --bench delta`

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, Criterion};
use ferretwatch_detect::filter::{FilterFile, IndicatorKind};
use ferretwatch_pack_publisher::delta::{diff_filter, Delta, DeltaOptions};
use ferretwatch_types::PackVersion;

const TOTAL: usize = 1_000_000;
const CHURN: f64 = 0.01;

fn indicator(kind: IndicatorKind, i: usize) -> String {
    match kind {
        IndicatorKind::Host => format!("login-{i:x}.kit{}.example", i % 977),
        IndicatorKind::Url => format!("cdn{}.example.net/files/{i:x}/invoice.exe", i % 331),
        IndicatorKind::Ip => std::net::Ipv4Addr::from(i as u32 + 0x0b00_0000).to_string(),
    }
}

struct Churned {
    base_files: BTreeMap<IndicatorKind, Vec<u8>>,
    lists: Vec<(IndicatorKind, Vec<String>, Vec<String>)>,
}

/// Per kind: the base list, and the target list with the first 1% removed and 1% new ones.
fn churned() -> Churned {
    let mut base_files = BTreeMap::new();
    let mut lists = Vec::new();
    for (kind, share) in [(IndicatorKind::Host, 0.4), (IndicatorKind::Url, 0.4), (IndicatorKind::Ip, 0.2)] {
        let n = (TOTAL as f64 * share) as usize;
        let churn = (n as f64 * CHURN) as usize;
        let mut base: Vec<String> = (0..n).map(|i| indicator(kind, i)).collect();
        let mut target: Vec<String> = (churn..n + churn).map(|i| indicator(kind, i)).collect();
        base.sort_unstable();
        target.sort_unstable();
        let file = FilterFile::build(kind, base.iter().map(String::as_str), 1e-6);
        base_files.insert(kind, file.to_bytes());
        lists.push((kind, base, target));
    }
    Churned { base_files, lists }
}

fn make(c: &Churned) -> Delta {
    let sections = c
        .lists
        .iter()
        .map(|(kind, base, target)| {
            let base: Vec<&str> = base.iter().map(String::as_str).collect();
            let target: Vec<&str> = target.iter().map(String::as_str).collect();
            diff_filter(&c.base_files[kind], &base, &target, DeltaOptions::default()).expect("delta")
        })
        .collect();
    Delta {
        base_version: PackVersion::parse("2025.09.24.15").expect("version"),
        target_version: PackVersion::parse("2025.09.25.15").expect("version"),
        sections,
    }
}

fn bench(c: &mut Criterion) {
    let churned = churned();
    let delta = make(&churned);
    let bytes = delta.to_bytes();
    let filters: usize = churned.base_files.values().map(Vec::len).sum();
    println!(
        "delta at 1% churn of {TOTAL} indicators: {} bytes ({:.2} MB; the full filters are {filters} bytes, {:.1}%)",
        bytes.len(),
        bytes.len() as f64 / 1e6,
        100.0 * bytes.len() as f64 / filters as f64
    );
    assert!(bytes.len() <= 2_000_000, "delta of {} bytes is above the 2 MB target", bytes.len());
    let applied = delta.apply(&delta.base_version, &churned.base_files).expect("applies");
    assert_eq!(applied.len(), 3);

    let mut group = c.benchmark_group("delta");
    group.sample_size(10);
    group.bench_function("make_1m_1pct", |b| b.iter(|| make(&churned).to_bytes().len()));
    group.bench_function("apply_1m_1pct", |b| {
        b.iter(|| {
            let decoded = Delta::from_bytes(&bytes).expect("decodes");
            decoded.apply(&decoded.base_version, &churned.base_files).expect("applies").len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
