//! Health checks, readiness, the admin API's bearer authentication, metrics and the
//! OpenAPI document.

mod support;

use ferretwatch_store::{NewToken, TokenName, TokenRole};
use ferretwatch_types::Timestamp;
use serde_json::json;
use support::{error_code, json_of, spawn_app};

#[tokio::test]
async fn liveness_and_the_runbooks_post_health_answer_ok() {
    let app = spawn_app().await;
    let (status, body) = json_of(app.get("/health").await).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = json_of(app.post_json("/health", None, &json!({"check": "health"})).await).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let response = app.post_json("/health", None, &json!({"check": "other"})).await;
    let (status, body) = json_of(response).await;
    assert_eq!((status, error_code(&body)), (400, "unknown_check"));
    let raw = app.client.post(app.url("/health")).header("content-type", "application/json").body("{").send().await;
    let (status, body) = json_of(raw.unwrap()).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_json"));
    app.stop().await;
}

#[tokio::test]
async fn ready_reports_the_database_and_the_pack() {
    let app = spawn_app().await;
    let (status, body) = json_of(app.get("/ready").await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"], true);
    assert!(body["pack_version"].is_string());
    app.stop().await;
}

async fn token(app: &support::TestApp, role: TokenRole, name: &str) -> String {
    let issued = app
        .state
        .store
        .create_token(&NewToken { name: TokenName::parse(name).unwrap(), role, created_at: Timestamp::now() })
        .await
        .unwrap();
    issued.expose_secret().to_owned()
}

#[tokio::test]
async fn admin_health_needs_a_valid_token_of_a_role_that_may_read_it() {
    let app = spawn_app().await;
    let (status, body) = json_of(app.get("/api/health").await).await;
    assert_eq!((status, error_code(&body)), (401, "unauthenticated"));
    let bad = app.client.get(app.url("/api/health")).bearer_auth(format!("fwat_{}", "0".repeat(64))).send().await;
    let (status, body) = json_of(bad.unwrap()).await;
    assert_eq!((status, error_code(&body)), (401, "invalid_token"));

    let viewer = token(&app, TokenRole::Viewer, "ops-viewer").await;
    let ok = app.client.get(app.url("/api/health")).bearer_auth(&viewer).send().await.unwrap();
    let (status, body) = json_of(ok).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "viewer");
    assert_eq!(body["database"], "sqlite");

    let auditor = token(&app, TokenRole::Auditor, "audit").await;
    let denied = app.client.get(app.url("/api/health")).bearer_auth(&auditor).send().await.unwrap();
    let (status, body) = json_of(denied).await;
    assert_eq!((status, error_code(&body)), (403, "forbidden"));

    let record = app.state.store.find_token_by_hash(&ferretwatch_store::TokenHash::of_secret(&viewer)).await;
    let id = record.unwrap().unwrap().id;
    app.state.store.revoke_token(id, Timestamp::now()).await.unwrap();
    let revoked = app.client.get(app.url("/api/health")).bearer_auth(&viewer).send().await.unwrap();
    assert_eq!(revoked.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_given_one_is_kept() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    let response = app.client.get(app.url("/nowhere")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");
    let (status, body) = json_of(response).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    app.stop().await;
}

#[tokio::test]
async fn metrics_are_on_their_own_listener_in_prometheus_format() {
    let app = spawn_app().await;
    app.get("/health").await;
    let text = app.metrics().await;
    assert!(text.contains("ferretwatch_http_requests_total{"), "{text}");
    assert!(text.contains("route=\"/health\""), "{text}");
    assert!(text.contains("ferretwatch_http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("ferretwatch_db_pool_connections{state=\"max\"}"), "{text}");
    assert!(text.contains("ferretwatch_pack_info{version="), "{text}");
    // The service levels' labels and buckets, the database's answer and the process.
    assert!(text.contains("service=\"health\""), "{text}");
    app.get("/v1/manifest.json").await;
    let text = app.metrics().await;
    assert!(text.contains("service=\"packs\""), "{text}");
    assert!(text.contains("le=\"2\""), "a bucket at the 2 s pack download objective: {text}");
    assert!(text.contains("ferretwatch_store_up 1"), "{text}");
    let rss = text
        .lines()
        .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("process_resident_memory_bytes: {text}"));
    assert!(rss > 1_000_000.0, "{rss}");
    assert!(text.contains("process_cpu_seconds_total"), "{text}");
    assert_eq!(app.get("/metrics").await.status(), 404, "metrics are not on the API listener");
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let (status, doc) = json_of(app.get("/openapi.json").await).await;
    assert_eq!(status, 200);
    for path in [
        "/health",
        "/ready",
        "/api/health",
        "/v1/install",
        "/v1/report",
        "/v1/false-positive",
        "/v1/deletion-request",
        "/v1/{name}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let app = spawn_app().await;
    let (status, body) = json_of(app.get("/v1/report").await).await;
    assert!(status == 405 || status == 404, "{status}");
    error_code(&body);
    app.stop().await;
}

fn health_check(addrs: (std::net::SocketAddr, std::net::SocketAddr), token: Option<&str>) -> (i32, String) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/daily-health-check.sh");
    let mut command = std::process::Command::new("bash");
    command
        .arg(script)
        .env("FERRETWATCH_URL", format!("http://{}", addrs.0))
        .env("FERRETWATCH_METRICS_URL", format!("http://{}/metrics", addrs.1))
        .env("FERRETWATCH_HEALTH_WINDOW", "1")
        .env_remove("FERRETWATCH_PROMETHEUS_URL")
        .env_remove("ADMIN_TOKEN");
    if let Some(token) = token {
        command.env("ADMIN_TOKEN", token);
    }
    let out = command.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runbook 3.1 and 5.1: `daily-health-check.sh` against a running service passes the
/// three checks and the metrics they name, and fails (exit 1, naming what) without the
/// admin token or when the metrics listener does not answer. (The drill,
/// `scripts/incident-drill.sh`, runs it with the database down and a P1 firing.)
#[tokio::test]
async fn the_daily_health_check_passes_on_a_healthy_service_and_names_what_fails() {
    let app = spawn_app().await;
    let viewer = token(&app, TokenRole::Viewer, "health-check").await;
    app.get("/v1/manifest.json").await;
    let addrs = (app.addr, app.metrics_addr);
    let run =
        move |token: Option<String>, addrs| tokio::task::spawn_blocking(move || health_check(addrs, token.as_deref()));
    let (status, text) = run(Some(viewer.clone()), addrs).await.unwrap();
    assert_eq!(status, 0, "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("ok   ")).count(), 4, "{text}");
    assert!(text.contains("metrics: ") && text.contains("in 1 s, too few to judge"), "{text}");
    assert!(!text.contains(&viewer), "the token is never printed");

    let (status, text) = run(None, addrs).await.unwrap();
    assert_eq!(status, 1, "{text}");
    assert!(text.contains("FAIL admin API") && text.contains("ADMIN_TOKEN is not set"), "{text}");
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (status, text) = run(Some(viewer), (app.addr, nobody)).await.unwrap();
    assert_eq!(status, 1, "{text}");
    assert!(text.contains("FAIL metrics") && text.contains("does not answer"), "{text}");
    let help = std::process::Command::new("bash")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/daily-health-check.sh"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("FERRETWATCH_METRICS_URL"));
    app.stop().await;
}
