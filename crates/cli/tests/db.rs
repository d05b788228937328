//! `ferretwatch db …` end to end on SQLite: forget, the tombstone export and its reapply
//! to a database that still holds what was forgotten, and the exit statuses of the
//! maintenance reports.

mod support;

use std::path::Path;

use ferretwatch_store::{
    ExtensionVersion, Findings, InstallTokenId, NewReport, ReportKind, ReportReason, ReportUrl, Score, StoreOptions,
};
use ferretwatch_types::{PackVersion, Timestamp};
use support::{ok, p};

fn new_report(url: &str, install: Option<&str>) -> NewReport {
    NewReport {
        kind: ReportKind::Report,
        url: ReportUrl::parse(url).unwrap(),
        reason: ReportReason::PhishingLogin,
        received_at: Timestamp::now(),
        client_timestamp: Timestamp::now(),
        extension_version: ExtensionVersion::parse("1.4.2").unwrap(),
        pack_version: PackVersion::parse("2026.01.01.00").unwrap(),
        score: Score::new(80).unwrap(),
        findings: Findings::new(vec![]).unwrap(),
        screenshot_hash: None,
        install_token_id: install.map(|i| InstallTokenId::parse(i).unwrap()),
        client_net: None,
    }
}

/// Appends reports, and returns how many reports the log holds.
fn append(db: &str, reports: &[NewReport]) -> i64 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = ferretwatch_store::open(db, &StoreOptions::default()).await.unwrap();
        for r in reports {
            store.append_report(r).await.unwrap();
        }
        let counts = store.counts().await.unwrap();
        store.close().await;
        counts.reports + counts.false_positives
    })
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn forgotten_urls_and_installs_stay_deleted_after_a_restore_by_reapplying_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = format!("sqlite://{}", dir.path().join("fw.db").display());
    let url = "https://secret-victim.example/account?id=42";
    let install = "00112233445566778899aabbccddeeff";
    let reports = [
        new_report(url, None),
        new_report(url, None),
        new_report("https://kept.example/", Some(install)),
        new_report("https://kept.example/", None),
    ];
    assert_eq!(append(&db, &reports), 4);
    // The backup, taken before anything is forgotten (the store is closed: no WAL left).
    let live = dir.path().join("fw.db");
    let backup = dir.path().join("backup.db");
    std::fs::copy(&live, &backup).unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["db"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--db", &db]);
        std::process::Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
            .args(&all)
            .env("FERRETWATCH_DATA_DIR", &data)
            .output()
            .unwrap()
    };
    let out = run(&["forget", "--url", url, "--reason", "data subject request", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let done = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!((done["reports_deleted"].as_i64(), done["moderation_redacted"].as_bool()), (Some(2), Some(true)));
    assert!(String::from_utf8_lossy(&out.stderr).contains("created a new tombstone key"));
    let out = run(&["forget", "--install-token-id", install, "--format", "json"]);
    assert_eq!(json(&String::from_utf8_lossy(&out.stdout))["reports_deleted"], 1);

    let out = run(&["tombstones", "export"]);
    assert!(out.status.success());
    let export = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(export.lines().count(), 2);
    let url_hash = ReportUrl::parse(url).unwrap().hash().to_string();
    for secret in ["secret-victim", &url_hash, install] {
        assert!(!export.contains(secret), "the export holds {secret}: {export}");
    }
    let file = dir.path().join("tombstones.jsonl");
    std::fs::write(&file, &export).unwrap();

    // Restored from the backup, the database holds them again.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("fw.db{suffix}")));
    }
    std::fs::copy(&backup, &live).unwrap();
    assert_eq!(append(&db, &[]), 4);
    let out = run(&["tombstones", "reapply", "--from", p(&file), "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let done = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        (done["read"].as_i64(), done["inserted"].as_i64(), done["reports_deleted"].as_i64()),
        (Some(2), Some(2), Some(3))
    );
    assert_eq!(append(&db, &[]), 1, "only the report of neither subject is left");
    let out = run(&["tombstones", "reapply", "--from", p(&file), "--format", "json"]);
    let again = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!((again["inserted"].as_i64(), again["reports_deleted"].as_i64()), (Some(0), Some(0)), "idempotent");

    // Without the key, a reapply is refused (a new key would match nothing): exit 2.
    std::fs::remove_file(data.join("tombstone-key")).unwrap();
    let out = run(&["tombstones", "reapply", "--from", p(&file)]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[tombstone_key]"));
}

#[test]
fn bad_input_exits_2_and_missing_statistics_are_reported_unavailable_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fw.db").display());
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
            .args(args)
            .env("FERRETWATCH_DATA_DIR", &data)
            .output()
            .unwrap()
    };
    assert_eq!(run(&["db", "forget", "--db", &db, "--url", "notaurl"]).status.code(), Some(2));
    assert_eq!(
        run(&["db", "forget", "--db", &db, "--url", "https://a.example/", "--install-token-id", "x"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["db", "retention", "--db", &db, "--days", "0"]).status.code(), Some(2));
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"hash\":\"zz\",\"kind\":\"url\",\"created_at\":\"2026-01-01T00:00:00Z\"}\n").unwrap();
    let out = run(&["db", "tombstones", "reapply", "--db", &db, "--from", p(&bad)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));

    let out = run(&["db", "slow-queries", "--db", &db, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(report["available"], false);
    assert!(report["reason"].as_str().unwrap().contains("SQLite"));
    let report = json(&ok(&["db", "indexes", "--db", &db, "--format", "json"]));
    assert_eq!((report["healthy"].as_bool(), report["integrity"].as_str()), (Some(true), Some("ok")));
    let report = json(&ok(&["db", "connections", "--db", &db, "--format", "json"]));
    assert_eq!(report["backend"], "sqlite");
    let report = json(&ok(&["db", "maintain", "--db", &db, "--format", "json"]));
    assert_eq!(report["retention"]["deleted"], 0);
    assert!(report["cleanup"]["rate_limit_state"].as_str().unwrap().contains("not in the database"));
    assert!(!Path::new(&data).join("tombstone-key").exists(), "maintenance needs no key");
}

/// The deletion ledger beside the backups: a URL forgotten after a backup was taken does
/// not come back when that backup is restored. `db forget` adds its tombstone to the
/// ledger at the configured destination at once; `backup restore` re-applies the ledger;
/// without the service's tombstone key the restore says the database must not be served.
#[test]
fn a_backup_restored_after_a_deletion_does_not_bring_the_deleted_reports_back() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let source = format!("sqlite://{}", dir.path().join("live.db").display());
    let target = format!("sqlite://{}", dir.path().join("restored.db").display());
    let key = dir.path().join("tombstone-key");
    let config = |name: &str, db: &str, key: &Path| {
        let file = dir.path().join(name);
        std::fs::write(
            &file,
            format!(
                "db = \"{db}\"\ndata_dir = \"{}\"\n\n[lifecycle]\ntombstone_key_file = \"{}\"\n\n[backup]\ndestination = \"{}\"\n",
                dir.path().join("data").display(),
                key.display(),
                backups.display()
            ),
        )
        .unwrap();
        file
    };
    let live = config("live.toml", &source, &key);
    let run = |args: &[&str], config: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
            .args(args)
            .arg("--config")
            .arg(config)
            .env_remove("FERRETWATCH_DATA_DIR")
            .output()
            .unwrap()
    };
    let said = |out: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    let url = "https://deleted-on-request.example/login";
    assert_eq!(
        append(&source, &[new_report(url, None), new_report(url, None), new_report("https://kept.example/", None)]),
        3
    );

    let out = run(&["backup", "create", "--format", "json"], &live);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(json(&String::from_utf8_lossy(&out.stdout))["tombstones"], 0);

    let out = run(&["db", "forget", "--url", url, "--format", "json"], &live);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(json(&String::from_utf8_lossy(&out.stdout))["ledger"], 1, "the ledger learns it at once");
    let ledger = std::fs::read_to_string(backups.join("tombstones.jsonl")).unwrap();
    assert_eq!(ledger.lines().count(), 1);
    assert!(!ledger.contains("deleted-on-request"), "the ledger holds keyed hashes only: {ledger}");

    // The backup from before the deletion, restored into a new database.
    let restored = config("restored.toml", &target, &key);
    let out = run(&["backup", "restore", "--backup", "latest", "--format", "json"], &restored);
    assert!(out.status.success(), "{}", said(&out));
    let done = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        (done["ledger"]["read"].as_i64(), done["ledger"]["reports_deleted"].as_i64()),
        (Some(1), Some(2)),
        "{done}"
    );
    assert_eq!(append(&target, &[]), 1, "only the report that was not deleted is back");

    // A backup of a database restored from before the deletion keeps the tombstone in
    // the ledger (it only grows).
    std::fs::remove_file(dir.path().join("live.db")).unwrap();
    let out = run(&["backup", "restore", "--backup", "latest", "--force"], &live);
    assert!(out.status.success(), "{}", said(&out));
    let out = run(&["backup", "create", "--format", "json"], &live);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(json(&String::from_utf8_lossy(&out.stdout))["tombstones"], 1);

    // Without the service's tombstone key the ledger cannot be applied: exit 1, and why.
    let keyless = config(
        "keyless.toml",
        &format!("sqlite://{}", dir.path().join("other.db").display()),
        &dir.path().join("no-key"),
    );
    let out = run(&["backup", "restore", "--backup", "latest"], &keyless);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(said(&out).contains("ledger_not_applied") && said(&out).contains("before serving it"), "{}", said(&out));

    // Under another key (a new machine whose service made itself a new one), the ledger
    // would match nothing: refused, not reported as 0 deleted.
    let other_key = dir.path().join("other-key");
    std::fs::write(&other_key, format!("{}\n", "ab".repeat(32))).unwrap();
    std::fs::set_permissions(&other_key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let rekeyed = config("rekeyed.toml", &format!("sqlite://{}", dir.path().join("third.db").display()), &other_key);
    let out = run(&["backup", "restore", "--backup", "latest"], &rekeyed);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(said(&out).contains("another tombstone key"), "{}", said(&out));

    // A destination whose ledger is gone (deleted, perhaps on purpose): refused before the
    // target is touched, unless the operator says to go without it.
    std::fs::remove_file(backups.join("tombstones.jsonl")).unwrap();
    let fourth = config("fourth.toml", &format!("sqlite://{}", dir.path().join("fourth.db").display()), &key);
    let out = run(&["backup", "restore", "--backup", "latest"], &fourth);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(said(&out).contains("ledger_missing"), "{}", said(&out));
    assert!(
        !dir.path().join("fourth.db").exists()
            || append(&format!("sqlite://{}", dir.path().join("fourth.db").display()), &[]) == 0
    );
    let out = run(&["backup", "restore", "--backup", "latest", "--no-ledger"], &fourth);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("not re-applied (--no-ledger)"), "{}", said(&out));
}

/// A PostgreSQL of the test's own that loads `pg_stat_statements` (the machine's shared
/// server does not), stopped on drop. Run as root, the server runs as `postgres`.
struct StatementsPostgres {
    pg_ctl: std::path::PathBuf,
    data: std::path::PathBuf,
    url: String,
    _dir: tempfile::TempDir,
}

impl StatementsPostgres {
    fn start() -> Self {
        let mut bins: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries under /usr/lib/postgresql")
            .map(|e| e.unwrap().path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .collect();
        bins.sort();
        let bin = bins.pop().expect("an initdb");
        let root = running_as_root();
        let ok = |command: &mut std::process::Command| {
            let out = command.output().unwrap();
            assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let dir = tempfile::Builder::new().prefix("fw-pg-statements").tempdir().unwrap();
        let data = dir.path().join("data");
        if root {
            ok(std::process::Command::new("chown").args(["postgres:postgres"]).arg(dir.path()));
        }
        ok(as_postgres(&bin.join("initdb")).args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"]).arg(&data));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_preload_libraries=pg_stat_statements",
            dir.path().display()
        );
        let pg_ctl = bin.join("pg_ctl");
        ok(as_postgres(&pg_ctl)
            .arg("-D")
            .arg(&data)
            .args(["-w", "-t", "60", "-o", &options, "-l"])
            .arg(dir.path().join("server.log"))
            .arg("start"));
        let psql = bin.join("psql");
        let sql = |db: &str, statement: &str| {
            ok(std::process::Command::new(&psql)
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-p"])
                .arg(port.to_string())
                .args(["-d", db, "-c", statement]));
        };
        sql("postgres", "CREATE DATABASE fw");
        sql("fw", "CREATE EXTENSION pg_stat_statements");
        StatementsPostgres { pg_ctl, data, url: format!("postgres://postgres@127.0.0.1:{port}/fw"), _dir: dir }
    }
}

impl Drop for StatementsPostgres {
    fn drop(&mut self) {
        let _ = as_postgres(&self.pg_ctl).arg("-D").arg(&self.data).args(["-m", "immediate", "stop"]).output();
    }
}

/// `program`, as the `postgres` user when the test runs as root.
fn as_postgres(program: &Path) -> std::process::Command {
    if running_as_root() {
        let mut command = std::process::Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        std::process::Command::new(program)
    }
}

/// Whether the test runs as root (the effective uid, from /proc).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(2) == Some("0"))
}

/// `db slow-queries` on a database whose server loads `pg_stat_statements`: a statement
/// slower than 100 ms on average is reported (exit 1) with its text and figures; after the
/// statistics are reset, none is (exit 0). `db indexes` lists the report log's indexes.
#[test]
#[cfg_attr(skip_postgres, ignore = "FERRETWATCH_SKIP_POSTGRES=1")]
fn slow_statements_are_found_in_pg_stat_statements_and_indexes_are_listed() {
    let pg = StatementsPostgres::start();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
            .args(args)
            .args(["--db", &pg.url, "--format", "json"])
            .output()
            .unwrap()
    };
    assert_eq!(append(&pg.url, &[new_report("https://slow.example/", None)]), 1);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let query = |statement: &'static str| {
        runtime.block_on(async {
            let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
            sqlx::raw_sql(statement).execute(&pool).await.unwrap();
            pool.close().await;
        })
    };
    query("SELECT pg_stat_statements_reset()");
    for _ in 0..3 {
        query("SELECT pg_sleep(0.15), count(*) FROM reports");
    }
    let out = run(&["db", "slow-queries", "--min-ms", "100"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let found = json(&String::from_utf8_lossy(&out.stdout));
    let text = found.to_string();
    assert!(text.contains("pg_sleep"), "the slow statement is named: {text}");

    query("SELECT pg_stat_statements_reset()");
    let out = run(&["db", "slow-queries", "--min-ms", "100"]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    let out = run(&["db", "indexes"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("reports_received_at") && text.contains("reports_url_hash"), "{text}");
}
