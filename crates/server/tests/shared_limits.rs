//! Rate limits shared through Redis: two instances give a client the configured budget in
//! total, and losing Redis degrades to per-instance limits (never to none, never to
//! refusing everything), then recovers.
//!
//! The shared tests use the Redis at `FERRETWATCH_TEST_REDIS` (default
//! `redis://127.0.0.1:6379`) under a fresh key prefix, and fail when it is unreachable;
//! with `FERRETWATCH_SKIP_REDIS=1` they are reported as ignored. The outage test starts
//! its own `redis-server` on a free port and kills it.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::spawn_with;

fn redis_url() -> String {
    let url = std::env::var("FERRETWATCH_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_connection_with_timeout(Duration::from_secs(2)).unwrap_or_else(|e| {
        panic!(
            "Redis is not reachable at {url} ({e}). Start it (redis-server --daemonize yes), point \
             FERRETWATCH_TEST_REDIS elsewhere, or set FERRETWATCH_SKIP_REDIS=1 to skip these tests."
        )
    });
    let pong: String = redis::cmd("PING").query(&mut conn).unwrap();
    assert_eq!(pong, "PONG");
    url
}

fn fresh_prefix() -> String {
    let mut random = [0u8; 6];
    getrandom::getrandom(&mut random).unwrap();
    format!("fwtest:{}:", hex::encode(random))
}

/// Sends `POST /v1/install` as client `ip` (through a trusted X-Forwarded-For).
async fn install_as(app: &support::TestApp, ip: &str) -> u16 {
    app.client.post(app.url("/v1/install")).header("x-forwarded-for", ip).send().await.unwrap().status().as_u16()
}

#[tokio::test]
#[cfg_attr(skip_redis, ignore = "FERRETWATCH_SKIP_REDIS=1")]
async fn two_instances_sharing_redis_give_a_client_its_budget_in_total() {
    let (url, prefix) = (redis_url(), fresh_prefix());
    let configure = |s: &mut ferretwatch_server::Settings| {
        s.trust_forwarded_for = true;
        s.limits.ip_per_minute = 10;
        s.limits.ip_per_day = 1000;
        s.limits.redis = Some(url.clone());
        s.limits.redis_prefix = prefix.clone();
        // Instances of one service share the install-token secret.
        s.install.secret = Some(secrecy::SecretString::from("shared-install-secret-for-both-instances-0123"));
    };
    let a = spawn_with(configure, None).await;
    let b = spawn_with(configure, None).await;
    assert!(a.state.limits.is_shared() && b.state.limits.is_shared());
    let mut created = 0;
    for i in 0..40 {
        let app = if i % 2 == 0 { &a } else { &b };
        match install_as(app, "198.51.100.20").await {
            201 => created += 1,
            429 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 10, "10 a minute across both instances, not 10 each");
    // Another client has its own budget, on either instance.
    assert_eq!(install_as(&b, "198.51.100.21").await, 201);

    // Install tokens' limits are shared the same way.
    let token = {
        let response = a.client.post(a.url("/v1/install")).header("x-forwarded-for", "198.51.100.22").send().await;
        let body: serde_json::Value = serde_json::from_slice(&response.unwrap().bytes().await.unwrap()).unwrap();
        body["install_token"].as_str().unwrap().to_owned()
    };
    let mut accepted = 0;
    for i in 0..8 {
        let app = if i % 2 == 0 { &a } else { &b };
        let response = app
            .client
            .post(app.url("/v1/report"))
            .header("x-forwarded-for", format!("198.51.100.{}", 30 + i))
            .header("content-type", "application/json")
            .header("x-install-token", &token)
            .body(serde_json::to_vec(&support::report_body(&format!("https://shared.example/{i}"))).unwrap())
            .send()
            .await
            .unwrap();
        if response.status() == 201 {
            accepted += 1;
        } else {
            assert_eq!(response.status(), 429);
        }
    }
    assert_eq!(accepted, 3, "the token's 3 a minute, across both instances");
}

/// A `redis-server` of this test's own, on a free port, killed on drop.
struct OwnRedis {
    child: Child,
    port: u16,
}

impl OwnRedis {
    fn start_on(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test.sh installs it)");
        let url = format!("redis://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = redis::Client::open(url.as_str())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if ready.is_ok() {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "redis-server did not start on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        OwnRedis { child, port }
    }

    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Self::start_on(port)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn losing_redis_degrades_to_local_limits_and_recovers() {
    let mut redis = OwnRedis::start();
    let url = redis.url();
    let app = spawn_with(
        |s| {
            s.trust_forwarded_for = true;
            s.limits.ip_per_minute = 4;
            s.limits.ip_per_day = 1000;
            s.limits.redis = Some(url.clone());
            s.limits.redis_timeout_ms = 200;
        },
        None,
    )
    .await;
    assert!(app.state.limits.is_shared());
    assert_eq!(install_as(&app, "203.0.113.50").await, 201);
    assert_eq!(install_as(&app, "203.0.113.50").await, 201);

    redis.kill();
    // Limits still hold, now in this instance's memory (a fresh budget of 4): never none,
    // never everything refused.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(install_as(&app, "203.0.113.51").await);
    }
    assert_eq!(statuses, [201, 201, 201, 201, 429, 429, 429, 429], "local limits while Redis is gone");
    assert!(!app.state.limits.is_shared());
    let metrics = app.metrics().await;
    assert!(metrics.contains("ferretwatch_limiter_shared 0"), "{metrics}");
    assert!(metrics.lines().any(|l| l.starts_with("ferretwatch_limiter_fallback_total ")), "{metrics}");

    // Redis back on the same port: decisions are shared again within seconds.
    let _back = OwnRedis::start_on(redis.port);
    let started = Instant::now();
    while !app.state.limits.is_shared() {
        assert!(started.elapsed() < Duration::from_secs(15), "the limits went back to Redis");
        let _ = install_as(&app, "203.0.113.52").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_unreachable_redis_at_start_is_not_fatal_and_limits_still_hold() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_with(
        |s| {
            s.trust_forwarded_for = true;
            s.limits.ip_per_minute = 2;
            s.limits.redis = Some(format!("redis://127.0.0.1:{port}"));
        },
        None,
    )
    .await;
    assert!(!app.state.limits.is_shared());
    assert_eq!(install_as(&app, "203.0.113.60").await, 201);
    assert_eq!(install_as(&app, "203.0.113.60").await, 201);
    assert_eq!(install_as(&app, "203.0.113.60").await, 429);
}
