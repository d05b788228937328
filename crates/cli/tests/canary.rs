//! Runbook 9.2 end to end: the staging gate, then canaries deployed to a real origin served
//! by a real `ferretwatch serve`, a fleet of simulated clients running the real updater over
//! HTTP and sending real reports and false-positive reports (with real install tokens) at a
//! rate that depends on the pack each runs, the monitor reading the server's database, and
//! finalisation, all through the runbook's scripts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferretwatch_pack_client::update::{in_canary, run_cycle, Config, Outcome, Persisted, Staged, Updater};
use ferretwatch_pack_publisher::http::{client_agent, fetch_update};
use ferretwatch_types::{PackVersion, Timestamp};
use served::{both, script, serve, Served};
use support::{agent, ok, p};

#[path = "support/served.rs"]
mod served;
mod support;

/// A rule that fires on nothing real.
const HARMLESS: &str =
    "rule canary_harmless { meta: severity = \"low\" strings: $a = \"zz-canary-harmless-marker-zz\" condition: $a }\n";
/// A rule that fires on every HTML page, known-good ones included.
const NOISY: &str = "rule canary_noisy { meta: severity = \"high\" strings: $a = \"<html\" nocase condition: $a }\n";

/// Simulated installs per test (the 10,000-install cohort figure uses the signed salt
/// directly).
const FLEET: usize = 250;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct World {
    dir: tempfile::TempDir,
    served: Served,
}

impl World {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn origin(&self) -> String {
        format!("file://{}", self.path("origin").display())
    }

    /// The publishers' environment for the scripts.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("FERRETWATCH_ORIGIN", self.origin()),
            ("FERRETWATCH_ROOT", p(&self.path("root.json")).to_owned()),
            ("FERRETWATCH_SIGNING_KEY", format!("{},{}", p(&self.path("alice.key")), p(&self.path("bob.key")))),
            ("FERRETWATCH_CORPUS", p(&repo().join("tests/corpus")).to_owned()),
            ("FERRETWATCH_DB", format!("sqlite://{}", p(&self.path("data/ferretwatch.db")))),
        ]
    }

    fn run(&self, name: &str, args: &[&str]) -> Output {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        script(self.dir.path(), name, args, &env)
    }

    fn rules(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        p(&path).to_owned()
    }

    fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.path("origin/canary/state.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

/// Keys, a root with threshold 2, a pack of the built-in rules two hours old deployed to
/// `origin/`, and a server with its database in `data/` serving it.
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["alice", "bob"] {
        ok(&["keys", "generate", "--out", p(&d.join(name))]);
    }
    let root = d.join("root.json");
    let expires = Timestamp::now().plus_secs(365 * 86_400).to_string();
    ok(&[
        "root",
        "create",
        "--key",
        p(&d.join("alice.pub")),
        "--key",
        p(&d.join("bob.pub")),
        "--threshold",
        "2",
        "--expires",
        &expires,
        "--out",
        p(&root),
    ]);
    for who in ["alice", "bob"] {
        ok(&["root", "sign", p(&root), "--key", p(&d.join(format!("{who}.key")))]);
    }
    std::fs::create_dir_all(d.join("feeds")).unwrap();
    let version = PackVersion::of_hour(Timestamp::now().minus_secs(7200)).to_string();
    let dist = d.join("dist");
    ok(&["pack", "build", "--version", &version, "--feeds", p(&d.join("feeds")), "--out", p(&dist)]);
    for who in ["alice", "bob"] {
        ok(&["pack", "sign", p(&dist), "--key", p(&d.join(format!("{who}.key"))), "--root", p(&root)]);
    }
    let origin = format!("file://{}", d.join("origin").display());
    ok(&["pack", "deploy", p(&dist), "--to", &origin, "--root", p(&root)]);
    let served = serve(
        d,
        &[
            ("FERRETWATCH_ORIGIN", &origin),
            ("FERRETWATCH_DATA_DIR", p(&d.join("data"))),
            ("FERRETWATCH_DB", &format!("sqlite://{}", p(&d.join("data/ferretwatch.db")))),
            ("FERRETWATCH_LIMITS_IP_PER_MINUTE", "100000000"),
            ("FERRETWATCH_LIMITS_IP_PER_DAY", "100000000"),
            ("FERRETWATCH_LIMITS_INSTALL_PER_MINUTE", "100000000"),
            ("FERRETWATCH_LIMITS_INSTALL_PER_DAY", "100000000"),
        ],
    );
    World { dir, served }
}

/// One simulated install: the real updater, the files it installed, an install token.
struct Client {
    id: String,
    updater: Updater,
    files: BTreeMap<String, Vec<u8>>,
    token: String,
}

/// Simulated installs running the real updater against the server over HTTP.
struct Fleet {
    clients: Vec<Client>,
}

impl Fleet {
    fn new(w: &World, n: usize) -> Fleet {
        let root = std::fs::read(w.path("root.json")).unwrap();
        let http = agent();
        let clients = (0..n)
            .map(|_| {
                let mut random = [0u8; 16];
                getrandom::getrandom(&mut random).unwrap();
                let id = hex::encode(random);
                let config = Config::new(vec![format!("{}/v1", w.served.base)], id.clone());
                let updater = Updater::new(config, &root, Persisted::default()).unwrap();
                let mut response = http.post(&format!("{}/v1/install", w.served.base)).send_empty().unwrap();
                assert_eq!(response.status(), 201);
                let body: serde_json::Value =
                    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
                let token = body["install_token"].as_str().unwrap().to_owned();
                Client { id, updater, files: BTreeMap::new(), token }
            })
            .collect();
        Fleet { clients }
    }

    /// Every client polls once (in parallel); none may fail.
    fn poll(&mut self) {
        std::thread::scope(|scope| {
            for chunk in self.clients.chunks_mut(16) {
                scope.spawn(move || {
                    let http = client_agent(Duration::from_secs(10), "canary test");
                    for c in chunk {
                        let files = &mut c.files;
                        let outcome = run_cycle(
                            &mut c.updater,
                            Timestamp::now(),
                            |request| fetch_update(&http, request),
                            |staged: &Staged| {
                                let mut next: BTreeMap<String, Vec<u8>> =
                                    staged.kept.iter().map(|n| (n.clone(), files[n].clone())).collect();
                                next.extend(staged.fetched.clone());
                                *files = next;
                                Ok(())
                            },
                            |_| BTreeMap::new(),
                        );
                        assert!(!matches!(outcome, Outcome::Failed { .. }), "{}: {outcome:?}", c.id);
                    }
                });
            }
        });
    }

    fn versions(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for c in &self.clients {
            *out.entry(c.updater.status(Timestamp::now()).pack_version.unwrap()).or_insert(0) += 1;
        }
        out
    }

    /// One period of browsing: each client sends `per_period` reports, of which the
    /// false positives are `control_fp` of them on the control pack and `canary_fp` on
    /// the canary (`canary_version`), through the real report API.
    fn browse(&self, base: &str, canary_version: &str, per_period: usize, control_fp: usize, canary_fp: usize) {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let now = Timestamp::now().to_string();
        std::thread::scope(|scope| {
            // Many senders at once, as a fleet is (the server commits their reports
            // together), within the server's 32 connections per address.
            for chunk in self.clients.chunks(16) {
                let now = now.clone();
                scope.spawn(move || {
                    let http = agent();
                    for c in chunk {
                        let version = c.updater.status(Timestamp::now()).pack_version.unwrap();
                        let fp = if version == canary_version { canary_fp } else { control_fp };
                        for i in 0..per_period {
                            let n = SEQ.fetch_add(1, Ordering::Relaxed);
                            let path = if i < fp { "false-positive" } else { "report" };
                            let body = serde_json::json!({
                                "url": format!("https://site-{n}.example/login"),
                                "reason": "phishing_login",
                                "timestamp": now,
                                "extension_version": "1.4.2",
                                "pack_version": version,
                                "score": 80,
                                "findings": []
                            });
                            let response = http
                                .post(&format!("{base}/v1/{path}"))
                                .header("content-type", "application/json")
                                .header("x-install-token", &c.token)
                                .send(body.to_string().as_bytes())
                                .unwrap();
                            assert_eq!(response.status(), 201, "{path} from {}", c.id);
                        }
                    }
                });
            }
        });
    }
}

fn status(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

#[test]
fn the_staging_gate_refuses_a_rule_that_fires_on_known_good_pages_and_accepts_a_harmless_one() {
    let w = world();
    let harmless = w.rules("harmless.yar", HARMLESS);
    let out = w.run("test-rules-staging.sh", &["--rule-file", &harmless]);
    assert_eq!(status(&out), 0, "{}", both(&out));
    assert!(both(&out).contains("passed"), "{}", both(&out));

    let noisy = w.rules("noisy.yar", NOISY);
    let out = w.run("test-rules-staging.sh", &["--rule-file", &noisy]);
    assert_eq!(status(&out), 1, "{}", both(&out));
    assert!(both(&out).contains("benign_page_raised"), "{}", both(&out));

    let broken = w.rules("broken.yar", "rule broken { strings: $a = \"x\" condition: $b }\n");
    let out = w.run("test-rules-staging.sh", &["--rule-file", &broken]);
    assert_eq!(status(&out), 2, "{}", both(&out));
    assert!(both(&out).contains("canary.yar"), "the compiler's message names the file: {}", both(&out));

    // The canary deploy runs the same gate and deploys nothing when it fails.
    let out = w.run("deploy-rules-canary.sh", &["--rule-file", &noisy, "--canary-percentage", "5"]);
    assert_eq!(status(&out), 1, "{}", both(&out));
    assert!(!w.path("origin/canary/state.json").exists());
    let help = w.run("deploy-rules-canary.sh", &["--help"]);
    assert!(both(&help).contains("--canary-percentage"), "{}", both(&help));
}

#[test]
fn a_canary_twice_as_noisy_is_rolled_back_and_everyone_returns_to_the_control() {
    let w = world();
    let mut fleet = Fleet::new(&w, FLEET);
    fleet.poll();
    let rules = w.rules("new_rules.yar", HARMLESS);
    let out = w.run("deploy-rules-canary.sh", &["--rule-file", &rules, "--canary-percentage", "5"]);
    assert_eq!(status(&out), 0, "{}", both(&out));
    let state = w.state();
    let (canary, control, salt) = (
        state["pack_version"].as_str().unwrap().to_owned(),
        state["control_version"].as_str().unwrap().to_owned(),
        state["salt"].as_str().unwrap().to_owned(),
    );
    // A second canary is refused while this one runs.
    let out = w.run("deploy-rules-canary.sh", &["--rule-file", &rules, "--canary-percentage", "5"]);
    assert_eq!(status(&out), 2, "{}", both(&out));

    // Cohort: ≈5% of 10,000 installs by the signed salt (binomial sd ≈ 22), and exactly
    // those of the fleet, stable across polls.
    let drawn = (0..10_000).filter(|i| in_canary(&format!("{i:032x}"), &salt, 5)).count();
    assert!((400..=600).contains(&drawn), "{drawn} of 10000");
    fleet.poll();
    let versions = fleet.versions();
    for c in &fleet.clients {
        let expected = if in_canary(&c.id, &salt, 5) { &canary } else { &control };
        assert_eq!(&c.updater.status(Timestamp::now()).pack_version.unwrap(), expected);
    }
    let in_cohort = versions.get(&canary).copied().unwrap_or(0);
    assert!((2..=30).contains(&in_cohort), "≈5% of {FLEET}: {versions:?}");
    fleet.poll();
    assert_eq!(fleet.versions(), versions, "stable across polls");

    // Too little data: inconclusive (3) within the shortened duration.
    fleet.browse(&w.served.base, &canary, 1, 0, 0);
    let out = w.run("monitor-canary.sh", &["--duration", "2", "--alert-threshold", "0.02", "--poll-interval", "1"]);
    assert_eq!(status(&out), 3, "{}", both(&out));
    assert!(both(&out).contains("inconclusive"), "{}", both(&out));

    // The canary's installs send twice the control's false positives: 20% against 10%.
    fleet.browse(&w.served.base, &canary, 20, 2, 4);
    let out = w.run(
        "monitor-canary.sh",
        &["--duration", "30", "--alert-threshold", "0.02", "--poll-interval", "1", "--format", "json"],
    );
    assert_eq!(status(&out), 1, "{}", both(&out));
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["decision"], "rollback", "{verdict}");

    let out = w.run("finalize-rule-deployment.sh", &["--decision", "rollback"]);
    assert_eq!(status(&out), 0, "{}", both(&out));
    assert_eq!(w.state()["status"], "rolled_back");
    let final_version = w.state()["final_version"].as_str().unwrap().to_owned();
    fleet.poll();
    assert_eq!(fleet.versions(), BTreeMap::from([(final_version, FLEET)]));
    assert!(fleet.clients.iter().all(|c| !c.files.keys().any(|n| n.starts_with("yara-canary."))));
    let out = w.run("finalize-rule-deployment.sh", &["--decision", "rollback"]);
    assert_eq!(status(&out), 2, "no canary runs: {}", both(&out));
}

#[test]
fn a_canary_as_quiet_as_the_control_is_promoted_and_the_fleet_converges_on_it() {
    let w = world();
    let mut fleet = Fleet::new(&w, FLEET);
    fleet.poll();
    let rules = w.rules("new_rules.yar", HARMLESS);
    // A larger cohort, so that a small fleet gives enough reports within two periods.
    let out = w.run("deploy-rules-canary.sh", &["--rule-file", &rules, "--canary-percentage", "25"]);
    assert_eq!(status(&out), 0, "{}", both(&out));
    let canary = w.state()["pack_version"].as_str().unwrap().to_owned();
    fleet.poll();

    // The monitor watches while the fleet browses, and stops once the data decide.
    let monitor = {
        let env = w.env();
        let dir = w.dir.path().to_owned();
        std::thread::spawn(move || {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            script(
                &dir,
                "monitor-canary.sh",
                &["--duration", "120", "--alert-threshold", "0.02", "--poll-interval", "1"],
                &env,
            )
        })
    };
    for _ in 0..6 {
        fleet.browse(&w.served.base, &canary, 10, 1, 1);
        if monitor.is_finished() {
            break;
        }
    }
    let out = monitor.join().unwrap();
    assert_eq!(status(&out), 0, "{}", both(&out));
    assert!(both(&out).contains("decision: promote"), "{}", both(&out));

    let out = w.run("finalize-rule-deployment.sh", &["--decision", "promote"]);
    assert_eq!(status(&out), 0, "{}", both(&out));
    assert_eq!(w.state()["status"], "promoted");
    let final_version = w.state()["final_version"].as_str().unwrap().to_owned();
    fleet.poll();
    assert_eq!(fleet.versions(), BTreeMap::from([(final_version, FLEET)]));
    assert!(fleet.clients.iter().all(|c| c.files.keys().any(|n| n.starts_with("yara-canary."))));
}
