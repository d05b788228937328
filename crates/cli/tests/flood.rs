//! `ferretwatch serve` under a flood, on loopback, bounded in count and time: many install
//! tokens from one address sending far beyond the address's budget on kept-alive
//! connections, slow clients trickling headers, oversized and garbage bodies, and a
//! prober on `/health` throughout. Asserted: nothing beyond the limits is stored, no 5xx
//! (a 503 would need `Retry-After`), no broken connection for a client that honours
//! `Connection: close`, health p99 under a second, bounded memory and log, slow clients
//! cut off at the header timeout, connections over the per-address cap closed, and a
//! legitimate client behind the same address served again as soon as `Retry-After` says.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use support::{agent, post_report};

mod support;

const SECRET: &str = "flood-test-install-secret-0123456789abcdef";
/// The address's budget: 30 a minute (one every 2 s after the burst), 300 a day.
const PER_MINUTE: u64 = 30;
const HEADER_TIMEOUT_MS: u64 = 1_500;
const CONNECTION_CAP: usize = 48;
const FLOOD_FOR: Duration = Duration::from_secs(5);

struct Served {
    child: Child,
    base: String,
    lines: Arc<AtomicU64>,
    warn_lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env("FERRETWATCH_METRICS_LISTEN", "127.0.0.1:0")
        .env("FERRETWATCH_INSTALL_SECRET", SECRET)
        .env("FERRETWATCH_LIMITS_IP_PER_MINUTE", PER_MINUTE.to_string())
        .env("FERRETWATCH_LIMITS_IP_PER_DAY", "300")
        .env("FERRETWATCH_LIMITS_HEADER_TIMEOUT_MS", HEADER_TIMEOUT_MS.to_string())
        .env("FERRETWATCH_LIMITS_MAX_CONNECTIONS_PER_IP", CONNECTION_CAP.to_string())
        .env("FERRETWATCH_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start ferretwatch serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = Arc::new(AtomicU64::new(0));
    let warn_lines = Arc::new(Mutex::new(Vec::new()));
    let (count, warns) = (lines.clone(), warn_lines.clone());
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            count.fetch_add(1, Ordering::Relaxed);
            if line.contains("\"message\":\"listening\"") {
                let value: serde_json::Value = serde_json::from_str(&line).unwrap();
                let _ = tx.send(value["addr"].as_str().unwrap().to_owned());
            }
            if line.contains("refused requests") {
                warns.lock().unwrap().push(line);
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(120)).expect("the server printed its listening address");
    Served { child, base: format!("http://{addr}"), lines, warn_lines }
}

/// Kilobytes of the server's peak resident memory.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[derive(Default)]
struct Tally {
    created: AtomicU64,
    limited: AtomicU64,
    other_4xx: AtomicU64,
    unavailable_without_retry: AtomicU64,
    server_errors: AtomicU64,
    broken: AtomicU64,
    sent: AtomicU64,
}

fn p99(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[(samples.len() * 99 / 100).min(samples.len() - 1)]
}

#[test]
fn a_flood_from_one_address_is_held_to_its_budget_and_costs_the_service_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path());
    let base = served.base.clone();
    let host = base.trim_start_matches("http://").to_owned();
    let keys = ferretwatch_server::install::InstallKeys::new(SecretString::from(SECRET), 30).unwrap();
    let tokens: Vec<String> = (0..16).map(|_| keys.issue().unwrap().0).collect();
    let lines_before = served.lines.load(Ordering::Relaxed);

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut threads = Vec::new();

    // Reporters: four threads, four tokens each, on kept-alive connections.
    for t in 0..4 {
        let (base, stop, tally) = (base.clone(), stop.clone(), tally.clone());
        let tokens = tokens[t * 4..t * 4 + 4].to_vec();
        threads.push(std::thread::spawn(move || {
            let agent = agent();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let token = &tokens[n as usize % tokens.len()];
                tally.sent.fetch_add(1, Ordering::Relaxed);
                let sent = post_report(&agent, &base, token, &format!("https://flood.example/{t}/{n}"));
                match sent {
                    Ok(response) => match response.status().as_u16() {
                        201 => drop(tally.created.fetch_add(1, Ordering::Relaxed)),
                        429 => {
                            assert!(response.headers().contains_key("retry-after"));
                            tally.limited.fetch_add(1, Ordering::Relaxed);
                        }
                        503 if response.headers().contains_key("retry-after") => {}
                        503 => drop(tally.unavailable_without_retry.fetch_add(1, Ordering::Relaxed)),
                        s if s >= 500 => drop(tally.server_errors.fetch_add(1, Ordering::Relaxed)),
                        _ => drop(tally.other_4xx.fetch_add(1, Ordering::Relaxed)),
                    },
                    Err(_) => drop(tally.broken.fetch_add(1, Ordering::Relaxed)),
                }
            }
        }));
    }

    // Oversized and garbage bodies, on raw connections.
    {
        let (host, stop, tally) = (host.clone(), stop.clone(), tally.clone());
        let token = tokens[0].clone();
        threads.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let Ok(mut stream) = TcpStream::connect(&host) else { continue };
                stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let request = if n % 2 == 0 {
                    // Declares a megabyte and sends a little of it.
                    format!(
                        "POST /v1/report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                         X-Install-Token: {token}\r\nContent-Length: 1048576\r\n\r\n{{\"url\": \"{}",
                        "A".repeat(4096)
                    )
                } else {
                    let garbage: String = (0..512).map(|i| char::from(b'!' + ((n + i) % 90) as u8)).collect();
                    format!(
                        "POST /v1/report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                         X-Install-Token: {token}\r\nContent-Length: {}\r\n\r\n{garbage}",
                        garbage.len()
                    )
                };
                tally.sent.fetch_add(1, Ordering::Relaxed);
                if stream.write_all(request.as_bytes()).is_err() {
                    continue;
                }
                let mut head = [0u8; 12];
                if stream.read_exact(&mut head).is_ok() {
                    let status: u16 = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
                    if status >= 500 {
                        tally.server_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }

    // Slow clients: a header line every 500 ms, for as long as the server keeps them.
    let slow_closed = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..20 {
        let (host, closed) = (host.clone(), slow_closed.clone());
        threads.push(std::thread::spawn(move || {
            let started = Instant::now();
            let mut stream = TcpStream::connect(&host).unwrap();
            stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
            let _ = stream.write_all(b"POST /v1/report HTTP/1.1\r\nHost: x\r\n");
            for i in 0..40 {
                if stream.write_all(format!("X-Slow-{i}: 1\r\n").as_bytes()).is_err() {
                    break;
                }
                let mut byte = [0u8; 1];
                match stream.read(&mut byte) {
                    Ok(0) => break,
                    Ok(_) => {} // an error response: read on until the close
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(_) => break,
                }
            }
            closed.lock().unwrap().push(started.elapsed());
        }));
    }

    // Health, every 20 ms.
    let health = Arc::new(Mutex::new(Vec::new()));
    {
        let (base, stop, health) = (base.clone(), stop.clone(), health.clone());
        threads.push(std::thread::spawn(move || {
            let agent = agent();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let response = agent.get(&format!("{base}/health")).call().expect("health answers");
                assert_eq!(response.status(), 200);
                health.lock().unwrap().push(started.elapsed());
                std::thread::sleep(Duration::from_millis(20));
            }
        }));
    }

    std::thread::sleep(FLOOD_FOR);
    stop.store(true, Ordering::Relaxed);
    let flood_ended = Instant::now();
    for thread in threads {
        thread.join().unwrap();
    }

    let sent = tally.sent.load(Ordering::Relaxed);
    let created = tally.created.load(Ordering::Relaxed);
    let limited = tally.limited.load(Ordering::Relaxed);
    eprintln!(
        "flood: {sent} requests, {created} created, {limited} limited, {} other 4xx, {} broken, peak RSS {} kB, \
         {} log lines",
        tally.other_4xx.load(Ordering::Relaxed),
        tally.broken.load(Ordering::Relaxed),
        peak_rss_kb(served.child.id()),
        served.lines.load(Ordering::Relaxed) - lines_before,
    );
    assert!(sent >= 10 * PER_MINUTE, "the flood is at least ten times the budget ({sent} requests)");
    // The burst of 30, and one every 2 s while the flood lasted (the raw clients spend
    // some of it: fewer reports, never more).
    let allowance = PER_MINUTE + FLOOD_FOR.as_secs() / 2 + 2;
    assert!(created <= allowance, "{created} reports accepted, allowance {allowance}");
    assert!(created >= 1, "some of the budget was used by reports");
    assert_eq!(tally.server_errors.load(Ordering::Relaxed), 0, "no 5xx");
    assert_eq!(tally.unavailable_without_retry.load(Ordering::Relaxed), 0, "a 503 says when to retry");
    assert_eq!(tally.broken.load(Ordering::Relaxed), 0, "refusals close connections with Connection: close");

    // Everything acknowledged is stored, and nothing else.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let stored = runtime.block_on(async {
        let url = ferretwatch_store::StoreUrl::parse(&format!(
            "sqlite://{}",
            dir.path().join("data/ferretwatch.db").display()
        ))
        .unwrap();
        let store = ferretwatch_store::open_url(&url, &ferretwatch_store::StoreOptions::default()).await.unwrap();
        let counts = store.counts().await.unwrap();
        store.close().await;
        counts.reports
    });
    assert_eq!(stored as u64, created, "stored reports are exactly the acknowledged ones");

    let health_p99 = p99(health.lock().unwrap().clone());
    eprintln!("health: {} probes, p99 {:?}", health.lock().unwrap().len(), health_p99);
    assert!(health_p99 < Duration::from_secs(1), "health p99 {health_p99:?}");

    let slow = slow_closed.lock().unwrap().clone();
    assert_eq!(slow.len(), 20);
    let longest = slow.iter().max().unwrap();
    assert!(
        *longest < Duration::from_millis(HEADER_TIMEOUT_MS) + Duration::from_secs(2),
        "slow clients are cut off at the header timeout (longest held {longest:?})"
    );

    let peak = peak_rss_kb(served.child.id());
    assert!(peak < 150_000, "peak RSS {peak} kB");
    let logged = served.lines.load(Ordering::Relaxed) - lines_before;
    // One line per accepted report and per health probe (legitimate traffic), the odd
    // summary: nothing per refusal.
    let probes = health.lock().unwrap().len() as u64;
    assert!(
        logged < created + probes + 50,
        "{logged} log lines for {sent} requests: refusals are summarised, not logged one by one"
    );

    // A legitimate client behind the same address: refused now, served once Retry-After
    // has passed (one emission of the per-minute limit, 2 s; never the day's wait).
    let keys_token = keys.issue().unwrap().0;
    let agent = agent();
    let legit = || post_report(&agent, &base, &keys_token, "https://legit.example/after-the-flood");
    let mut retry_after = None;
    for _ in 0..(PER_MINUTE + 5) {
        let response = legit().unwrap();
        if response.status() == 429 {
            let seconds: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            retry_after = Some(seconds);
            break;
        }
    }
    let seconds = retry_after.expect("the address is at its limit");
    assert!(seconds <= 60 / PER_MINUTE, "Retry-After {seconds} s is the minute's, not the day's");
    std::thread::sleep(Duration::from_secs(seconds));
    let response = legit().unwrap();
    assert_eq!(response.status(), 201, "served again as soon as Retry-After allowed");

    // Connections over the per-address cap are closed unread; those within it stay open.
    drop(agent); // its kept-alive connection would hold a place
    std::thread::sleep(Duration::from_millis(HEADER_TIMEOUT_MS + 500));
    let conns: Vec<TcpStream> = (0..CONNECTION_CAP + 8).map(|_| TcpStream::connect(&host).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut closed = 0;
    let mut which = Vec::new();
    for (i, mut stream) in conns.into_iter().enumerate() {
        // Checked at once (well within the header timeout, which would close them all):
        // end of stream or a reset is closed by the server; nothing to read is open.
        stream.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        match stream.read(&mut byte) {
            Ok(0) => {
                closed += 1;
                which.push(i);
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                closed += 1;
                which.push(i);
            }
            _ => {}
        }
    }
    assert_eq!(closed, 8, "exactly the connections over the cap of {CONNECTION_CAP} were closed ({which:?})");

    // The refusals were summarised: a line per interval (10 s) naming how many, until
    // they add up to at least the refusals the reporters saw.
    let counted = || -> u64 {
        served
            .warn_lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["rate_limited"].as_u64().unwrap())
            .sum()
    };
    while counted() < limited && flood_ended.elapsed() < Duration::from_secs(25) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let counted = counted();
    assert!(counted >= limited && counted <= sent + 100, "the summaries count the refusals ({counted})");
}
