//! `pack validate` on built packs, intact and damaged in many ways at once.

use ferretwatch_types::Coded;
use std::path::{Path, PathBuf};

use ferretwatch_pack_client::dir::read_manifest;
use ferretwatch_pack_client::layout::content_name;
use ferretwatch_pack_client::manifest::FeedSource as Source;
use ferretwatch_pack_client::manifest::{FileEntry, Manifest, Role, MANIFEST_NAME};
use ferretwatch_pack_publisher::validate::{validate, Report, Severity};
use ferretwatch_pack_publisher::{build, fetch, BuildOptions, FetchRequest};
use ferretwatch_types::Sha256;
use ferretwatch_types::{PackVersion, Timestamp};

const FETCHED: Timestamp = Timestamp::from_secs(1_758_725_700); // 2025-09-24T14:55:00Z

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds")
}

/// A pack built from the feed fixtures, with `rules` (default: built-in) and a YARA rule.
fn built(rules: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let feeds = tmp.path().join("intel");
    for (source, file) in [(Source::Urlhaus, "urlhaus.csv"), (Source::Phishtank, "phishtank.json")] {
        fetch(&FetchRequest::new(source, fixtures().join(file).to_string_lossy(), &feeds, FETCHED)).unwrap();
    }
    let yara = tmp.path().join("yara");
    std::fs::create_dir_all(&yara).unwrap();
    std::fs::write(yara.join("kit.yar"), "rule pack_kit_marker { strings: $a = \"kit-marker-7\" condition: $a }\n")
        .unwrap();
    let out = tmp.path().join("dist");
    let mut options = BuildOptions::new(PackVersion::parse("2025.09.24.15").unwrap(), &feeds, &out);
    options.yara = Some(yara);
    if let Some(text) = rules {
        let path = tmp.path().join("rules.json");
        std::fs::write(&path, text).unwrap();
        options.rules = Some(path);
    }
    build(&options).unwrap();
    (tmp, out)
}

fn manifest(dir: &Path) -> Manifest {
    read_manifest(dir).unwrap().unwrap()
}

fn save(dir: &Path, manifest: &Manifest) {
    std::fs::write(dir.join(MANIFEST_NAME), manifest.to_json()).unwrap();
}

fn entry(dir: &Path, role: Role) -> FileEntry {
    manifest(dir).files.into_iter().find(|f| f.role == role).unwrap()
}

/// Adds a content-addressed file to the pack and lists it, keeping the list sorted.
fn add_file(dir: &Path, stem: &str, ext: &str, role: Role, bytes: &[u8]) -> String {
    let sha256 = Sha256::of(bytes);
    let name = content_name(stem, &sha256, ext);
    std::fs::write(dir.join(&name), bytes).unwrap();
    let mut m = manifest(dir);
    m.files.push(FileEntry {
        name: name.clone(),
        role,
        sha256: sha256.to_hex(),
        size: bytes.len() as u64,
        kind: None,
        encoding: None,
        count: None,
        expires: None,
        source: (role == Role::Yara).then(|| format!("{stem}.yar")),
    });
    m.files.sort_by(|a, b| a.name.cmp(&b.name));
    save(dir, &m);
    name
}

fn codes(report: &Report) -> Vec<&'static str> {
    report.problems.iter().map(|p| p.code).collect()
}

#[test]
fn a_freshly_built_pack_is_valid() {
    let (_tmp, dir) = built(None);
    let report = validate(&dir).unwrap();
    assert!(report.ok() && report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.version.as_deref(), Some("2025.09.24.15"));
    assert_eq!(report.files, 5, "rules, three filters, one YARA source");
    assert!(report.total_bytes > 0 && report.total_bytes < 10_000_000);
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let (_tmp, dir) = built(None);
    let rules = entry(&dir, Role::Rules);
    let mut bytes = std::fs::read(dir.join(&rules.name)).unwrap();
    bytes[10] ^= 1;
    std::fs::write(dir.join(&rules.name), bytes).unwrap();
    let yara = entry(&dir, Role::Yara);
    std::fs::remove_file(dir.join(&yara.name)).unwrap();
    std::fs::write(dir.join("notes.txt"), "left behind").unwrap();
    let filter = manifest(&dir).files.into_iter().find(|f| f.role == Role::Filter).unwrap();
    std::fs::write(dir.join(&filter.name), b"short").unwrap();
    // TUF metadata, history and deltas are not unlisted files.
    std::fs::write(dir.join("timestamp.json"), "{}").unwrap();
    std::fs::create_dir_all(dir.join("history")).unwrap();
    std::fs::write(dir.join("history/2025.09.23.15.json"), "{}").unwrap();

    let report = validate(&dir).unwrap();
    assert!(!report.ok());
    let found = codes(&report);
    for code in ["file_checksum", "file_missing", "unlisted_file", "file_size"] {
        assert!(found.contains(&code), "{code} missing from {found:?}");
    }
    let unlisted: Vec<_> =
        report.problems.iter().filter(|p| p.code == "unlisted_file").map(|p| p.file.clone().unwrap()).collect();
    assert_eq!(unlisted, ["notes.txt"]);
    assert_eq!(report.problems.iter().find(|p| p.code == "file_checksum").unwrap().file.as_ref(), Some(&rules.name));
}

#[test]
fn insane_scoring_is_reported_with_one_code_per_rule() {
    let mut rules: serde_json::Value =
        serde_json::from_str(&ferretwatch_detect::Rules::builtin().to_json_pretty()).unwrap();
    rules["thresholds"] = serde_json::json!({ "yellow": 60, "red": 60 });
    rules["weights"]["reputation_hit"] = serde_json::json!(80); // allowed: a listing may be red alone
    rules["weights"]["idn_homograph_high"] = serde_json::json!(61); // not: a lookalike alone may not
    rules["weights"]["yara_phishing_high"] = serde_json::json!(45);
    rules["caps"]["yara"] = serde_json::json!(40);
    let (_tmp, dir) = built(Some(&rules.to_string()));
    let report = validate(&dir).unwrap();
    let found = codes(&report);
    for code in ["thresholds", "weight_range", "weight_above_cap"] {
        assert!(found.contains(&code), "{code} missing from {found:?}");
    }
    let range: Vec<_> = report.problems.iter().filter(|p| p.code == "weight_range").collect();
    assert_eq!(range.len(), 1, "{range:?}");
    assert!(range[0].message.contains("idn_homograph_high"), "{}", range[0].message);
    let capped = report.problems.iter().find(|p| p.code == "weight_above_cap").unwrap();
    assert!(capped.message.contains("yara_phishing_high"), "{}", capped.message);
}

#[test]
fn manifest_fields_that_disagree_with_the_files_are_reported() {
    let (_tmp, dir) = built(None);
    let mut m = manifest(&dir);
    for f in m.files.iter_mut().filter(|f| f.role == Role::Filter) {
        f.count = Some(f.count.unwrap() + 1);
        f.encoding = Some("exact-ish".into());
    }
    save(&dir, &m);
    let found = codes(&validate(&dir).unwrap());
    assert_eq!(found.iter().filter(|c| **c == "filter_count").count(), 3, "{found:?}");
    assert_eq!(found.iter().filter(|c| **c == "filter_encoding").count(), 3, "{found:?}");
}

#[test]
fn a_bad_version_and_unknown_fields_are_schema_problems() {
    let (_tmp, dir) = built(None);
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(MANIFEST_NAME)).unwrap()).unwrap();
    value["version"] = serde_json::json!("2025-09-24");
    value["surprise"] = serde_json::json!(true);
    std::fs::write(dir.join(MANIFEST_NAME), value.to_string()).unwrap();
    let found = codes(&validate(&dir).unwrap());
    assert_eq!(found, ["version_format", "manifest_schema"]);
}

#[test]
fn yara_that_does_not_compile_or_clashes_with_the_built_in_rules_is_reported() {
    let (_tmp, dir) = built(None);
    let broken = add_file(&dir, "yara-broken", "yar", Role::Yara, b"rule broken { condition: $nope }\n");
    let builtin_name = ferretwatch_detect::DEFAULT_YARA
        .lines()
        .find_map(|l| l.strip_prefix("rule ").and_then(|r| r.split_whitespace().next()))
        .unwrap()
        .to_owned();
    add_file(&dir, "yara-clash", "yar", Role::Yara, format!("rule {builtin_name} {{ condition: true }}\n").as_bytes());
    let report = validate(&dir).unwrap();
    let compile = report.problems.iter().find(|p| p.code == "yara_compile").unwrap();
    assert_eq!(compile.file.as_ref(), Some(&broken));
    assert!(report.has("yara_conflict"), "{:?}", report.problems);
}

#[test]
fn an_oversized_pack_and_file_are_reported() {
    let (_tmp, dir) = built(None);
    let big = vec![b'/'; 10_000_001];
    add_file(&dir, "yara-huge", "yar", Role::Yara, &big);
    let report = validate(&dir).unwrap();
    assert!(report.has("pack_too_large") && report.has("file_too_large"), "{:?}", report.problems);
    assert!(report.problems.iter().all(|p| p.severity == Severity::Error));
}

#[test]
fn a_missing_directory_is_bad_input_and_a_missing_manifest_a_problem() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(validate(&tmp.path().join("nope")).unwrap_err().code(), "bad_pack_dir");
    assert_eq!(codes(&validate(tmp.path()).unwrap()), ["manifest_missing"]);
}
