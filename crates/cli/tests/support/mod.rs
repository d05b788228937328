//! Helpers shared by the end-to-end tests.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use sqlx::{Connection, Executor};

/// Runs the `ferretwatch` binary under test with `args`.
pub fn ferretwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferretwatch")).args(args).output().unwrap()
}

/// Runs it and requires success; its standard output.
pub fn ok(args: &[&str]) -> String {
    let out = ferretwatch(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A path as an argument.
pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// An HTTP client that returns 4xx and 5xx as responses, with a 10 s overall timeout.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// A valid report body for `url`.
pub fn report_json(url: &str) -> String {
    serde_json::json!({
        "url": url,
        "reason": "phishing_login",
        "timestamp": "2026-01-02T03:04:05Z",
        "extension_version": "1.4.2",
        "pack_version": "2026.01.02.03",
        "score": 90,
        "findings": [{"key": "idn_homograph_high", "evidence": "pаypal.com"}]
    })
    .to_string()
}

/// `POST {base}/v1/report` of `url` with the install token `token`.
pub fn post_report(
    agent: &ureq::Agent,
    base: &str,
    token: &str,
    url: &str,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    agent
        .post(&format!("{base}/v1/report"))
        .header("content-type", "application/json")
        .header("x-install-token", token)
        .send(report_json(url).as_bytes())
}

/// A fresh PostgreSQL database, dropped when this is dropped.
pub struct PgDatabase {
    admin: String,
    name: String,
    /// The database's URL.
    pub url: String,
}

impl PgDatabase {
    /// Creates it (fails loudly when PostgreSQL is unreachable).
    pub fn create() -> Self {
        let admin = std::env::var("FERRETWATCH_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let mut random = [0u8; 6];
        getrandom::getrandom(&mut random).unwrap();
        let name = format!("fw_serve_{}", hex::encode(random));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is not reachable at {admin} ({e}). Start it (service postgresql start), point \
                     FERRETWATCH_TEST_POSTGRES elsewhere, or set FERRETWATCH_SKIP_POSTGRES=1 to skip this test."
                )
            });
            conn.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
            let _ = conn.close().await;
        });
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        PgDatabase { admin, name, url: url.into() }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dropped = runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&self.admin).await?;
            conn.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str()).await?;
            conn.close().await
        });
        if let Err(e) = dropped {
            eprintln!("warning: could not drop {}: {e}", self.name);
        }
    }
}

/// Copies the units `names` of `deploy/systemd` into a temporary folder, with the installed
/// paths they name pointing at this build and checkout (`/usr/local/bin/ferretwatch` and a
/// release slot's `/opt/ferretwatch/slots/%i/ferretwatch` at the binary under test,
/// `/usr/local/lib/ferretwatch/` at `deploy/postgresql/`, PostgreSQL 15's
/// binaries at the newest installed), and requires `systemd-analyze verify` to find nothing
/// to say about them and its offline security review to rate each service among them at an
/// exposure of at most 2.0 (of 10). The folder holds the copies, for further checks. Needs
/// `systemd-analyze` (Debian's systemd package).
pub fn verify_units(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut postgres: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.map(|e| e.unwrap().path().join("bin")).filter(|p| p.join("pg_receivewal").exists()).collect())
        .unwrap_or_default();
    postgres.sort();
    let mut copies = Vec::new();
    for name in names {
        let mut text = std::fs::read_to_string(repo.join("deploy/systemd").join(name))
            .unwrap()
            .replace("/opt/ferretwatch/slots/%i/ferretwatch", env!("CARGO_BIN_EXE_ferretwatch"))
            .replace("/usr/local/bin/ferretwatch", env!("CARGO_BIN_EXE_ferretwatch"))
            .replace("/usr/local/lib/ferretwatch/", &format!("{}/", repo.join("deploy/postgresql").display()));
        if let Some(bin) = postgres.last() {
            text = text.replace("/usr/lib/postgresql/15/bin", &bin.display().to_string());
        }
        let copy = dir.path().join(name);
        std::fs::write(&copy, text).unwrap();
        copies.push(copy);
    }
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&copies)
        .output()
        .expect("systemd-analyze is installed (Debian's systemd package)");
    let said = format!("{}{}", String::from_utf8_lossy(&verify.stdout), String::from_utf8_lossy(&verify.stderr));
    assert!(verify.status.success() && said.trim().is_empty(), "systemd-analyze verify: {said}");
    for service in copies.iter().filter(|c| c.extension().is_some_and(|e| e == "service")) {
        let security = Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--threshold=20", "--no-pager"])
            .arg(service)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&security.stdout);
        assert!(
            security.status.success(),
            "{}: exposure above 2.0: {}",
            service.display(),
            report.lines().filter(|l| l.contains('✗') || l.contains("Overall")).collect::<Vec<_>>().join("\n")
        );
    }
    dir
}

/// Every acknowledged `(id, url)` is a committed row of the PostgreSQL database `db`.
pub fn assert_all_stored(db: &str, acked: &[(i64, String)]) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let rows: std::collections::HashMap<i64, String> = runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(db).await.unwrap();
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, url FROM reports").fetch_all(&mut conn).await.unwrap();
        rows.into_iter().collect()
    });
    let missing: Vec<_> = acked.iter().filter(|(id, url)| rows.get(id) != Some(url)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged reports missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(3)]
    );
}

/// Sends one report; the status (0 when the connection failed) and the acknowledged id.
pub fn post_acknowledged(agent: &ureq::Agent, base: &str, token: &str, url: &str) -> (u16, Option<i64>) {
    match post_report(agent, base, token, url) {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let id = (status == 201)
                .then(|| response.body_mut().read_to_string().ok())
                .flatten()
                .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
                .and_then(|v| v["id"].as_i64());
            (status, id)
        }
        Err(_) => (0, None),
    }
}
