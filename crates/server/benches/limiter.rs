//! What a rate-limit decision costs a report, in this process and through Redis: the
//! latency of `check_report` (the address's and the token's limits in one decision),
//! 20,000 calls one after another from one task, for distinct addresses and tokens, with
//! p50, p99 and p99.9. The difference at p99 is what keeping the limits in Redis adds to a
//! report. Needs Redis at FERRETWATCH_TEST_REDIS (default redis://127.0.0.1:6379).
//!
//!     cargo bench -p ferretwatch-server --bench limiter

use std::net::IpAddr;
use std::time::{Duration, Instant};

use ferretwatch_server::limits::RateLimits;
use ferretwatch_server::settings::{CaptchaSettings, Limits};

const CALLS: usize = 20_000;

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

async fn run(name: &str, limits: &RateLimits, salt: u32) -> Duration {
    let mut samples = Vec::with_capacity(CALLS);
    for i in 0..CALLS as u32 {
        let ip = IpAddr::from((salt << 24 | i).to_be_bytes());
        let token = format!("bench-{salt}-{}", i % 1000);
        let started = Instant::now();
        let decided = limits.check_report(ip, &token).await;
        samples.push(started.elapsed());
        assert!(decided.is_ok(), "{name}: the limits are high enough for the run");
    }
    samples.sort();
    let p99 = quantile(&samples, 0.99);
    println!(
        "{name:<28} p50 {:>8.1} µs   p99 {:>8.1} µs   p99.9 {:>8.1} µs",
        quantile(&samples, 0.5).as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        quantile(&samples, 0.999).as_secs_f64() * 1e6,
    );
    p99
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let limits = Limits {
            ip_per_minute: 1_000_000,
            ip_per_day: 1_000_000,
            install_per_minute: 1_000_000,
            install_per_day: 1_000_000,
            ..Limits::default()
        };
        let captcha = CaptchaSettings::default();
        let url = std::env::var("FERRETWATCH_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let local = RateLimits::new(&limits, &captcha, false);
        let prefix = format!("bench:{}:", std::process::id());
        let shared = RateLimits::new(&limits, &captcha, false)
            .with_redis(&url, &prefix, Duration::from_millis(100))
            .await
            .unwrap();
        assert!(shared.is_shared(), "Redis answers at {url}");
        for round in 0..3u32 {
            let a = run("in this process", &local, 10 + round).await;
            let b = run("in Redis", &shared, 20 + round).await;
            println!("round {round}: Redis adds {:.1} µs at p99", (b.as_secs_f64() - a.as_secs_f64()) * 1e6);
        }
    });
}
