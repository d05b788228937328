//! The security scan of runbook §5.1 (weekly) and §7.1 "Vulnerability Management": what a
//! service and its build depend on, and how the service is set up, as findings with a
//! rule, a level and a location, printed one line each and written as SARIF 2.1.0.
//!
//! - [`advisories`]: `Cargo.lock` against a local copy of the RustSec advisory database
//!   (the `rustsec` crate without its `git` feature: fetching is the wrappers' job, with
//!   the `git` command), the database's age, and [`npm`]'s audit of a browser extension's
//!   `package-lock.json`.
//! - [`config`]: private keys and secret files the settings name (mode), secrets held in
//!   the environment (the scanner's, or a running server's through `/proc/PID/environ`),
//!   TLS settings and the configured certificate. The TOML is read loosely, key by key, so
//!   the check works whatever sections a given version of the service has.
//! - [`live`]: a running service: the certificate it serves and the security headers of
//!   its API, status page and console.
//! - [`sarif`]: the findings as one SARIF 2.1.0 run, written by hand with serde.
//!
//! A finding with [`Status::Error`] fails the check (exit status 1 in the command line);
//! warnings and notes are reported and do not. A check that could not run is
//! [`Status::Skipped`], with the reason: never reported as passed.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod advisories;
pub mod config;
mod der;
pub mod live;
pub mod npm;
pub mod rules;
pub mod sarif;

use std::collections::BTreeMap;

use serde::Serialize;

pub use rules::Rule;

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Checked, and fine.
    Ok,
    /// Could not be checked (no input, a tool or service unreachable); says why.
    Skipped,
    /// Worth knowing; no action needed.
    Note,
    /// Should be fixed; does not fail the check.
    Warning,
    /// Must be fixed: fails the check.
    Error,
}

impl Status {
    /// The word a line of text output starts with.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "SKIP",
            Status::Note => "note",
            Status::Warning => "WARN",
            Status::Error => "FAIL",
        }
    }

    /// The SARIF level of a result with this status.
    pub fn sarif_level(self) -> &'static str {
        match self {
            Status::Error => "error",
            Status::Warning => "warning",
            Status::Note => "note",
            Status::Ok | Status::Skipped => "none",
        }
    }
}

/// Where a finding is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// A URI: relative to the source root when `in_source_root` (`Cargo.lock`,
    /// `extension/package-lock.json`), else absolute (`file:///etc/ferretwatch.toml`, a
    /// service URL).
    pub uri: String,
    /// Whether `uri` is relative to the scanned source tree (the lockfile's directory).
    pub in_source_root: bool,
    /// The line, from 1, when known.
    pub line: Option<u32>,
    /// A name for what is at fault when it is not a place in a file (an environment
    /// variable, a setting).
    pub logical: Option<String>,
}

impl Location {
    /// A file of the source tree, at a line.
    pub fn source(path: &str, line: Option<u32>) -> Self {
        Location { uri: path.replace('\\', "/"), in_source_root: true, line, logical: None }
    }

    /// A file anywhere, by absolute path (made absolute against the working directory).
    pub fn file(path: &std::path::Path, line: Option<u32>) -> Self {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let text = absolute.to_string_lossy().replace('\\', "/");
        let encoded: String = text
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                other => format!("%{other:02X}"),
            })
            .collect();
        Location { uri: format!("file://{encoded}"), in_source_root: false, line, logical: None }
    }

    /// Something with a name but no file (an environment variable).
    pub fn logical(name: impl Into<String>) -> Self {
        Location { uri: String::new(), in_source_root: false, line: None, logical: Some(name.into()) }
    }

    /// This location with a logical name added.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.logical = Some(name.into());
        self
    }
}

/// One line of the scan: a check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What was found.
    pub status: Status,
    /// The rule a problem breaks ([`Rule::id`]); `None` for the scan's own notices (the
    /// database's age, a check skipped), which SARIF carries as notifications.
    pub rule: Option<String>,
    /// What was checked: `smallvec 1.6.0`, `console.audit_key`, `GET /admin/login`.
    pub subject: String,
    /// What was found, and what to do.
    pub message: String,
    /// Where.
    pub location: Option<Location>,
    /// What makes this finding the same finding in the next scan (the rule and subject
    /// without versions, ports or dates), for SARIF's `partialFingerprints`.
    #[serde(skip)]
    pub identity: String,
}

impl Finding {
    /// A finding under `rule`, with the status this check gave it.
    pub fn new(status: Status, rule: &Rule, subject: impl Into<String>, message: impl Into<String>) -> Self {
        let subject = subject.into();
        Finding {
            status,
            rule: Some(rule.id.clone()),
            identity: format!("{}|{subject}", rule.id),
            subject,
            message: message.into(),
            location: None,
        }
    }

    /// A notice of the scan itself (no rule).
    pub fn notice(status: Status, subject: impl Into<String>, message: impl Into<String>) -> Self {
        let subject = subject.into();
        Finding { status, rule: None, identity: subject.clone(), subject, message: message.into(), location: None }
    }

    /// The same finding at `location`.
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// The same finding with another identity (see [`Finding::identity`]).
    pub fn identified_by(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }
}

/// Everything one scan found, with the rules its findings break.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// In the order the checks ran.
    pub findings: Vec<Finding>,
    /// Every rule a finding names, by id.
    pub rules: BTreeMap<String, Rule>,
    /// The advisory database the dependencies were checked against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<advisories::DatabaseInfo>,
}

impl Report {
    /// Adds a finding and the rule it names.
    pub fn push(&mut self, rule: &Rule, finding: Finding) {
        self.rules.entry(rule.id.clone()).or_insert_with(|| rule.clone());
        self.findings.push(finding);
    }

    /// Adds a notice of the scan itself.
    pub fn notice(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Adds everything another report found.
    pub fn extend(&mut self, other: Report) {
        self.findings.extend(other.findings);
        self.rules.extend(other.rules);
        if other.database.is_some() {
            self.database = other.database;
        }
    }

    /// Whether any finding fails the check.
    pub fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.status == Status::Error)
    }

    /// How many findings have `status`. Errors are counted once, under their rule: a
    /// summary line that fails with them is not another error.
    pub fn count(&self, status: Status) -> usize {
        self.findings.iter().filter(|f| f.status == status && (status != Status::Error || f.rule.is_some())).count()
    }
}

/// Why a scan could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The advisory database is missing or unreadable.
    #[error("advisory database {path}: {message}")]
    Database {
        /// The directory.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The lockfile is missing or not a `Cargo.lock`.
    #[error("{path}: {message}")]
    Lockfile {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The service's configuration file cannot be read or is not TOML.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl ferretwatch_types::Coded for ScanError {
    fn code(&self) -> &'static str {
        match self {
            ScanError::Database { .. } => "no_advisory_db",
            ScanError::Lockfile { .. } => "bad_lockfile",
            ScanError::Config { .. } => "bad_config",
        }
    }

    fn fault(&self) -> ferretwatch_types::Fault {
        ferretwatch_types::Fault::Input
    }
}

/// The first line of `text` (1-based) that satisfies `matches`.
pub(crate) fn line_of(text: &str, matches: impl FnMut(&str) -> bool) -> Option<u32> {
    text.lines().position(matches).map(|i| i as u32 + 1)
}
