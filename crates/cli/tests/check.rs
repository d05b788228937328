//! `ferretwatch pack validate`, `pack test` and `pack delta` as an operator runs them,
//! through the runbook's wrappers where they exist.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ferretwatch")
}

fn ferretwatch(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a runbook wrapper with the test binary first on `PATH`.
fn script(name: &str, args: &[&str]) -> Output {
    let bin_dir = Path::new(bin()).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    Command::new(repo().join("scripts").join(name)).args(args).env("PATH", path).output().unwrap()
}

/// Fetches a plain list of hosts into `feeds` and builds `version` into `out`.
fn build(dir: &Path, version: &str, hosts: &[String]) -> (PathBuf, PathBuf) {
    let list = dir.join(format!("{version}.txt"));
    std::fs::write(&list, hosts.join("\n")).unwrap();
    let feeds = dir.join(format!("intel-{version}"));
    let out = dir.join(format!("dist-{version}"));
    let (list_s, feeds_s, out_s) = (list.to_str().unwrap(), feeds.to_str().unwrap(), out.to_str().unwrap());
    let fetched = ferretwatch(&["intel", "fetch", "--source", "plain", "--from", list_s, "--out", feeds_s]);
    assert!(fetched.status.success(), "{}", text(&fetched.stderr));
    let built = ferretwatch(&["pack", "build", "--version", version, "--feeds", feeds_s, "--out", out_s]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    (feeds, out)
}

fn hosts(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("phish-{i}.example.com")).collect()
}

#[test]
fn validate_accepts_the_runbook_argument_and_lists_every_problem_with_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, dist) = build(tmp.path(), "2025.09.24.15", &hosts(0..50));
    // The runbook names dist/rules.json; the pack's rules file is content-addressed.
    let rules_arg = dist.join("rules.json");
    let out = script("validate-rule-pack.sh", &[rules_arg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("pack 2025.09.24.15 in"), "{}", text(&out.stdout));

    std::fs::write(dist.join("stray.bin"), "x").unwrap();
    let filter = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("intel-host"))
        .unwrap();
    std::fs::write(&filter, b"FWRF").unwrap();
    let out = ferretwatch(&["pack", "validate", dist.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let codes: Vec<&str> =
        json["report"]["problems"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"unlisted_file") && codes.contains(&"file_size"), "{codes:?}");

    let out = ferretwatch(&["pack", "validate", tmp.path().join("missing").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error[bad_pack_dir]"), "{}", text(&out.stderr));
}

#[test]
fn test_reports_rates_per_family_and_fails_past_the_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, dist) = build(tmp.path(), "2025.09.24.15", &hosts(0..5));
    let corpus = repo().join("tests/corpus");
    let rules_arg = dist.join("rules.json");
    let out = script("test-rule-pack.sh", &[rules_arg.to_str().unwrap(), corpus.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("phishing/wallet-drainer") && stdout.contains("benign/login"), "{stdout}");
    assert!(stdout.contains("passed"), "{stdout}");

    let out = ferretwatch(&[
        "pack",
        "test",
        dist.to_str().unwrap(),
        corpus.to_str().unwrap(),
        "--previous",
        dist.to_str().unwrap(),
        "--min-detection",
        "0.999",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["passed"], false);
    assert_eq!(json["report"]["failures"][0]["code"], "detection_below_minimum");
    assert_eq!(json["report"]["changed"].as_array().unwrap().len(), 0, "the same pack changes nothing");

    let out = ferretwatch(&["pack", "test", dist.to_str().unwrap(), tmp.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "a directory without a corpus manifest is bad input");
}

#[test]
fn delta_is_written_into_the_target_pack_and_applies_to_the_base() {
    let tmp = tempfile::tempdir().unwrap();
    let (base_feeds, base) = build(tmp.path(), "2025.09.24.15", &hosts(0..1000));
    let (feeds, target) = build(tmp.path(), "2025.09.25.15", &hosts(10..1010));
    let out = ferretwatch(&[
        "pack",
        "delta",
        "--from",
        base.to_str().unwrap(),
        "--base-feeds",
        base_feeds.to_str().unwrap(),
        "--to",
        target.to_str().unwrap(),
        "--feeds",
        feeds.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let host = json["changes"].as_array().unwrap().iter().find(|c| c["kind"] == "host").unwrap();
    assert_eq!((host["removed"].as_u64(), host["added"].as_u64()), (Some(10), Some(10)));
    let path = target.join("deltas/2025.09.24.15.fwd");
    assert_eq!(json["path"], path.display().to_string());

    let delta = ferretwatch_pack_client::delta::Delta::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
    let filters = ferretwatch_pack_publisher::delta::apply_to_pack(&delta, &base).unwrap();
    let hosts_now = filters.iter().find(|f| f.kind.name() == "host").unwrap();
    assert!(hosts_now.set.contains("phish-1005.example.com") && !hosts_now.set.contains("phish-5.example.com"));

    // The delta travels with the pack: validation accepts it.
    let out = ferretwatch(&["pack", "validate", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // Feeds that do not belong to the base pack are refused as bad input.
    let out = ferretwatch(&[
        "pack",
        "delta",
        "--from",
        base.to_str().unwrap(),
        "--base-feeds",
        feeds.to_str().unwrap(),
        "--to",
        target.to_str().unwrap(),
        "--feeds",
        feeds.to_str().unwrap(),
        "--out",
        tmp.path().join("x.fwd").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("delta_feeds_mismatch"), "{}", text(&out.stderr));
}

#[test]
fn labelled_lists_are_gated_by_the_packs_rules_and_exempt_listings_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (feeds, _) = build(tmp.path(), "2025.09.24.15", &hosts(0..5));
    // Rules that exempt one listed host (a feed's mistake) and gate every phishing class.
    let defaults = ferretwatch(&["rules", "default"]);
    let mut rules: serde_json::Value = serde_json::from_slice(&defaults.stdout).unwrap();
    rules["allowlists"]["reputation_exempt"] = serde_json::json!(["phish-1.example.com"]);
    rules["gates"] = serde_json::json!([{ "label": "phishing", "each_class": true, "level": "yellow", "min": 0.99 }]);
    let rules_file = tmp.path().join("rules.json");
    std::fs::write(&rules_file, rules.to_string()).unwrap();
    let dist = tmp.path().join("dist-gated");
    let built = ferretwatch(&[
        "pack",
        "build",
        "--version",
        "2025.09.24.16",
        "--rules",
        rules_file.to_str().unwrap(),
        "--feeds",
        feeds.to_str().unwrap(),
        "--out",
        dist.to_str().unwrap(),
    ]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    let list = tmp.path().join("labelled.tsv");
    std::fs::write(
        &list,
        "# label\tclass\turl\nphishing\tlookalike\thttps://paypa1.com/\nphishing\tlisted\thttps://phish-0.example.com/\n\
         phishing\tlisted\thttps://phish-1.example.com/\nphish\tlisted\thttps://phish-2.example.com/\n\
         benign\tpopular\thttps://www.wikipedia.org/\n",
    )
    .unwrap();
    let corpus = repo().join("tests/corpus");
    let args = ["pack", "test", dist.to_str().unwrap(), corpus.to_str().unwrap(), "--urls", list.to_str().unwrap()];
    let out = ferretwatch(&[&args[..], &["--format", "json"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let urls = &json["report"]["urls"];
    assert_eq!(urls["phishing"]["lookalike"]["warned_rate"], 1.0);
    assert_eq!(urls["phishing"]["listed"]["total"], 2);
    assert_eq!(urls["phishing"]["listed"]["warned_rate"], 0.5, "the exempt host is not a hit");
    assert_eq!(urls["benign"]["popular"]["warned_rate"], 0.0);
    assert_eq!(urls["bad_lines"], 1);
    assert_eq!(urls["bad_line_examples"][0]["line"], 5);
    let failed: Vec<&str> = urls["gates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["passed"] == false)
        .map(|g| g["gate"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["phishing/all at yellow >= 0.99", "phishing/listed at yellow >= 0.99"]);
    assert_eq!(json["report"]["reputation_exempt"][0]["domain"], "phish-1.example.com");

    let out = ferretwatch(&args);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("FAIL[gate_failed]: phishing/listed"), "{stdout}");
    assert!(stdout.contains("reputation exempt: phish-1.example.com"), "{stdout}");
    assert!(stdout.contains(":5: label \"phish\""), "{stdout}");
}
