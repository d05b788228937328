//! Runbook 7.1 `cert-expiry-check.sh --days-warning 30` against real TLS servers with
//! certificates made here: `openssl s_server` (one that ends in 10 days warns, one that
//! ends in 90 passes, a chain the CA file does not vouch for fails, and a port with
//! nothing on it fails), and `ferretwatch serve` itself on TLS (90 days passes; after a
//! 10-day certificate is put in place and SIGHUP sent, it warns).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tls::{config, Ca, Served};

#[path = "support/tls.rs"]
mod tls;

/// A CA, and a certificate for localhost signed by it that lasts `days` (`server.pem`,
/// `server.key`); returns the CA's certificate.
fn certificates(dir: &Path, days: u32) -> PathBuf {
    let ca = Ca::new(dir);
    ca.issue("server", days, 1);
    ca.cert
}

struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn serve(dir: &Path) -> Server {
    let port = free_port();
    let child = Command::new("openssl")
        .args(["s_server", "-accept", &port.to_string(), "-cert", "server.pem", "-key", "server.key", "-www", "-quiet"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server(child, port)
}

fn check(endpoint: &str, ca: Option<&Path>, args: &[&str]) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cert-expiry-check.sh");
    let mut command = Command::new("bash");
    command.arg(script).args(args).env("FERRETWATCH_TLS_ENDPOINTS", endpoint).env_remove("FERRETWATCH_URL");
    match ca {
        Some(ca) => command.env("FERRETWATCH_TLS_CA", ca),
        None => command.env_remove("FERRETWATCH_TLS_CA"),
    };
    let out: Output = command.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn certificates_near_their_end_warn_valid_ones_pass_and_untrusted_or_missing_tls_fails() {
    let short = tempfile::tempdir().unwrap();
    let short_ca = certificates(short.path(), 10);
    let long = tempfile::tempdir().unwrap();
    let long_ca = certificates(long.path(), 90);
    let (s, l) = (serve(short.path()), serve(long.path()));

    let (status, text) = check(&format!("localhost:{}", s.1), Some(&short_ca), &["--days-warning", "30"]);
    assert_eq!(status, 1, "{text}");
    let in_days = |days: [u32; 2], unit: &str| days.iter().any(|d| text.contains(&format!("in {d} {unit}")));
    assert!(text.starts_with("WARN ") && in_days([9, 10], "day(s)"), "{text}");

    let (status, text) = check(&format!("localhost:{}", l.1), Some(&long_ca), &["--days-warning", "30"]);
    assert_eq!(status, 0, "{text}");
    assert!(text.starts_with("ok   ") && (text.contains("in 89 days") || text.contains("in 90 days")), "{text}");

    // Both at once: one warning makes the run fail.
    let both = format!("localhost:{} localhost:{}", s.1, l.1);
    let (status, _) = check(&both, Some(&long_ca), &["--days-warning", "5"]);
    assert_eq!(status, 1, "the short one's CA is not the long one's: it does not verify");

    let (status, text) = check(&format!("localhost:{}", l.1), None, &["--days-warning", "30"]);
    assert_eq!(status, 1, "{text}");
    assert!(text.contains("does not verify"), "{text}");

    // Nothing listening: no certificate.
    let (status, text) = check(&format!("localhost:{}", free_port()), None, &[]);
    assert_eq!(status, 1, "{text}");
    assert!(text.starts_with("FAIL ") && text.contains("no certificate"), "{text}");

    let (status, _) = check("localhost:1", None, &["--days-warning", "soon"]);
    assert_eq!(status, 2);
}

#[test]
fn the_certificate_ferretwatch_serve_presents_passes_with_90_days_and_warns_with_10_after_a_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path());
    let (cert, key) = (dir.path().join("tls.pem"), dir.path().join("tls.key"));
    ca.issue("long", 90, 1).install(&cert, &key);
    let served = Served::start(dir.path(), &config(dir.path(), &cert, &key));
    let endpoint = format!("localhost:{}", served.port);

    let (status, text) = check(&endpoint, Some(&ca.cert), &["--days-warning", "30"]);
    assert_eq!(status, 0, "{text}");
    assert!(text.starts_with("ok   ") && (text.contains("in 89 days") || text.contains("in 90 days")), "{text}");

    ca.issue("short", 10, 2).install(&cert, &key);
    served.hangup("TLS certificate reloaded");
    let (status, text) = check(&endpoint, Some(&ca.cert), &["--days-warning", "30"]);
    assert_eq!(status, 1, "{text}");
    assert!(text.starts_with("WARN ") && (text.contains("in 9 day(s)") || text.contains("in 10 day(s)")), "{text}");
}
