//! Labelled URL lists for `pack test`: recall per class of phishing URLs and
//! false-positive rates per level on benign ones, URL only, against the gates the pack's
//! rules carry.
//!
//! A list is text, one URL per line: `label<TAB>class<TAB>url`, where `label` is `phishing`
//! or `benign` and `class` names where the URL comes from (`homoglyph`, `popular`, ...).
//! Blank lines and lines starting with `#` are skipped. A malformed line (wrong number of
//! fields, unknown label, empty class, a URL the engine refuses) is counted and reported
//! with its file and line number; it never stops the run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferretwatch_detect::{Engine, Gate, Level, Page, ScanOptions};
use serde::Serialize;

use crate::corpus_test::CorpusError;

/// How many misses (phishing at green) or false positives are kept per class as examples.
pub const EXAMPLES_PER_CLASS: usize = 5;
/// How many malformed lines are reported in full; the rest are only counted.
pub const BAD_LINES_SHOWN: usize = 20;

/// One labelled URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labelled {
    /// `true` for phishing, `false` for benign.
    pub phishing: bool,
    /// Where it comes from.
    pub class: String,
    /// The URL.
    pub url: String,
    /// 1-based line number in its list.
    pub line: usize,
}

/// A line that could not be used.
#[derive(Clone, Debug, Serialize)]
pub struct BadLine {
    /// The list.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Parses one list; malformed lines go to `bad`.
pub fn parse_list(name: &str, text: &str, bad: &mut Vec<BadLine>) -> Vec<Labelled> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut report = |reason: String| bad.push(BadLine { file: name.to_owned(), line: i + 1, reason });
        let fields: Vec<&str> = line.split('\t').collect();
        let [label, class, url] = fields[..] else {
            report(format!("{} tab-separated fields, expected 3 (label, class, url)", fields.len()));
            continue;
        };
        let phishing = match label {
            "phishing" => true,
            "benign" => false,
            other => {
                report(format!("label {other:?} is neither phishing nor benign"));
                continue;
            }
        };
        let class = class.trim();
        if class.is_empty() || !class.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) {
            report(format!("class {class:?} must be letters, digits, '-' or '_'"));
            continue;
        }
        out.push(Labelled { phishing, class: class.to_owned(), url: url.trim().to_owned(), line: i + 1 });
    }
    out
}

/// Counts of one (label, class) at each level.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LevelCounts {
    /// URLs.
    pub total: usize,
    /// At yellow.
    pub yellow: usize,
    /// At red.
    pub red: usize,
    /// Share at yellow or red: recall for phishing, false positives for benign.
    pub warned_rate: f64,
    /// Share at red.
    pub red_rate: f64,
    /// Phishing URLs left green, or benign URLs warned (at most [`EXAMPLES_PER_CLASS`]),
    /// each with its score and first finding.
    pub examples: Vec<Example>,
}

impl LevelCounts {
    fn add(&mut self, level: Level) {
        self.total += 1;
        match level {
            Level::Green => {}
            Level::Yellow => self.yellow += 1,
            Level::Red => self.red += 1,
        }
        let total = self.total as f64;
        self.warned_rate = (self.yellow + self.red) as f64 / total;
        self.red_rate = self.red as f64 / total;
    }

    /// The share at `level` or above.
    pub fn share_at(&self, level: Level) -> f64 {
        match level {
            Level::Green => 1.0,
            Level::Yellow => self.warned_rate,
            Level::Red => self.red_rate,
        }
    }
}

/// A URL the pack got wrong.
#[derive(Clone, Debug, Serialize)]
pub struct Example {
    /// The URL.
    pub url: String,
    /// Its level.
    pub level: Level,
    /// Its score.
    pub score: u8,
    /// The strongest finding's key and evidence, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
}

/// A gate's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct GateResult {
    /// What it checks, e.g. `benign/popular at red <= 0`.
    pub gate: String,
    /// The measured share.
    pub share: f64,
    /// URLs it was measured on.
    pub total: usize,
    /// Whether the share is within the bounds.
    pub passed: bool,
}

/// The outcome over every list.
#[derive(Clone, Debug, Serialize, Default)]
pub struct UrlReport {
    /// The lists read.
    pub lists: Vec<String>,
    /// Phishing URLs per class.
    pub phishing: BTreeMap<String, LevelCounts>,
    /// Benign URLs per class.
    pub benign: BTreeMap<String, LevelCounts>,
    /// All phishing URLs.
    pub phishing_total: LevelCounts,
    /// All benign URLs.
    pub benign_total: LevelCounts,
    /// Malformed lines, counted.
    pub bad_lines: usize,
    /// The first [`BAD_LINES_SHOWN`] malformed lines.
    pub bad_line_examples: Vec<BadLine>,
    /// Every gate, applied.
    pub gates: Vec<GateResult>,
}

impl UrlReport {
    /// Whether every gate holds.
    pub fn passed(&self) -> bool {
        self.gates.iter().all(|g| g.passed)
    }
}

/// Reads every list, scans each URL alone (no page), and applies `gates`.
pub fn run(engine: &Engine, lists: &[PathBuf], gates: &[Gate]) -> Result<UrlReport, CorpusError> {
    let mut report = UrlReport::default();
    let mut bad = Vec::new();
    let options = ScanOptions::default();
    for path in lists {
        let name = path.display().to_string();
        let text =
            std::fs::read(path).map_err(|e| CorpusError::Corpus { path: path.clone(), reason: e.to_string() })?;
        let text = String::from_utf8_lossy(&text);
        for item in parse_list(&name, &text, &mut bad) {
            let page = Page { url: &item.url, ..Page::default() };
            let verdict = match engine.scan(&page, &options) {
                Ok(v) => v,
                Err(e) => {
                    bad.push(BadLine { file: name.clone(), line: item.line, reason: format!("{}: {e}", item.url) });
                    continue;
                }
            };
            let (per_class, total) = if item.phishing {
                (&mut report.phishing, &mut report.phishing_total)
            } else {
                (&mut report.benign, &mut report.benign_total)
            };
            let counts = per_class.entry(item.class.clone()).or_default();
            counts.add(verdict.level);
            total.add(verdict.level);
            let wrong = if item.phishing { verdict.level == Level::Green } else { verdict.level != Level::Green };
            if wrong && counts.examples.len() < EXAMPLES_PER_CLASS {
                counts.examples.push(Example {
                    url: item.url,
                    level: verdict.level,
                    score: verdict.score,
                    finding: verdict.findings.first().map(|f| format!("{}: {}", f.key.name(), f.evidence)),
                });
            }
        }
        report.lists.push(name);
    }
    report.bad_lines = bad.len();
    bad.truncate(BAD_LINES_SHOWN);
    report.bad_line_examples = bad;
    report.gates = apply_gates(&report, gates);
    Ok(report)
}

fn level_of(text: &str) -> Level {
    if text == "red" {
        Level::Red
    } else {
        Level::Yellow
    }
}

/// Applies each gate to the totals, a class, or each class of its label. A gate on a class
/// no list has is skipped (nothing was measured); a gate on a label with no URLs likewise.
pub fn apply_gates(report: &UrlReport, gates: &[Gate]) -> Vec<GateResult> {
    let mut out = Vec::new();
    for gate in gates {
        let phishing = gate.label == "phishing";
        let (classes, total) =
            if phishing { (&report.phishing, &report.phishing_total) } else { (&report.benign, &report.benign_total) };
        let level = level_of(&gate.level);
        let mut check = |scope: &str, counts: &LevelCounts| {
            if counts.total == 0 {
                return;
            }
            let share = counts.share_at(level);
            let mut bounds = Vec::new();
            let mut passed = true;
            if let Some(min) = gate.min {
                bounds.push(format!(">= {min}"));
                passed &= share >= min;
            }
            if let Some(max) = gate.max {
                bounds.push(format!("<= {max}"));
                passed &= share <= max;
            }
            out.push(GateResult {
                gate: format!("{}/{scope} at {} {}", gate.label, gate.level, bounds.join(" and ")),
                share,
                total: counts.total,
                passed,
            });
        };
        match &gate.class {
            Some(class) => {
                if let Some(counts) = classes.get(class) {
                    check(class, counts);
                }
            }
            None => {
                check("all", total);
                if gate.each_class {
                    for (class, counts) in classes {
                        check(class, counts);
                    }
                }
            }
        }
    }
    out
}

/// The lists under `DIR/urls/` (`*.tsv`, sorted), which `pack test` reads by default.
pub fn default_lists(corpus: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(corpus.join("urls")) else { return Vec::new() };
    let mut lists: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "tsv")).collect();
    lists.sort();
    lists
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_and_bad_ones_are_counted_with_their_numbers() {
        let text = "# comment\nphishing\thomoglyph\thttps://paypa1.com/\n\nbenign\tpopular\thttps://example.com/\n\
                    phish\tx\thttps://a.example/\nbenign\tpopular\nbenign\t\thttps://b.example/\n";
        let mut bad = Vec::new();
        let items = parse_list("l.tsv", text, &mut bad);
        assert_eq!(items.len(), 2);
        assert!(items[0].phishing && items[0].class == "homoglyph");
        assert!(!items[1].phishing);
        let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![5, 6, 7], "{bad:?}");
        assert!(bad[0].reason.contains("phish"), "{}", bad[0].reason);
    }

    fn gate(label: &str, class: Option<&str>, each: bool, level: &str, min: Option<f64>, max: Option<f64>) -> Gate {
        Gate { label: label.into(), class: class.map(Into::into), each_class: each, level: level.into(), min, max }
    }

    #[test]
    fn gates_fail_on_the_class_that_misses_and_pass_on_the_rest() {
        let mut report = UrlReport::default();
        let a = report.phishing.entry("a".into()).or_default();
        for level in [Level::Red, Level::Yellow] {
            a.add(level);
        }
        let b = report.phishing.entry("b".into()).or_default();
        for level in [Level::Red, Level::Green] {
            b.add(level);
        }
        for level in [Level::Red, Level::Yellow, Level::Red, Level::Green] {
            report.phishing_total.add(level);
        }
        let popular = report.benign.entry("popular".into()).or_default();
        popular.add(Level::Yellow);
        popular.add(Level::Green);
        let gates = [
            gate("phishing", None, true, "yellow", Some(0.9), None),
            gate("benign", Some("popular"), false, "red", None, Some(0.0)),
            gate("benign", Some("popular"), false, "yellow", None, Some(0.01)),
            gate("benign", Some("absent"), false, "red", None, Some(0.0)),
        ];
        let results = apply_gates(&report, &gates);
        let outcome: Vec<(&str, bool)> = results.iter().map(|g| (g.gate.as_str(), g.passed)).collect();
        assert_eq!(
            outcome,
            vec![
                ("phishing/all at yellow >= 0.9", false),
                ("phishing/a at yellow >= 0.9", true),
                ("phishing/b at yellow >= 0.9", false),
                ("benign/popular at red <= 0", true),
                ("benign/popular at yellow <= 0.01", false),
            ]
        );
        assert!((results[2].share - 0.5).abs() < 1e-9);
    }
}
