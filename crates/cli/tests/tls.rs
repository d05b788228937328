//! `ferretwatch serve` on TLS and runbook §5.1's `cert-renewal-check.sh` (through
//! `ferretwatch tls check`), end to end with certificates made by openssl: the service
//! refuses to start with a key of another pair (exit 2) and warns about a key file others
//! can read; the check passes on a fresh certificate, fails while a renewed file on disk
//! is not yet served (`reload_secs = 0`, no SIGHUP) and passes once SIGHUP loaded it,
//! fails when fewer than FERRETWATCH_CERT_RENEW_DAYS are left, when the key on disk is not
//! the certificate's, and when the file lacks the intermediate its chain needs.

use std::path::Path;
use std::process::Command;

use tls::{config, replace, Ca, Served};

#[path = "support/tls.rs"]
mod tls;

/// Runs `scripts/cert-renewal-check.sh ARGS` with `env`: (status, stdout, stderr).
fn renewal_check(env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cert-renewal-check.sh");
    let mut command = Command::new("bash");
    command.arg(script).args(args).env("FERRETWATCH_BIN", env!("CARGO_BIN_EXE_ferretwatch"));
    for name in ["FERRETWATCH_URL", "FERRETWATCH_CONFIG", "FERRETWATCH_TLS_CA", "FERRETWATCH_CERT_RENEW_DAYS"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let out = command.output().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

fn line<'a>(text: &'a str, check: &str) -> &'a str {
    text.lines()
        .find(|l| l.get(5..).is_some_and(|rest| rest.starts_with(&format!("{check}:"))))
        .unwrap_or_else(|| panic!("no {check} line: {text}"))
}

#[test]
fn the_renewal_check_passes_on_the_served_certificate_and_fails_on_a_renewal_not_picked_up_or_due() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path());
    let (cert, key) = (dir.path().join("tls.pem"), dir.path().join("tls.key"));
    ca.issue("first", 90, 1).install(&cert, &key);
    let config = config(dir.path(), &cert, &key);
    let served = Served::start(dir.path(), &config);
    let url = format!("https://localhost:{}", served.port);
    let env = [
        ("FERRETWATCH_CONFIG", config.to_str().unwrap()),
        ("FERRETWATCH_URL", url.as_str()),
        ("FERRETWATCH_TLS_CA", ca.cert.to_str().unwrap()),
    ];

    let (status, text, err) = renewal_check(&env, &[]);
    assert_eq!(status, 0, "{text}{err}");
    assert_eq!(text.lines().filter(|l| l.starts_with("ok   ")).count(), 4, "{text}");
    let days = line(&text, "certificate");
    assert!(days.contains("in 89 days") || days.contains("in 90 days"), "{text}");

    // Renewed on disk, not yet served: the reload is SIGHUP's (reload_secs = 0).
    ca.issue("renewed", 90, 2).install(&cert, &key);
    let (status, text, _) = renewal_check(&env, &[]);
    assert_eq!(status, 1, "{text}");
    assert!(line(&text, "served").starts_with("FAIL") && text.contains("not picked up"), "{text}");
    assert!(line(&text, "certificate").starts_with("ok") && line(&text, "chain").starts_with("ok"), "{text}");
    served.hangup("TLS certificate reloaded");
    let (status, text, _) = renewal_check(&env, &[]);
    assert_eq!(status, 0, "{text}");

    // Ten days left: renewal due at 30, not at 5.
    ca.issue("short", 10, 3).install(&cert, &key);
    served.hangup("TLS certificate reloaded");
    let (status, text, _) = renewal_check(&env, &[]);
    assert_eq!(status, 1, "{text}");
    let days = line(&text, "certificate");
    assert!(days.starts_with("FAIL") && days.contains("renewal due"), "{text}");
    assert!(days.contains("in 9 day(s)") || days.contains("in 10 day(s)"), "{text}");
    assert!(line(&text, "served").starts_with("ok"), "{text}");
    let mut relaxed = env.to_vec();
    relaxed.push(("FERRETWATCH_CERT_RENEW_DAYS", "5"));
    let (status, text, _) = renewal_check(&relaxed, &[]);
    assert_eq!(status, 0, "{text}");

    // The key on disk replaced by another pair's: the check says so, and a SIGHUP keeps
    // the service on the pair it has.
    replace(&key, &std::fs::read(ca.issue("stranger", 90, 4).key).unwrap());
    let (status, text, _) = renewal_check(&env, &[]);
    assert_eq!(status, 1, "{text}");
    assert!(line(&text, "key").starts_with("FAIL") && line(&text, "key").contains("does not match"), "{text}");
    served.hangup("TLS certificate reload refused");

    // JSON for machines, the same verdict.
    let (status, text, _) = renewal_check(&env, &["--format", "json"]);
    assert_eq!(status, 1);
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["findings"][1]["check"], "key");
    assert_eq!(report["findings"][1]["ok"], false);
    assert_eq!(report["certificate"]["serial"], "03");
}

#[test]
fn the_renewal_check_fails_a_chain_without_its_intermediate_and_one_no_trusted_ca_signed() {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::new(dir.path());
    let intermediate = root.intermediate("intermediate");
    let leaf = intermediate.issue("leaf", 90, 9);
    let (cert, key) = (dir.path().join("tls.pem"), dir.path().join("tls.key"));
    leaf.install(&cert, &key);
    let config = config(dir.path(), &cert, &key);
    // Nothing listens there: the served check fails, the others are what is looked at.
    let env = [
        ("FERRETWATCH_CONFIG", config.to_str().unwrap()),
        ("FERRETWATCH_URL", "https://127.0.0.1:9"),
        ("FERRETWATCH_TLS_CA", root.cert.to_str().unwrap()),
    ];
    let (status, text, _) = renewal_check(&env, &[]);
    assert_eq!(status, 1, "{text}");
    assert!(line(&text, "chain").starts_with("FAIL") && text.contains("intermediate certificate is missing"), "{text}");
    assert!(line(&text, "served").starts_with("FAIL"), "{text}");

    let mut full = std::fs::read(&leaf.cert).unwrap();
    full.extend(std::fs::read(&intermediate.cert).unwrap());
    replace(&cert, &full);
    let (_, text, _) = renewal_check(&env, &[]);
    assert!(line(&text, "chain").starts_with("ok") && text.contains("(2 certificate(s))"), "{text}");

    // Not signed by any CA this machine trusts.
    let (_, text, _) = renewal_check(&env[..2], &[]);
    assert!(line(&text, "chain").starts_with("FAIL") && text.contains("system's CA certificates"), "{text}");
}

#[test]
fn serve_refuses_a_key_of_another_pair_and_warns_about_a_key_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path());
    let (one, two) = (ca.issue("one", 30, 1), ca.issue("two", 30, 2));
    let refused = Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config(dir.path(), &one.cert, &two.key))
        .env("FERRETWATCH_METRICS_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error[key_mismatch]") && stderr.contains("two.key") && stderr.contains("one.pem"),
        "{stderr}"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&one.key, std::fs::Permissions::from_mode(0o640)).unwrap();
        let served = Served::start(dir.path(), &config(dir.path(), &one.cert, &one.key));
        let warning = served.startup.iter().find(|l| l.contains("readable by its group or others"));
        let warning = warning.unwrap_or_else(|| panic!("no warning in {:?}", served.startup));
        assert!(warning.contains("\"mode\":\"0640\"") && warning.contains("WARN"), "{warning}");
    }
}

#[test]
fn the_renewal_script_prints_its_usage_and_refuses_bad_usage_or_no_tls() {
    let (status, text, _) = renewal_check(&[], &["--help"]);
    assert_eq!(status, 0);
    assert!(text.contains("Certificate renewal check") && text.contains("FERRETWATCH_CERT_RENEW_DAYS"), "{text}");
    let (status, _, err) = renewal_check(&[], &["--days", "3"]);
    assert_eq!(status, 2, "{err}");

    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.toml");
    std::fs::write(&plain, "listen = \"127.0.0.1:8080\"\n").unwrap();
    let (status, _, err) = renewal_check(&[("FERRETWATCH_CONFIG", plain.to_str().unwrap())], &[]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("no certificate is configured"), "{err}");
}
