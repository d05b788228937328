//! Runbook 7.3 `collect-logs.sh --incident-id ID --time-range FROM TO` against a real
//! `ferretwatch serve` logging to a file and a real Prometheus scraping it (Debian's
//! `prometheus`; `scripts/test.sh` installs it when missing).
//!
//! The archive holds the log lines of the range unchanged, the incident and its timeline,
//! the console's audit entries as a signed export that `audit verify-export` accepts, and
//! Prometheus's answers; `sha256sum -c` verifies both the archive and the files in it, and
//! nothing in it is readable by others. It is never overwritten. An unknown incident and
//! an empty range exit 1, bad usage 2, and a range without log lines only warns.

#[path = "support/served.rs"]
mod served;
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferretwatch_types::Timestamp;
use served::{both, script, serve};
use support::agent;

/// A Prometheus scraping `target` every second, killed when dropped.
struct Prometheus {
    child: Child,
    url: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn prometheus(dir: &Path, target: &str) -> Prometheus {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: ferretwatch\n    \
             static_configs: [{{targets: [\"{target}\"]}}]\n"
        ),
    )
    .unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Debian's prometheus (apt-get install prometheus; scripts/test.sh installs it)");
    let prometheus = Prometheus { child, url: format!("http://127.0.0.1:{port}") };
    // Until a scrape has landed: polled with a deadline.
    let deadline = Instant::now() + Duration::from_secs(60);
    let query = format!("{}/api/v1/query?query=ferretwatch_store_up", prometheus.url);
    loop {
        let answer = agent().get(&query).call().ok().and_then(|mut r| r.body_mut().read_to_string().ok());
        if answer.is_some_and(|a| a.contains("\"1\"]")) {
            return prometheus;
        }
        assert!(Instant::now() < deadline, "Prometheus did not scrape ferretwatch_store_up within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ferretwatch(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
        .args(args)
        .current_dir(dir)
        .env_remove("FERRETWATCH_CONFIG")
        .env_remove("FERRETWATCH_DB")
        .env_remove("FERRETWATCH_DATA_DIR")
        .env("USER", "tester")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", both(&out));
    out
}

/// An instant as the runbook writes it: no zone (UTC).
fn zoneless(at: Timestamp) -> String {
    at.to_string().trim_end_matches('Z').to_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", both(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_incidents_evidence_is_collected_verifiable_and_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let from = Timestamp::now().minus_secs(60).whole_second();
    let served = serve(dir, &[]);
    assert_eq!(agent().get(&format!("{}/v1/manifest.json", served.base)).call().unwrap().status(), 200);
    let opened = ferretwatch(dir, &["incident", "open", "--title", "Reports failing", "--priority", "P2"]);
    assert!(String::from_utf8_lossy(&opened.stdout).contains("-001 P2 open"), "{}", both(&opened));
    ferretwatch(dir, &["incident", "update", "1", "--note", "looking at the logs"]);
    ferretwatch(dir, &["admin", "invite", "--role", "viewer"]);
    let prom = prometheus(dir, &served.metrics);
    let to = Timestamp::now().plus_secs(60).whole_second();
    let (from_arg, to_arg) = (zoneless(from), zoneless(to));

    let log_files = served.log.display().to_string();
    let env = [
        ("FERRETWATCH_LOG_FILES", log_files.as_str()),
        ("FERRETWATCH_EVIDENCE_DIR", "evidence"),
        ("FERRETWATCH_PROMETHEUS_URL", prom.url.as_str()),
        ("USER", "tester"),
    ];
    // The incident by the runbook's name for it.
    let reference = format!("INC-{}-001", from.to_civil().0);
    let args = ["--incident-id", reference.as_str(), "--time-range", &from_arg, &to_arg];
    let out = script(dir, "collect-logs.sh", &args, &env);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let stem = format!(
        "{reference}-logs-{}-{}",
        from.to_string().replace(['-', ':'], ""),
        to.to_string().replace(['-', ':'], "")
    );
    let evidence = dir.join("evidence");
    let archive = evidence.join(format!("{stem}.tar.gz"));
    assert!(both(&out).contains(&format!("evidence: evidence/{stem}.tar.gz")), "{}", both(&out));
    assert_eq!((mode(&evidence), mode(&archive)), (0o700, 0o600));
    assert_eq!(mode(&evidence.join(format!("{stem}.tar.gz.sha256"))), 0o600);
    assert_eq!(std::fs::read_dir(&evidence).unwrap().count(), 2, "nothing staged is left behind");
    run(Command::new("sha256sum").arg("-c").arg(format!("{stem}.tar.gz.sha256")).current_dir(&evidence));

    let listing = run(Command::new("tar").arg("-tvzf").arg(&archive));
    for line in listing.lines() {
        assert!(line.starts_with("-rw-------") || line.starts_with("drwx------"), "{listing}");
    }
    let x = dir.join("x");
    std::fs::create_dir(&x).unwrap();
    run(Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&x));
    let bundle = x.join(&stem);
    let checked = run(Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&bundle));
    for file in ["MANIFEST.json", "incident.json", "logs/ferretwatch.log", "audit.jsonl", "prometheus/store_up.json"] {
        assert!(checked.contains(&format!("{file}: OK")), "{checked}");
    }

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("MANIFEST.json")).unwrap()).unwrap();
    assert_eq!(manifest["incident_id"], reference.as_str());
    assert_eq!(manifest["collector"], "tester");
    assert_eq!(manifest["time_range"]["from"], from.to_string());
    assert_eq!(manifest["time_range"]["to"], to.to_string());
    assert!(manifest["command"].as_array().unwrap().iter().any(|a| a == "--time-range"), "{manifest}");
    assert!(!manifest["host"].as_str().unwrap().is_empty());
    for file in manifest["files"].as_array().unwrap() {
        let bytes = std::fs::read(bundle.join(file["path"].as_str().unwrap())).unwrap();
        assert_eq!(file["bytes"], bytes.len());
        assert_eq!(file["sha256"], ferretwatch_types::sha256_hex(&bytes));
    }

    // The lines as found: what was collected is the log up to then, byte for byte.
    let collected = std::fs::read(bundle.join("logs/ferretwatch.log")).unwrap();
    let original = std::fs::read(&served.log).unwrap();
    assert!(collected.len() > 500 && original.starts_with(&collected), "the lines are unchanged");

    let incident: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("incident.json")).unwrap()).unwrap();
    assert_eq!(incident["incident"]["title"], "Reports failing");
    let kinds: Vec<&str> =
        incident["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["opened", "note"]);

    let audit = bundle.join("audit.jsonl");
    let verified = ferretwatch(dir, &["audit", "verify-export", audit.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&verified.stdout).contains("1 entries"), "{}", both(&verified));

    let store_up: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("prometheus/store_up.json")).unwrap()).unwrap();
    assert_eq!(store_up["status"], "success");
    assert!(!store_up["data"]["result"].as_array().unwrap().is_empty(), "{store_up}");
    for name in ["requests_by_service", "errors_5xx_by_service", "latency_p95_by_service", "alerts"] {
        assert!(bundle.join(format!("prometheus/{name}.json")).is_file(), "{name}");
    }

    // Evidence is never overwritten.
    let again = script(dir, "collect-logs.sh", &args, &env);
    assert_eq!(again.status.code(), Some(1), "{}", both(&again));
    assert!(both(&again).contains("never overwritten"), "{}", both(&again));

    // A range before the server started: an archive, with a warning and no log file.
    let early = ["--incident-id", "1", "--time-range", "2025-09-25T10:00:00", "2025-09-25T12:00:00"];
    let out = script(dir, "collect-logs.sh", &early, &env);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(both(&out).contains("no log line falls in the range"), "{}", both(&out));
    assert!(evidence.join("1-logs-20250925T100000Z-20250925T120000Z.tar.gz").is_file());
}

#[test]
fn an_unknown_incident_or_an_empty_range_exits_1_and_bad_usage_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ferretwatch(dir, &["incident", "open", "--title", "Something", "--priority", "P3"]);
    let log = dir.join("ferretwatch.log");
    std::fs::write(&log, "{\"timestamp\":\"2025-09-25T10:30:00Z\",\"level\":\"INFO\",\"message\":\"x\"}\n").unwrap();
    let log = log.display().to_string();
    let env = [("FERRETWATCH_LOG_FILES", log.as_str())];
    let range = ["--time-range", "2025-09-25T10:00:00", "2025-09-25T12:00:00"];
    let case = |args: &[&str]| {
        let out = script(dir, "collect-logs.sh", args, &env);
        (out.status.code().unwrap_or(-1), both(&out))
    };

    let (status, text) = case(&[&["--incident-id", "99"][..], &range].concat());
    assert_eq!(status, 1, "{text}");
    assert!(text.contains("incident 99 does not exist"), "{text}");
    let (status, text) = case(&["--incident-id", "1", "--time-range", "2025-09-25T12:00:00", "2025-09-25T12:00:00"]);
    assert_eq!(status, 1, "{text}");
    assert!(text.contains("the time range is empty"), "{text}");
    let (status, text) =
        case(&["--incident-id", "1", "--time-range", "2025-09-25T12:00:00+02:00", "2025-09-25T10:00:01Z"]);
    assert_eq!(status, 0, "an offset is read: 10:00 to 10:00:01 UTC: {text}");

    for bad in [
        &["--incident-id", "1"][..],
        &["--incident-id", "1", "--time-range", "2025-09-25T10:00:00"],
        &["--incident-id", "1", "--time-range", "2025-09-25T10:00:00", "--incident-id", "2"],
        &["--incident-id", "1", "--time-range", "yesterday", "today"],
        &["--incident-id", "../1", "--time-range", "2025-09-25T10:00:00", "2025-09-25T12:00:00"],
        &range,
        &[&["--incident-id", "1", "--verbose"][..], &range].concat(),
    ] {
        let (status, text) = case(bad);
        assert_eq!(status, 2, "{bad:?}: {text}");
    }
    let help = script(dir, "collect-logs.sh", &["--help"], &[]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--incident-id ID --time-range FROM TO"), "{}", both(&help));
    assert!(!dir.join("evidence").join("99-logs-20250925T100000Z-20250925T120000Z.tar.gz").exists());
}
