//! Runbook 5.1 `analyze-error-logs.sh --yesterday` on the log of a real `ferretwatch
//! serve` (standard output and standard error appended to a file, as `>>log 2>&1` does).
//! The window is given through FERRETWATCH_LOG_SINCE/UNTIL, around the test.
//!
//! A healthy run passes. The database locked under the running server makes it log a real
//! ERROR (`store failed`): a new ERROR pattern fails. The same pattern already seen in the
//! window before (a rotated, gzipped file) passes under the threshold and fails over it.
//! A panic, as the standard library prints it on standard error, fails and is shown with
//! its message. A token in a line is never printed. The journal is read through
//! journalctl (a stand-in on PATH records how it is called), and without any source the
//! command says so.

#[path = "support/served.rs"]
mod served;
mod support;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use ferretwatch_types::Timestamp;
use served::{both, script, serve, Served, NO_LIMITS};
use sqlx::{Connection, Executor};
use support::agent;

fn analyze(dir: &Path, served: &Served, since: Timestamp, extra: &[(&str, &str)]) -> (i32, String) {
    let files = format!("{}*", served.log.display());
    let until = Timestamp::now().plus_secs(3600).to_string();
    let since = since.to_string();
    let mut env = vec![
        ("FERRETWATCH_LOG_FILES", files.as_str()),
        ("FERRETWATCH_LOG_SINCE", since.as_str()),
        ("FERRETWATCH_LOG_UNTIL", until.as_str()),
    ];
    env.extend_from_slice(extra);
    let out = script(dir, "analyze-error-logs.sh", &["--yesterday"], &env);
    (out.status.code().unwrap_or(-1), both(&out))
}

/// Appends lines to the server's log, as another writer of the same file would.
fn append(path: &Path, text: &str) {
    std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
}

/// Polls the log until a line holds `needle`; that line.
fn wait_for_line(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(path).unwrap();
        if let Some(line) = text.lines().find(|l| l.contains(needle)) {
            return line.to_owned();
        }
        assert!(Instant::now() < deadline, "no line with {needle:?} in 60 s:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_new_error_pattern_or_a_panic_fails_and_known_errors_under_the_threshold_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let since = Timestamp::now().minus_secs(60).whole_second();
    let served = serve(dir, &NO_LIMITS);
    let agent = agent();
    assert_eq!(agent.get(&format!("{}/v1/manifest.json", served.base)).call().unwrap().status(), 200);
    assert_eq!(agent.get(&format!("{}/v1/nothing-here.json", served.base)).call().unwrap().status(), 404);

    // A healthy service: its only warning is the development keys' (new, but a warning).
    let (status, text) = analyze(dir, &served, since, &[]);
    assert_eq!(status, 0, "{text}");
    assert!(text.contains("WARN patterns") && text.contains("NEW ") && text.contains("DEVELOPMENT KEYS"), "{text}");
    assert!(text.contains("ok: no panic, no new ERROR pattern, 0 ERROR line(s) (threshold 50)"), "{text}");
    let help = script(dir, "analyze-error-logs.sh", &["--help"], &[]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("FERRETWATCH_ERROR_THRESHOLD"), "{}", both(&help));
    assert_eq!(script(dir, "analyze-error-logs.sh", &["--today"], &[]).status.code(), Some(2));

    // The database locked by another writer: the report cannot be stored, and the server
    // logs the store's failure as an ERROR once its busy timeout has passed.
    let mut response = agent.post(&format!("{}/v1/install", served.base)).send_empty().unwrap();
    let token: serde_json::Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    let token = token["install_token"].as_str().unwrap().to_owned();
    let db = format!("sqlite://{}", dir.join("data/ferretwatch.db").display());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut lock = runtime.block_on(sqlx::SqliteConnection::connect(&db)).unwrap();
    runtime.block_on(lock.execute("BEGIN IMMEDIATE")).unwrap();
    let refused = support::post_report(&agent, &served.base, &token, "https://locked.invalid/x").unwrap();
    assert!(refused.status().is_server_error(), "{}", refused.status());
    runtime.block_on(lock.execute("ROLLBACK")).unwrap();
    let error_line = wait_for_line(&served.log, "\"message\":\"store failed\"");
    assert!(error_line.contains("\"level\":\"ERROR\""), "{error_line}");
    // The failed response is logged as an ERROR too (tower-http's trace layer).
    wait_for_line(&served.log, "\"message\":\"response failed\"");

    let (status, text) = analyze(dir, &served, since, &[]);
    assert_eq!(status, 1, "{text}");
    assert!(text.contains("NEW         1 (      0)  ferretwatch_server::error  store failed"), "{text}");
    assert!(text.contains("FAIL: 2 new ERROR pattern(s)"), "{text}");
    assert!(text.contains("database is locked"), "the example shows the cause: {text}");

    // The same failure in the window before, in the rotated, gzipped file: known, and
    // under the threshold.
    let earlier = format!("{}.5Z", since.minus_secs(1800).to_string().trim_end_matches('Z'));
    let log = std::fs::read_to_string(&served.log).unwrap();
    let mut before = String::new();
    for line in log.lines().filter(|l| l.contains("\"level\":\"ERROR\"")) {
        let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
        value["timestamp"] = serde_json::json!(earlier);
        before += &format!("{value}\n");
    }
    let rotated = served.log.with_extension("log.1.gz");
    let mut gz =
        flate2::write::GzEncoder::new(std::fs::File::create(&rotated).unwrap(), flate2::Compression::default());
    gz.write_all(before.as_bytes()).unwrap();
    gz.finish().unwrap();
    let (status, text) = analyze(dir, &served, since, &[]);
    assert_eq!(status, 0, "{text}");
    assert!(text.contains("ERROR 2 (the window before: 2)"), "{text}");
    assert!(text.contains("              1 (      1)  ferretwatch_server::error  store failed"), "{text}");
    let (status, text) = analyze(dir, &served, since, &[("FERRETWATCH_ERROR_THRESHOLD", "1")]);
    assert_eq!(status, 1, "{text}");
    assert!(text.contains("FAIL: 2 ERROR lines, more than the threshold of 1"), "{text}");

    // A token in a line is redacted; a panic printed on standard error fails.
    let now = Timestamp::now();
    append(
        &served.log,
        &format!(
            "{}\nthread 'tokio-runtime-worker' panicked at crates/server/src/report_api.rs:301:9:\n\
             index out of bounds: the len is 0 but the index is 3\n\
             note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
            serde_json::json!({"timestamp": now, "level": "WARN", "target": "ferretwatch_server",
                               "message": "upstream refused install_token=s3cr3t-value"})
        ),
    );
    let (status, text) = analyze(dir, &served, since, &[]);
    assert_eq!(status, 1, "{text}");
    assert!(text.contains("FAIL: 1 panic(s)"), "{text}");
    assert!(
        text.contains(
            "thread 'tokio-runtime-worker' panicked at crates/server/src/report_api.rs:301:9: — index out of bounds"
        ),
        "{text}"
    );
    assert!(text.contains("lines that are not JSON") && text.contains("3 not JSON"), "{text}");
    assert!(text.contains("install_token=[REDACTED]") && !text.contains("s3cr3t"), "{text}");
}

/// A stand-in for journalctl that records its arguments and prints what `lines` holds.
fn fake_journalctl(bin: &Path, lines: &str) {
    std::fs::create_dir_all(bin).unwrap();
    let path = bin.join("journalctl");
    std::fs::write(&path, format!("#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/args\"\ncat <<'EOF'\n{lines}EOF\n"))
        .unwrap();
    let mut permissions = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&path, permissions).unwrap();
}

#[test]
fn without_files_the_journal_is_read_and_without_journalctl_the_source_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let lines = "{\"timestamp\":\"2025-09-24T10:00:00.000001Z\",\"level\":\"INFO\",\"message\":\"response\"}\n\
                 thread 'main' panicked at src/main.rs:1:1:\nboom\n";
    fake_journalctl(&bin, lines);
    let run = |path: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
            .args(["logs", "analyze", "--since", "2025-09-24T00:00:00Z", "--until", "2025-09-25T00:00:00Z"])
            .env_remove("FERRETWATCH_LOG_FILES")
            .env_remove("FERRETWATCH_LOG_SINCE")
            .env_remove("FERRETWATCH_LOG_UNTIL")
            .env("PATH", path)
            .output()
            .unwrap()
    };
    let out = run(&format!("{}:/usr/bin:/bin", bin.display()));
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(both(&out).contains("PANIC 2025-09-24T10:00:00Z thread 'main' panicked"), "{}", both(&out));
    let args = std::fs::read_to_string(bin.join("args")).unwrap();
    // The journal is asked for both windows: the day and the day before.
    assert_eq!(args.trim(), "-u ferretwatch@* -o cat --no-pager --quiet --since @1758585600 --until @1758758400");

    // journalctl that fails (no permission to read the journal, say): said, exit 2.
    let failing = tmp.path().join("failing");
    fake_journalctl(&failing, "");
    std::fs::write(failing.join("journalctl"), "#!/bin/sh\necho 'No journal files were opened' >&2\nexit 1\n").unwrap();
    let out = run(&format!("{}:/usr/bin:/bin", failing.display()));
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(both(&out).contains("No journal files were opened") && both(&out).contains("error[journal_failed]"));

    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(empty.to_str().unwrap());
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        both(&out).contains("error[no_log_source]") && both(&out).contains("FERRETWATCH_LOG_FILES"),
        "{}",
        both(&out)
    );
}
