//! Real Chromium against a real loopback site: the redirect chain, the guard after DNS and
//! on every redirect, the caps, and no browser process left behind.

mod support;

use std::time::{Duration, Instant};

use ferretwatch_reproduce::{reproduce, Guard};
use sha2::{Digest, Sha256};
use support::{assert_clean, limits, pinned, site};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_page_behind_two_redirects_is_reproduced_with_its_chain_screenshot_and_dom() {
    let site = site(None).await;
    let scratch = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let r = reproduce(&site.url("/start"), &limits(10, scratch.path()), pinned(site.addr.port())).await.unwrap();
    println!(
        "loopback reproduction: {} ms (measured by the runner: {} ms)",
        started.elapsed().as_millis(),
        r.elapsed_ms
    );
    assert!(r.elapsed_ms <= 10_000 + 2_000, "{}", r.elapsed_ms);
    let chain: Vec<(String, u16)> = r.chain.iter().map(|h| (h.url.clone(), h.status)).collect();
    assert_eq!(
        chain,
        vec![
            (site.url("/start").to_string(), 302),
            (site.url("/hop").to_string(), 302),
            (site.url("/login").to_string(), 200)
        ],
        "{r:#?}"
    );
    assert_eq!(r.final_url, site.url("/login").to_string());
    assert!(!r.timed_out, "{r:#?}");
    assert_eq!(r.error, None);
    // The browser's own background requests (to its vendor's services) go through the
    // guard as well; nothing of the site was refused.
    assert!(r.refused.iter().all(|f| f.host != "127.0.0.1"), "{:?}", r.refused);
    // And they are told apart from the page's: the page asked for nothing that was refused.
    assert!(r.refused.iter().all(|f| !f.by_page), "{:?}", r.refused);
    println!("refused background requests: {:?}", r.refused);
    assert!(r.screenshot_png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is a PNG");
    assert!(r.dom_html.contains("type=\"password\""), "{}", r.dom_html);
    assert_eq!(r.dom_sha256, hex::encode(Sha256::digest(r.dom_html.as_bytes())));
    assert!(r.bytes_transferred > 0);
    assert_eq!(r.proxied.iter().map(|h| h.status).take(3).collect::<Vec<_>>(), vec![302, 302, 200]);
    assert_clean(scratch.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_loopback_port_is_refused_after_resolution() {
    let other = site(None).await;
    let site = site(Some(other.addr)).await;
    let scratch = tempfile::tempdir().unwrap();
    let r =
        reproduce(&site.url("/to-other-port"), &limits(10, scratch.path()), pinned(site.addr.port())).await.unwrap();
    assert_eq!(other.hits(), 0, "the other service was never contacted");
    assert_eq!(r.chain.first().map(|h| h.status), Some(302), "{r:#?}");
    let refusal = r.refused.iter().find(|f| f.host == "127.0.0.1").expect("the redirect target is refused");
    assert_eq!(refusal.ip, Some("127.0.0.1".parse().unwrap()));
    assert_eq!(refusal.reason, "loopback address");
    assert!(refusal.by_page, "the page's redirect is the page's: {refusal:?}");
    assert_clean(scratch.path());

    // Without the loopback opt-in, even the first page is refused.
    let scratch = tempfile::tempdir().unwrap();
    let before = site.hits();
    let r = reproduce(&site.url("/to-other-port"), &limits(10, scratch.path()), Guard::strict()).await.unwrap();
    assert_eq!(site.hits(), before);
    assert!(r.refused.iter().any(|f| f.ip == Some("127.0.0.1".parse().unwrap())), "{:?}", r.refused);
    assert_clean(scratch.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_link_local_and_localhost_destinations_are_refused_even_with_loopback_allowed() {
    let site = site(None).await;
    let open = Guard { allow_loopback: true, loopback_ports: Vec::new() };
    for (path, host, reason) in
        [("/to-private", "10.0.0.1", "private address"), ("/to-metadata", "169.254.169.254", "link-local address")]
    {
        let scratch = tempfile::tempdir().unwrap();
        let r = reproduce(&site.url(path), &limits(10, scratch.path()), open.clone()).await.unwrap();
        let refusal = r.refused.iter().find(|f| f.host == host).unwrap_or_else(|| panic!("{path}: {r:#?}"));
        assert_eq!(refusal.reason, reason);
        assert!(refusal.by_page, "{refusal:?}");
        assert_eq!(refusal.ip, Some(host.parse().unwrap()));
        assert_eq!(r.chain.first().map(|h| h.status), Some(302));
        assert_clean(scratch.path());
    }
    // A name that resolves to loopback is judged by its address.
    let scratch = tempfile::tempdir().unwrap();
    let r = reproduce(&site.url("/to-localhost"), &limits(10, scratch.path()), pinned(site.addr.port())).await.unwrap();
    let refusal = r.refused.iter().find(|f| f.host == "localhost").unwrap_or_else(|| panic!("{r:#?}"));
    assert!(refusal.ip.is_some_and(|ip| ip.is_loopback()), "{refusal:?}");
    assert_eq!(refusal.reason, "loopback address");
    assert_clean(scratch.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pages_end_within_the_cap_and_leave_no_browser_behind() {
    let site = site(None).await;
    let cap = 5;
    for path in ["/spin", "/endless"] {
        let scratch = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let r = reproduce(&site.url(path), &limits(cap, scratch.path()), pinned(site.addr.port())).await.unwrap();
        let took = started.elapsed();
        println!("{path}: {} ms, timed out: {}", took.as_millis(), r.timed_out);
        assert!(took <= Duration::from_secs(cap + 2), "{path} took {took:?}");
        assert!(r.timed_out, "{path}: {r:#?}");
        assert_clean(scratch.path());
    }
    let scratch = tempfile::tempdir().unwrap();
    let mut small = limits(cap, scratch.path());
    small.max_bytes = 1 << 20;
    let started = Instant::now();
    let r = reproduce(&site.url("/huge"), &small, pinned(site.addr.port())).await.unwrap();
    let took = started.elapsed();
    println!("/huge: {} ms, {} bytes, error {:?}", took.as_millis(), r.bytes_transferred, r.error);
    assert!(took <= Duration::from_secs(cap + 2), "/huge took {took:?}");
    assert!(r.error.as_deref().is_some_and(|e| e.contains("transfer cap")), "{r:#?}");
    // Reads already in flight on each connection when the cap is passed still count.
    assert!(r.bytes_transferred <= 2 << 20, "{}", r.bytes_transferred);
    assert_clean(scratch.path());
}

#[tokio::test]
async fn urls_other_than_http_and_with_credentials_are_refused_up_front() {
    let scratch = tempfile::tempdir().unwrap();
    for url in ["file:///etc/passwd", "https://user:pw@example.com/", "chrome://settings"] {
        let url = url::Url::parse(url).unwrap();
        assert!(reproduce(&url, &limits(5, scratch.path()), Guard::strict()).await.is_err(), "{url}");
    }
    assert_clean(scratch.path());
}
