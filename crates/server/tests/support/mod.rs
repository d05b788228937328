//! `spawn_app()`: a server on port 0 with its own data directory (SQLite, a local origin
//! with the development pack), and typed helpers to talk to it.

#![allow(dead_code)]

pub mod console;
pub mod oidc_provider;
pub mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ferretwatch_server::captcha::CaptchaVerifier;
use ferretwatch_server::{AppState, Settings};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// A running test server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub state: AppState,
    pub client: reqwest::Client,
    pub data: PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// A data directory holding the development keys and origin, bootstrapped once per test
/// binary and copied into each test's directory (building and signing a pack takes a
/// second; the copy takes none).
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("template dir");
            let origin = dir.path().join("origin");
            // The pack library blocks on its own runtime: not on a test's runtime thread.
            let path = dir.path().to_owned();
            std::thread::spawn(move || ferretwatch_server::dev::bootstrap(&path, origin.to_str().unwrap()))
                .join()
                .unwrap()
                .expect("bootstrap");
            dir
        })
        .path()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Settings for a test in `data`.
pub fn test_settings(data: &Path) -> Settings {
    Settings {
        data_dir: data.to_owned(),
        db: Some(format!("sqlite://{}", data.join("ferretwatch.db").display())),
        origin: Some(data.join("origin").display().to_string()),
        shutdown_grace_seconds: 5,
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}, None).await
}

pub async fn spawn_with(configure: impl FnOnce(&mut Settings), captcha: Option<Arc<dyn CaptchaVerifier>>) -> TestApp {
    let api = TcpListener::bind("127.0.0.1:0").await.unwrap();
    spawn_bound(api, configure, captcha).await
}

/// Like [`spawn_with`] on a listener the caller bound (so that it knows the address
/// before the settings are made); the console's public URL is that address.
pub async fn spawn_bound(
    api: TcpListener,
    configure: impl FnOnce(&mut Settings),
    captcha: Option<Arc<dyn CaptchaVerifier>>,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(&template().join("origin"), &data.join("origin"));
    copy_dir(&template().join("dev-keys"), &data.join("dev-keys"));
    let mut settings = test_settings(&data);
    settings.console.public_url = Some(format!("http://{}", api.local_addr().unwrap()));
    configure(&mut settings);
    let mut server = ferretwatch_server::prepare(settings).await.expect("prepare");
    if let Some(verifier) = captcha {
        server = server.with_captcha(verifier);
    }
    let state = server.state().clone();
    let metrics = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = api.local_addr().unwrap();
    let metrics_addr = metrics.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let listeners = ferretwatch_server::Listeners { api, metrics: Some(metrics) };
        server
            .run(listeners, async {
                let _ = rx.await;
            })
            .await
            .expect("server run");
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp { addr, metrics_addr, state, client, data, _dir: dir, stop: Some(tx), task: Some(task) }
}

/// A valid report body.
pub fn report_body(url: &str) -> Value {
    json!({
        "url": url,
        "reason": "phishing_login",
        "timestamp": "2026-01-02T03:04:05Z",
        "extension_version": "1.4.2",
        "pack_version": "2026.01.02.03",
        "score": 87,
        "findings": [
            {"key": "idn_homograph_high", "evidence": "xn--pypal-4ve.com is displayed as pаypal.com"},
            {"key": "password_form_offsite", "evidence": "<form action=\"https://collect.example/p.php\">"}
        ],
        "screenshot_hash": "ab".repeat(32)
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn install_token(&self) -> String {
        let response = self.client.post(self.url("/v1/install")).send().await.unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        body["install_token"].as_str().unwrap().to_owned()
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).unwrap());
        if let Some(token) = token {
            request = request.header("x-install-token", token);
        }
        request.send().await.unwrap()
    }

    pub async fn post_report(&self, token: &str, body: &Value) -> reqwest::Response {
        self.post_json("/v1/report", Some(token), body).await
    }

    pub async fn metrics(&self) -> String {
        let response = self.client.get(format!("http://{}/metrics", self.metrics_addr)).send().await.unwrap();
        response.text().await.unwrap()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// The JSON body of a response, with its status.
pub async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    let value =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, value)
}

/// Asserts the error shape and returns the code.
pub fn error_code(body: &Value) -> &str {
    assert!(body["error"]["message"].is_string(), "no error message in {body}");
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}"))
}
