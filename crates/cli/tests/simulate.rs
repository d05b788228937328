//! The fleet simulator end to end (`bench/simulate.sh`): real keys, packs and deploys,
//! five real `ferretwatch serve` processes, and simulated clients running the real
//! updater through injected faults on a virtual clock; fresh intel published by the
//! delegated intel role at 6.5 virtual hours, and degradation level 2 set with the online
//! key at 6 h 40 min. The fleet is small here (the 10,000-client figures are in
//! docs/benchmarks.md); the targets are the same.

use std::path::Path;
use std::process::Command;

#[test]
fn a_fleet_survives_the_faults_converges_after_the_outage_and_never_runs_an_unverified_pack() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/simulate.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(["--clients", "300", "--hours", "8", "--format", "json"])
        .env("FERRETWATCH_BIN", env!("CARGO_BIN_EXE_ferretwatch"))
        .env("INTEL_AT", "23400")
        .env("DEGRADED_AT", "24000")
        .output()
        .expect("run bench/simulate.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "simulate failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let s: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON summary");
    let num = |k: &str| s[k].as_f64().unwrap_or_else(|| panic!("{k} in {s}"));
    assert_eq!(num("clients"), 300.0);
    assert!(num("success_rate") >= 0.995, "{s}");
    assert_eq!(num("converged"), 300.0, "{s}");
    assert_eq!(num("converged_late"), 0.0, "every client within one interval plus jitter: {s}");
    assert!(num("max_convergence_secs") <= num("convergence_bound_secs"), "{s}");
    assert_eq!(num("unverified_installs"), 0.0, "{s}");
    // Fresh intel, signed by the automated intel key and the online key only, reaches
    // every client within one polling interval plus jitter.
    assert_eq!(num("intel_reached"), 300.0, "{s}");
    assert!(num("max_intel_delay_secs") <= num("convergence_bound_secs"), "{s}");
    // The on-call engineer's level change (2: reduced rule updates), signed by the online
    // key alone, reaches every client within one polling interval plus jitter.
    assert_eq!(num("degradation_level"), 2.0, "{s}");
    assert_eq!(num("degradation_reached"), 300.0, "{s}");
    assert!(num("max_degradation_delay_secs") <= num("convergence_bound_secs"), "{s}");
    assert!(num("installs") >= 600.0, "every client installed both packs: {s}");
    assert!(num("min_poll_gap_secs") >= 3600.0, "at most one poll per client per hour: {s}");
    assert!(num("outage_cycles") > 0.0 && num("cycles") > 1800.0, "{s}");
    // Every fault kind was met, and none of them got through.
    for fault in ["http_503", "timeout", "truncated", "tampered", "stale", "mirror_down", "origin_down"] {
        assert!(s["faults"][fault].as_u64().unwrap_or(0) > 0, "{fault} injected: {s}");
    }
    assert!(num("not_modified_share") > 0.5, "{s}");
    // No herd: with 300 clients a minute holds about 7 polls; a herd would put hundreds
    // into one.
    assert!(num("polls_peak_to_mean") < 4.0, "{s}");
}
