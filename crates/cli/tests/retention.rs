//! `ferretwatch db retention` at scale, on PostgreSQL: a million reports bulk-loaded with
//! SQL, the command run as a real process and killed with SIGKILL once it has committed a
//! few batches, then run again to completion. Afterwards the daily aggregates equal the
//! counts taken before (nothing lost, nothing counted twice), no report younger than the
//! cutoff is gone, and the process's peak resident memory (`VmHWM`) stayed under
//! [`PEAK_RSS_LIMIT_KB`]. Prints the time and throughput.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor};
use support::PgDatabase;

/// Reports loaded.
const REPORTS: i64 = 1_000_000;
/// Distinct URLs among them.
const URLS: i64 = 50_000;
const DAY_MS: i64 = 86_400_000;
/// The bound on the retention process's peak resident set (200 MB).
const PEAK_RSS_LIMIT_KB: u64 = 200 * 1024;
/// Batches committed before the first run is killed.
const KILL_AFTER_BATCHES: usize = 5;

/// The URL of number `u` (in SQL): host `hU%997.dU%300.example`, so its registrable domain
/// is `dU%300.example`.
const URL_SQL: &str = "'https://h' || (u % 997) || '.d' || (u % 300) || '.example/p' || u";

fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// Loads the URLs and the reports: report `g` is of URL `g % URLS`, received `g % 400`
/// days ago at a time of day kept an hour away from the cutoff's, so the cutoff the
/// command computes a few seconds later splits the log the same way.
async fn load(conn: &mut sqlx::PgConnection, now: i64) {
    let moderation = format!(
        "INSERT INTO moderation (url_hash, url, state, first_seen, last_seen, report_count, max_score) \
         SELECT sha256(convert_to(url, 'UTF8')), url, 'queued', 0, 0, 1, 100 \
         FROM (SELECT {URL_SQL} AS url FROM generate_series(0::bigint, {last}) AS u) urls",
        last = URLS - 1
    );
    conn.execute(moderation.as_str()).await.unwrap();
    let reports = format!(
        "INSERT INTO reports (received_at, kind, url, url_hash, reason, client_timestamp, extension_version, \
                              pack_version, score, findings, install_token_id) \
         SELECT at, CASE WHEN g % 10 = 0 THEN 'false_positive' ELSE 'report' END, url, \
                sha256(convert_to(url, 'UTF8')), \
                (ARRAY['phishing_login', 'payment_fraud', 'malware_download', 'brand_impersonation', \
                       'data_exfiltration'])[g % 5 + 1], \
                at, '1.4.2', '2026.01.01.00', (g * 37) % 101, '[]'::jsonb, \
                CASE WHEN g % 50 = 0 THEN lpad(to_hex(g), 32, '0') END \
         FROM (SELECT g, {URL_SQL} AS url, \
                      {now} - (g % 400) * {DAY_MS} - (3600000 + (g * 7919) % ({DAY_MS} - 7200000)) AS at \
               FROM (SELECT g, g % {URLS} AS u FROM generate_series(0::bigint, {last}) AS g) s) r",
        last = REPORTS - 1
    );
    conn.execute(reports.as_str()).await.unwrap();
    conn.execute("ANALYZE reports").await.unwrap();
}

type Groups = BTreeMap<(i64, String, String, String, String), i64>;

/// The counts retention must leave, grouped as the aggregates are, from the log itself.
async fn expected_groups(conn: &mut sqlx::PgConnection, cutoff: i64) -> Groups {
    let rows: Vec<(i64, String, String, String, String, i64)> = sqlx::query_as(
        "SELECT (received_at / 86400000) * 86400000 AS day, kind, reason, \
                CASE WHEN score >= 70 THEN 'red' WHEN score >= 40 THEN 'yellow' ELSE 'green' END, \
                split_part(split_part(url, '/', 3), '.', 2) || '.example', count(*) \
         FROM reports WHERE received_at < $1 GROUP BY 1, 2, 3, 4, 5",
    )
    .bind(cutoff)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    rows.into_iter().map(|(d, k, r, l, m, n)| ((d, k, r, l, m), n)).collect()
}

async fn aggregate_groups(conn: &mut sqlx::PgConnection) -> Groups {
    let rows: Vec<(i64, String, String, String, String, i64)> =
        sqlx::query_as("SELECT day, kind, reason, level, domain, reports FROM report_daily")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    rows.into_iter().map(|(d, k, r, l, m, n)| ((d, k, r, l, m), n)).collect()
}

/// `VmHWM` of `pid` in kB, while it lives.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `db retention` on `url`; with `kill_after`, kills it (SIGKILL) once that many
/// batches are reported committed. Returns its standard output, the batches it reported
/// and its peak resident set in kB.
fn retention(url: &str, data: &std::path::Path, kill_after: Option<usize>) -> (String, usize, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
        .args(["db", "retention", "--db", url, "--days", "90", "--batch", "10000", "--format", "json"])
        .env("FERRETWATCH_DATA_DIR", data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(kb) = peak_rss_kb(pid) {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut batches = 0;
    let mut log = String::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        if line.contains("retention: batch") {
            batches += 1;
        }
        log.push_str(&line);
        log.push('\n');
        if kill_after == Some(batches) {
            if let Some(kb) = peak_rss_kb(pid) {
                peak.fetch_max(kb, Ordering::Relaxed);
            }
            child.kill().unwrap();
            break;
        }
    }
    let output = child.wait_with_output().unwrap();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    if kill_after.is_none() {
        assert!(output.status.success(), "retention failed: {log}");
    }
    (String::from_utf8_lossy(&output.stdout).into_owned(), batches, peak.load(Ordering::Relaxed))
}

#[test]
#[cfg_attr(skip_postgres, ignore = "FERRETWATCH_SKIP_POSTGRES=1")]
fn a_million_reports_are_aggregated_and_deleted_across_a_kill_without_loss_or_double_count() {
    let db = PgDatabase::create();
    let scratch = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("retention-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    // Migrated by the command itself (nothing to delete yet).
    let (out, _, _) = retention(&db.url, &scratch, None);
    assert!(out.contains("\"deleted\":0"), "{out}");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let now = now_ms();
    let cutoff = now - 90 * DAY_MS;
    let (expected, young_before, loaded) = runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let started = Instant::now();
        load(&mut conn, now).await;
        eprintln!("loaded {REPORTS} reports in {:.1} s", started.elapsed().as_secs_f64());
        let expected = expected_groups(&mut conn, cutoff).await;
        let young: i64 = sqlx::query_scalar("SELECT count(*) FROM reports WHERE received_at >= $1")
            .bind(cutoff)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        (expected, young, started.elapsed())
    });
    let old: i64 = expected.values().sum();
    assert_eq!(old + young_before, REPORTS);
    assert!(old > REPORTS / 2, "most of the log is older than the cutoff: {old}");
    let _ = loaded;

    let started = Instant::now();
    let (_, committed, peak_killed) = retention(&db.url, &scratch, Some(KILL_AFTER_BATCHES));
    assert_eq!(committed, KILL_AFTER_BATCHES);
    let (out, _, peak) = retention(&db.url, &scratch, None);
    let elapsed = started.elapsed();
    let result: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let deleted_after_kill = result["deleted"].as_i64().unwrap();

    runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let left_old: i64 = sqlx::query_scalar("SELECT count(*) FROM reports WHERE received_at < $1")
            .bind(cutoff)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let young: i64 = sqlx::query_scalar("SELECT count(*) FROM reports WHERE received_at >= $1")
            .bind(cutoff)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM moderation").fetch_one(&mut conn).await.unwrap();
        assert_eq!(left_old, 0, "every report older than the cutoff is gone");
        assert_eq!(young, young_before, "no report younger than the cutoff was deleted");
        assert_eq!(entries, URLS, "moderation entries stay");
        let aggregates = aggregate_groups(&mut conn).await;
        assert_eq!(aggregates.len(), expected.len());
        assert!(aggregates == expected, "the aggregates equal the counts taken before the run");
    });
    assert!(deleted_after_kill < old, "the killed run had committed batches: {deleted_after_kill} of {old}");
    assert!(peak > 0 && peak_killed > 0, "VmHWM was sampled");
    assert!(peak.max(peak_killed) < PEAK_RSS_LIMIT_KB, "peak RSS {} kB", peak.max(peak_killed));
    eprintln!(
        "retention: {old} reports deleted in {:.1} s across a kill ({:.0} reports/s); the second run deleted \
         {deleted_after_kill} ({}); peak RSS {} kB (killed run {} kB)",
        elapsed.as_secs_f64(),
        old as f64 / elapsed.as_secs_f64(),
        result["reports_per_second"],
        peak,
        peak_killed
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
