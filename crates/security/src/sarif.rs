//! A [`Report`] as a SARIF 2.1.0 log (OASIS, errata 01): one run of the tool
//! "FerretWatch security scan", its rules, and a result for each problem found.
//!
//! Written by hand with serde: the part of the format used here is a dozen small objects,
//! and a crate generated from the whole schema would cost far more to build than these
//! lines do. The tests validate the output against the official schema.
//!
//! - `ruleId` and `ruleIndex` name the rule (`tool.driver.rules`); advisories are their
//!   own rules, with the advisory's page as `helpUri` and the CVSS score as
//!   `properties.security-severity` (the property code-scanning services read).
//! - `level` is the finding's: `error`, `warning` or `note`. Passed checks are not
//!   results; skipped checks and the database's age are notifications of the invocation.
//! - `locations`: a lockfile line relative to `SRCROOT` (the source tree, given in
//!   `originalUriBaseIds`), a configuration file by absolute `file://` URI, a service URL,
//!   or a logical location (an environment variable) when there is no file.
//! - `partialFingerprints["ferretwatchFinding/v1"]`: the SHA-256 of the finding's identity
//!   (rule and subject, without versions, ports or dates), stable from one scan to the
//!   next so that a service can tell a new finding from one it has seen.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Finding, Location, Report, Status};

/// The schema a log names.
pub const SCHEMA: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The name of the tool in every log.
pub const TOOL_NAME: &str = "FerretWatch security scan";

/// The key of our fingerprint in `partialFingerprints`.
pub const FINGERPRINT: &str = "ferretwatchFinding/v1";

/// The id of the source tree in `originalUriBaseIds`.
pub const SRCROOT: &str = "SRCROOT";

/// A SARIF log.
#[derive(Debug, Serialize)]
pub struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    invocations: Vec<Invocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_uri_base_ids: Option<BTreeMap<&'static str, ArtifactLocation>>,
    results: Vec<SarifResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: String,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: String,
    name: String,
    short_description: Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    default_configuration: Configuration,
    properties: BTreeMap<&'static str, serde_json::Value>,
}

#[derive(Debug, Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Debug, Serialize)]
struct Message {
    text: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Message,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<SarifLocation>,
    partial_fingerprints: BTreeMap<&'static str, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalLocation>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
}

#[derive(Debug, Serialize)]
struct LogicalLocation {
    name: String,
    kind: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Debug, Serialize)]
struct Notification {
    level: &'static str,
    message: Message,
}

/// The log of `report`; lockfile locations are relative to `source_root`.
pub fn log(report: &Report, source_root: Option<&Path>, version: &str) -> Log {
    let rules: Vec<&crate::Rule> = report.rules.values().collect();
    let index: BTreeMap<&str, usize> = rules.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    let descriptors = rules
        .iter()
        .map(|rule| {
            let mut properties = BTreeMap::new();
            properties.insert("tags", serde_json::json!(rule.tags));
            if let Some(score) = rule.cvss_score {
                properties.insert("security-severity", serde_json::json!(format!("{score:.1}")));
            }
            ReportingDescriptor {
                id: rule.id.clone(),
                name: rule.name.clone(),
                short_description: Message { text: rule.short.clone() },
                help_uri: rule.help_uri.clone(),
                default_configuration: Configuration { level: rule.level.sarif_level() },
                properties,
            }
        })
        .collect();
    let results = report
        .findings
        .iter()
        .filter(|f| matches!(f.status, Status::Error | Status::Warning | Status::Note))
        .filter_map(|f| {
            let rule = f.rule.as_deref()?;
            Some(SarifResult {
                rule_id: rule.to_owned(),
                rule_index: index[rule],
                level: f.status.sarif_level(),
                message: Message { text: format!("{}: {}", f.subject, f.message) },
                locations: f.location.as_ref().map(location).into_iter().collect(),
                partial_fingerprints: BTreeMap::from([(FINGERPRINT, hex::encode(Sha256::digest(&f.identity)))]),
            })
        })
        .collect();
    let notifications = report
        .findings
        .iter()
        .filter(|f| f.rule.is_none() && matches!(f.status, Status::Skipped | Status::Warning | Status::Error))
        .map(notification)
        .collect();
    let original_uri_base_ids = source_root.map(|root| {
        let mut uri = Location::file(root, None).uri;
        if !uri.ends_with('/') {
            uri.push('/');
        }
        BTreeMap::from([(SRCROOT, ArtifactLocation { uri, uri_base_id: None })])
    });
    let properties = report.database.as_ref().map(|db| serde_json::json!({ "advisoryDatabase": db }));
    Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool { driver: Driver { name: TOOL_NAME, version: version.to_owned(), rules: descriptors } },
            invocations: vec![Invocation { execution_successful: true, tool_execution_notifications: notifications }],
            original_uri_base_ids,
            results,
            properties,
        }],
    }
}

fn location(l: &Location) -> SarifLocation {
    let physical_location = (!l.uri.is_empty()).then(|| PhysicalLocation {
        artifact_location: ArtifactLocation { uri: l.uri.clone(), uri_base_id: l.in_source_root.then_some(SRCROOT) },
        region: l.line.filter(|&n| n > 0).map(|start_line| Region { start_line }),
    });
    let logical_locations = l
        .logical
        .iter()
        .map(|name| LogicalLocation {
            name: name.clone(),
            kind: if name.starts_with("FERRETWATCH_") { "variable" } else { "property" },
        })
        .collect();
    SarifLocation { physical_location, logical_locations }
}

fn notification(f: &Finding) -> Notification {
    let level = match f.status {
        Status::Error => "error",
        Status::Warning => "warning",
        _ => "note",
    };
    Notification { level, message: Message { text: format!("{}: {}", f.subject, f.message) } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;

    #[test]
    fn results_name_their_rules_by_index_and_passes_are_left_out() {
        let mut report = Report::default();
        let nosniff = rules::header_nosniff();
        let keys = rules::key_file_permissions();
        report.push(&keys, Finding::new(Status::Ok, &keys, "a", "fine"));
        report.push(&nosniff, Finding::new(Status::Warning, &nosniff, "GET /health", "missing"));
        report.notice(Finding::notice(Status::Skipped, "npm audit extension", "skipped: no lockfile"));
        let json = serde_json::to_value(log(&report, None, "0.1.0")).unwrap();
        let run = &json["runs"][0];
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 1);
        let rule_index = results[0]["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(run["tool"]["driver"]["rules"][rule_index]["id"], "header-nosniff");
        assert_eq!(results[0]["level"], "warning");
        assert_eq!(results[0]["partialFingerprints"][FINGERPRINT].as_str().unwrap().len(), 64);
        let notes = run["invocations"][0]["toolExecutionNotifications"].as_array().unwrap();
        assert_eq!(notes[0]["message"]["text"], "npm audit extension: skipped: no lockfile");
    }
}
