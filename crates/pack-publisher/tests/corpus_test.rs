//! `pack test` over the real corpus (`tests/corpus/`): rates per family, comparison with a
//! previous pack, and known false positives that must never come back.

use ferretwatch_types::Coded;
use std::path::{Path, PathBuf};

use ferretwatch_detect::filter::IndicatorKind;
use ferretwatch_detect::Level;
use ferretwatch_pack_client::indicator::Indicator;
use ferretwatch_pack_client::manifest::FeedSource as Source;
use ferretwatch_pack_publisher::corpus_test::{self, evaluate, load_pack, score, Corpus, Limits};
use ferretwatch_pack_publisher::feedfile::{FeedFile, FeedHeader};
use ferretwatch_pack_publisher::feeds::{ParseReport, Record};
use ferretwatch_pack_publisher::{build, BuildOptions};
use ferretwatch_types::PackVersion;

const ROUNDCUBE: &str = "benign/023-isp-roundcube-webmail.html";

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

/// A pack with the built-in rules whose host filter lists `hosts`.
fn pack(dir: &Path, version: &str, hosts: &[&str]) -> PathBuf {
    let version = PackVersion::parse(version).unwrap();
    let fetched = version.hour().minus_secs(300);
    let header = FeedHeader {
        name: "triage".into(),
        source: Source::Plain,
        origin: "test".into(),
        fetched_at: fetched,
        expires: fetched.plus_secs(72 * 3600),
        confidence: 900,
        keep_query: false,
        license: "test".into(),
        report: ParseReport::default(),
        indicators: 0,
    };
    let records = hosts
        .iter()
        .map(|h| Record { indicator: Indicator { kind: IndicatorKind::Host, value: (*h).to_owned() }, id: None })
        .collect();
    let feeds = dir.join(format!("intel-{version}"));
    std::fs::create_dir_all(&feeds).unwrap();
    FeedFile::new(header, records).write(&feeds.join("triage.feed")).unwrap();
    let out = dir.join(format!("dist-{version}"));
    build(&BuildOptions::new(version, &feeds, &out)).unwrap();
    out
}

fn host_of(file: &str) -> String {
    let corpus = Corpus::read(&corpus_dir()).unwrap();
    let url = &corpus.entries.iter().find(|e| e.file == file).unwrap().url;
    url::Url::parse(url).unwrap().host_str().unwrap().to_owned()
}

#[test]
fn the_corpus_and_its_known_false_positives_load() {
    let corpus = Corpus::read(&corpus_dir()).unwrap();
    assert_eq!(corpus.entries.len(), 160);
    assert!(corpus.known_fp.len() >= 2);
    assert_eq!(corpus.known_fp[ROUNDCUBE].0, Level::Green);
}

#[test]
fn a_pack_with_the_built_in_rules_meets_the_targets_with_rates_per_family() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = pack(tmp.path(), "2025.09.24.15", &["unrelated-phish.example.com"]);
    let report = corpus_test::run(&dist, &corpus_dir(), None, Limits::default(), &[]).unwrap();
    assert!(report.passed(), "{:?}", report.failures);
    assert_eq!((report.detection.total, report.false_positive.total), (77, 83));
    assert!(report.detection.rate >= 0.95 && report.false_positive.rate <= 0.02);
    assert_eq!(report.families.len(), 16, "7 phishing and 9 benign families");
    let wallet = report.families.iter().find(|f| f.family == "wallet-drainer").unwrap();
    assert_eq!((wallet.class.as_str(), wallet.rate.total), ("phishing", 9));
    assert!(report.previous_version.is_none() && report.changed.is_empty());

    let strict =
        corpus_test::run(&dist, &corpus_dir(), None, Limits { min_detection: 0.999, max_fp: 0.02 }, &[]).unwrap();
    assert_eq!(strict.failures.iter().map(|f| f.code).collect::<Vec<_>>(), ["detection_below_minimum"]);
}

#[test]
fn a_known_false_positive_that_comes_back_fails_the_run_and_the_change_is_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let previous = pack(tmp.path(), "2025.09.24.15", &["unrelated-phish.example.com"]);
    // A feed lists the ISP's webmail host: the fixed false positive would return.
    let host = host_of(ROUNDCUBE);
    let current = pack(tmp.path(), "2025.09.25.15", &[host.as_str()]);
    let report = corpus_test::run(&current, &corpus_dir(), Some(&previous), Limits::default(), &[]).unwrap();
    assert!(!report.passed());
    let failure = report.failures.iter().find(|f| f.code == "known_false_positive_regressed").unwrap();
    assert_eq!(failure.file.as_deref(), Some(ROUNDCUBE));
    assert!(failure.message.contains("previous pack: green"), "{}", failure.message);
    assert_eq!(report.previous_version.as_deref(), Some("2025.09.24.15"));
    let change = report.changed.iter().find(|c| c.file == ROUNDCUBE).unwrap();
    assert_eq!(change.before, Level::Green);
    assert!(change.after > Level::Green);
    let login = report.families.iter().find(|f| f.class == "benign" && f.family == "login").unwrap();
    assert!(login.previous.is_some());
}

#[test]
fn the_known_false_positive_check_needs_no_previous_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let host = host_of(ROUNDCUBE);
    let dist = pack(tmp.path(), "2025.09.25.15", &[host.as_str()]);
    let corpus = Corpus::read(&corpus_dir()).unwrap();
    let (engine, version) = load_pack(&dist).unwrap();
    let scores = score(&engine, &version, &corpus).unwrap();
    let report = evaluate(&corpus, &scores, None, Limits::default());
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(report.failures[0].code, "known_false_positive_regressed");
}

#[test]
fn a_known_false_positive_list_naming_a_phishing_page_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(corpus_dir().join("manifest.json"), tmp.path().join("manifest.json")).unwrap();
    let bad = r#"{"format": 1, "pages": [{"file": "phishing/001-paypal-signin-php-gate.html",
        "since": "2026-11-27", "reason": "not a benign page"}]}"#;
    std::fs::write(tmp.path().join("known_fp.json"), bad).unwrap();
    let err = Corpus::read(tmp.path()).unwrap_err();
    assert_eq!(err.code(), "corpus_invalid");
    assert!(err.to_string().contains("not a benign page of the corpus"), "{err}");
}
