//! Graceful shutdown: a request in flight when the signal arrives still gets its answer,
//! and its report is committed.

mod support;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ferretwatch_server::captcha::{CaptchaVerifier, Verdict};
use serde_json::json;
use support::{json_of, report_body, spawn_with};

/// A verifier that takes its time, so that a request is surely in flight.
#[derive(Debug)]
struct Slow;

impl CaptchaVerifier for Slow {
    fn verify<'a>(
        &'a self,
        _token: &'a str,
        _ip: Option<IpAddr>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Verdict> + Send + 'a>> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_millis(700)).await;
            Verdict::Passed
        })
    }
}

#[tokio::test]
async fn a_request_in_flight_at_shutdown_is_answered_and_committed() {
    let app = spawn_with(|s| s.captcha.after_per_minute = 1, Some(Arc::new(Slow))).await;
    let token = app.install_token().await; // the one unchallenged request
    let mut body = report_body("https://inflight.example/");
    body["captcha_token"] = json!("anything");
    let request = app
        .client
        .post(app.url("/v1/report"))
        .header("content-type", "application/json")
        .header("x-install-token", &token)
        .body(serde_json::to_vec(&body).unwrap())
        .send();
    let stopper = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        app.stop().await;
    };
    let (response, ()) = tokio::join!(request, stopper);
    let (status, accepted) = json_of(response.expect("an answer, not a dropped connection")).await;
    assert_eq!(status, 201, "{accepted}");
}
