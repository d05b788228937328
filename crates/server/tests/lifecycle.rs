//! The data lifecycle over HTTP: a client's deletion request, and a report of a URL that
//! was deleted on request (410, not stored).

mod support;

use ferretwatch_store::{ForgetTarget, ReportId, ReportUrl};
use serde_json::json;
use support::{error_code, json_of, report_body, spawn_app, spawn_with};

fn raise_limits(s: &mut ferretwatch_server::Settings) {
    s.limits.ip_per_minute = 1000;
    s.limits.install_per_minute = 1000;
}

#[tokio::test]
async fn a_deletion_request_deletes_the_installs_past_reports_and_later_ones_are_kept() {
    let app = spawn_with(raise_limits, None).await;
    let mine = app.install_token().await;
    let theirs = app.install_token().await;
    let mut ids = Vec::new();
    for url in ["https://one.example/login", "https://two.example/pay"] {
        let (status, body) = json_of(app.post_report(&mine, &report_body(url)).await).await;
        assert_eq!(status, 201, "{body}");
        ids.push(ReportId(body["id"].as_i64().unwrap()));
    }
    let (_, body) = json_of(app.post_report(&theirs, &report_body("https://one.example/login")).await).await;
    let other = ReportId(body["id"].as_i64().unwrap());

    let (status, done) = json_of(app.post_json("/v1/deletion-request", Some(&mine), &json!({})).await).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "deleted");
    assert_eq!(done["reports_deleted"], 2);
    assert_eq!(done["repeated"], false);
    assert!(done["covers_until"].as_str().unwrap().ends_with('Z'));
    for id in ids {
        assert!(app.state.store.get_report(id).await.is_err(), "the install's report is gone");
    }
    app.state.store.get_report(other).await.expect("another install's report is kept");

    // Reporting again after the request is allowed and kept.
    let (status, body) = json_of(app.post_report(&mine, &report_body("https://three.example/")).await).await;
    assert_eq!(status, 201, "{body}");
    let later = ReportId(body["id"].as_i64().unwrap());
    let (status, again) = json_of(app.post_json("/v1/deletion-request", Some(&mine), &json!({})).await).await;
    assert_eq!((status, again["repeated"].as_bool()), (200, Some(true)));
    assert_eq!(again["reports_deleted"], 1, "a second request covers what came after the first");
    assert!(app.state.store.get_report(later).await.is_err());
    // One tombstone per install, keyed: the list names no token id.
    let tombstones = app.state.store.list_tombstones().await.unwrap();
    assert_eq!(tombstones.len(), 1);
    assert!(!tombstones[0].keyed_hash.to_hex().contains(&mine[..32]));
    app.stop().await;
}

#[tokio::test]
async fn a_deletion_request_without_a_valid_install_token_is_401() {
    let app = spawn_with(raise_limits, None).await;
    let (status, body) = json_of(app.post_json("/v1/deletion-request", None, &json!({})).await).await;
    assert_eq!((status, error_code(&body)), (401, "install_token_required"));
    let token = app.install_token().await;
    let forged = format!("{}0", &token[..token.len() - 1]);
    let forged = if forged == token { format!("{}1", &token[..token.len() - 1]) } else { forged };
    let (status, body) = json_of(app.post_json("/v1/deletion-request", Some(&forged), &json!({})).await).await;
    assert_eq!((status, error_code(&body)), (401, "install_token_invalid"));
    assert!(app.state.store.list_tombstones().await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_report_of_a_forgotten_url_is_410_gone_and_not_stored() {
    let app = spawn_app().await;
    let token = app.install_token().await;
    let url = "https://forgotten.example/signin";
    let (status, _) = json_of(app.post_report(&token, &report_body(url)).await).await;
    assert_eq!(status, 201);
    let hash = ReportUrl::parse(url).unwrap().hash();
    let state = &app.state;
    let done = state
        .store
        .forget(&state.tombstone_key, &ForgetTarget::Url(hash), "operator", ferretwatch_types::Timestamp::now())
        .await
        .unwrap();
    assert_eq!(done.reports_deleted, 1);
    let before = state.store.counts().await.unwrap();
    let (status, body) = json_of(app.post_report(&token, &report_body(url)).await).await;
    assert_eq!((status, error_code(&body)), (410, "gone"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("deleted on request"));
    assert_eq!(state.store.counts().await.unwrap(), before, "nothing stored");
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_deletion_request_and_the_410() {
    let app = spawn_app().await;
    let (_, doc) = json_of(app.get("/openapi.json").await).await;
    let path = &doc["paths"]["/v1/deletion-request"]["post"];
    assert!(path["responses"]["200"].is_object(), "{path}");
    assert!(path["responses"]["401"].is_object(), "{path}");
    assert!(doc["paths"]["/v1/report"]["post"]["responses"]["410"].is_object());
    app.stop().await;
}

#[tokio::test]
async fn deletion_requests_share_the_report_rate_limits() {
    let app = spawn_with(|s| s.limits.install_per_minute = 2, None).await;
    let token = app.install_token().await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(app.post_json("/v1/deletion-request", Some(&token), &json!({})).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
    app.stop().await;
}
