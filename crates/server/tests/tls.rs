//! The API listener over TLS (`[tls]`), with certificates made by `openssl` here: health
//! and the pack origin over https with HSTS, plain HTTP on the TLS port unanswered, a
//! renewed certificate served to new connections without a restart (open connections
//! keep theirs), a broken replacement refused and counted while the old certificate stays,
//! a mismatched or expired pair refused at start, and the minimum version applied.
//!
//! The certificate metrics are one per process, so these tests take turns.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ferretwatch_server::settings::TlsVersion;
use ferretwatch_server::tls::TlsError;
use ferretwatch_server::{LaunchError, Settings};
use support::tls::{replace, Leaf, TestCa};
use support::{spawn_with, test_settings, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

static TURNS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A server on TLS with the first certificate of its CA.
struct TlsApp {
    app: TestApp,
    ca: TestCa,
    first: Leaf,
    cert: PathBuf,
    key: PathBuf,
    _dir: tempfile::TempDir,
}

async fn spawn_tls(reload_secs: u64, configure: impl FnOnce(&mut Settings)) -> TlsApp {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path());
    let first = ca.issue("first", 90, 1001);
    let (cert, key) = (dir.path().join("served.pem"), dir.path().join("served.key"));
    first.install(&cert, &key);
    let (c, k) = (cert.clone(), key.clone());
    let app = spawn_with(
        move |s| {
            s.tls.cert_file = Some(c);
            s.tls.key_file = Some(k);
            s.tls.reload_secs = reload_secs;
            // A kept-alive connection must outlive a reload here.
            s.limits.header_timeout_ms = 60_000;
            configure(s);
        },
        None,
    )
    .await;
    TlsApp { app, ca, first, cert, key, _dir: dir }
}

impl TlsApp {
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.app.addr.port())
    }

    /// A client that trusts only the test CA; `fresh`: a new connection per request.
    fn client(&self, fresh: bool) -> reqwest::ClientBuilder {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(&self.ca.cert).unwrap()).unwrap();
        let builder = reqwest::Client::builder()
            .tls_certs_only([ca])
            .tls_info(true)
            .resolve("localhost", self.app.addr)
            .timeout(Duration::from_secs(10));
        if fresh {
            builder.pool_max_idle_per_host(0)
        } else {
            builder
        }
    }

    /// The certificate a new connection is served.
    async fn served(&self) -> Vec<u8> {
        let client = self.client(true).build().unwrap();
        peer_certificate(&client.get(self.url("/health")).send().await.unwrap())
    }

    async fn metric(&self, name: &str) -> Option<f64> {
        let text = self.app.metrics().await;
        text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }
}

fn peer_certificate(response: &reqwest::Response) -> Vec<u8> {
    response.extensions().get::<reqwest::tls::TlsInfo>().unwrap().peer_certificate().unwrap().to_vec()
}

const ERRORS: &str = "ferretwatch_tls_reloads_total{result=\"error\"}";
const OKS: &str = "ferretwatch_tls_reloads_total{result=\"ok\"}";
const NOT_AFTER: &str = "ferretwatch_tls_cert_not_after_seconds";

/// Waits, a deadline away at most, for `done` to hold.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn health_and_the_pack_origin_are_served_over_https_with_hsts_and_plain_http_gets_no_answer() {
    let _turn = TURNS.lock().await;
    let tls = spawn_tls(60, |_| {}).await;
    let client = tls.client(false).build().unwrap();

    let health = client.get(tls.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let hsts: Vec<_> = health.headers().get_all("strict-transport-security").iter().collect();
    assert_eq!(hsts, ["max-age=63072000"], "exactly one HSTS header");
    assert_eq!(peer_certificate(&health), tls.first.der());

    let manifest = client.get(tls.url("/v1/manifest.json")).send().await.unwrap();
    assert_eq!(manifest.status(), 200);
    assert!(manifest.headers().contains_key("strict-transport-security"));
    let missing = client.get(tls.url("/v1/nothing-here.json")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().contains_key("strict-transport-security"), "refusals carry it too");

    // The metrics listener stays plain HTTP, and says when the certificate ends.
    assert_eq!(tls.metric(NOT_AFTER).await, Some(tls.first.not_after().as_secs() as f64));

    // Plain HTTP to the TLS port: the handshake fails and nothing HTTP comes back.
    let mut socket = tokio::net::TcpStream::connect(tls.app.addr).await.unwrap();
    socket.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    assert!(!answer.starts_with(b"HTTP/"), "plain HTTP answered: {:?}", String::from_utf8_lossy(&answer));
    let plain = reqwest::Client::new().get(format!("http://{}/health", tls.app.addr)).send().await;
    assert!(plain.is_err(), "a plain HTTP client gets no response: {plain:?}");
    tls.app.stop().await;
}

#[tokio::test]
async fn a_renewed_certificate_is_served_to_new_connections_without_a_restart() {
    let _turn = TURNS.lock().await;
    let tls = spawn_tls(1, |_| {}).await;
    let kept = tls.client(false).build().unwrap();
    let before = kept.get(tls.url("/health")).send().await.unwrap();
    assert_eq!(peer_certificate(&before), tls.first.der());
    let oks = tls.metric(OKS).await.unwrap();

    let renewed = tls.ca.issue("renewed", 30, 2002);
    renewed.install(&tls.cert, &tls.key);
    eventually("the renewed certificate to be served", || async { tls.served().await == renewed.der() }).await;
    assert_eq!(tls.metric(NOT_AFTER).await, Some(renewed.not_after().as_secs() as f64));
    assert!(tls.metric(OKS).await.unwrap() > oks);
    assert_ne!(renewed.not_after(), tls.first.not_after());

    // The connection opened before keeps the certificate it was opened with.
    let same_connection = kept.get(tls.url("/health")).send().await.unwrap();
    assert_eq!(same_connection.status(), 200);
    assert_eq!(peer_certificate(&same_connection), tls.first.der());
    tls.app.stop().await;
}

#[tokio::test]
async fn a_broken_replacement_keeps_the_certificate_in_service_and_counts_an_error() {
    let _turn = TURNS.lock().await;
    let tls = spawn_tls(1, |_| {}).await;
    let errors = tls.metric(ERRORS).await.unwrap();

    replace(&tls.cert, b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
    eventually("the broken file to be counted", || async { tls.metric(ERRORS).await.unwrap() > errors }).await;
    assert_eq!(tls.served().await, tls.first.der());

    // A certificate with the key of another pair.
    let (other, stranger) = (tls.ca.issue("other", 60, 3003), tls.ca.issue("stranger", 60, 3004));
    replace(&tls.key, &std::fs::read(&stranger.key).unwrap());
    replace(&tls.cert, &std::fs::read(&other.cert).unwrap());
    eventually("the mismatched pair to be counted", || async { tls.metric(ERRORS).await.unwrap() >= errors + 2.0 })
        .await;
    assert_eq!(tls.served().await, tls.first.der());
    assert_eq!(tls.metric(NOT_AFTER).await, Some(tls.first.not_after().as_secs() as f64));

    // Counted once, not at every look.
    let counted = tls.metric(ERRORS).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(tls.metric(ERRORS).await.unwrap(), counted);
    tls.app.stop().await;
}

#[tokio::test]
async fn a_pair_that_cannot_be_served_is_refused_at_start() {
    let _turn = TURNS.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path());
    let (one, two, ended) = (ca.issue("one", 30, 1), ca.issue("two", 30, 2), ca.issue("ended", 0, 3));
    let start = |cert: &PathBuf, key: &PathBuf| {
        let mut settings = test_settings(&dir.path().join("data"));
        settings.tls.cert_file = Some(cert.clone());
        settings.tls.key_file = Some(key.clone());
        ferretwatch_server::prepare(settings)
    };

    let err = start(&one.cert, &two.key).await.unwrap_err();
    assert!(matches!(err, LaunchError::Tls(TlsError::KeyMismatch { .. })), "{err}");
    let message = err.to_string();
    assert!(message.contains("does not match") && message.contains("two.key") && message.contains("one.pem"));

    let err = start(&ended.cert, &ended.key).await.unwrap_err();
    assert!(matches!(err, LaunchError::Tls(TlsError::Expired { .. })), "{err}");
    let err = start(&one.key, &one.key).await.unwrap_err();
    assert!(matches!(err, LaunchError::Tls(TlsError::NoCertificate { .. })), "{err}");
    let err = start(&one.cert, &one.cert).await.unwrap_err();
    assert!(matches!(err, LaunchError::Tls(TlsError::NoKey { .. })), "{err}");
    let err = start(&one.cert, &dir.path().join("missing.key")).await.unwrap_err();
    assert!(matches!(err, LaunchError::Tls(TlsError::Read { .. })), "{err}");
    assert!(!dir.path().join("data").exists(), "nothing was opened or written");
}

#[tokio::test]
async fn a_tls_1_3_minimum_refuses_tls_1_2_clients_and_the_default_takes_them() {
    let _turn = TURNS.lock().await;
    let strict = spawn_tls(0, |s| s.tls.min_version = TlsVersion::Tls13).await;
    let tls12 = strict.client(true).tls_version_max(reqwest::tls::Version::TLS_1_2).build().unwrap();
    assert!(tls12.get(strict.url("/health")).send().await.is_err());
    let tls13 = strict.client(true).build().unwrap();
    assert_eq!(tls13.get(strict.url("/health")).send().await.unwrap().status(), 200);
    strict.app.stop().await;

    let default = spawn_tls(0, |_| {}).await;
    let tls12 = default.client(true).tls_version_max(reqwest::tls::Version::TLS_1_2).build().unwrap();
    assert_eq!(tls12.get(default.url("/health")).send().await.unwrap().status(), 200);
    default.app.stop().await;
}
