//! The CAPTCHA challenge against a local fake of the siteverify endpoint (hCaptcha and
//! Turnstile document the same protocol): `POST` form `secret`, `response`, `remoteip`;
//! answer `{"success": bool, "error-codes": [...]}`.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use ferretwatch_server::captcha::{CaptchaVerifier, SiteVerify, Verdict};
use secrecy::SecretString;
use serde_json::json;
use support::{error_code, json_of, report_body, spawn_with};

/// The fake endpoint's behaviour, chosen by the response token the client sends.
#[derive(Clone, Default)]
struct Fake {
    seen: Arc<Mutex<Vec<String>>>,
}

async fn siteverify(State(fake): State<Fake>, body: String) -> Response {
    fake.seen.lock().unwrap().push(body.clone());
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if field("secret").as_deref() != Some("site-secret") {
        return axum::Json(json!({"success": false, "error-codes": ["invalid-input-secret"]})).into_response();
    }
    match field("response").as_deref() {
        Some("good") => axum::Json(json!({"success": true, "hostname": "ext", "error-codes": []})).into_response(),
        Some("expired") => {
            axum::Json(json!({"success": false, "error-codes": ["timeout-or-duplicate"]})).into_response()
        }
        Some("slow") => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            axum::Json(json!({"success": true})).into_response()
        }
        Some("broken") => (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response(),
        Some("garbage") => "<html>".into_response(),
        None => axum::Json(json!({"success": false, "error-codes": ["missing-input-response"]})).into_response(),
        Some(_) => axum::Json(json!({"success": false, "error-codes": ["invalid-input-response"]})).into_response(),
    }
}

async fn fake_endpoint() -> (String, Fake) {
    let fake = Fake::default();
    let app = axum::Router::new().route("/siteverify", post(siteverify)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/siteverify"), fake)
}

fn verifier(url: &str, secret: &str) -> SiteVerify {
    let _ = rustls::crypto::ring::default_provider().install_default();
    SiteVerify::new(url, SecretString::from(secret), Duration::from_millis(500)).unwrap()
}

#[tokio::test]
async fn the_verifier_maps_each_documented_answer() {
    let (url, fake) = fake_endpoint().await;
    let v = verifier(&url, "site-secret");
    let ip = Some("203.0.113.5".parse().unwrap());
    assert_eq!(v.verify("good", ip).await, Verdict::Passed);
    assert_eq!(v.verify("expired", ip).await, Verdict::Failed(vec!["timeout-or-duplicate".into()]));
    assert_eq!(v.verify("nonsense", None).await, Verdict::Failed(vec!["invalid-input-response".into()]));
    assert!(matches!(v.verify("broken", ip).await, Verdict::Unavailable(why) if why.contains("500")));
    assert!(matches!(v.verify("garbage", ip).await, Verdict::Unavailable(_)));
    assert!(matches!(v.verify("slow", ip).await, Verdict::Unavailable(why) if why.contains("timed out")));
    let wrong = verifier(&url, "not-the-secret");
    assert_eq!(wrong.verify("good", ip).await, Verdict::Failed(vec!["invalid-input-secret".into()]));
    let unreachable = verifier("http://127.0.0.1:9/siteverify", "site-secret");
    assert!(matches!(unreachable.verify("good", ip).await, Verdict::Unavailable(_)));
    let first = fake.seen.lock().unwrap()[0].clone();
    assert!(first.contains("secret=site-secret") && first.contains("response=good"));
    assert!(first.contains("remoteip=203.0.113.5"), "{first}");
}

#[tokio::test]
async fn above_the_soft_limit_a_report_needs_a_captcha_that_passes() {
    let (url, _fake) = fake_endpoint().await;
    let verifier: Arc<dyn CaptchaVerifier> = Arc::new(verifier(&url, "site-secret"));
    let app = spawn_with(
        |s| {
            s.captcha.after_per_minute = 2;
            s.limits.ip_per_minute = 20;
            s.limits.install_per_minute = 20;
        },
        Some(verifier),
    )
    .await;
    // The install takes the first of the two unchallenged requests.
    let token = app.install_token().await;
    let (status, _) = json_of(app.post_report(&token, &report_body("https://e.example/0")).await).await;
    assert_eq!(status, 201);

    let (status, body) = json_of(app.post_report(&token, &report_body("https://e.example/1")).await).await;
    assert_eq!((status, error_code(&body)), (403, "captcha_required"));

    let with = |captcha: &str| {
        let mut body = report_body("https://e.example/2");
        body["captcha_token"] = json!(captcha);
        body
    };
    let (status, body) = json_of(app.post_report(&token, &with("expired")).await).await;
    assert_eq!((status, error_code(&body)), (403, "captcha_failed"));
    assert!(body["error"]["message"].as_str().unwrap().contains("timeout-or-duplicate"));

    let response = app.post_report(&token, &with("broken")).await;
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = json_of(response).await;
    assert_eq!((status, error_code(&body)), (503, "captcha_unavailable"), "fail closed");

    let (status, body) = json_of(app.post_report(&token, &with("good")).await).await;
    assert_eq!(status, 201, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn without_a_configured_verifier_no_captcha_is_asked() {
    let app = spawn_with(|s| s.captcha.after_per_minute = 1, None).await;
    let token = app.install_token().await;
    for i in 0..3 {
        let response = app.post_report(&token, &report_body(&format!("https://f.example/{i}"))).await;
        assert_eq!(response.status(), 201);
    }
    app.stop().await;
}
