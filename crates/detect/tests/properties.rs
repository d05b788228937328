//! Property tests: no input panics, every verdict is well-formed (its score is the sum of
//! its contributions, capped at 100, and its level follows the thresholds) and verdicts
//! are deterministic; an input that is refused is refused with a URL error.

use ferretwatch_detect::{Engine, Level, Page, Resource, ResourceKind, ScanOptions, Verdict};
use ferretwatch_types::Coded;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::builtin)
}

/// Hosts built from brand-like pieces, confusables, digits, hyphens and punycode.
fn host() -> impl Strategy<Value = String> {
    let label = prop_oneof![
        Just("paypal".to_string()),
        Just("xn--pypal-4ve".to_string()),
        Just("micr0soft".to_string()),
        Just("аррӏе".to_string()),
        "[a-z0-9-]{1,20}",
        "\\PC{1,12}",
    ];
    (
        prop::collection::vec(label, 1..5),
        prop_oneof![Just("com"), Just("co.uk"), Just("xyz"), Just("github.io"), Just("")],
    )
        .prop_map(|(labels, tld)| if tld.is_empty() { labels.join(".") } else { format!("{}.{tld}", labels.join(".")) })
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        (host(), "[/a-zA-Z0-9._~%?=&#-]{0,40}").prop_map(|(h, p)| format!("https://{h}/{p}")),
        "\\PC{0,80}",
        "(https?|ftp|data|javascript):\\PC{0,40}",
    ]
}

/// HTML fragments mixing the tags the extractor cares about with arbitrary text.
fn html() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<form action=\"https://x.ru/p.php\">".to_string()),
        Just("<input type=password name=p>".to_string()),
        Just("<input type=hidden name=email value=a@b.co>".to_string()),
        Just("<script>eval(atob('eHh4'))</script>".to_string()),
        Just("<script src=\"data:text/javascript,1\"></script>".to_string()),
        Just("<meta http-equiv=refresh content=\"0;url=https://evil.example\">".to_string()),
        Just("<title>PayPal login</title>".to_string()),
        Just("<img src=\"https://www.paypalobjects.com/a.png\">".to_string()),
        Just("</form></title></script><!--".to_string()),
        "[<>/=\"' a-z]{0,30}",
        "\\PC{0,30}",
    ];
    prop::collection::vec(piece, 0..30).prop_map(|p| p.concat())
}

/// A verdict's invariants: the score is the rounded sum of the contributions, capped at
/// 100; each contribution is at most its weight at full confidence; every finding has
/// evidence; the level is the one the built-in thresholds give the score (unless the
/// user allowlisted the site, which no generated page does).
fn well_formed(verdict: &Verdict) -> Result<(), TestCaseError> {
    prop_assert!(verdict.score <= 100);
    let total: u32 = verdict.findings.iter().map(|f| f.contribution).sum();
    prop_assert_eq!(u32::from(verdict.score), ((total + 500) / 1000).min(100));
    for f in &verdict.findings {
        prop_assert!(f.confidence <= 1000);
        prop_assert!(f.contribution <= f.weight * 1000);
        prop_assert!(!f.evidence.is_empty());
    }
    let t = engine().rules().thresholds;
    let level = if verdict.score >= t.red {
        Level::Red
    } else if verdict.score >= t.yellow {
        Level::Yellow
    } else {
        Level::Green
    };
    prop_assert!(!verdict.allowlisted);
    prop_assert_eq!(verdict.level, level, "score {}", verdict.score);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_url_gives_a_well_formed_verdict_or_a_url_error(url in url()) {
        match engine().scan(&Page::url(&url), &ScanOptions::default()) {
            Ok(verdict) => well_formed(&verdict)?,
            Err(e) => prop_assert!(matches!(e.code(), "invalid_url" | "unsupported_url"), "{}", e),
        }
    }

    #[test]
    fn any_page_gives_a_well_formed_verdict_or_a_url_error(url in url(), html in html(), res in "\\PC{0,30}") {
        let resources = [Resource { kind: ResourceKind::Image, url: res }];
        let page = Page { url: &url, html: Some(&html), resources: &resources, favicon: Some(html.as_bytes()), state: None };
        match engine().scan(&page, &ScanOptions::default()) {
            Ok(verdict) => well_formed(&verdict)?,
            Err(e) => prop_assert!(matches!(e.code(), "invalid_url" | "unsupported_url"), "{}", e),
        }
    }

    #[test]
    fn verdicts_are_deterministic(url in url(), html in html()) {
        let page = Page { url: &url, html: Some(&html), ..Page::default() };
        let a = engine().scan(&page, &ScanOptions::default()).map(|v| serde_json::to_string(&v).unwrap());
        let b = engine().scan(&page, &ScanOptions::default()).map(|v| serde_json::to_string(&v).unwrap());
        prop_assert_eq!(a, b);
    }

    // Any valid host label: no hyphen at either end and no "--" (which would make an
    // `xn--` label that is not valid punycode, a URL the engine rightly refuses).
    #[test]
    fn brand_domains_are_never_flagged_whatever_the_subdomain(sub in "[a-z0-9]{1,7}(-[a-z0-9]{1,7})?", i in 0usize..10_000) {
        let brands = &engine().rules().brands;
        let brand = &brands[i % brands.len()];
        let domain = &brand.domains[i % brand.domains.len()];
        let url = format!("https://{sub}.{domain}/login");
        let verdict = engine().scan(&Page::url(&url), &ScanOptions::default()).unwrap();
        prop_assert!(verdict.findings.is_empty(), "{}: {:?}", url, verdict.findings);
    }
}
