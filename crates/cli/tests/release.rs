//! The staged rollouts of runbook 9.1 (`scripts/deploy.sh` and its companions,
//! `docs/releases.md`) on one machine: two slots per version run as local processes
//! (`process_manager = "local"`), sharing a fresh PostgreSQL database, behind a real nginx
//! whose upstream the scripts rewrite and reload, with reports streamed through nginx all
//! along. The releases are directories holding a `ferretwatch` that reports its version
//! and runs the binary under test; the faulty one answers 500 to a fifth of the API
//! requests through a small proxy (`tests/fixtures/faulty-release.py`). It shows that:
//! - a clean candidate goes 10 → 50 → 100 and ends stable with the old instances stopped,
//!   and no acknowledged report is lost; the pre- and post-deployment checks pass;
//! - a candidate with a 20% error rate is stopped at the first check and rolled back by
//!   itself (exit 1, all traffic on the stable version, the candidate stopped, the reason
//!   in the deployment log);
//! - gradual-rollback, emergency-rollback and rollback-deployment move the traffic as
//!   asked; rollback-deployment without --confirm and nonsense percentages are refused
//!   (exit 2);
//! - the pre- and post-deployment checks fail (exit 1) on a broken system, and the
//!   post-deployment check on too little traffic; deploy.sh refuses a step over an
//!   unhealthy stable version, routing unchanged;
//! - a step without traffic fails ("too little traffic to judge") and is rolled back; when
//!   nginx refuses that rollback's reload, the candidate keeps running and the command
//!   says "ROLLBACK FAILED"; an emergency rollback pre-empts a deploy.sh in its
//!   observation window, and works during a database outage (with a warning);
//! - the access-log statistics count every attempt of a retried request against its own
//!   slot, and an unreadable log is an error.
//!
//! Needs PostgreSQL (fails loudly without it; FERRETWATCH_SKIP_POSTGRES=1 reports the
//! tests as ignored), nginx, psql and python3 (installed by scripts/test.sh).

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use support::{agent, post_acknowledged, PgDatabase};

const SECRET: &str = "release-test-install-secret-0123456789abcdef";

/// One site at a time: each runs four instances, nginx and a stream of reports, and the
/// rollout's latency bound should judge the releases, not a machine shared by four sites.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// One environment (`ENV.toml` in its own environments folder), its releases, nginx and
/// the instances the scripts start.
struct Site {
    dir: tempfile::TempDir,
    database: PgDatabase,
    blue: Vec<u16>,
    green: Vec<u16>,
    nginx: Child,
    base: String,
    _turn: MutexGuard<'static, ()>,
}

impl Site {
    /// Releases v2.0.8 and v2.0.9 (clean) and v2.1.0 (answering 500 to 20% of the API
    /// requests), the environment `test` with `candidate`, and nginx (its upstream on the
    /// blue slots, where nothing runs yet).
    fn new(candidate: &str) -> Site {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let database = PgDatabase::create();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let bin = env!("CARGO_BIN_EXE_ferretwatch");
        for version in ["v2.0.8", "v2.0.9"] {
            let release = root.join("releases").join(version);
            std::fs::create_dir_all(&release).unwrap();
            write_executable(
                &release.join("ferretwatch"),
                &format!(
                    "#!/bin/sh\n[ \"$*\" = --version ] && {{ echo 'ferretwatch {}'; exit 0; }}\nexec '{bin}' \"$@\"\n",
                    &version[1..]
                ),
            );
        }
        let faulty = std::fs::read_to_string(repo().join("crates/cli/tests/fixtures/faulty-release.py")).unwrap();
        let release = root.join("releases/v2.1.0");
        std::fs::create_dir_all(&release).unwrap();
        write_executable(
            &release.join("ferretwatch"),
            &faulty.replace("@REAL@", bin).replace("@VERSION@", "2.1.0").replace("@FAULT_RATE@", "0.2"),
        );

        // The settings every instance shares: deploy/ferretwatch.toml with this test's
        // database and folders, limits kept in each instance.
        let settings = std::fs::read_to_string(repo().join("deploy/ferretwatch.toml"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("redis = "))
            .map(|l| match l.split(" = ").next().unwrap() {
                "data_dir" => format!("data_dir = \"{}\"", root.join("data").display()),
                "db" => format!("db = \"{}\"", database.url),
                "origin" => format!("origin = \"{}\"", root.join("origin").display()),
                "dev_bootstrap" => "dev_bootstrap = true".into(),
                _ => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(root.join("ferretwatch.toml"), settings).unwrap();
        std::fs::write(
            root.join("env"),
            format!(
                "FERRETWATCH_INSTALL_SECRET={SECRET}\nFERRETWATCH_LOG=warn\nFERRETWATCH_LIMITS_IP_PER_MINUTE=100000000\n\
                 FERRETWATCH_LIMITS_IP_PER_DAY=100000000\nFERRETWATCH_LIMITS_INSTALL_PER_MINUTE=100000\n\
                 FERRETWATCH_LIMITS_INSTALL_PER_DAY=100000\n"
            ),
        )
        .unwrap();

        // nginx with deploy/nginx/ferretwatch.conf, on this test's ports and folders.
        let blue = vec![free_port(), free_port()];
        let green = vec![free_port(), free_port()];
        let nginx_port = free_port();
        let nginx = root.join("nginx");
        std::fs::create_dir_all(nginx.join("tmp")).unwrap();
        let mut placed = false;
        let conf = std::fs::read_to_string(repo().join("deploy/nginx/ferretwatch.conf"))
            .unwrap()
            .lines()
            .filter_map(|l| {
                if l.trim_start().starts_with("server 127.0.0.1:") {
                    if std::mem::replace(&mut placed, true) {
                        return None;
                    }
                    return Some(
                        blue.iter()
                            .map(|p| format!("    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;"))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    );
                }
                Some(l.replace("listen 80;", &format!("listen 127.0.0.1:{nginx_port};")).replace(
                    "/var/log/nginx/ferretwatch-upstream.log",
                    &nginx.join("upstream.log").display().to_string(),
                ))
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(nginx.join("ferretwatch.conf"), conf).unwrap();
        let n = nginx.display();
        std::fs::write(
            nginx.join("nginx.conf"),
            format!(
                "worker_processes 2;\npid {n}/nginx.pid;\nerror_log {n}/error.log warn;\ndaemon off;\n\
                 events {{ worker_connections 1024; }}\nhttp {{\n    access_log off;\n\
                 client_body_temp_path {n}/tmp/body;\n    proxy_temp_path {n}/tmp/proxy;\n\
                 fastcgi_temp_path {n}/tmp/fastcgi;\n    uwsgi_temp_path {n}/tmp/uwsgi;\n\
                 scgi_temp_path {n}/tmp/scgi;\n    include {n}/ferretwatch.conf;\n}}\n"
            ),
        )
        .unwrap();
        let nginx_args = format!("-p {n} -c {n}/nginx.conf");
        let ports = |ports: &[u16]| ports.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ");
        let metrics = |ports: &[u16]| ports.iter().map(|_| free_port().to_string()).collect::<Vec<_>>().join(", ");
        let environment = format!(
            "db = \"{db}\"\nreleases_dir = \"{root}/releases\"\ncandidate = \"{candidate}\"\n\
             state_dir = \"{root}/state\"\nsettings = \"{root}/ferretwatch.toml\"\nenv_file = \"{root}/env\"\n\
             process_manager = \"local\"\nblue_ports = [{blue}]\nblue_metrics_ports = [{blue_metrics}]\n\
             green_ports = [{green}]\ngreen_metrics_ports = [{green_metrics}]\n\
             nginx_conf = \"{n}/ferretwatch.conf\"\nnginx_test = \"nginx -t -q {nginx_args}\"\n\
             nginx_reload = \"nginx -s reload {nginx_args}\"\naccess_log = \"{n}/upstream.log\"\n\
             public_url = \"http://127.0.0.1:{nginx_port}\"\nroot = \"{root}/data/dev-keys/root.json\"\n\
             error_rate_threshold = 0.01\nlatency_p95_ms = 2000\nobserve_seconds = 3\nready_timeout_seconds = 90\n\
             drain_seconds = 1\npost_check_window_seconds = 60\nmin_free_disk_mb = 1\n\
             min_requests = 20\n",
            db = database.url,
            root = root.display(),
            blue = ports(&blue),
            green = ports(&green),
            blue_metrics = metrics(&blue),
            green_metrics = metrics(&green),
        );
        std::fs::create_dir_all(root.join("environments")).unwrap();
        std::fs::write(root.join("environments/test.toml"), environment).unwrap();

        let check =
            Command::new("nginx").args(["-t", "-q", "-p", &n.to_string(), "-c"]).arg(nginx.join("nginx.conf")).output();
        let check = check.expect("nginx is installed (scripts/test.sh installs it)");
        assert!(check.status.success(), "nginx -t: {}", text(&check));
        let nginx_child = Command::new("nginx")
            .args(["-p", &n.to_string(), "-c"])
            .arg(nginx.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let site = Site {
            dir,
            database,
            blue,
            green,
            nginx: nginx_child,
            base: format!("http://127.0.0.1:{nginx_port}"),
            _turn: turn,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", nginx_port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "nginx did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        site
    }

    /// Runs `scripts/NAME` with `args` against this environment.
    fn run(&self, name: &str, args: &[&str]) -> Output {
        let started = Instant::now();
        let out = Command::new("bash")
            .arg(repo().join("scripts").join(name))
            .args(args)
            .env("FERRETWATCH_ENVIRONMENTS", self.dir.path().join("environments"))
            .env("FERRETWATCH_ENVIRONMENT", "test")
            .output()
            .unwrap();
        eprintln!("--- {name} {args:?}: {} in {:.1?}\n{}", out.status, started.elapsed(), text(&out));
        out
    }

    /// Runs it and requires exit status `code`; what it said.
    fn expect(&self, code: i32, name: &str, args: &[&str]) -> String {
        let out = self.run(name, args);
        assert_eq!(out.status.code(), Some(code), "{name} {args:?}:\n{}", text(&out));
        text(&out)
    }

    /// Sets `key = value` in the environment file.
    fn set_env(&self, key: &str, value: &str) {
        let path = self.dir.path().join("environments/test.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text: Vec<String> = text
            .lines()
            .map(|l| if l.starts_with(&format!("{key} = ")) { format!("{key} = {value}") } else { l.to_owned() })
            .collect();
        std::fs::write(&path, text.join("\n") + "\n").unwrap();
    }

    fn deploy(&self, code: i32, percent: &str) -> String {
        self.expect(code, "deploy.sh", &["--environment", "test", "--rollout-percentage", percent])
    }

    fn state(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.path().join("state/state.json")).unwrap()).unwrap()
    }

    fn log(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("state/deployments.log"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The ports in nginx's upstream block, with their weights.
    fn upstream(&self) -> HashMap<u16, u32> {
        std::fs::read_to_string(self.dir.path().join("nginx/ferretwatch.conf"))
            .unwrap()
            .lines()
            .filter_map(|l| l.trim().strip_prefix("server 127.0.0.1:"))
            .map(|rest| {
                let port = rest.split(' ').next().unwrap().parse().unwrap();
                let weight = rest.split("weight=").nth(1).map_or(1, |w| w.split(' ').next().unwrap().parse().unwrap());
                (port, weight)
            })
            .collect()
    }

    /// Whether an instance answers /ready on `port`.
    fn ready(&self, port: u16) -> bool {
        agent().get(&format!("http://127.0.0.1:{port}/ready")).call().is_ok_and(|r| r.status() == 200)
    }

    /// Whether anything accepts connections on `port`.
    fn listening(port: u16) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    }

    /// The pid the scripts recorded for the slot `port`.
    fn pid(&self, port: u16) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join(format!("state/run/{port}.pid"))).ok().map(|p| p.trim().to_owned())
    }

    /// Every acknowledged (id, url) is a committed row.
    fn assert_all_stored(&self, acked: &[(i64, String)]) {
        support::assert_all_stored(&self.database.url, acked);
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        for port in self.blue.iter().chain(&self.green) {
            if let Some(pid) = self.pid(*port) {
                let _ = Command::new("kill").args(["-TERM", &pid]).status();
            }
        }
        let _ = Command::new("kill").args(["-TERM", &self.nginx.id().to_string()]).status();
        let _ = self.nginx.wait();
        std::thread::sleep(Duration::from_millis(500));
        for port in self.blue.iter().chain(&self.green) {
            if let Some(pid) = self.pid(*port) {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        }
    }
}

fn write_executable(path: &Path, content: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Reports streamed through nginx by four clients until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(i64, String)>>>,
    statuses: Arc<Mutex<HashMap<u16, u64>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(base: &str, tag: &str) -> Load {
        let keys = ferretwatch_server::install::InstallKeys::new(SecretString::from(SECRET), 30).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(HashMap::new()));
        let threads = (0..4)
            .map(|c| {
                let (base, stop, acked, statuses) = (base.to_owned(), stop.clone(), acked.clone(), statuses.clone());
                let tokens: Vec<String> = (0..20).map(|_| keys.issue().unwrap().0).collect();
                let tag = tag.to_owned();
                std::thread::spawn(move || {
                    let agent = agent();
                    let mut n = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let url = format!("https://{tag}.example/{c}/{n}");
                        let (status, id) = post_acknowledged(&agent, &base, &tokens[n % tokens.len()], &url);
                        *statuses.lock().unwrap().entry(status).or_default() += 1;
                        if let Some(id) = id {
                            acked.lock().unwrap().push((id, url));
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                })
            })
            .collect();
        Load { stop, acked, statuses, threads }
    }

    /// Stops the clients; what they got acknowledged and the statuses they saw.
    fn finish(self) -> (Vec<(i64, String)>, HashMap<u16, u64>) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().unwrap();
        }
        let acked = self.acked.lock().unwrap().clone();
        let statuses = self.statuses.lock().unwrap().clone();
        eprintln!("load: {} acknowledged, statuses {statuses:?}", acked.len());
        (acked, statuses)
    }
}

/// rollback-deployment.sh as the way to start the first stable version.
fn bootstrap(site: &Site) {
    site.expect(0, "rollback-deployment.sh", &["--version", "v2.0.8", "--confirm"]);
    assert_eq!(site.state()["stable"], "v2.0.8");
    assert!(site.blue.iter().all(|p| site.ready(*p)), "v2.0.8 runs on the blue slots");
}

#[test]
#[cfg_attr(skip_postgres, ignore = "FERRETWATCH_SKIP_POSTGRES=1")]
fn a_clean_candidate_goes_to_100_percent_and_becomes_stable_losing_no_report() {
    let site = Site::new("v2.0.9");
    bootstrap(&site);
    let said = site.expect(0, "pre-deployment-check.sh", &["--environment", "test"]);
    for check in ["ok   release:", "ok   config:", "ok   database:", "ok   nginx:", "ok   stable:", "ok   disk:"] {
        assert!(said.contains(check), "no '{check}' in:\n{said}");
    }

    let load = Load::start(&site.base, "clean");
    std::thread::sleep(Duration::from_secs(1));
    site.deploy(0, "10");
    assert_eq!(site.state()["percentage"], "10");
    let upstream = site.upstream();
    assert!(
        site.blue.iter().all(|p| upstream[p] == 90) && site.green.iter().all(|p| upstream[p] == 10),
        "{upstream:?}"
    );
    // Percentages only go up, within 1..100.
    for nonsense in ["5", "0", "101", "ten"] {
        site.deploy(2, nonsense);
    }
    site.deploy(0, "50");
    assert_eq!(site.state()["percentage"], "50");
    let blue_pids: Vec<_> = site.blue.iter().map(|p| site.pid(*p).unwrap()).collect();
    site.deploy(0, "100");
    std::thread::sleep(Duration::from_secs(1));
    let (acked, statuses) = load.finish();

    let state = site.state();
    assert_eq!((state["stable"].as_str(), state["candidate"].as_str()), (Some("v2.0.9"), Some("")), "{state}");
    assert_eq!(state["previous"], "v2.0.8");
    assert!(site.green.iter().all(|p| site.ready(*p)), "v2.0.9 answers on the green slots");
    assert!(site.blue.iter().all(|p| !Site::listening(*p)), "the blue slots are stopped");
    for pid in blue_pids {
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "v2.0.8's process {pid} is gone");
    }
    assert_eq!(
        site.upstream().keys().copied().collect::<std::collections::BTreeSet<_>>(),
        site.green.iter().copied().collect()
    );
    assert!(acked.len() > 200, "the load went on: {statuses:?}");
    let failed: u64 = statuses.iter().filter(|(s, _)| **s != 201).map(|(_, n)| n).sum();
    assert!(failed <= 4, "{failed} reports not accepted during the rollout: {statuses:?}");
    site.assert_all_stored(&acked);
    let actions: Vec<_> = site.log().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
    assert!(actions.ends_with(&["deploy".into(), "check".into(), "promote".into()]), "{actions:?}");

    let said = site.expect(0, "post-deployment-check.sh", &["--environment", "test"]);
    for check in ["ok   instances:", "ok   version:", "ok   errors:", "ok   smoke:"] {
        assert!(said.contains(check), "no '{check}' in:\n{said}");
    }
    // The candidate is the stable version now: nothing to deploy.
    site.deploy(2, "10");
}

#[test]
#[cfg_attr(skip_postgres, ignore = "FERRETWATCH_SKIP_POSTGRES=1")]
fn a_candidate_with_a_20_percent_error_rate_is_stopped_and_rolled_back_by_itself() {
    let site = Site::new("v2.1.0");
    bootstrap(&site);
    let load = Load::start(&site.base, "faulty");
    std::thread::sleep(Duration::from_secs(1));
    let said = site.deploy(1, "10");
    std::thread::sleep(Duration::from_secs(1));
    let (acked, statuses) = load.finish();

    assert!(said.contains("rolled back to v2.0.8") && said.contains("error rate"), "{said}");
    let state = site.state();
    assert_eq!((state["stable"].as_str(), state["candidate"].as_str()), (Some("v2.0.8"), Some("")), "{state}");
    assert_eq!(
        site.upstream().keys().copied().collect::<std::collections::BTreeSet<_>>(),
        site.blue.iter().copied().collect()
    );
    assert!(site.green.iter().all(|p| !Site::listening(*p)), "the candidate's slots are stopped");
    assert!(site.blue.iter().all(|p| site.ready(*p)), "v2.0.8 still answers");
    let log = site.log();
    let rollback = log.iter().find(|e| e["action"] == "automatic-rollback").expect("the rollback is logged");
    assert_eq!(rollback["version"], "v2.1.0");
    assert!(rollback["reason"].as_str().unwrap().contains("error rate"), "{rollback}");
    // The injected faults did reach clients (the load balancer saw them), and every
    // acknowledged report is stored.
    assert!(statuses.get(&500).copied().unwrap_or(0) > 0, "{statuses:?}");
    site.assert_all_stored(&acked);
    // After the rollback the stable version takes everything again, without errors.
    let load = Load::start(&site.base, "after");
    std::thread::sleep(Duration::from_secs(2));
    let (_, statuses) = load.finish();
    assert!(statuses.keys().all(|s| *s == 201), "{statuses:?}");
}

#[test]
#[cfg_attr(skip_postgres, ignore = "FERRETWATCH_SKIP_POSTGRES=1")]
fn gradual_emergency_and_full_rollbacks_move_the_traffic_as_asked() {
    let site = Site::new("v2.0.9");
    bootstrap(&site);
    let load = Load::start(&site.base, "rollbacks");
    site.deploy(0, "100");
    assert_eq!(site.state()["stable"], "v2.0.9");

    // Back from the promoted v2.0.9 to v2.0.8, in steps of 10 over 5 s.
    let started = Instant::now();
    site.expect(0, "gradual-rollback.sh", &["--from-percentage", "100", "--to-percentage", "0", "--duration", "5"]);
    assert!(started.elapsed() >= Duration::from_secs(5), "the steps took the duration");
    let state = site.state();
    assert_eq!((state["stable"].as_str(), state["candidate"].as_str()), (Some("v2.0.8"), Some("")), "{state}");
    let steps: Vec<_> = site
        .log()
        .iter()
        .filter(|e| e["action"] == "gradual-rollback" && e["result"] == "routed")
        .map(|e| e["percentage"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(steps, ["100", "90", "80", "70", "60", "50", "40", "30", "20", "10", "0"]);
    assert!(site.green.iter().all(|p| !Site::listening(*p)), "v2.0.9 is stopped");

    // Half way out again; a gradual rollback may not raise the share above 50%.
    site.deploy(0, "50");
    let said =
        site.expect(2, "gradual-rollback.sh", &["--from-percentage", "100", "--to-percentage", "0", "--duration", "0"]);
    assert!(said.contains("current share of 50%"), "{said}");
    assert_eq!(site.upstream()[&site.green[0]], 50, "nothing changed");
    // Then an emergency rollback.
    site.expect(2, "emergency-rollback.sh", &["--to-version", "v2.0.8"]);
    site.expect(
        0,
        "emergency-rollback.sh",
        &["--to-version", "v2.0.8", "--reason", "Critical bug in detection engine"],
    );
    let state = site.state();
    assert_eq!((state["stable"].as_str(), state["candidate"].as_str()), (Some("v2.0.8"), Some("")), "{state}");
    assert!(site.green.iter().all(|p| !Site::listening(*p)), "the candidate is stopped");
    let emergency = site.log().into_iter().rev().find(|e| e["action"] == "emergency-rollback").unwrap();
    assert_eq!(emergency["reason"], "Critical bug in detection engine");
    assert_eq!(state["history"].as_array().unwrap().last().unwrap()["reason"], "Critical bug in detection engine");

    // A full rollback (here to the newer release) needs --confirm.
    let said = site.expect(2, "rollback-deployment.sh", &["--version", "v2.0.9"]);
    assert!(said.contains("--confirm"), "{said}");
    assert_eq!(site.state()["stable"], "v2.0.8", "nothing changed without --confirm");
    site.expect(1, "rollback-deployment.sh", &["--version", "v9.9.9", "--confirm"]);
    site.expect(0, "rollback-deployment.sh", &["--version", "v2.0.9", "--confirm"]);
    assert_eq!(site.state()["stable"], "v2.0.9");
    let (acked, statuses) = load.finish();
    let failed: u64 = statuses.iter().filter(|(s, _)| **s != 201).map(|(_, n)| n).sum();
    assert!(failed <= 4, "{failed} reports not accepted: {statuses:?}");
    site.assert_all_stored(&acked);
}

#[test]
#[cfg_attr(skip_postgres, ignore = "FERRETWATCH_SKIP_POSTGRES=1")]
fn the_pre_and_post_deployment_checks_fail_on_a_broken_system() {
    let site = Site::new("v2.0.9");
    bootstrap(&site);
    site.expect(0, "pre-deployment-check.sh", &["--environment", "test"]);
    // No request reached the stable slots yet: too little traffic to judge.
    let said = site.expect(1, "post-deployment-check.sh", &["--environment", "test"]);
    assert!(said.contains("FAIL errors:") && said.contains("too little traffic to judge"), "{said}");
    let load = Load::start(&site.base, "checks");
    std::thread::sleep(Duration::from_secs(2));
    site.expect(0, "post-deployment-check.sh", &["--environment", "test"]);
    load.finish();
    site.expect(2, "pre-deployment-check.sh", &["--environment", "nowhere"]);

    // The candidate's binary reports another version, and one stable instance is gone.
    write_executable(
        &site.dir.path().join("releases/v2.0.9/ferretwatch"),
        &format!(
            "#!/bin/sh\n[ \"$*\" = --version ] && {{ echo 'ferretwatch 2.0.7'; exit 0; }}\nexec '{}' \"$@\"\n",
            env!("CARGO_BIN_EXE_ferretwatch")
        ),
    );
    let victim = site.pid(site.blue[1]).unwrap();
    Command::new("kill").args(["-KILL", &victim]).status().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let said = site.expect(1, "pre-deployment-check.sh", &["--environment", "test"]);
    assert!(said.contains("FAIL release:") && said.contains("reports version 2.0.7"), "{said}");
    assert!(said.contains("FAIL stable:") && said.contains(&site.blue[1].to_string()), "{said}");
    assert!(said.contains("ok   database:"), "{said}");
    let said = site.expect(1, "post-deployment-check.sh", &["--environment", "test"]);
    assert!(said.contains("FAIL instances:"), "{said}");
    // deploy.sh refuses a step over an unhealthy stable version, routing unchanged (it
    // does not move everything onto it).
    let before = site.upstream();
    let said = site.deploy(1, "10");
    assert!(said.contains("step refused") && said.contains("unhealthy"), "{said}");
    assert_eq!(site.upstream(), before);
    assert!(site.green.iter().all(|p| !Site::listening(*p)), "no candidate started");

    // A settings file the release refuses, and an unreachable database.
    let settings = site.dir.path().join("ferretwatch.toml");
    std::fs::write(&settings, std::fs::read_to_string(&settings).unwrap() + "\nno_such_key = 1\n").unwrap();
    let environment = site.dir.path().join("environments/test.toml");
    let text = std::fs::read_to_string(&environment).unwrap();
    let text = text.replace(&site.database.url, "postgres://postgres@127.0.0.1:1/none");
    std::fs::write(&environment, text).unwrap();
    let said = site.expect(1, "pre-deployment-check.sh", &["--environment", "test"]);
    assert!(said.contains("FAIL config:") && said.contains("no_such_key"), "{said}");
    assert!(said.contains("FAIL database: not reachable"), "{said}");
}

#[test]
#[cfg_attr(skip_postgres, ignore = "FERRETWATCH_SKIP_POSTGRES=1")]
fn a_step_without_traffic_fails_and_an_emergency_rollback_preempts_a_deploy() {
    let site = Site::new("v2.0.9");
    bootstrap(&site);
    // No load: the candidate gets no request in its (short) observation window.
    site.set_env("observe_seconds", "1");
    let said = site.deploy(1, "10");
    assert!(said.contains("too little traffic to judge") && said.contains("rolled back to v2.0.8"), "{said}");
    let state = site.state();
    assert_eq!((state["stable"].as_str(), state["candidate"].as_str()), (Some("v2.0.8"), Some("")), "{state}");
    assert!(site.green.iter().all(|p| !Site::listening(*p)), "the candidate's slots are stopped");
    let rollback = site.log().into_iter().find(|e| e["action"] == "automatic-rollback").unwrap();
    assert!(rollback["reason"].as_str().unwrap().contains("too little traffic"), "{rollback}");

    // nginx reloads for the step but refuses the reload of the rollback: the candidate is
    // left running (it may still take traffic), and the failure is loud and recorded.
    let environment = std::fs::read_to_string(site.dir.path().join("environments/test.toml")).unwrap();
    let reload = environment.lines().find_map(|l| l.strip_prefix("nginx_reload = ")).unwrap().trim_matches('"');
    let once = site.dir.path().join("reload-once.sh");
    let marker = site.dir.path().join("reloaded");
    write_executable(
        &once,
        &format!(
            "#!/bin/sh\nif [ -e '{m}' ]; then echo 'reload refused' >&2; exit 1; fi\ntouch '{m}'\nexec {reload}\n",
            m = marker.display()
        ),
    );
    site.set_env("nginx_reload", &format!("\"{}\"", once.display()));
    let said = site.deploy(1, "10");
    assert!(said.contains("ROLLBACK FAILED") && said.contains("nginx reload failed"), "{said}");
    assert!(site.green.iter().all(|p| site.ready(*p)), "the candidate's slots still run");
    assert_eq!(site.upstream()[&site.green[0]], 10, "the file is the one nginx runs");
    let failed = site.log().into_iter().rev().find(|e| e["action"] == "automatic-rollback").unwrap();
    assert_eq!(failed["result"], "failed", "{failed}");
    // With nginx fixed, the emergency rollback is the way out.
    site.set_env("nginx_reload", &format!("\"{reload}\""));
    site.expect(0, "emergency-rollback.sh", &["--to-version", "v2.0.8", "--reason", "rollback failed"]);
    assert!(site.green.iter().all(|p| !Site::listening(*p)), "the candidate's slots are stopped");

    // A deploy.sh observing for a minute holds the lock; an emergency rollback ends it.
    site.set_env("observe_seconds", "60");
    let load = Load::start(&site.base, "preempt");
    let mut deploy = Command::new("bash")
        .arg(repo().join("scripts/deploy.sh"))
        .args(["--environment", "test", "--rollout-percentage", "10"])
        .env("FERRETWATCH_ENVIRONMENTS", site.dir.path().join("environments"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while site.state()["candidate"] != "v2.0.9" {
        assert!(started.elapsed() < Duration::from_secs(60), "deploy.sh did not route the candidate");
        std::thread::sleep(Duration::from_millis(200));
    }
    let said = site.expect(0, "emergency-rollback.sh", &["--to-version", "v2.0.8", "--reason", "bad candidate"]);
    assert!(said.contains("pre-empting deploy.sh"), "{said}");
    let status = deploy.wait().unwrap();
    assert!(!status.success(), "deploy.sh was ended: {status}");
    assert!(started.elapsed() < Duration::from_secs(50), "the emergency rollback did not wait for the observation");
    let (acked, _) = load.finish();
    let state = site.state();
    assert_eq!((state["stable"].as_str(), state["candidate"].as_str()), (Some("v2.0.8"), Some("")), "{state}");
    assert!(site.green.iter().all(|p| !Site::listening(*p)), "the candidate's slots are stopped");
    assert!(site.blue.iter().all(|p| site.ready(*p)), "v2.0.8 answers");
    let log = site.log();
    assert!(log.iter().any(|e| e["action"] == "preempt" && e["holder"] == "deploy.sh"), "{log:?}");
    assert!(log.iter().any(|e| e["action"] == "deploy" && e["result"] == "pre-empted"), "{log:?}");
    site.assert_all_stored(&acked);

    // A database outage: the instances stay live (/health) but not ready (/ready). The
    // emergency rollback still moves the traffic, and warns.
    let (server, name) = site.database.url.rsplit_once('/').unwrap();
    let admin = format!("{server}/postgres");
    let psql = |sql: &str| {
        let out = Command::new("psql").args([&admin, "-XAtqc", sql]).output().expect("psql is installed");
        assert!(out.status.success(), "{sql}: {}", text(&out));
    };
    psql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
    psql(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"));
    let started = Instant::now();
    while site.ready(site.blue[0]) {
        assert!(started.elapsed() < Duration::from_secs(30), "the outage did not reach the instances");
        std::thread::sleep(Duration::from_millis(200));
    }
    let said = site.expect(0, "emergency-rollback.sh", &["--to-version", "v2.0.8", "--reason", "database outage"]);
    assert!(said.contains("WARNING") && said.contains("does not answer /ready"), "{said}");
    psql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
}

/// `release.py stats` on crafted access-log lines: each attempt of a retried request
/// counts against the slot it went to, across upstream groups (" : "); a missing log
/// or one in another format is an error, not "no errors".
#[test]
fn the_access_log_statistics_count_every_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("upstream.log");
    std::fs::write(
        &log,
        "99.0 200 \"127.0.0.1:8091\" \"500\" \"0.300\"\n\
         100.0 200 \"127.0.0.1:8091, 127.0.0.1:8081\" \"502, 200\" \"0.010, 0.020\"\n\
         101.0 200 \"127.0.0.1:8081\" \"200\" \"0.005\"\n\
         102.0 200 \"127.0.0.1:8091 : 127.0.0.1:8091\" \"504 : 200\" \"0.100 : 0.200\"\n",
    )
    .unwrap();
    let stats = |log: &Path, ports: &[&str]| {
        Command::new("python3")
            .arg(repo().join("scripts/lib/release.py"))
            .args(["stats", &log.display().to_string(), "100"])
            .args(ports)
            .output()
            .expect("python3 runs")
    };
    let out = stats(&log, &["8091"]);
    assert!(out.status.success(), "{}", text(&out));
    // 8091: the 502 retried on 8081, the 504 and the 200 after the redirect; not the
    // line before the window.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3 2 0.6667 200.0");
    let out = stats(&log, &["8081"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2 0 0.0000 20.0");

    let out = stats(&dir.path().join("missing.log"), &["8091"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("cannot read the access log"), "{}", text(&out));
    std::fs::write(&log, "127.0.0.1 - - [05/Dec/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 12\n").unwrap();
    let out = stats(&log, &["8091"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("ferretwatch_upstream format"), "{}", text(&out));
}

/// The slot unit as systemd reads it: it verifies, and it is confined as the server's
/// instances are (exposure at most 2.0 of 10).
#[test]
fn the_slot_unit_verifies_and_is_confined() {
    support::verify_units(&["ferretwatch-slot@.service"]);
}
