//! The disaster-recovery drill, `scripts/dr-test.sh`, run as the runbook runs it against the
//! real binary and PostgreSQL clusters of its own: with WAL archiving on, a million
//! reports recover with no acknowledged report lost, an RPO under a minute and an RTO under
//! five minutes; with it off, the RPO is the time since the last logical backup and the
//! reports acknowledged after it are lost, as the drill's report says; and a drill that
//! misses its target exits 1. One test, so the drills never share the two cores.
//!
//! Needs PostgreSQL's server binaries (Debian's postgresql package; the drill installs it
//! when missing); FERRETWATCH_SKIP_POSTGRES=1 reports it as ignored.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the drill with these settings; returns its output and the report it wrote.
fn drill(reports_dir: &Path, settings: &[(&str, &str)]) -> (Output, serde_json::Value) {
    let out = Command::new("bash")
        .arg(repo().join("scripts/dr-test.sh"))
        .current_dir(repo())
        .env("FERRETWATCH_BIN", env!("CARGO_BIN_EXE_ferretwatch"))
        .env("FERRETWATCH_DR_REPORT_DIR", reports_dir)
        .envs(settings.iter().copied())
        .output()
        .expect("run scripts/dr-test.sh");
    let mut reports: Vec<_> = std::fs::read_dir(reports_dir)
        .map(|d| d.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect())
        .unwrap_or_default();
    reports.sort();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let report = reports.last().unwrap_or_else(|| panic!("the drill wrote no report:\n{said}"));
    let parsed = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    std::fs::remove_file(report).unwrap();
    std::fs::remove_file(report.with_extension("md")).unwrap();
    (out, parsed)
}

fn said(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn number(report: &serde_json::Value, key: &str) -> f64 {
    report[key].as_f64().unwrap_or_else(|| panic!("{key} in {report}"))
}

#[test]
#[cfg_attr(skip_postgres, ignore = "FERRETWATCH_SKIP_POSTGRES=1")]
fn the_drill_recovers_a_million_reports_and_measures_what_a_backup_without_wal_loses() {
    let dir = tempfile::tempdir().unwrap();

    // WAL archiving on, the scale and targets.
    let (out, report) = drill(
        dir.path(),
        &[
            ("FERRETWATCH_DR_REPORTS", "1000000"),
            ("FERRETWATCH_DR_LOAD_SECONDS", "15"),
            ("FERRETWATCH_DR_RPO_TARGET", "60"),
            ("FERRETWATCH_DR_RTO_TARGET", "300"),
        ],
    );
    assert!(out.status.success(), "the drill with WAL archiving failed:\n{}", said(&out));
    assert_eq!(report["verdict"], "ok");
    assert_eq!(report["wal_archiving"], true);
    assert!(number(&report, "reports_in_restored_database") >= 1_000_000.0, "{report}");
    assert!(number(&report, "acknowledged") > 0.0, "no load: {report}");
    assert_eq!(number(&report, "acknowledged_lost"), 0.0, "{report}");
    assert!(number(&report, "rpo_seconds") < 60.0, "{report}");
    assert!(number(&report, "rto_seconds") < 300.0, "{report}");
    assert!(said(&out).contains("ok   report: accepted and committed"), "{}", said(&out));

    // WAL archiving off: only the logical backup; what came after it is lost, and the RPO
    // is the time from the backup to the last acknowledged report.
    let (out, report) = drill(
        dir.path(),
        &[("FERRETWATCH_DR_WAL", "off"), ("FERRETWATCH_DR_REPORTS", "50000"), ("FERRETWATCH_DR_LOAD_SECONDS", "6")],
    );
    assert!(out.status.success(), "the drill without WAL archiving failed:\n{}", said(&out));
    assert_eq!(report["wal_archiving"], false);
    let lost = number(&report, "acknowledged_lost");
    assert!(lost > 0.0 && lost == number(&report, "acknowledged"), "every report after the backup is lost: {report}");
    let (rpo, age) = (number(&report, "rpo_seconds"), number(&report, "backup_age_at_loss_seconds"));
    // Equal to within the last acknowledgements in flight when the primary died.
    assert!(
        rpo > 5.0 && (rpo - age).abs() < 1.0,
        "the RPO {rpo} s is the time since the backup ({age} s at the loss): {report}"
    );

    // The same loss against a one-second RPO target fails the drill, and says why.
    let (out, report) = drill(
        dir.path(),
        &[
            ("FERRETWATCH_DR_WAL", "off"),
            ("FERRETWATCH_DR_REPORTS", "1000"),
            ("FERRETWATCH_DR_LOAD_SECONDS", "3"),
            ("FERRETWATCH_DR_RPO_TARGET", "1"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert_eq!(report["verdict"], "FAIL");
    assert!(said(&out).contains("FAIL: the RPO"), "{}", said(&out));
}

/// The WAL receiver and the daily base backup as systemd reads them, confined as the
/// service is; the drill runs the scripts they start.
#[test]
fn the_wal_archiving_units_verify_and_are_confined() {
    support::verify_units(&[
        "ferretwatch-wal-receiver.service",
        "ferretwatch-base-backup.service",
        "ferretwatch-base-backup.timer",
    ]);
}
