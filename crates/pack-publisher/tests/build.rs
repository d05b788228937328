//! `pack build` end to end: fixtures fetched into feed files, built twice, loaded into the
//! engine.

use ferretwatch_types::Coded;
use std::path::{Path, PathBuf};

use ferretwatch_detect::filter::{FilterFile, IndicatorKind};
use ferretwatch_detect::{Engine, Page, Reputation, ScanOptions};
use ferretwatch_pack_client::manifest::FeedSource as Source;
use ferretwatch_pack_client::manifest::Role;
use ferretwatch_pack_publisher::{build, fetch, BuildOptions, FetchRequest};
use ferretwatch_types::{PackVersion, Timestamp};

const FETCHED: Timestamp = Timestamp::from_secs(1_758_725_700); // 2025-09-24T14:55:00Z

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds")
}

fn fetch_all(dir: &Path) {
    for (source, file) in [
        (Source::Urlhaus, "urlhaus.csv"),
        (Source::Phishtank, "phishtank.json"),
        (Source::Feodo, "feodo.csv"),
        (Source::Plain, "plain.txt"),
    ] {
        let path = fixtures().join(file);
        fetch(&FetchRequest::new(source, path.to_string_lossy(), dir, FETCHED)).unwrap();
    }
}

fn options(version: &str, feeds: &Path, out: &Path) -> BuildOptions {
    BuildOptions::new(PackVersion::parse(version).unwrap(), feeds, out)
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

fn engine_for(out: &Path) -> Engine {
    let manifest = ferretwatch_pack_client::dir::read_manifest(out).unwrap().unwrap();
    let filters = manifest
        .files
        .iter()
        .filter(|f| f.role == Role::Filter)
        .map(|f| FilterFile::from_bytes(&std::fs::read(out.join(&f.name)).unwrap()).unwrap());
    Engine::builtin().with_reputation(Reputation::from_filters(filters).unwrap())
}

fn listed(engine: &Engine, url: &str) -> bool {
    let verdict = engine.scan(&Page::url(url), &ScanOptions::default()).unwrap();
    verdict.findings.iter().any(|f| f.key.name() == "reputation_hit")
}

#[test]
fn the_same_inputs_build_a_byte_identical_pack() {
    let feeds = tempfile::tempdir().unwrap();
    fetch_all(feeds.path());
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    build(&options("2025.09.24.15", feeds.path(), a.path())).unwrap();
    build(&options("2025.09.24.15", feeds.path(), b.path())).unwrap();
    assert_eq!(listing(a.path()), listing(b.path()));
    // Rebuilding in place changes nothing either.
    build(&options("2025.09.24.15", feeds.path(), a.path())).unwrap();
    assert_eq!(listing(a.path()), listing(b.path()));
}

#[test]
fn the_manifest_lists_every_file_by_hash_and_size_and_attributes_every_feed() {
    let feeds = tempfile::tempdir().unwrap();
    fetch_all(feeds.path());
    let out = tempfile::tempdir().unwrap();
    let summary = build(&options("2025.09.24.15.2", feeds.path(), out.path())).unwrap();
    let m = &summary.manifest;
    assert_eq!(m.version.as_str(), "2025.09.24.15.2");
    assert_eq!(m.created.to_string(), "2025-09-24T15:00:00Z");
    assert_eq!(m.expires.to_string(), "2025-10-01T15:00:00Z");
    assert_eq!(m.min_client_version, env!("CARGO_PKG_VERSION"));
    let names: Vec<&str> = m.files.iter().map(|f| f.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for file in &m.files {
        let bytes = std::fs::read(out.path().join(&file.name)).unwrap();
        assert_eq!(bytes.len() as u64, file.size);
        assert_eq!(ferretwatch_types::sha256_hex(&bytes), file.sha256);
        assert!(file.name.contains(&file.sha256[..16]), "{}", file.name);
    }
    let filter = |kind| m.files.iter().find(|f| f.kind == Some(kind)).unwrap();
    assert_eq!(filter(IndicatorKind::Host).count, Some(4));
    assert_eq!(filter(IndicatorKind::Url).count, Some(12));
    assert_eq!(filter(IndicatorKind::Ip).count, Some(7));
    assert_eq!(filter(IndicatorKind::Url).expires.unwrap().to_string(), "2025-09-27T14:55:00Z");
    let feeds: Vec<(&str, u64, bool)> =
        m.attribution.iter().map(|a| (a.feed.as_str(), a.indicators, a.included)).collect();
    assert_eq!(feeds, [("feodo", 5, true), ("phishtank", 4, true), ("plain", 8, true), ("urlhaus", 6, true)]);
    assert!(m.attribution.iter().all(|a| !a.license.is_empty() && a.fetched_at == FETCHED));
    let rules = m.files.iter().find(|f| f.role == Role::Rules).unwrap();
    let text = std::fs::read_to_string(out.path().join(&rules.name)).unwrap();
    assert!(text.contains("\"version\": \"2025.09.24.15.2\""), "verdicts report the pack version");
}

#[test]
fn the_engine_reads_the_built_filters_with_the_subdomain_rule() {
    let feeds = tempfile::tempdir().unwrap();
    fetch_all(feeds.path());
    let out = tempfile::tempdir().unwrap();
    build(&options("2025.09.24.15", feeds.path(), out.path())).unwrap();
    let engine = engine_for(out.path());
    assert!(listed(&engine, "https://secure-paypa1-login.example.com/signin?country.x=US&locale.x=en_US"));
    assert!(listed(&engine, "http://CDN-UPDATE.example.net//files/invoice_0924.exe"));
    assert!(listed(&engine, "http://203.0.113.63/panel"));
    assert!(listed(&engine, "https://a.b.evil-login.example/"), "a listed host covers its subdomains");
    assert!(listed(&engine, "https://kit.sites.example.org/login"));
    assert!(!listed(&engine, "https://sites.example.org/"), "a listed subdomain never marks its parent");
    assert!(!listed(&engine, "https://other.sites.example.org/"));
    assert!(!listed(&engine, "https://blogspot.com/"));
    assert!(!listed(&engine, "https://not-yet-verified.example.com/"), "unverified phish are left out");
}

fn write_plain(feeds: &Path, lines: usize) {
    let list: String = (0..lines).map(|i| format!("host-{i}.phish.example\n")).collect();
    let source = feeds.join("list.txt");
    std::fs::write(&source, list).unwrap();
    fetch(&FetchRequest::new(Source::Plain, source.to_string_lossy(), feeds, FETCHED)).unwrap();
    std::fs::remove_file(source).unwrap();
}

#[test]
fn a_feed_that_shrinks_by_more_than_half_fails_the_build_unless_forced() {
    let feeds = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write_plain(feeds.path(), 100);
    build(&options("2025.09.24.15", feeds.path(), out.path())).unwrap();
    write_plain(feeds.path(), 50);
    build(&options("2025.09.24.16", feeds.path(), out.path())).expect("exactly half is allowed");
    write_plain(feeds.path(), 24);
    let before = listing(out.path());
    let err = build(&options("2025.09.24.17", feeds.path(), out.path())).unwrap_err();
    assert_eq!(err.code(), "feed_shrunk");
    assert!(err.to_string().contains("plain 50 → 24"), "{err}");
    assert_eq!(listing(out.path()), before, "a failed build leaves the previous pack in place");
    let forced = BuildOptions { force: true, ..options("2025.09.24.17", feeds.path(), out.path()) };
    let summary = build(&forced).unwrap();
    assert!(summary.warnings.iter().any(|w| w.contains("forced")), "{:?}", summary.warnings);
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 5, "stale files of the old pack are removed");
}

#[test]
fn expired_feeds_are_left_out_and_count_as_shrunk() {
    let feeds = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write_plain(feeds.path(), 10);
    build(&options("2025.09.24.15", feeds.path(), out.path())).unwrap();
    // Seven days after the fetch the plain list (TTL 7 days) has expired.
    let err = build(&options("2025.10.01.15", feeds.path(), out.path())).unwrap_err();
    assert_eq!(err.code(), "feed_shrunk", "{err}");
    let summary = build(&BuildOptions { force: true, ..options("2025.10.01.15", feeds.path(), out.path()) }).unwrap();
    assert!(!summary.manifest.attribution[0].included);
    assert!(summary.warnings.iter().any(|w| w.contains("expired")), "{:?}", summary.warnings);
    let hosts = summary.manifest.files.iter().find(|f| f.kind == Some(IndicatorKind::Host)).unwrap();
    assert_eq!(hosts.count, Some(0));
}

#[test]
fn versions_only_increase_and_the_creation_time_can_be_given() {
    let feeds = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write_plain(feeds.path(), 3);
    build(&options("2025.09.24.15.1", feeds.path(), out.path())).unwrap();
    let err = build(&options("2025.09.24.15", feeds.path(), out.path())).unwrap_err();
    assert_eq!(err.code(), "version_not_increasing");
    let created = Timestamp::parse("2025-09-24T15:42:00Z").ok();
    let summary = build(&BuildOptions { created, ..options("2025.09.24.15.2", feeds.path(), out.path()) }).unwrap();
    assert_eq!(summary.manifest.created.to_string(), "2025-09-24T15:42:00Z");
}

#[test]
fn rules_and_yara_are_validated_before_anything_is_written() {
    let feeds = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let inputs = tempfile::tempdir().unwrap();
    let rules = inputs.path().join("rules.json");
    std::fs::write(&rules, r#"{"version": "x", "colour": "red"}"#).unwrap();
    let err =
        build(&BuildOptions { rules: Some(rules), ..options("2025.09.24.15", feeds.path(), out.path()) }).unwrap_err();
    assert_eq!(err.code(), "rules_json", "{err}");
    let yara = inputs.path().join("yara");
    std::fs::create_dir(&yara).unwrap();
    std::fs::write(yara.join("kit.yar"), "rule kit { strings: $a = \"verify your account\" condition: $a }").unwrap();
    let ok = build(&BuildOptions { yara: Some(yara.clone()), ..options("2025.09.24.15", feeds.path(), out.path()) })
        .unwrap();
    let entry = ok.manifest.files.iter().find(|f| f.role == Role::Yara).unwrap();
    assert!(entry.name.starts_with("yara-kit.") && entry.source.as_deref() == Some("kit.yar"));
    std::fs::write(yara.join("broken.yar"), "rule broken { condition: nonsense }").unwrap();
    let err =
        build(&BuildOptions { yara: Some(yara), ..options("2025.09.24.16", feeds.path(), out.path()) }).unwrap_err();
    assert_eq!(err.code(), "yara_compile", "{err}");
    assert_eq!(
        ferretwatch_pack_client::dir::read_manifest(out.path()).unwrap().unwrap().version.as_str(),
        "2025.09.24.15"
    );
}
