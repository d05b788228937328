//! The rendered page scanned with the exact pack: the version the reporter's client ran
//! (from the origin's `history/VERSION/`, verified against the root of trust as of its own
//! hour, as a rollback verifies it) and the version the origin serves now (verified as of
//! now, as a client verifies it). The engine is built by the same library call as
//! `ferretwatch scan --pack` ([`ferretwatch_pack_client::load::load`]).
//!
//! The functions here block (the origin's object store runs on its own runtime): call them
//! from a blocking thread.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ferretwatch_detect::{Page, ScanOptions};
use ferretwatch_pack_client::load::{load, YaraLimit};
use ferretwatch_pack_client::trust::verify::{State, Verifier};
use ferretwatch_pack_publisher::origin::{Origin, S3Options};
use ferretwatch_types::{PackVersion, Timestamp};
use serde::{Deserialize, Serialize};

/// The YARA time limit of each scan (as the command line's default).
pub const YARA_TIMEOUT: Duration = Duration::from_millis(200);

/// Why a pack could not be loaded or a page not scanned.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The version is not a pack version.
    #[error("{0}")]
    Version(String),
    /// The origin could not be opened or read.
    #[error("{0}")]
    Origin(String),
    /// The pack did not verify against the root of trust.
    #[error("pack {version} refused: {detail}")]
    Refused {
        /// The version asked for (`current` for the served one).
        version: String,
        /// Why.
        detail: String,
    },
    /// The verified pack does not make an engine.
    #[error("pack {version}: {detail}")]
    Load {
        /// The version.
        version: String,
        /// Why.
        detail: String,
    },
    /// The engine refused the page.
    #[error("scan: {0}")]
    Scan(String),
}

/// A verified pack's files.
#[derive(Debug, Clone)]
pub struct PackFiles {
    /// Its version.
    pub version: String,
    /// Every file by name, each checked against its signed hash.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Loads and verifies pack `version` as deployed at `origin` (its `history/VERSION/`), or
/// with `None` the pack the origin serves now.
pub fn load_pack(
    origin: &Origin,
    root: &[u8],
    version: Option<&PackVersion>,
    now: Timestamp,
) -> Result<PackFiles, ScanError> {
    let (verifier, source, label) = match version {
        // Its metadata has expired since: it is checked as of its own hour.
        Some(v) => {
            (Verifier::new(root.to_vec(), v.hour(), State::default()), origin.source(Some(v.as_str())), v.as_str())
        }
        None => (Verifier::new(root.to_vec(), now, State::default()), origin.source(None), "current"),
    };
    let verified = verifier
        .verify(&source)
        .map_err(|e| ScanError::Refused { version: label.to_owned(), detail: e.to_string() })?;
    Ok(PackFiles { version: verified.pack_version, files: verified.files })
}

/// One finding as shown: its key and evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingText {
    /// The finding key (`password_form_offsite`, …).
    pub key: String,
    /// The evidence.
    pub evidence: String,
}

/// A page's verdict under one pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageScan {
    /// The pack version.
    pub version: String,
    /// `green`, `yellow` or `red`.
    pub level: String,
    /// 0–100.
    pub score: u8,
    /// The findings, strongest first within each group.
    pub findings: Vec<FindingText>,
}

impl PageScan {
    /// The finding keys.
    pub fn keys(&self) -> Vec<String> {
        self.findings.iter().map(|f| f.key.clone()).collect()
    }
}

/// Scans the rendered `html` of `url` with the engine of a verified pack's `files`.
pub fn scan_page(html: &str, url: &str, pack: &PackFiles, now: Timestamp) -> Result<PageScan, ScanError> {
    let loaded = load(&pack.files, now, YaraLimit::Timeout(YARA_TIMEOUT), true)
        .map_err(|e| ScanError::Load { version: pack.version.clone(), detail: e.to_string() })?;
    let page = Page { url, html: Some(html), ..Page::default() };
    let verdict = loaded.engine.scan(&page, &ScanOptions::default()).map_err(|e| ScanError::Scan(e.to_string()))?;
    Ok(PageScan {
        version: pack.version.clone(),
        level: verdict.level.as_str().to_owned(),
        score: verdict.score,
        findings: verdict
            .findings
            .iter()
            .map(|f| FindingText { key: f.key.name().to_owned(), evidence: f.evidence.clone() })
            .collect(),
    })
}

/// Finding keys added, removed and kept from one verdict to another.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDiff {
    /// In the second only.
    pub added: Vec<String>,
    /// In the first only.
    pub removed: Vec<String>,
    /// In both.
    pub kept: Vec<String>,
}

impl KeyDiff {
    /// The difference from `before` to `after`.
    pub fn between(before: &[String], after: &[String]) -> Self {
        let before: BTreeSet<&String> = before.iter().collect();
        let after: BTreeSet<&String> = after.iter().collect();
        KeyDiff {
            added: after.difference(&before).map(|k| (*k).clone()).collect(),
            removed: before.difference(&after).map(|k| (*k).clone()).collect(),
            kept: before.intersection(&after).map(|k| (*k).clone()).collect(),
        }
    }
}

/// A scan under one pack, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    /// The version asked for.
    pub version: String,
    /// The verdict.
    pub scan: Option<PageScan>,
    /// Why there is no verdict.
    pub error: Option<String>,
}

impl Side {
    fn of(version: String, result: Result<PageScan, ScanError>) -> Self {
        match result {
            Ok(scan) => Side { version, scan: Some(scan), error: None },
            Err(e) => Side { version, scan: None, error: Some(e.to_string()) },
        }
    }

    fn keys(&self) -> Vec<String> {
        self.scan.as_ref().map(PageScan::keys).unwrap_or_default()
    }
}

/// What the reporter saw against what the reproduced page gives with the reporter's pack
/// version and with the current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// The reporter's finding keys.
    pub reporter_keys: Vec<String>,
    /// The reporter's score.
    pub reporter_score: Option<u8>,
    /// The page under the reporter's pack version.
    pub at_reporter_version: Side,
    /// The page under the pack the origin serves now.
    pub at_current: Side,
    /// From the reporter's findings to the reproduction's under the same version.
    pub reporter_to_reproduced: KeyDiff,
    /// From the reporter's version to the current one, on the reproduced page.
    pub reproduced_to_current: KeyDiff,
}

/// What [`compare`] needs to know about the report.
#[derive(Debug, Clone)]
pub struct Reported {
    /// The pack version the reporter's client ran.
    pub pack_version: String,
    /// Its finding keys.
    pub keys: Vec<String>,
    /// Its score.
    pub score: Option<u8>,
}

/// Scans the reproduced page (`html` at `url`) with the reporter's pack version and the
/// current pack of the origin at `origin_url`, both verified against `root`. Blocks.
pub fn compare(
    origin_url: &str,
    s3: &S3Options,
    root: &[u8],
    reported: &Reported,
    html: &str,
    url: &str,
    now: Timestamp,
) -> Comparison {
    let origin = Origin::open_with(origin_url, s3).map_err(|e| ScanError::Origin(e.to_string()));
    let run = |version: Option<&str>| -> Result<PageScan, ScanError> {
        let origin = origin.as_ref().map_err(|e| ScanError::Origin(e.to_string()))?;
        let version = version
            .map(|v| PackVersion::parse(v).map_err(|e| ScanError::Version(format!("pack version {v:?}: {e}"))))
            .transpose()?;
        let pack = load_pack(origin, root, version.as_ref(), now)?;
        scan_page(html, url, &pack, now)
    };
    let at_reporter_version = Side::of(reported.pack_version.clone(), run(Some(&reported.pack_version)));
    let at_current = Side::of("current".into(), run(None));
    let at_current = match &at_current.scan {
        Some(scan) => Side { version: scan.version.clone(), ..at_current },
        None => at_current,
    };
    Comparison {
        reporter_keys: reported.keys.clone(),
        reporter_score: reported.score,
        reporter_to_reproduced: KeyDiff::between(&reported.keys, &at_reporter_version.keys()),
        reproduced_to_current: KeyDiff::between(&at_reporter_version.keys(), &at_current.keys()),
        at_reporter_version,
        at_current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_differences_name_what_was_added_removed_and_kept() {
        let s = |v: &[&str]| v.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        let diff = KeyDiff::between(&s(&["a", "b"]), &s(&["b", "c"]));
        assert_eq!(diff, KeyDiff { added: s(&["c"]), removed: s(&["a"]), kept: s(&["b"]) });
    }
}
