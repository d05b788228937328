//! The report API: install tokens, validation, limits, storage.

mod support;

use ferretwatch_store::{ReportId, UrlHash};
use serde_json::{json, Value};
use support::{error_code, json_of, report_body, spawn_app, spawn_with};

fn raise_limits(s: &mut ferretwatch_server::Settings) {
    s.limits.ip_per_minute = 1000;
    s.limits.ip_per_day = 100_000;
    s.limits.install_per_minute = 1000;
    s.limits.install_per_day = 100_000;
}

#[tokio::test]
async fn an_accepted_report_is_committed_and_deduplicated_by_url() {
    let app = spawn_app().await;
    let token = app.install_token().await;
    let (status, body) = json_of(app.post_report(&token, &report_body("HTTPS://Paypa1.example/login#x")).await).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["url"], "https://paypa1.example/login");
    assert_eq!(body["first_report"], true);
    let stored = app.state.store.get_report(ReportId(body["id"].as_i64().unwrap())).await.unwrap();
    assert_eq!(stored.url, "https://paypa1.example/login");
    assert_eq!(stored.score, 87);
    assert_eq!(stored.findings.len(), 2);
    assert_eq!(stored.install_token_id.as_deref(), Some(&token[..32]));
    assert_eq!(stored.client_net.as_deref(), Some("127.0.0.0/24"));

    let (status, again) = json_of(app.post_report(&token, &report_body("https://paypa1.example/login")).await).await;
    assert_eq!(status, 201);
    assert_eq!((again["first_report"].as_bool(), again["report_count"].as_i64()), (Some(false), Some(2)));
    let entry = app.state.store.get_moderation(&UrlHash::from_hex(body["url_hash"].as_str().unwrap()).unwrap()).await;
    assert_eq!(entry.unwrap().report_count, 2);
    app.stop().await;
}

#[tokio::test]
async fn a_false_positive_is_stored_as_such() {
    let app = spawn_app().await;
    let token = app.install_token().await;
    let mut body = report_body("https://bank.example/");
    body["score"] = json!(72);
    let (status, accepted) = json_of(app.post_json("/v1/false-positive", Some(&token), &body).await).await;
    assert_eq!(status, 201, "{accepted}");
    let stored = app.state.store.get_report(ReportId(accepted["id"].as_i64().unwrap())).await.unwrap();
    assert_eq!(stored.kind, ferretwatch_store::ReportKind::FalsePositive);
    app.stop().await;
}

#[tokio::test]
async fn report_without_install_token_is_rejected_with_401() {
    let app = spawn_app().await;
    let (status, body) = json_of(app.post_json("/v1/report", None, &report_body("https://a.example/")).await).await;
    assert_eq!((status, error_code(&body)), (401, "install_token_required"));
    let forged = format!("{}.99999999999.{}", "0".repeat(32), "0".repeat(64));
    let (status, body) = json_of(app.post_report(&forged, &report_body("https://a.example/")).await).await;
    assert_eq!((status, error_code(&body)), (401, "install_token_invalid"));
    app.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_a_json_4xx_naming_the_problem() {
    let app = spawn_with(raise_limits, None).await;
    let token = app.install_token().await;
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (json!({"url": "https://a.example/"}), 422, "invalid_body", "missing field"),
        (merge(json!({"reason": "spam"})), 422, "invalid_body", "unknown variant"),
        (merge(json!({"reason": "other"})), 422, "invalid_field", "reason_text"),
        (merge(json!({"reason": "other", "reason_text": "x".repeat(201)})), 422, "invalid_field", "reason_text"),
        (merge(json!({"url": "https://*.paypal.com/"})), 422, "invalid_field", "url"),
        (merge(json!({"url": "paypal.com"})), 422, "invalid_field", "url"),
        (merge(json!({"url": "ftp://paypal.com/x"})), 422, "invalid_field", "url"),
        (merge(json!({"score": 101})), 422, "invalid_field", "score"),
        (merge(json!({"score": 50.5})), 422, "invalid_body", "score"),
        (merge(json!({"timestamp": "yesterday"})), 422, "invalid_field", "timestamp"),
        (merge(json!({"timestamp": "2999-01-01T00:00:00Z"})), 422, "invalid_field", "future"),
        (merge(json!({"pack_version": "2026.1.2"})), 422, "invalid_field", "pack_version"),
        (merge(json!({"screenshot_hash": "abc"})), 422, "invalid_field", "screenshot_hash"),
        (merge(json!({"findings": vec![json!({"key": "k", "evidence": ""}); 11]})), 422, "invalid_field", "findings"),
        (merge(json!({"findings": [{"key": "k", "evidence": "e".repeat(501)}]})), 422, "invalid_field", "evidence"),
        (merge(json!({"email": "someone@example.com"})), 422, "invalid_body", "unknown field"),
        (json!([1, 2]), 422, "invalid_body", ""),
    ];
    for (body, want_status, want_code, needle) in cases {
        let (status, answer) = json_of(app.post_report(&token, &body).await).await;
        assert_eq!((status, error_code(&answer)), (want_status, want_code), "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }

    let send = |content_type: &'static str, body: Vec<u8>| {
        app.client
            .post(app.url("/v1/report"))
            .header("x-install-token", &token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let (status, body) = json_of(send("application/json", b"{\"url\":".to_vec()).await.unwrap()).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_json"));
    let (status, body) = json_of(send("text/plain", b"{}".to_vec()).await.unwrap()).await;
    assert_eq!((status, error_code(&body)), (415, "unsupported_media_type"));
    let mut big = report_body("https://a.example/");
    big["reason_text"] = json!("x".repeat(11 * 1024));
    let (status, body) = json_of(send("application/json", serde_json::to_vec(&big).unwrap()).await.unwrap()).await;
    assert_eq!((status, error_code(&body)), (413, "payload_too_large"));
    app.stop().await;
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_refused_with_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let token = app.install_token().await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /v1/report HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nX-Install-Token: {token}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..2 {
        stream.write_all(b"2000\r\n").await.unwrap();
        stream.write_all(&[b' '; 0x2000]).await.unwrap();
        stream.write_all(b"\r\n").await.unwrap();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    app.stop().await;
}

fn merge(over: Value) -> Value {
    let mut body = report_body("https://a.example/login");
    for (k, v) in over.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn an_install_token_gets_three_reports_a_minute_then_429_with_retry_after() {
    let app = spawn_app().await;
    let token = app.install_token().await;
    for i in 0..3 {
        let response = app.post_report(&token, &report_body(&format!("https://a.example/{i}"))).await;
        assert_eq!(response.status(), 201);
    }
    let response = app.post_report(&token, &report_body("https://a.example/4")).await;
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    let (status, body) = json_of(response).await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"));
    assert!(app.metrics().await.contains("ferretwatch_rate_limited_total{scope=\"install_token\"}"));
    app.stop().await;
}

#[tokio::test]
async fn an_ip_gets_five_requests_a_minute_then_429() {
    let app = spawn_app().await;
    let first = app.install_token().await;
    let second = app.install_token().await;
    for (i, token) in [&first, &first, &second].iter().enumerate() {
        let response = app.post_report(token, &report_body(&format!("https://b.example/{i}"))).await;
        assert_eq!(response.status(), 201);
    }
    let response = app.client.post(app.url("/v1/install")).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let (_, body) = json_of(response).await;
    assert_eq!(error_code(&body), "rate_limited");
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    let app = spawn_with(|s| s.trust_forwarded_for = true, None).await;
    for i in 0..5 {
        let response = app
            .client
            .post(app.url("/v1/install"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let token = app.install_token().await;
    let response = app
        .client
        .post(app.url("/v1/report"))
        .header("x-install-token", &token)
        .header("x-forwarded-for", "10.0.0.1, 203.0.113.9")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&report_body("https://c.example/")).unwrap())
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, 201, "{body}");
    let stored = app.state.store.get_report(ReportId(body["id"].as_i64().unwrap())).await.unwrap();
    assert_eq!(stored.client_net.as_deref(), Some("203.0.113.0/24"));
    app.stop().await;
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_trusted() {
    let app = spawn_app().await;
    for i in 0..5 {
        let response = app
            .client
            .post(app.url("/v1/install"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let response =
        app.client.post(app.url("/v1/install")).header("x-forwarded-for", "198.51.100.77").send().await.unwrap();
    assert_eq!(response.status(), 429);
    app.stop().await;
}

#[tokio::test]
async fn counters_record_accepted_and_rejected_reports_by_reason() {
    let app = spawn_app().await;
    let token = app.install_token().await;
    app.post_report(&token, &report_body("https://d.example/")).await;
    app.post_report(&token, &json!({"url": 1})).await;
    let text = app.metrics().await;
    assert!(text.contains("ferretwatch_reports_accepted_total{kind=\"report\"}"), "{text}");
    assert!(text.contains("ferretwatch_reports_rejected_total{kind=\"report\",reason=\"invalid_body\"}"), "{text}");
    app.stop().await;
}

/// Sends raw HTTP/1.1 on one connection and reads one response head; returns the status
/// and whether it says `Connection: close`.
async fn raw_exchange(stream: &mut tokio::net::TcpStream, request: &[u8]) -> (u16, bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before a response");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = &text[..end].to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                let status = head[9..12].parse().unwrap();
                return (status, head.lines().any(|l| l == "connection: close"));
            }
        }
    }
}

#[tokio::test]
async fn a_refused_small_body_keeps_the_connection_and_an_unread_one_says_close() {
    let app = spawn_with(|s| s.limits.ip_per_minute = 1, None).await;
    let token = app.install_token().await; // spends the address's one request
    let body = serde_json::to_string(&report_body("https://keep.example/")).unwrap();
    let request = format!(
        "POST /v1/report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Install-Token: {token}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    // Refused by the limit, body read and dropped: the same connection serves again.
    for _ in 0..3 {
        assert_eq!(raw_exchange(&mut stream, request.as_bytes()).await, (429, false));
    }
    // A refusal whose declared body is not there (or too large to drain): Connection: close,
    // and the server closes.
    let partial = format!(
        "POST /v1/report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Install-Token: {token}\r\n\
         Content-Length: 9000\r\n\r\n{{\"url\":"
    );
    assert_eq!(raw_exchange(&mut stream, partial.as_bytes()).await, (429, true));
    use tokio::io::AsyncReadExt;
    let mut rest = [0u8; 16];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "the server closed the connection");
    app.stop().await;
}

/// Saves a console policy as an Admin would (with its audit entry) and applies it.
async fn set_policy(app: &support::TestApp, key: &str, value: &str) {
    let entry = ferretwatch_store::NewAuditEntry {
        at: ferretwatch_types::Timestamp::now(),
        actor: "test".into(),
        action: "settings.changed".into(),
        target: "policies".into(),
        details: json!({}),
    };
    let values = vec![(key.to_owned(), value.to_owned())];
    app.state.store.put_settings(&values, entry.at, "test", app.state.console.audited(&entry)).await.unwrap();
    ferretwatch_server::console::policies::reload(&app.state).await.unwrap();
}

/// Reports of one kind about one URL are limited per hour (the console's policy), so a
/// coordinated campaign stops being stored; other URLs and the other kind are unaffected.
#[tokio::test]
async fn reports_about_one_url_beyond_the_hourly_policy_are_refused_with_429() {
    let app = spawn_with(raise_limits, None).await;
    set_policy(&app, "reports.per_url_per_hour", "10").await;
    let url = "https://campaign.example.test/login";
    for i in 0..10 {
        let token = app.install_token().await;
        assert_eq!(app.post_report(&token, &report_body(url)).await.status(), 201, "report {i}");
    }
    let token = app.install_token().await;
    let (status, body) = json_of(app.post_report(&token, &report_body(url)).await).await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"));
    assert!(body["error"]["message"].as_str().unwrap().contains("about this URL"), "{body}");
    assert_eq!(app.post_report(&token, &report_body("https://other.example.test/")).await.status(), 201);
    let fp = app.post_json("/v1/false-positive", Some(&token), &report_body(url)).await;
    assert_eq!(fp.status(), 201, "false positives are counted apart");
    let entry =
        app.state.store.get_moderation(&ferretwatch_store::ReportUrl::parse(url).unwrap().hash()).await.unwrap();
    assert_eq!(entry.report_count, 11, "ten reports and the false positive, nothing refused stored");
    let metrics = app.metrics().await;
    assert!(metrics.contains("ferretwatch_rate_limited_total{scope=\"url\"} 1"), "{metrics}");
}

/// Correlated install tokens on one network (a farm) reporting one URL meet the
/// per-network policy before the URL's own limit: a fourth token from that network is
/// refused with 429 (`url_network`) while another network still reports the URL.
#[tokio::test]
async fn many_install_tokens_on_one_network_reporting_one_url_are_throttled_per_network() {
    let app = spawn_with(
        |s| {
            raise_limits(s);
            s.trust_forwarded_for = true;
        },
        None,
    )
    .await;
    set_policy(&app, "reports.per_url_per_network_per_hour", "3").await;
    let url = "https://farm-target.example.test/login";
    let report_from = |forwarded: &'static str, token: String| {
        app.client
            .post(app.url("/v1/report"))
            .header("content-type", "application/json")
            .header("x-install-token", token)
            .header("x-forwarded-for", forwarded)
            .body(serde_json::to_vec(&report_body(url)).unwrap())
            .send()
    };
    // Four tokens on 203.0.113.0/24 (the network the store keeps): the fourth is refused.
    for (i, addr) in ["203.0.113.5", "203.0.113.6", "203.0.113.7"].into_iter().enumerate() {
        let status = report_from(addr, app.install_token().await).await.unwrap().status();
        assert_eq!(status, 201, "report {i}");
    }
    let (status, body) = json_of(report_from("203.0.113.8", app.install_token().await).await.unwrap()).await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("from this network"), "{body}");
    // Another network reports the same URL; the refused report was not stored.
    assert_eq!(report_from("198.51.100.9", app.install_token().await).await.unwrap().status(), 201);
    let entry =
        app.state.store.get_moderation(&ferretwatch_store::ReportUrl::parse(url).unwrap().hash()).await.unwrap();
    assert_eq!(entry.report_count, 4);
    let metrics = app.metrics().await;
    assert!(metrics.contains("ferretwatch_rate_limited_total{scope=\"url_network\"} 1"), "{metrics}");
}
