//! `scripts/smoke-test-user-flows.sh`, the runbook's user acceptance test, against a real
//! `ferretwatch serve`: every flow passes on a healthy service, with and without
//! `--critical-paths`; a pack that does not verify against the root it is given, and a
//! service that is gone, each fail it (exit 1) with the flow named; bad usage exits 2.

#[path = "support/served.rs"]
mod served;

use std::path::Path;
use std::process::{Command, Output};

fn smoke(base: &str, root: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smoke-test-user-flows.sh"))
        .args(args)
        .env("FERRETWATCH_URL", base)
        .env("FERRETWATCH_ROOT", root)
        .env("FERRETWATCH_BIN", env!("CARGO_BIN_EXE_ferretwatch"))
        .output()
        .expect("run smoke-test-user-flows.sh")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_user_flows_pass_on_a_healthy_service_and_fail_when_one_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let server = served::serve(dir.path(), &served::NO_LIMITS);
    let root = dir.path().join("data/dev-keys/root.json");

    let critical = smoke(&server.base, &root, &["--critical-paths"]);
    assert!(critical.status.success(), "{}", text(&critical));
    let said = text(&critical);
    for flow in ["ok   health:", "ok   install:", "ok   pack:", "ok   scan:", "ok   report: accepted and committed"] {
        assert!(said.contains(flow), "no '{flow}' in:\n{said}");
    }
    assert!(!said.contains("false positive"), "--critical-paths runs only the critical flows:\n{said}");

    let all = smoke(&server.base, &root, &[]);
    assert!(all.status.success(), "{}", text(&all));
    assert_eq!(text(&all).lines().filter(|l| l.starts_with("ok   ")).count(), 8, "{}", text(&all));

    // A root of trust the served pack is not signed under: the pack flow fails.
    let other = dir.path().join("other");
    let keys = Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
        .args(["keys", "generate", "--out"])
        .arg(other.join("k"))
        .output()
        .unwrap();
    assert!(keys.status.success(), "{}", text(&keys));
    let other_root = other.join("root.json");
    let made = Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
        .args(["root", "create", "--key"])
        .arg(other.join("k.pub"))
        .args(["--threshold", "1", "--expires", "2099-01-01T00:00:00Z", "--out"])
        .arg(&other_root)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made));
    let refused = smoke(&server.base, &other_root, &["--critical-paths"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("FAIL pack: the served pack does not verify"), "{}", text(&refused));

    let base = server.base.clone();
    drop(server);
    let gone = smoke(&base, &root, &["--critical-paths"]);
    assert_eq!(gone.status.code(), Some(1), "{}", text(&gone));
    assert!(text(&gone).contains("FAIL health:") && text(&gone).contains("FAIL report:"), "{}", text(&gone));

    let usage = smoke(&base, &root, &["--everything"]);
    assert_eq!(usage.status.code(), Some(2), "{}", text(&usage));
}
