//! The pack origin over HTTP: ETags, conditional requests, cache lifetimes, HEAD, gzip
//! and names that try to leave the origin.

mod support;

use std::io::Read;

use support::{error_code, json_of, spawn_app};

#[tokio::test]
async fn manifest_has_a_strong_etag_a_short_lifetime_and_answers_304_when_unchanged() {
    let app = spawn_app().await;
    let response = app.get("/v1/manifest.json").await;
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with("\"sha256-") && !etag.starts_with("W/"), "{etag}");
    assert_eq!(response.headers()["cache-control"], "public, max-age=60");
    assert_eq!(response.headers()["content-type"], "application/json");
    let bytes = response.bytes().await.unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(manifest["version"].is_string());

    let again = app.client.get(app.url("/v1/manifest.json")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());

    let other = app.client.get(app.url("/v1/manifest.json")).header("if-none-match", "\"sha256-00\"").send().await;
    assert_eq!(other.unwrap().status(), 200);
    let metrics = app.metrics().await;
    assert!(metrics.contains("ferretwatch_origin_responses_total{result=\"not_modified\"}"), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn content_addressed_files_are_immutable_and_tuf_metadata_is_served() {
    let app = spawn_app().await;
    let (_, manifest) = json_of(app.get("/v1/manifest.json").await).await;
    let name = manifest["files"][0]["name"].as_str().unwrap();
    let response = app.get(&format!("/v1/{name}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
    for meta in ["timestamp.json", "snapshot.json", "targets.json"] {
        let response = app.get(&format!("/v1/{meta}")).await;
        assert_eq!(response.status(), 200, "{meta}");
        assert_eq!(response.headers()["cache-control"], "public, max-age=60", "{meta}");
    }
    app.stop().await;
}

#[tokio::test]
async fn head_answers_the_headers_without_a_body() {
    let app = spawn_app().await;
    let response = app.client.head(app.url("/v1/timestamp.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("etag"));
    assert!(response.bytes().await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn gzip_is_offered_with_its_own_etag_and_either_tag_revalidates() {
    let app = spawn_app().await;
    let plain = app.get("/v1/targets.json").await;
    let plain_tag = plain.headers()["etag"].to_str().unwrap().to_owned();
    let plain_bytes = plain.bytes().await.unwrap();
    let gz = app.client.get(app.url("/v1/targets.json")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let gz_tag = gz.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(gz_tag, format!("{}-gzip\"", plain_tag.trim_end_matches('"')));
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gz.bytes().await.unwrap()[..]).read_to_end(&mut decoded).unwrap();
    assert_eq!(decoded, plain_bytes);
    let revalidated = app
        .client
        .get(app.url("/v1/targets.json"))
        .header("accept-encoding", "gzip")
        .header("if-none-match", &gz_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    app.stop().await;
}

#[tokio::test]
async fn names_that_leave_the_origin_are_refused_and_missing_objects_are_404() {
    let app = spawn_app().await;
    for path in ["/v1/..%2Fdev-keys%2Froot.json", "/v1/a/%2E%2E/b", "/v1/x%5Cy", "/v1/a//b", "/v1/%ff", "/v1/a%00b"] {
        let (status, body) = json_of(app.get(path).await).await;
        assert!(status == 400 || status == 404, "{path}: {status}");
        error_code(&body);
    }
    let (status, body) = json_of(app.get("/v1/../install-secret").await).await;
    assert!(status == 400 || status == 404, "{status}");
    error_code(&body);
    let (status, body) = json_of(app.get("/v1/history/x/manifest.json").await).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let (status, body) = json_of(app.get("/v1/rules.0123456789abcdef.json").await).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    app.stop().await;
}

#[tokio::test]
async fn a_new_deploy_is_served_once_the_cache_revalidates() {
    let app = support::spawn_with(|s| s.server.revalidate_ms = 0, None).await;
    let first = app.get("/v1/bulletins/index.json").await;
    assert_eq!(first.status(), 404);
    std::fs::create_dir_all(app.data.join("origin/bulletins")).unwrap();
    std::fs::write(app.data.join("origin/bulletins/index.json"), b"{\"bulletins\":[]}").unwrap();
    let second = app.get("/v1/bulletins/index.json").await;
    assert_eq!(second.status(), 200);
    std::fs::write(app.data.join("origin/bulletins/index.json"), b"{\"bulletins\":[1]}").unwrap();
    let third = app.get("/v1/bulletins/index.json").await;
    assert_eq!(third.bytes().await.unwrap().as_ref(), b"{\"bulletins\":[1]}");
    app.stop().await;
}
