//! Incidents over real HTTP: Alertmanager's webhook opens and updates one incident per
//! alert group, the status page follows it, an unacknowledged incident escalates at its
//! (shortened) response time and the notification webhook hears of it, and an
//! acknowledged one stops escalating.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use ferretwatch_store::{IncidentChange, IncidentId, IncidentState, Priority};
use ferretwatch_types::Timestamp;
use serde_json::{json, Value};
use support::{json_of, spawn_with, TestApp};

const TOKEN: &str = "alertmanager-webhook-token-0123456789abcdef";

/// A Slack-compatible webhook that records what it is sent.
async fn notify_sink() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: String| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn batch(status: &str, group: &str, alertname: &str, priority: &str) -> Value {
    json!({
        "version": "4",
        "status": status,
        "receiver": "ferretwatch",
        "groupKey": group,
        "groupLabels": {"alertname": alertname},
        "commonLabels": {"alertname": alertname, "priority": priority},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": status,
            "labels": {"alertname": alertname, "priority": priority, "instance": "127.0.0.1:18081", "job": "ferretwatch"},
            "annotations": {"summary": "The database does not answer; <script>alert(1)</script>"},
            "startsAt": "2026-12-05T02:00:00.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph",
            "fingerprint": "abc"
        }]
    })
}

async fn send(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = app.client.post(app.url("/api/alerts")).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    json_of(request.body(body.to_string()).send().await.unwrap()).await
}

#[tokio::test]
async fn an_alert_opens_a_p1_that_shows_on_the_status_page_escalates_and_stops_when_acknowledged() {
    let (hook, heard) = notify_sink().await;
    let app = spawn_with(
        |s| {
            s.incidents.webhook_token = Some(TOKEN.to_owned().into());
            s.incidents.notify_url = Some(hook);
            s.incidents.escalation_check_secs = 1;
            s.incidents.response_secs = [2, 3600, 3600, 3600];
        },
        None,
    )
    .await;
    let down = batch("firing", "{}:{alertname=\"FerretWatchDatabaseDown\"}", "FerretWatchDatabaseDown", "P1");
    // Refused: no token, a wrong one, a body that is not JSON or not a batch.
    assert_eq!(send(&app, None, &down).await.0, 401);
    assert_eq!(send(&app, Some("wrong-token"), &down).await.0, 401);
    let bad = app
        .client
        .post(app.url("/api/alerts"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let (status, body) = send(&app, Some(TOKEN), &json!({"status": "burning", "groupKey": "g", "alerts": []})).await;
    assert_eq!(status, 422, "{body}");
    let before = json_of(app.get("/status.json").await).await.1;
    assert_eq!(before["status"], "operational");

    // Firing: a P1 opens; the same group again updates it.
    let (status, first) = send(&app, Some(TOKEN), &down).await;
    assert_eq!((status, first["opened"].as_bool()), (200, Some(true)), "{first}");
    let (_, again) = send(&app, Some(TOKEN), &down).await;
    assert_eq!((again["incident"].clone(), again["opened"].as_bool()), (first["incident"].clone(), Some(false)));
    let id = IncidentId(first["incident"].as_i64().unwrap());
    let incident = app.state.incidents.get_incident(id).await.unwrap();
    assert_eq!((incident.priority, incident.state), (Priority::P1, IncidentState::Open));
    assert_eq!(incident.detected_at, Timestamp::parse("2026-12-05T02:00:00Z").unwrap());

    // The status page: every service is down (the incident names none), and the alert's
    // text stays text.
    let page = json_of(app.get("/status.json").await).await.1;
    assert_eq!(page["status"], "outage", "{page}");
    assert!(page["services"].as_array().unwrap().iter().all(|s| s["status"] == "outage"), "{page}");
    let html = app.get("/status").await;
    assert!(html.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let html = html.text().await.unwrap();
    assert!(html.contains("id=\"service-reports\">outage<"), "{html}");
    assert!(!html.contains("<script>"), "{html}");

    // Nobody acknowledges within 2 s: it escalates, and the webhook hears of it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app.state.incidents.get_incident(id).await.unwrap().escalations == 0 {
        assert!(std::time::Instant::now() < deadline, "no escalation within 10 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let said = heard.lock().unwrap().clone();
    assert!(said.iter().any(|m| m.contains("opened") && m.contains("[P1]")), "{said:?}");
    assert!(said.iter().any(|m| m.contains("ESCALATION 1")), "{said:?}");
    let texts: Vec<Value> = said.iter().map(|m| serde_json::from_str(m).unwrap()).collect();
    assert!(texts.iter().all(|t| t["text"].is_string()), "Slack-compatible JSON: {said:?}");

    // Acknowledged: no further escalation.
    let acked = app.state.incidents.change_incident(id, &IncidentChange::Acknowledge, "oncall", Timestamp::now()).await;
    let escalations = acked.unwrap().escalations;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(app.state.incidents.get_incident(id).await.unwrap().escalations, escalations);

    // Resolved by Alertmanager: a timeline line only; resolved by the engineer: operational.
    let resolved = batch("resolved", "{}:{alertname=\"FerretWatchDatabaseDown\"}", "FerretWatchDatabaseDown", "P1");
    assert_eq!(send(&app, Some(TOKEN), &resolved).await.1["incident"].as_i64(), Some(id.0));
    let events = app.state.incidents.incident_events(id).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "alert_resolved"), "{events:?}");
    assert!(events.iter().any(|e| e.kind == "escalated"), "{events:?}");
    // Incidents live in their own database, not the service's.
    assert!(app.state.store.get_incident(id).await.is_err());
    app.state
        .incidents
        .change_incident(id, &IncidentChange::Resolve("restarted".into()), "oncall", Timestamp::now())
        .await
        .unwrap();
    let page = json_of(app.get("/status.json").await).await.1;
    assert_eq!(page["status"], "operational", "{page}");
    app.stop().await;
}

#[tokio::test]
async fn without_a_webhook_token_the_route_does_not_exist_and_a_service_alert_degrades_that_service_only() {
    let app = spawn_with(|_| {}, None).await;
    let down = batch("firing", "g", "FerretWatchDatabaseDown", "P1");
    assert_eq!(send(&app, Some(TOKEN), &down).await.0, 404);
    app.stop().await;

    let app = spawn_with(|s| s.incidents.webhook_token = Some(TOKEN.to_owned().into()), None).await;
    let mut slow =
        batch("firing", "{}:{alertname=\"FerretWatchPackDownloadSlow\"}", "FerretWatchPackDownloadSlow", "P3");
    slow["commonLabels"]["service"] = json!("packs");
    assert_eq!(send(&app, Some(TOKEN), &slow).await.0, 200);
    let page = json_of(app.get("/status.json").await).await.1;
    let of = |name: &str| {
        page["services"].as_array().unwrap().iter().find(|s| s["service"] == name).unwrap()["status"].clone()
    };
    assert_eq!(
        (of("packs"), of("reports"), page["status"].clone()),
        (json!("degraded"), json!("operational"), json!("degraded"))
    );
    app.stop().await;
}

/// A real SMTP server on loopback (Python's aiosmtpd, which `scripts/test.sh` installs)
/// delivering into a Maildir; killed on drop.
struct SmtpServer {
    child: std::process::Child,
    maildir: tempfile::TempDir,
    port: u16,
}

impl SmtpServer {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let maildir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                let mut why = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut why).unwrap();
                panic!("the SMTP server (python3 -m aiosmtpd; scripts/test.sh installs it) exited {status}: {why}");
            }
            assert!(std::time::Instant::now() < deadline, "the SMTP server did not listen within 15 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        SmtpServer { child, maildir, port }
    }

    /// The messages delivered so far.
    fn messages(&self) -> Vec<String> {
        let new = self.maildir.path().join("mail").join("new");
        let Ok(entries) = std::fs::read_dir(new) else { return Vec::new() };
        entries.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn an_opened_and_an_escalated_incident_are_emailed_through_a_real_smtp_server() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with(
        |s| {
            s.incidents.webhook_token = Some(TOKEN.to_owned().into());
            s.incidents.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port).into());
            s.incidents.email_to = Some("oncall@example.org, Team Lead <lead@example.org>".into());
            s.incidents.email_from = Some("FerretWatch <ferretwatch@example.org>".into());
            s.incidents.escalation_check_secs = 1;
            s.incidents.response_secs = [2, 3600, 3600, 3600];
        },
        None,
    )
    .await;
    let down = batch("firing", "{}:{alertname=\"FerretWatchDatabaseDown\"}", "FerretWatchDatabaseDown", "P1");
    let (status, first) = send(&app, Some(TOKEN), &down).await;
    assert_eq!(status, 200, "{first}");
    let id = IncidentId(first["incident"].as_i64().unwrap());
    let reference = app.state.incidents.get_incident(id).await.unwrap().reference();

    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mail = loop {
        let mail = smtp.messages();
        if mail.len() >= 2 {
            break mail;
        }
        assert!(std::time::Instant::now() < deadline, "two messages within 15 s, got {mail:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let subject = |m: &String| m.lines().find(|l| l.starts_with("Subject: ")).unwrap_or_default().to_owned();
    let opened = mail.iter().find(|m| subject(m).contains("opened")).expect("the opening");
    assert!(subject(opened).contains(&format!("[P1] {reference} opened: FerretWatchDatabaseDown")), "{opened}");
    assert!(opened.contains("From: FerretWatch <ferretwatch@example.org>"), "{opened}");
    assert!(opened.contains("oncall@example.org") && opened.contains("lead@example.org"), "{opened}");
    assert!(opened.contains("/status"), "the status page is named: {opened}");
    let escalated = mail.iter().find(|m| subject(m).contains("ESCALATION 1")).expect("the escalation");
    assert!(escalated.contains(&format!("ferretwatch incident ack {reference}")), "{escalated}");
    app.stop().await;
}
