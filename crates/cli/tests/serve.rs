//! `ferretwatch serve` as operators run it: the real binary, started with no configuration
//! but a data directory, streamed reports from several clients, killed with SIGKILL in
//! the middle, and started again. Every report that got a 2xx must be in the database,
//! on SQLite and on PostgreSQL (a fresh database per test on 127.0.0.1:5432, dropped
//! afterwards; the test fails if PostgreSQL is unreachable; with
//! FERRETWATCH_SKIP_POSTGRES=1 it is reported as ignored).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferretwatch_store::{ReportId, StoreOptions};
use support::{agent, post_report, PgDatabase};

mod support;

/// A running `ferretwatch serve`.
struct Served {
    child: Child,
    base: String,
}

/// Starts the server in `dir` on a free port and waits for its "listening" log line
/// (no sleeping: the line is printed once the listener accepts).
fn serve(dir: &Path, db: &str) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db", db])
        .current_dir(dir)
        .env("FERRETWATCH_METRICS_LISTEN", "127.0.0.1:0")
        .env("FERRETWATCH_LIMITS_IP_PER_MINUTE", "1000000")
        .env("FERRETWATCH_LIMITS_IP_PER_DAY", "1000000")
        .env("FERRETWATCH_LIMITS_INSTALL_PER_MINUTE", "1000000")
        .env("FERRETWATCH_LIMITS_INSTALL_PER_DAY", "1000000")
        .env("FERRETWATCH_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start ferretwatch serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent && line.contains("\"message\":\"listening\"") {
                let value: serde_json::Value = serde_json::from_str(&line).unwrap();
                tx.send(value["addr"].as_str().unwrap().to_owned()).unwrap();
                sent = true;
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(120)).expect("the server printed its listening address");
    Served { child, base: format!("http://{addr}") }
}

/// Streams reports from `clients` threads until told to stop; returns every (id, url)
/// acknowledged with a 201.
fn stream_reports(
    base: &str,
    token: &str,
    clients: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(i64, String)>>>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..clients)
        .map(|client| {
            let (base, token, stop, acked) = (base.to_owned(), token.to_owned(), stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let agent = agent();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let url = format!("https://durable.example/{client}/{n}");
                    let sent = post_report(&agent, &base, &token, &url);
                    match sent {
                        Ok(mut response) if response.status() == 201 => {
                            let body = response.body_mut().read_to_string().unwrap_or_default();
                            // A 201 whose body was cut off by the kill still counts: the
                            // status line means the server had committed.
                            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&body) {
                                acked.lock().unwrap().push((value["id"].as_i64().unwrap(), url));
                            }
                        }
                        Ok(response) => panic!("unexpected status {} before the kill", response.status()),
                        Err(_) => return, // the server is gone
                    }
                }
            })
        })
        .collect()
}

fn install_token(base: &str) -> String {
    let mut response = agent().post(&format!("{base}/v1/install")).send_empty().unwrap();
    assert_eq!(response.status(), 201);
    let value: serde_json::Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    value["install_token"].as_str().unwrap().to_owned()
}

fn kill_mid_stream_and_find_every_acknowledged_report(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(dir.path(), db);
    let token = install_token(&served.base);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let threads = stream_reports(&served.base, &token, 4, stop.clone(), acked.clone());

    let started = Instant::now();
    while acked.lock().unwrap().len() < 300 {
        assert!(started.elapsed() < Duration::from_secs(120), "too slow to acknowledge 300 reports");
        std::thread::yield_now();
    }
    served.child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
    served.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300);

    // Restart on the same data: it must come up (WAL recovery, migrations already applied)
    // and accept reports again.
    let mut again = serve(dir.path(), db);
    let token = install_token(&again.base);
    let status = post_report(&agent(), &again.base, &token, "https://durable.example/after-restart").unwrap().status();
    assert_eq!(status, 201);
    // Graceful stop (SIGTERM), then read the database directly.
    Command::new("kill").args(["-TERM", &again.child.id().to_string()]).status().unwrap();
    let exit = again.child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0, got {exit}");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let db_url = if db.starts_with("sqlite://") {
        // The server ran in `dir` with a relative path.
        format!("sqlite://{}", dir.path().join(db.trim_start_matches("sqlite://")).display())
    } else {
        db.to_owned()
    };
    runtime.block_on(async {
        let store = ferretwatch_store::open(&db_url, &StoreOptions::default()).await.unwrap();
        let mut missing = Vec::new();
        for (id, url) in &acked {
            match store.get_report(ReportId(*id)).await {
                Ok(report) if &report.url == url => {}
                other => missing.push(format!("{id} {url}: {other:?}")),
            }
        }
        store.close().await;
        assert!(
            missing.is_empty(),
            "{} acknowledged reports lost: {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
    });
    eprintln!("{db}: {} acknowledged reports all found after SIGKILL and restart", acked.len());
}

#[test]
fn every_acknowledged_report_survives_sigkill_on_sqlite() {
    kill_mid_stream_and_find_every_acknowledged_report("sqlite://data/ferretwatch.db");
}

#[test]
#[cfg_attr(skip_postgres, ignore = "FERRETWATCH_SKIP_POSTGRES=1")]
fn every_acknowledged_report_survives_sigkill_on_postgres() {
    let database = PgDatabase::create();
    kill_mid_stream_and_find_every_acknowledged_report(&database.url);
}

#[test]
fn admin_token_create_prints_the_token_once_and_stores_only_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fw.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
        .args(["admin", "token", "create", "--role", "viewer", "--name", "ops", "--db", &db])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("fwat_") && token.len() == 69, "{token}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&token));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = ferretwatch_store::open(&db, &StoreOptions::default()).await.unwrap();
        let hash = ferretwatch_store::TokenHash::of_secret(&token);
        let record = store.find_token_by_hash(&hash).await.unwrap().expect("stored by hash");
        assert_eq!((record.name.as_str(), record.role), ("ops", ferretwatch_store::TokenRole::Viewer));
        store.close().await;
    });
    let raw = std::fs::read(dir.path().join("fw.db")).unwrap();
    assert!(!raw.windows(token.len()).any(|w| w == token.as_bytes()), "the secret itself is not stored");

    let bad = Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
        .args(["admin", "token", "create", "--role", "root", "--db", &db])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
