//! Serving the pack origin from S3: a pack built, signed by two publishers under a root
//! with threshold 2 and deployed to `s3://packs/prod/v1` on a real S3-compatible server
//! (moto, on loopback), then served by the server from that bucket and verified over
//! HTTP exactly as a client verifies it.
//!
//! Moto is required (`python3 -m pip install 'moto[server]==5.*'`); with
//! `FERRETWATCH_SKIP_S3=1` the test is reported as ignored.

mod support;

use std::path::Path;
use std::time::Duration;

use ferretwatch_pack_client::manifest::Manifest;
use ferretwatch_pack_client::trust::metadata::{Envelope, Root};
use ferretwatch_pack_client::trust::verify::{State, Verifier};
use ferretwatch_pack_publisher::http::HttpSource;
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::{deploy, next_version};
use ferretwatch_pack_publisher::sign::{sign_pack, sign_root};
use ferretwatch_pack_publisher::testing::moto;
use ferretwatch_pack_publisher::{build, BuildOptions};
use ferretwatch_server::Listeners;
use ferretwatch_types::Timestamp;
use sha2::{Digest, Sha256};
use support::{error_code, json_of, test_settings};
use tokio::net::TcpListener;

const ORIGIN: &str = "s3://packs/prod/v1";

/// Two publisher keys, a root that needs both, and a pack built with the built-in rules
/// and no feeds, signed by both. Returns the root's bytes, the pack directory and its version.
fn signed_pack(dir: &Path, now: Timestamp) -> (Vec<u8>, std::path::PathBuf, String) {
    let (a, b) = (PrivateKey::generate().unwrap(), PrivateKey::generate().unwrap());
    let root = Root::new(1, now.plus_secs(365 * 86_400), &[a.public(), b.public()], 2).unwrap();
    let root_path = dir.join("root.json");
    std::fs::write(&root_path, Envelope::new(&root).to_bytes()).unwrap();
    sign_root(&root_path, &a).unwrap();
    sign_root(&root_path, &b).unwrap();

    let version = next_version(None, now).unwrap();
    let (feeds, out) = (dir.join("intel"), dir.join("dist"));
    std::fs::create_dir_all(&feeds).unwrap();
    build(&BuildOptions::new(version.clone(), &feeds, &out)).unwrap();
    sign_pack(&out, &a, None).unwrap();
    sign_pack(&out, &b, None).unwrap();
    (std::fs::read(root_path).unwrap(), out, version.as_str().to_owned())
}

fn etag(response: &reqwest::Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_owned()
}

#[test]
#[cfg_attr(skip_s3, ignore = "FERRETWATCH_SKIP_S3=1")]
fn a_pack_deployed_to_s3_is_served_from_the_bucket_and_verifies_over_http() {
    let moto = moto();
    moto.create_bucket("packs");
    let s3 = moto.s3_options();
    let tmp = tempfile::tempdir().unwrap();
    let now = Timestamp::now();
    let (root, pack, version) = signed_pack(tmp.path(), now);
    // The publishing library blocks on its own runtime: deploy before starting the server's.
    let origin = Origin::open_with(ORIGIN, &s3).unwrap();
    deploy(&pack, &origin, &root, now).unwrap();

    let manifest_bytes = std::fs::read(pack.join("manifest.json")).unwrap();
    let manifest = Manifest::from_json(&manifest_bytes).unwrap();
    let hashed = manifest.files[0].name.clone();
    let hashed_bytes = origin.get(&hashed, 64 << 20).unwrap().expect("the deployed file is in the bucket");
    assert_eq!(hashed_bytes, std::fs::read(pack.join(&hashed)).unwrap());

    let mut settings = test_settings(&tmp.path().join("data"));
    settings.origin = Some(ORIGIN.into());
    settings.dev_bootstrap = false;
    settings.server.s3_endpoint = s3.endpoint.clone();
    settings.server.s3_region = s3.region.clone();
    settings.server.s3_access_key_id = s3.access_key_id.clone();
    settings.server.s3_secret_access_key = s3.secret_access_key.clone();

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (addr, stop, task) = runtime.block_on(async {
        let server = ferretwatch_server::prepare(settings).await.expect("prepare with the s3 origin");
        let api = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = api.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let listeners = Listeners { api, metrics: Some(metrics) };
            server
                .run(listeners, async {
                    let _ = stopped.await;
                })
                .await
                .expect("server run");
        });
        (addr, stop, task)
    });
    let url = |path: &str| format!("http://{addr}{path}");

    runtime.block_on(async {
        let client = reqwest::Client::new();

        let response = client.get(url("/v1/manifest.json")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let tag = etag(&response);
        assert_eq!(tag, format!("\"sha256-{}\"", hex::encode(Sha256::digest(&manifest_bytes))), "a strong ETag");
        assert_eq!(response.headers()["cache-control"], "public, max-age=60");
        assert_eq!(response.bytes().await.unwrap().as_ref(), manifest_bytes.as_slice());

        let revalidated = client.get(url("/v1/manifest.json")).header("if-none-match", &tag).send().await.unwrap();
        assert_eq!(revalidated.status(), 304);
        assert_eq!(etag(&revalidated), tag);
        assert!(revalidated.bytes().await.unwrap().is_empty());

        let response = client.get(url(&format!("/v1/{hashed}"))).send().await.unwrap();
        assert_eq!(response.status(), 200, "{hashed}");
        assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
        let hashed_tag = etag(&response);
        assert_eq!(response.bytes().await.unwrap().as_ref(), hashed_bytes.as_slice(), "the bytes in the bucket");

        let head = client.head(url(&format!("/v1/{hashed}"))).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(etag(&head), hashed_tag);
        assert_eq!(head.headers()["content-length"], hashed_bytes.len().to_string().as_str());
        assert!(head.bytes().await.unwrap().is_empty());

        let (status, body) = json_of(client.get(url("/ready")).send().await.unwrap()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["pack_version"].as_str(), Some(version.as_str()));

        let (status, body) = json_of(client.get(url("/v1/rules.0123456789abcdef.json")).send().await.unwrap()).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"));
        let (status, body) = json_of(client.get(url("/v1/history/x/manifest.json")).send().await.unwrap()).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"));
    });

    // A client verifies the pack the server serves from the bucket (blocking HTTP, from
    // this thread while the server runs on the runtime's workers).
    let source = HttpSource::new(&url("/v1/"), Duration::from_secs(30));
    let verified = Verifier::new(root, Timestamp::now(), State::default()).verify(&source).unwrap();
    assert_eq!(verified.pack_version, version);
    assert_eq!(verified.files["manifest.json"], manifest_bytes);
    assert_eq!(verified.files[&hashed], hashed_bytes);

    let _ = stop.send(());
    runtime.block_on(task).unwrap();
}
