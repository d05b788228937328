//! A real `ferretwatch serve` whose log goes to a file, as operators run it outside
//! systemd (`ferretwatch serve >>ferretwatch.log 2>&1`), for the tests of the runbook's
//! log and performance tools.

#![allow(dead_code)]

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A running server, killed when dropped.
pub struct Served {
    pub child: Child,
    /// `http://ADDR`.
    pub base: String,
    /// The metrics listener, `ADDR`.
    pub metrics: String,
    /// Its log file: standard output and standard error, appended.
    pub log: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server in `dir` (its data directory is `dir/data`) on free ports, logging to
/// `dir/logs/ferretwatch.log`, and waits for its "listening" line: polled with a
/// deadline, never a fixed sleep.
pub fn serve(dir: &Path, env: &[(&str, &str)]) -> Served {
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let log = dir.join("logs/ferretwatch.log");
    let out = OpenOptions::new().create(true).append(true).open(&log).unwrap();
    let err = out.try_clone().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferretwatch"));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env("FERRETWATCH_METRICS_LISTEN", "127.0.0.1:0")
        .env("FERRETWATCH_LOG", "info")
        .env_remove("FERRETWATCH_CONFIG")
        .env_remove("FERRETWATCH_DB")
        .env_remove("FERRETWATCH_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start ferretwatch serve");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("\"message\":\"listening\"")) {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            return Served {
                child,
                base: format!("http://{}", value["addr"].as_str().unwrap()),
                metrics: value["metrics"].as_str().unwrap().to_owned(),
                log,
            };
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ferretwatch serve exited ({status}) before listening:\n{text}");
        }
        assert!(Instant::now() < deadline, "ferretwatch serve did not listen within 120 s:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Limits high enough that a test's traffic from loopback is never refused.
pub const NO_LIMITS: [(&str, &str); 4] = [
    ("FERRETWATCH_LIMITS_IP_PER_MINUTE", "1000000"),
    ("FERRETWATCH_LIMITS_IP_PER_DAY", "1000000"),
    ("FERRETWATCH_LIMITS_INSTALL_PER_MINUTE", "1000000"),
    ("FERRETWATCH_LIMITS_INSTALL_PER_DAY", "1000000"),
];

/// Runs `scripts/NAME ARGS` in `dir` with the binary under test, the given environment
/// and none of the caller's FerretWatch settings.
pub fn script(dir: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts").join(name);
    let mut command = Command::new("bash");
    command.arg(path).args(args).current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("FERRETWATCH_") {
            command.env_remove(name);
        }
    }
    command.env("FERRETWATCH_BIN", env!("CARGO_BIN_EXE_ferretwatch"));
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

/// Standard output and standard error, for messages.
pub fn both(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}
