//! The deployment in `deploy/` on one machine: three `ferretwatch serve` instances
//! (started as the systemd unit starts them) sharing a fresh PostgreSQL database and a
//! Redis, behind nginx with `deploy/nginx/ferretwatch.conf` (`deploy/local-cluster.sh`).
//! It shows that:
//! - a client gets its configured limit in total across the three (within 5%), and every
//!   instance took part;
//! - an instance killed with SIGKILL under load loses no acknowledged report, and the
//!   others carry the traffic;
//! - Redis stopped under load loses no acknowledged report and refuses nothing more:
//!   limits fall back to each instance's memory.
//!
//! Needs PostgreSQL and redis-server (fails loudly without them; FERRETWATCH_SKIP_POSTGRES=1
//! or FERRETWATCH_SKIP_REDIS=1 reports the test as ignored), nginx and systemd-analyze
//! (installed by scripts/test.sh).

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use support::{agent, assert_all_stored, post_acknowledged, PgDatabase};

const SECRET: &str = "deploy-test-install-secret-0123456789abcdef";
const TOKEN_PER_MINUTE: u64 = 60;

struct Cluster {
    child: Child,
    dir: PathBuf,
    base: String,
}

impl Cluster {
    fn start(db: &str, dir: &Path) -> Cluster {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/local-cluster.sh");
        let child = Command::new("bash")
            .arg(script)
            .args(["--instances", "3", "--db", db, "--dir"])
            .arg(dir)
            .env("FERRETWATCH_BIN", env!("CARGO_BIN_EXE_ferretwatch"))
            .env("FERRETWATCH_INSTALL_SECRET", SECRET)
            .env("FERRETWATCH_LIMITS_IP_PER_MINUTE", "100000000")
            .env("FERRETWATCH_LIMITS_IP_PER_DAY", "100000000")
            .env("FERRETWATCH_LIMITS_INSTALL_PER_MINUTE", TOKEN_PER_MINUTE.to_string())
            .env("FERRETWATCH_LIMITS_INSTALL_PER_DAY", "100000")
            .env("FERRETWATCH_LOG", "warn")
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run deploy/local-cluster.sh");
        let started = Instant::now();
        let base = loop {
            if let Ok(base) = std::fs::read_to_string(dir.join("base")) {
                break base.trim().to_owned();
            }
            assert!(started.elapsed() < Duration::from_secs(180), "the cluster did not come up");
            std::thread::sleep(Duration::from_millis(100));
        };
        Cluster { child, dir: dir.to_owned(), base }
    }

    /// (port, pid, metrics port) of each instance.
    fn instances(&self) -> Vec<(u16, u32, u16)> {
        std::fs::read_to_string(self.dir.join("instances"))
            .unwrap()
            .lines()
            .map(|l| {
                let mut fields = l.split(' ').map(|f| f.parse::<u32>().unwrap());
                let mut next = || fields.next().unwrap();
                (next() as u16, next(), next() as u16)
            })
            .collect()
    }

    /// The metrics text of an instance.
    fn metrics(&self, metrics_port: u16) -> String {
        let mut response = agent().get(&format!("http://127.0.0.1:{metrics_port}/metrics")).call().unwrap();
        response.body_mut().read_to_string().unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// What a stream of reports saw.
#[derive(Default)]
struct Load {
    acked: Mutex<Vec<(i64, String)>>,
    statuses: Mutex<HashMap<u16, u64>>,
    acked_after_event: AtomicU64,
}

/// Streams reports from `clients` threads (each rotating through its own tokens) for
/// `before`, runs `event`, and streams for `after`.
fn under_load(
    base: &str,
    tokens: &[String],
    tag: &str,
    before: Duration,
    event: impl FnOnce(),
    after: Duration,
) -> Load {
    let load = Arc::new(Load::default());
    let stop = Arc::new(AtomicBool::new(false));
    let happened = Arc::new(AtomicBool::new(false));
    let clients = 6;
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (base, load, stop, happened) = (base.to_owned(), load.clone(), stop.clone(), happened.clone());
            let tag = tag.to_owned();
            let tokens: Vec<String> = tokens.iter().skip(c).step_by(clients).cloned().collect();
            std::thread::spawn(move || {
                let agent = agent();
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let url = format!("https://{tag}.example/{c}/{n}");
                    let (status, id) = post_acknowledged(&agent, &base, &tokens[n % tokens.len()], &url);
                    *load.statuses.lock().unwrap().entry(status).or_default() += 1;
                    if let Some(id) = id {
                        load.acked.lock().unwrap().push((id, url));
                        if happened.load(Ordering::Relaxed) {
                            load.acked_after_event.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(before);
    event();
    happened.store(true, Ordering::Relaxed);
    std::thread::sleep(after);
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    Arc::into_inner(load).unwrap()
}

#[test]
#[cfg_attr(skip_postgres, ignore = "FERRETWATCH_SKIP_POSTGRES=1")]
#[cfg_attr(skip_redis, ignore = "FERRETWATCH_SKIP_REDIS=1")]
fn three_instances_behind_nginx_share_limits_and_lose_no_acknowledged_report() {
    let database = PgDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(&database.url, dir.path());
    let base = cluster.base.clone();
    let keys = ferretwatch_server::install::InstallKeys::new(SecretString::from(SECRET), 30).unwrap();

    // 1. One install token's 60 a minute, across three instances.
    let token = keys.issue().unwrap().0;
    let agent = agent();
    let mut accepted = 0u64;
    for n in 0..3 * TOKEN_PER_MINUTE {
        match post_acknowledged(&agent, &base, &token, &format!("https://limits.example/{n}")).0 {
            201 => accepted += 1,
            429 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    let low = TOKEN_PER_MINUTE * 95 / 100;
    let high = TOKEN_PER_MINUTE * 105 / 100;
    eprintln!("limits: {accepted} of {} accepted for a limit of {TOKEN_PER_MINUTE} a minute", 3 * TOKEN_PER_MINUTE);
    assert!((low..=high).contains(&accepted), "{accepted} accepted, limit {TOKEN_PER_MINUTE} in total");
    for (port, _, metrics_port) in cluster.instances() {
        let metrics = cluster.metrics(metrics_port);
        let served = metrics
            .lines()
            .filter(|l| l.starts_with("ferretwatch_http_requests_total") && l.contains("/v1/report"))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum::<f64>();
        assert!(served > 0.0, "instance {port} served part of the load");
    }

    // 2. An instance killed with SIGKILL under load.
    let tokens: Vec<String> = (0..120).map(|_| keys.issue().unwrap().0).collect();
    let (_, victim, _) = cluster.instances()[1];
    let load = under_load(
        &base,
        &tokens[..60],
        "kill",
        Duration::from_secs(2),
        || {
            Command::new("kill").args(["-KILL", &victim.to_string()]).status().unwrap();
        },
        Duration::from_secs(3),
    );
    let acked = load.acked.lock().unwrap().clone();
    eprintln!(
        "kill: {} acknowledged, {} after the kill, statuses {:?}",
        acked.len(),
        load.acked_after_event.load(Ordering::Relaxed),
        load.statuses.lock().unwrap()
    );
    assert!(load.acked_after_event.load(Ordering::Relaxed) > 100, "the other instances carried the traffic");
    let statuses = load.statuses.lock().unwrap().clone();
    // Only the requests in flight on the killed instance may fail (502, or a dropped
    // connection): at most one per client.
    let failed: u64 = statuses.iter().filter(|(s, _)| !matches!(s, 201 | 429)).map(|(_, n)| n).sum();
    assert!(failed <= 6, "{failed} requests failed: {statuses:?}");
    assert_all_stored(&database.url, &acked);

    // 3. Redis stopped under load.
    let redis_pid = std::fs::read_to_string(cluster.dir.join("redis.pid")).unwrap().trim().to_owned();
    let load = under_load(
        &base,
        &tokens[60..],
        "redis",
        Duration::from_secs(2),
        || {
            Command::new("kill").args(["-KILL", &redis_pid]).status().unwrap();
        },
        Duration::from_secs(3),
    );
    let acked = load.acked.lock().unwrap().clone();
    let statuses = load.statuses.lock().unwrap().clone();
    eprintln!(
        "redis: {} acknowledged, {} after Redis stopped, statuses {statuses:?}",
        acked.len(),
        load.acked_after_event.load(Ordering::Relaxed)
    );
    assert!(load.acked_after_event.load(Ordering::Relaxed) > 100, "reports still accepted without Redis");
    assert!(statuses.keys().all(|s| matches!(s, 201 | 429)), "nothing but 201 and 429: {statuses:?}");
    assert_all_stored(&database.url, &acked);
    let degraded = cluster
        .instances()
        .iter()
        .filter(|(_, pid, _)| *pid != victim)
        .map(|(_, _, metrics_port)| cluster.metrics(*metrics_port))
        .filter(|m| m.contains("ferretwatch_limiter_shared 0"))
        .count();
    assert_eq!(degraded, 2, "both surviving instances report the limits as per instance");
}

/// The unit file as systemd reads it: `systemd-analyze verify` finds nothing to say, and its
/// offline security review rates the confinement at an exposure of at most 2.0 (of 10).
/// Needs `systemd-analyze` (Debian's systemd package).
#[test]
fn the_systemd_unit_verifies_and_is_confined() {
    support::verify_units(&["ferretwatch@.service"]);
}

/// The daily maintenance: its service and timer verify, and the service is confined as
/// the server's instances are (exposure at most 2.0 of 10).
#[test]
fn the_maintenance_timer_and_its_service_verify_and_are_confined() {
    let dir = support::verify_units(&["ferretwatch-db-maintenance.service", "ferretwatch-db-maintenance.timer"]);
    let timer = std::fs::read_to_string(dir.path().join("ferretwatch-db-maintenance.timer")).unwrap();
    for line in ["OnCalendar=*-*-* 03:30:00 UTC", "RandomizedDelaySec=30min", "Persistent=true"] {
        assert!(timer.lines().any(|l| l == line), "the timer has {line}");
    }
}
