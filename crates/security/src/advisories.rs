//! A `Cargo.lock` against the RustSec advisory database.
//!
//! The database is a directory laid out as `rustsec/advisory-db` is (`crates/NAME/ID.md`),
//! read by the `rustsec` crate. Fetching it is not done here: the wrappers clone or pull it
//! with `git`, and tests point at the subset under `tests/data/`. Its age is the date of
//! its last git commit, else the date `SNAPSHOT.txt` names, else the newest advisory's
//! (a lower bound, said so).
//!
//! Vulnerabilities (advisories without `informational`, not withdrawn) whose affected
//! versions include a locked version are errors: the check fails on any of them, whatever
//! the severity, since many advisories carry no CVSS vector at all. Informational
//! advisories (unmaintained, unsound, notices) are warnings, left out with
//! `security_only`. Yanked versions are not checked: that needs the crates.io index.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use ferretwatch_types::{Timestamp, DAY};
use rustsec::advisory::Informational;
use rustsec::database::Query;
use rustsec::{Database, Lockfile, Vulnerability};
use serde::Serialize;

use crate::{Finding, Location, Report, Rule, ScanError, Status};

/// The advisory database a check used.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseInfo {
    /// Its directory.
    pub path: String,
    /// How many advisories it holds (withdrawn ones included).
    pub advisories: usize,
    /// When it was last updated (`YYYY-MM-DD`), when known.
    pub updated: Option<String>,
    /// Where that date comes from: `git commit`, `SNAPSHOT.txt` or `newest advisory`.
    pub updated_from: &'static str,
    /// Whole days since then.
    pub age_days: Option<u64>,
}

/// An opened advisory database.
pub struct AdvisoryDb {
    db: Database,
    /// What it is, and how old.
    pub info: DatabaseInfo,
}

impl AdvisoryDb {
    /// Opens the database in `dir`; `now` dates it.
    pub fn open(dir: &Path, now: Timestamp) -> Result<Self, ScanError> {
        let bad = |message: String| ScanError::Database { path: dir.display().to_string(), message };
        if !dir.join("crates").is_dir() {
            return Err(bad("no crates/ directory: not a RustSec advisory database".into()));
        }
        let db = Database::open(dir).map_err(|e| bad(e.to_string()))?;
        let (updated, updated_from) = match git_commit_date(dir) {
            Some(date) => (Some(date), "git commit"),
            None => match snapshot_date(dir) {
                Some(date) => (Some(date), "SNAPSHOT.txt"),
                None => (db.iter().map(|a| a.metadata.date.as_str().to_owned()).max(), "newest advisory"),
            },
        };
        let age_days = updated.as_deref().and_then(parse_date).map(|then| now.secs_since(then) / DAY);
        let info = DatabaseInfo {
            path: dir.display().to_string(),
            advisories: db.iter().count(),
            updated,
            updated_from,
            age_days,
        };
        Ok(AdvisoryDb { db, info })
    }

    /// The database's own line: its size and age, a warning when older than
    /// `max_age_days`.
    pub fn age_notice(&self, max_age_days: u64) -> Finding {
        let info = &self.info;
        let subject = format!("advisory database {}", info.path);
        match (&info.updated, info.age_days) {
            (Some(date), Some(days)) => {
                let text = format!(
                    "{} advisories, updated {date}, {days} days ago (date of its {})",
                    info.advisories, info.updated_from
                );
                if days > max_age_days {
                    Finding::notice(
                        Status::Warning,
                        subject,
                        format!("{text}: older than {max_age_days} days; update it"),
                    )
                } else {
                    Finding::notice(Status::Ok, subject, text)
                }
            }
            _ => Finding::notice(
                Status::Warning,
                subject,
                format!(
                    "{} advisories; its age is unknown (no git history, SNAPSHOT.txt or dated advisory)",
                    info.advisories
                ),
            ),
        }
    }

    /// Checks the lockfile at `path` (shown as `shown`, relative to the source root):
    /// vulnerabilities as errors, and unless `security_only`, informational advisories as
    /// warnings. Advisories listed in `ignore` are reported as notes, with the reason
    /// they no longer fail the check. One summary line.
    pub fn check_lockfile(
        &self,
        path: &Path,
        shown: &str,
        security_only: bool,
        ignore: &[String],
    ) -> Result<Report, ScanError> {
        let bad = |message: String| ScanError::Lockfile { path: path.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let lockfile: Lockfile = text.parse().map_err(|e: rustsec::cargo_lock::Error| bad(e.to_string()))?;
        let lines = package_lines(&text);
        let mut report = Report::default();
        let located = |v: &Vulnerability| {
            Location::source(shown, lines.get(&(v.package.name.to_string(), v.package.version.to_string())).copied())
        };

        let (ignored, vulnerabilities): (Vec<_>, Vec<_>) = self
            .db
            .query_vulnerabilities(&lockfile, &Query::crate_scope())
            .into_iter()
            .partition(|v| ignore.iter().any(|id| id.as_str() == v.advisory.id.as_str()));
        for (v, status) in
            vulnerabilities.iter().map(|v| (v, Status::Error)).chain(ignored.iter().map(|v| (v, Status::Note)))
        {
            let rule = advisory_rule(v);
            let mut message = vulnerability_message(v);
            if status == Status::Note {
                message = format!("ignored (--ignore {}): {message}", v.advisory.id);
            }
            let finding = Finding::new(status, &rule, subject(v), message)
                .identified_by(format!("{}|{}", v.advisory.id, v.package.name))
                .at(located(v));
            report.push(&rule, finding);
        }
        let mut informational = 0;
        if !security_only {
            let query = Query::crate_scope().informational(true);
            for v in self.db.query_vulnerabilities(&lockfile, &query) {
                let rule = advisory_rule(&v);
                let kind = v.advisory.informational.as_ref().map(|i| i.as_str().to_owned()).unwrap_or_default();
                let message = format!("{kind}: {}{}", v.advisory.title, fix(&v));
                let finding = Finding::new(Status::Warning, &rule, subject(&v), message)
                    .identified_by(format!("{}|{}", v.advisory.id, v.package.name))
                    .at(located(&v));
                report.push(&rule, finding);
                informational += 1;
            }
        }
        let registry = lockfile.packages.iter().filter(|p| p.source.as_ref().is_some_and(|s| s.is_default_registry()));
        let crates = registry.count();
        let scope = if security_only { "vulnerabilities only" } else { "vulnerabilities and informational advisories" };
        let status = if vulnerabilities.is_empty() { Status::Ok } else { Status::Error };
        let summary = format!(
            "{crates} crates from crates.io checked ({scope}): {} {}{}{}",
            vulnerabilities.len(),
            if vulnerabilities.len() == 1 { "vulnerability" } else { "vulnerabilities" },
            if ignored.is_empty() { String::new() } else { format!(" ({} more ignored)", ignored.len()) },
            if security_only { String::new() } else { format!(", {informational} informational") },
        );
        report
            .notice(Finding::notice(status, format!("advisories {shown}"), summary).at(Location::source(shown, None)));
        report.database = Some(self.info.clone());
        Ok(report)
    }
}

fn subject(v: &Vulnerability) -> String {
    format!("{} {} {}", v.advisory.id, v.package.name, v.package.version)
}

/// The rule of an advisory: its id, title, page, level and CVSS score.
fn advisory_rule(v: &Vulnerability) -> Rule {
    let a = &v.advisory;
    let mut tags = vec!["security".to_owned()];
    match &a.informational {
        None => tags.push("vulnerability".into()),
        Some(kind) => tags.push(kind.as_str().to_owned()),
    }
    tags.extend(a.categories.iter().map(|c| c.to_string()));
    Rule {
        id: a.id.to_string(),
        name: match &a.informational {
            None => "Vulnerability".into(),
            Some(Informational::Unmaintained) => "Unmaintained".into(),
            Some(Informational::Unsound) => "Unsound".into(),
            Some(_) => "Notice".into(),
        },
        short: format!("{}: {}", a.package, a.title.trim()),
        help_uri: Some(format!("https://rustsec.org/advisories/{}.html", a.id)),
        level: if a.informational.is_none() { Status::Error } else { Status::Warning },
        cvss_score: a.cvss.as_ref().map(|c| c.score()),
        tags,
    }
}

fn vulnerability_message(v: &Vulnerability) -> String {
    let a = &v.advisory;
    let severity = match &a.cvss {
        Some(cvss) => format!("severity {} (CVSS {:.1})", cvss.severity(), cvss.score()),
        None => "severity not rated (no CVSS vector)".into(),
    };
    let aliases: Vec<String> = a.aliases.iter().map(|id| id.to_string()).collect();
    let aliases = if aliases.is_empty() { String::new() } else { format!(" [{}]", aliases.join(", ")) };
    format!("{}{aliases}; {severity}{}", a.title.trim(), fix(v))
}

fn fix(v: &Vulnerability) -> String {
    let patched: Vec<String> = v.versions.patched().iter().map(|r| r.to_string()).collect();
    if patched.is_empty() {
        "; no fixed version: replace or remove it".into()
    } else {
        format!("; fixed in {}", patched.join(" or "))
    }
}

/// The line of each package's `name = "…"` in a `Cargo.lock`, by (name, version).
fn package_lines(text: &str) -> HashMap<(String, String), u32> {
    let mut lines = HashMap::new();
    let mut current: Option<(String, u32)> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line == "[[package]]" {
            current = None;
        } else if let Some(name) = quoted_value(line, "name") {
            current = Some((name.to_owned(), i as u32 + 1));
        } else if let (Some(version), Some((name, at))) = (quoted_value(line, "version"), current.take()) {
            lines.insert((name, version.to_owned()), at);
        }
    }
    lines
}

/// The value of `key = "value"`.
fn quoted_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(key)?.trim_start().strip_prefix('=')?.trim();
    rest.strip_prefix('"')?.strip_suffix('"')
}

/// The committer date of the last commit of a git checkout, as `YYYY-MM-DD` (UTC).
fn git_commit_date(dir: &Path) -> Option<String> {
    if !dir.join(".git").exists() {
        return None;
    }
    let out = Command::new("git").arg("-C").arg(dir).args(["log", "-1", "--format=%ct"]).output().ok()?;
    let secs: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some(Timestamp::from_secs(secs).to_string()[..10].to_owned())
}

/// The last `YYYY-MM-DD` in `SNAPSHOT.txt`.
fn snapshot_date(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("SNAPSHOT.txt")).ok()?;
    text.split(|c: char| c.is_whitespace() || c == ',').rfind(|w| parse_date(w).is_some()).map(str::to_owned)
}

/// A `YYYY-MM-DD` date, at midnight UTC.
fn parse_date(text: &str) -> Option<Timestamp> {
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    Timestamp::from_civil(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?, 0, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_lines_point_at_each_package_name() {
        let text = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"b\"\nversion = \"2.0.0\"\nsource = \"x\"\n";
        let lines = package_lines(text);
        assert_eq!(lines[&("a".into(), "1.0.0".into())], 4);
        assert_eq!(lines[&("b".into(), "2.0.0".into())], 8);
        assert_eq!(lines.len(), 2, "the lockfile's own version line is no package");
    }

    #[test]
    fn dates_are_read_from_snapshot_text() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("SNAPSHOT.txt"), "snapshot of the db, commit abc, 2026-08-21\n").unwrap();
        assert_eq!(snapshot_date(dir.path()).as_deref(), Some("2026-08-21"));
        assert_eq!(parse_date("2026-08-21"), Timestamp::from_civil(2026, 8, 21, 0, 0, 0));
        assert_eq!(parse_date("2026-8-21"), None);
        assert_eq!(parse_date("commit"), None);
    }
}
