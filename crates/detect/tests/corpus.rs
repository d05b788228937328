//! The corpus test, with the built-in rules and no local state. Targets: at least 95%
//! of phishing pages at yellow or red, at most 2% of benign pages at red.
//!
//! Both targets are asserted; the rates per family and every page whose level differs from
//! the manifest's expectation are printed (`-- --nocapture`).
//!
//! Each page's verdict is also pinned to the byte by a golden file beside it
//! (`NAME.verdict.json`): any change in any verdict fails this suite and shows as a diff in
//! review. After an intended change, `FERRETWATCH_BLESS=1 cargo test -p ferretwatch-detect
//! --test corpus` rewrites them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::time::Duration;

use ferretwatch_detect::{Engine, Level, Page, Rules, ScanOptions, DEFAULT_YARA};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    file: String,
    url: String,
    class: String,
    family: String,
    brand: Option<String>,
    expected: String,
}

/// The detection target: phishing pages at yellow or red.
const DETECTION_TARGET: f64 = 0.95;
/// The ceiling on benign pages at red.
const MAX_BENIGN_RED: f64 = 0.02;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string(corpus_dir().join("manifest.json")).expect("tests/corpus/manifest.json");
    serde_json::from_str(&text).expect("manifest parses")
}

#[test]
fn the_manifest_lists_every_page_once_and_only_existing_pages() {
    let entries = manifest();
    let mut listed: Vec<&str> = entries.iter().map(|e| e.file.as_str()).collect();
    listed.sort_unstable();
    let before = listed.len();
    listed.dedup();
    assert_eq!(before, listed.len(), "a page is listed twice");
    for class in ["phishing", "benign"] {
        let mut on_disk = 0;
        for file in std::fs::read_dir(corpus_dir().join(class)).unwrap() {
            let name = format!("{class}/{}", file.unwrap().file_name().to_string_lossy());
            if name.ends_with(GOLDEN_SUFFIX) {
                let page = name.trim_end_matches(GOLDEN_SUFFIX);
                assert!(
                    listed.iter().any(|l| l.starts_with(page) && l[page.len()..].starts_with('.')),
                    "{name}: no page"
                );
                continue;
            }
            assert!(listed.binary_search(&name.as_str()).is_ok(), "{name} is not in the manifest");
            on_disk += 1;
        }
        assert!(on_disk >= 60, "{class}: only {on_disk} pages");
    }
    for e in &entries {
        assert!(e.file.starts_with(&format!("{}/", e.class)), "{} is filed under the wrong class", e.file);
        assert!(["green", "yellow", "red"].contains(&e.expected.as_str()), "{}: expected {}", e.file, e.expected);
        assert!(!e.family.is_empty() && e.brand.as_deref() != Some(""));
    }
}

#[test]
fn detection_and_false_positive_rates_meet_their_targets() {
    let engine = Engine::builtin();
    let mut phishing = (0usize, 0usize); // (warned, total)
    let mut benign = (0usize, 0usize); // (red, total)
    let mut by_family: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut report = Vec::new();
    for e in manifest() {
        let html = std::fs::read(corpus_dir().join(&e.file)).unwrap();
        let html = String::from_utf8_lossy(&html);
        let page = Page { url: &e.url, html: Some(&html), ..Page::default() };
        let verdict = engine.scan(&page, &ScanOptions::default()).unwrap_or_else(|err| panic!("{}: {err}", e.file));
        let family = by_family.entry(format!("{}/{}", e.class, e.family)).or_default();
        family.1 += 1;
        if e.class == "phishing" {
            phishing.1 += 1;
            if verdict.level >= Level::Yellow {
                phishing.0 += 1;
                family.0 += 1;
            }
        } else {
            benign.1 += 1;
            if verdict.level == Level::Red {
                benign.0 += 1;
                family.0 += 1;
            }
        }
        if verdict.level.as_str() != e.expected {
            let keys: Vec<&str> = verdict.findings.iter().map(|f| f.key.name()).collect();
            report.push(format!(
                "{} expected {} got {} ({}) {:?}",
                e.file,
                e.expected,
                verdict.level.as_str(),
                verdict.score,
                keys
            ));
        }
    }
    for (family, (hits, total)) in &by_family {
        println!("{family:<32} {hits:>3}/{total:<3} {}", if family.starts_with("phishing") { "warned" } else { "red" });
    }
    println!("levels differing from the manifest's expectation ({}):\n{}", report.len(), report.join("\n"));
    let detection = phishing.0 as f64 / phishing.1 as f64;
    let false_red = benign.0 as f64 / benign.1 as f64;
    println!(
        "detection {}/{} = {detection:.3}; benign at red {}/{} = {false_red:.3}",
        phishing.0, phishing.1, benign.0, benign.1
    );
    assert!(detection >= DETECTION_TARGET, "detection rate {detection:.3} below {DETECTION_TARGET}");
    assert!(false_red <= MAX_BENIGN_RED, "benign red rate {false_red:.3} above {MAX_BENIGN_RED}");
}

/// The extension of a page's golden verdict file.
const GOLDEN_SUFFIX: &str = ".verdict.json";

/// The golden file of a corpus page: `benign/001-x.html` → `benign/001-x.verdict.json`.
fn golden_path(file: &str) -> PathBuf {
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    corpus_dir().join(format!("{stem}{GOLDEN_SUFFIX}"))
}

#[test]
fn every_verdict_is_byte_for_byte_its_golden_file() {
    // The built-in rules, with a YARA time limit no loaded machine reaches: a partial
    // verdict would be a difference of timing, not of detection.
    let engine = Engine::new(Rules::builtin())
        .unwrap()
        .with_yara([("builtin.yar", DEFAULT_YARA)], Duration::from_secs(60))
        .unwrap();
    let bless = std::env::var("FERRETWATCH_BLESS").as_deref() == Ok("1");
    let mut differing = Vec::new();
    for e in manifest() {
        let html = std::fs::read(corpus_dir().join(&e.file)).unwrap();
        let html = String::from_utf8_lossy(&html);
        let page = Page { url: &e.url, html: Some(&html), ..Page::default() };
        let verdict = engine.scan(&page, &ScanOptions::default()).unwrap_or_else(|err| panic!("{}: {err}", e.file));
        let mut json = serde_json::to_string_pretty(&verdict).unwrap();
        json.push('\n');
        let again = serde_json::to_string_pretty(&engine.scan(&page, &ScanOptions::default()).unwrap()).unwrap() + "\n";
        assert_eq!(json, again, "{}: the same page scanned twice gave two verdicts", e.file);
        let path = golden_path(&e.file);
        if bless {
            std::fs::write(&path, &json).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(golden) if golden == json => {}
            Ok(golden) => {
                let first = golden.lines().zip(json.lines()).position(|(a, b)| a != b).unwrap_or(0);
                differing.push(format!(
                    "{}: line {}: golden {:?}, now {:?}",
                    path.display(),
                    first + 1,
                    golden.lines().nth(first).unwrap_or(""),
                    json.lines().nth(first).unwrap_or("")
                ));
            }
            Err(err) => differing.push(format!("{}: {err}", path.display())),
        }
    }
    assert!(
        differing.is_empty(),
        "{} verdict(s) differ from their golden files (FERRETWATCH_BLESS=1 rewrites them after an intended \
         change):\n{}",
        differing.len(),
        differing.join("\n")
    );
}
