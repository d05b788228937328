//! `ferretwatch intel fetch` and `ferretwatch pack build` as an operator runs them.

mod support;

use support::ferretwatch;

use std::path::{Path, PathBuf};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds").join(name).to_string_lossy().into()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fetch_fixtures(feeds: &Path) {
    let feeds = feeds.to_str().unwrap();
    for (source, file) in [("urlhaus", "urlhaus.csv"), ("phishtank", "phishtank.json"), ("feodo", "feodo.csv")] {
        let out = ferretwatch(&["intel", "fetch", "--source", source, "--from", &fixture(file), "--out", feeds]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
}

#[test]
fn intel_fetch_reports_counts_and_bad_rows_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = ferretwatch(&[
        "intel",
        "fetch",
        "--source",
        "urlhaus",
        "--from",
        &fixture("urlhaus.csv"),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("10 rows: 7 accepted, 1 skipped by policy, 2 bad; 6 distinct indicators"), "{stdout}");
    assert!(stdout.contains("bad row at line 17"), "{stdout}");
    assert!(stdout.contains("bad row at line 19"), "{stdout}");
    assert!(dir.path().join("urlhaus.feed").is_file());
}

#[test]
fn intel_fetch_json_output_carries_the_feed_header() {
    let dir = tempfile::tempdir().unwrap();
    let out = ferretwatch(&[
        "intel",
        "fetch",
        "--source",
        "plain",
        "--from",
        &fixture("plain.txt"),
        "--out",
        dir.path().to_str().unwrap(),
        "--name",
        "triage",
        "--ttl-hours",
        "24",
        "--license",
        "internal",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["status"], "fetched");
    assert_eq!(line["feed"]["name"], "triage");
    assert_eq!(line["feed"]["license"], "internal");
    assert_eq!(line["feed"]["indicators"], 8);
    assert_eq!(line["feed"]["report"]["bad"], 2);
}

#[test]
fn intel_fetch_failures_exit_1_with_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = ferretwatch(&[
        "intel",
        "fetch",
        "--source",
        "phishtank",
        "--from",
        "/nonexistent/feed.json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[io]: phishtank feed"), "{}", text(&out.stderr));
    let out = ferretwatch(&["intel", "fetch", "--source", "rss", "--from", "x", "--out", "y"]);
    assert_eq!(out.status.code(), Some(2), "unknown sources are usage errors");
}

#[test]
fn pack_build_is_reproducible_and_writes_content_addressed_files() {
    let feeds = tempfile::tempdir().unwrap();
    fetch_fixtures(feeds.path());
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for out in [a.path(), b.path()] {
        let run = ferretwatch(&[
            "pack",
            "build",
            "--version",
            "2025.09.24.15",
            "--feeds",
            feeds.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
        assert!(text(&run.stdout).starts_with("pack 2025.09.24.15 → "), "{}", text(&run.stdout));
    }
    let read = |dir: &Path| {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        files
    };
    let files = read(a.path());
    assert_eq!(files, read(b.path()), "same inputs, byte-identical pack");
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("rules.") && n.ends_with(".json")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("intel-url.") && n.ends_with(".fwf")), "{names:?}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["created"], "2025-09-24T15:00:00Z");
    assert_eq!(manifest["attribution"][0]["source"], "feodo");
}

#[test]
fn pack_build_refuses_a_bad_version_and_a_shrunken_feed() {
    let out = ferretwatch(&["pack", "build", "--version", "2025.9.24.15"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("YYYY.MM.DD.HH"), "{}", text(&out.stderr));

    let feeds = tempfile::tempdir().unwrap();
    let dist = tempfile::tempdir().unwrap();
    let (feeds_arg, dist_arg) = (feeds.path().to_str().unwrap(), dist.path().to_str().unwrap());
    let list = feeds.path().join("list.txt");
    let fetch_list = |hosts: usize| {
        let body: String = (0..hosts).map(|i| format!("kit-{i}.phish.example\n")).collect();
        std::fs::write(&list, body).unwrap();
        let out =
            ferretwatch(&["intel", "fetch", "--source", "plain", "--from", list.to_str().unwrap(), "--out", feeds_arg]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    fetch_list(40);
    let build = |version: &str, force: bool| {
        let mut args = vec!["pack", "build", "--version", version, "--feeds", feeds_arg, "--out", dist_arg];
        if force {
            args.push("--force");
        }
        ferretwatch(&args)
    };
    assert_eq!(build("2025.09.24.15", false).status.code(), Some(0));
    fetch_list(10);
    let shrunk = build("2025.09.24.16", false);
    assert_eq!(shrunk.status.code(), Some(3));
    assert!(text(&shrunk.stderr).contains("error[feed_shrunk]"), "{}", text(&shrunk.stderr));
    assert!(text(&shrunk.stderr).contains("plain 40 → 10"), "{}", text(&shrunk.stderr));
    let forced = build("2025.09.24.16", true);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    assert!(text(&forced.stderr).contains("warning: forced"), "{}", text(&forced.stderr));
}
