//! `append_report` on both backends: criterion for one append at a time and for batches
//! of concurrent appends, then a fixed load (10,000 reports, 32 in flight) that prints
//! the rate and latency percentiles the report API's targets are stated in.
//!
//! PostgreSQL: a fresh database on `FERRETWATCH_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`), dropped afterwards; skipped with a note when
//! the crate was built with `FERRETWATCH_SKIP_POSTGRES=1`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use ferretwatch_store::{NewReport, Store};
use ferretwatch_types::Timestamp;
use support::{Harness, PostgresHarness, SqliteHarness};
use tokio::runtime::Runtime;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A report of one of 5,000 URLs: most appends update an existing moderation entry, as in
/// a campaign, and some create one.
fn next_report() -> NewReport {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut report = support::report(&format!("https://bench-{}.example/login?id={}", n % 5_000, n % 17));
    report.received_at = Timestamp::now();
    report
}

async fn append_batch(store: &Arc<dyn Store>, size: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..size {
        let store = Arc::clone(store);
        tasks.spawn(async move { store.append_report(&next_report()).await.expect("append") });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, name: &str, store: &Arc<dyn Store>) {
    let mut group = c.benchmark_group(format!("append_report/{name}"));
    group.sample_size(20).measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(1));
    group.bench_function("sequential", |b| {
        b.iter(|| rt.block_on(async { store.append_report(&next_report()).await.expect("append") }))
    });
    const BATCH: usize = 256;
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_with_input(BenchmarkId::new("concurrent", BATCH), &BATCH, |b, &size| {
        b.iter(|| rt.block_on(append_batch(store, size)))
    });
    group.finish();
}

/// `total` appends with `in_flight` concurrent callers; prints rate and percentiles.
fn load_report(rt: &Runtime, name: &str, store: &Arc<dyn Store>, total: usize, in_flight: usize) {
    let latencies = rt.block_on(async {
        let started = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for worker in 0..in_flight {
            let store = Arc::clone(store);
            let share = total / in_flight + usize::from(worker < total % in_flight);
            workers.spawn(async move {
                let mut mine = Vec::with_capacity(share);
                for _ in 0..share {
                    let report = next_report();
                    let t = Instant::now();
                    store.append_report(&report).await.expect("append");
                    mine.push(t.elapsed());
                }
                mine
            });
        }
        let mut all = Vec::with_capacity(total);
        while let Some(mine) = workers.join_next().await {
            all.extend(mine.expect("worker"));
        }
        (all, started.elapsed())
    });
    let (mut all, wall) = latencies;
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "load {name}: {total} appends, {in_flight} in flight: {:.0} reports/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        total as f64 / wall.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        all.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let quick = std::env::args().any(|a| a == "--test");
    let mut c = Criterion::default().configure_from_args();

    let sqlite = rt.block_on(SqliteHarness::create());
    let store = rt.block_on(sqlite.open());
    bench_backend(&mut c, &rt, "sqlite", &store);
    if !quick {
        load_report(&rt, "sqlite", &store, 10_000, 32);
    }
    rt.block_on(store.close());

    if cfg!(skip_postgres) {
        println!("note: PostgreSQL bench skipped (FERRETWATCH_SKIP_POSTGRES=1)");
    } else {
        let postgres = rt.block_on(PostgresHarness::create());
        let store = rt.block_on(postgres.open());
        bench_backend(&mut c, &rt, "postgres", &store);
        if !quick {
            load_report(&rt, "postgres", &store, 10_000, 32);
        }
        rt.block_on(store.close());
    }
    c.final_summary();
}
