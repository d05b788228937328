//! Test support shared by the S3 tests of `ferretwatch-pack` and `ferretwatch-server`: a
//! real S3-compatible server (moto) on a loopback port, a bucket on it and the
//! [`S3Options`] that reach it. Compiled only with the `test-support` feature, which only
//! the crates' dev-dependencies enable.
//!
//! Moto is a test requirement, not an optional extra: without it [`moto`] fails the test
//! with the install instruction. `FERRETWATCH_SKIP_S3=1` marks the S3 tests ignored at
//! build time (each crate's `build.rs` sets `cfg(skip_s3)`), so they are reported as
//! skipped, never as passed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use crate::origin::S3Options;

/// A moto S3 server on a loopback port, stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    /// Its endpoint, `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Creates `bucket` on this server (see [`create_bucket`]).
    pub fn create_bucket(&self, bucket: &str) {
        create_bucket(&self.endpoint, bucket);
    }

    /// Settings that reach this server (see [`s3_options`]).
    pub fn s3_options(&self) -> S3Options {
        s3_options(&self.endpoint)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Starts moto (`python3 -m pip install 'moto[server]==5.*'`) on a free loopback port and
/// waits until it answers. Without moto, panics with the install instruction.
pub fn moto() -> Moto {
    let installed = Command::new("python3")
        .args(["-c", "import moto.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        installed,
        "the S3 tests need moto: run `python3 -m pip install 'moto[server]==5.*'` (as scripts/test.sh does), or set \
         FERRETWATCH_SKIP_S3=1 to skip them"
    );
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("its address").port();
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto");
    let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
    let agent = agent();
    let started = Instant::now();
    while agent.get(&format!("{}/", moto.endpoint)).call().is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "moto did not answer on {} within 60 s", moto.endpoint);
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

/// Creates `bucket` on the S3 server at `endpoint` (moto needs no signature for it).
pub fn create_bucket(endpoint: &str, bucket: &str) {
    let response = agent().put(&format!("{endpoint}/{bucket}")).send_empty().expect("create bucket");
    assert!(response.status().is_success(), "create bucket {bucket}: HTTP {}", response.status());
}

/// S3 settings for the server at `endpoint`: region `us-east-1` and test credentials
/// (moto accepts any).
pub fn s3_options(endpoint: &str) -> S3Options {
    S3Options {
        endpoint: Some(endpoint.to_owned()),
        region: Some("us-east-1".into()),
        access_key_id: Some("ferretwatch-test".into()),
        secret_access_key: Some(SecretString::from("ferretwatch-test-secret")),
    }
}
