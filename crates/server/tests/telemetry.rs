//! The client telemetry intake over real HTTP: aggregates are counted into the metrics,
//! anything that could identify someone is refused with the reason, bounds are enforced,
//! and one install is limited to 12 bodies an hour. (One test: the metrics recorder is
//! the process's, so two tests counting at once would see each other's counts.)

mod support;

use serde_json::{json, Value};
use support::{error_code, json_of, spawn_with, TestApp};

fn body() -> Value {
    json!({
        "format": 1,
        "period_seconds": 3600,
        "extension_version": "1.4.2",
        "sessions": 10,
        "crashes": 1,
        "page_loads": 500,
        "detections": {"green": 480, "yellow": 12, "red": 3},
        "detection_failures": 5,
        "detection_latency_ms": {"10": 400, "50": 80, "100": 10, "250": 5},
        "errors": {"pack_download": 2},
        "false_positive_reports": 1,
        "pack_age_seconds": 7200,
        "memory_peak_mb": 140,
        "cpu_mean_percent": 2.5
    })
}

async fn send(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let response = app.post_json("/v1/telemetry", token, body).await;
    let status = response.status().as_u16();
    if status == 204 {
        return (204, Value::Null);
    }
    json_of(response).await
}

fn metric(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start).map(|v| v.trim().parse::<f64>().unwrap()))
        .unwrap_or_else(|| panic!("{line_start}: {text}"))
}

#[tokio::test]
async fn aggregates_are_counted_and_identifying_or_out_of_bounds_bodies_are_refused() {
    let app = spawn_with(
        |s| {
            s.limits.ip_per_minute = 1000;
            s.limits.ip_per_day = 100_000;
        },
        None,
    )
    .await;
    let token = app.install_token().await;
    assert_eq!(send(&app, Some(&token), &body()).await.0, 204);
    let text = app.metrics().await;
    assert_eq!(metric(&text, "ferretwatch_client_sessions_total "), 10.0);
    assert_eq!(metric(&text, "ferretwatch_client_crashes_total "), 1.0);
    assert_eq!(metric(&text, "ferretwatch_client_page_loads_total "), 500.0);
    assert_eq!(metric(&text, "ferretwatch_client_detections_total{level=\"red\"} "), 3.0);
    assert_eq!(metric(&text, "ferretwatch_client_errors_total{kind=\"pack_download\"} "), 2.0);
    assert_eq!(metric(&text, "ferretwatch_client_detection_latency_ms_bucket{le=\"100\"} "), 490.0, "cumulative");
    assert_eq!(metric(&text, "ferretwatch_client_detection_latency_ms_bucket{le=\"+Inf\"} "), 495.0);
    assert_eq!(metric(&text, "ferretwatch_client_pack_age_hours_bucket{le=\"6\"} "), 1.0);
    assert_eq!(metric(&text, "ferretwatch_client_memory_reports_total{over_budget=\"true\"} "), 1.0);
    assert_eq!(metric(&text, "ferretwatch_client_cpu_reports_total{over_budget=\"false\"} "), 1.0);

    // Refused, with the reason.
    let (status, body401) = send(&app, None, &body()).await;
    assert_eq!((status, error_code(&body401)), (401, "install_token_required"));
    let mut with_url = body();
    with_url["url"] = json!("https://bank.example/login");
    let (status, refused) = send(&app, Some(&token), &with_url).await;
    assert_eq!(status, 422, "an identifying field is refused: {refused}");
    assert!(refused.to_string().contains("url"), "{refused}");
    for (field, value, why) in [
        ("crashes", json!(11), "crashes"),
        ("page_loads", json!(10), "page_loads"),
        ("errors", json!({"keylogger": 1}), "unknown key"),
        ("extension_version", json!("1.4"), "MAJOR.MINOR.PATCH"),
        ("period_seconds", json!(5), "period_seconds"),
        ("sessions", json!(10_000_001), "at most"),
        ("cpu_mean_percent", json!(-1.0), "cpu_mean_percent"),
    ] {
        let mut bad = body();
        bad[field] = value;
        let (status, answer) = send(&app, Some(&token), &bad).await;
        assert_eq!(status, 422, "{field}: {answer}");
        assert!(answer.to_string().contains(why), "{field}: {answer}");
    }
    let not_json = app
        .client
        .post(app.url("/v1/telemetry"))
        .header("content-type", "application/json")
        .header("x-install-token", &token)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    // Nothing refused was counted.
    assert_eq!(metric(&app.metrics().await, "ferretwatch_client_sessions_total "), 10.0);

    // One install sends at most 12 bodies an hour (refused ones count: the limit is
    // checked before the body is read), so a fresh install for this part.
    let token = app.install_token().await;
    for i in 0..12 {
        assert_eq!(send(&app, Some(&token), &body()).await.0, 204, "body {i}");
    }
    let (status, answer) = send(&app, Some(&token), &body()).await;
    assert_eq!((status, error_code(&answer)), (429, "rate_limited"), "{answer}");
    let other = app.install_token().await;
    assert_eq!(send(&app, Some(&other), &body()).await.0, 204, "another install is not limited by the first");
    assert_eq!(metric(&app.metrics().await, "ferretwatch_client_sessions_total "), 140.0);
    app.stop().await;
}
