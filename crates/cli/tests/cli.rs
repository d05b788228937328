//! The `ferretwatch` binary as a user runs it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn ferretwatch(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferretwatch"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// A file under the target directory's scratch space (removed with the build, never left
/// in the system's temporary directory).
fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

const KIT: &str = r#"<title>PayPal: Log in</title><img src="https://www.paypalobjects.com/logo.png">
<p>Your account has been suspended. Verify your account within 24 hours.</p>
<form action="https://gate.example.ru/pp.php"><input type=email name=email><input type=password name=pw>
<input type=hidden name=v value="jane@example.com"></form>"#;

#[test]
fn exit_status_is_0_for_green_10_for_yellow_20_for_red() {
    assert_eq!(ferretwatch(&["scan", "--url", "https://www.paypal.com/"], None).status.code(), Some(0));
    let yellow = ferretwatch(&["scan", "--url", "https://paypa1.com/", "--yellow", "30", "--red", "90"], None);
    assert_eq!(yellow.status.code(), Some(10));
    let html = temp_file("kit.html", KIT);
    let red =
        ferretwatch(&["scan", "--url", "https://paypal-account-review.com/", "--html", html.to_str().unwrap()], None);
    assert_eq!(red.status.code(), Some(20), "{}", String::from_utf8_lossy(&red.stdout));
}

#[test]
fn text_output_explains_each_finding() {
    let out = ferretwatch(&["scan", "--url", "https://paypal-account-review.com/", "--html", "-"], Some(KIT));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("RED  score"), "{text}");
    assert!(text.contains("phishing_form_cross_domain"), "{text}");
    assert!(text.contains("posts to gate.example.ru"), "{text}");
    assert!(text.contains("[PayPal]"), "{text}");
}

#[test]
fn json_output_is_the_verdict() {
    let out = ferretwatch(&["scan", "--url", "https://xn--pypal-4ve.com/", "--format", "json"], None);
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["findings"][0]["key"], "idn_homograph_high");
    assert_eq!(verdict["findings"][0]["brand"], "PayPal");
    assert!(verdict["score"].as_u64().unwrap() > 0);
    assert_eq!(verdict["partial"], false);
}

#[test]
fn bad_input_exits_2_with_a_reason() {
    let out = ferretwatch(&["scan", "--url", "not a url"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_url"));
    let out = ferretwatch(
        &["scan", "--url", "https://x.example/", "--format", "json", "--html", "/nonexistent/page.html"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let error: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "io");
    assert_eq!(ferretwatch(&["scan"], None).status.code(), Some(2));
}

#[test]
fn rules_with_an_unknown_field_are_refused_naming_it() {
    let rules = temp_file("rules.json", r#"{"version": "1", "weights": {"reputation_hitt": 5}}"#);
    let out = ferretwatch(&["scan", "--url", "https://x.example/", "--rules", rules.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reputation_hitt"));
}

#[test]
fn rules_default_prints_a_rule_set_that_scan_accepts() {
    let out = ferretwatch(&["rules", "default"], None);
    assert!(out.status.success());
    let rules: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rules["brands"].as_array().unwrap().len() >= 100);
    let path = temp_file("default.json", std::str::from_utf8(&out.stdout).unwrap());
    let check = ferretwatch(&["rules", "check", path.to_str().unwrap()], None);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let scan = ferretwatch(
        &["scan", "--url", "https://paypa1.com/", "--rules", path.to_str().unwrap(), "--format", "json"],
        None,
    );
    let verdict: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(verdict["findings"][0]["key"], "idn_homograph_high");
}

#[test]
fn batch_answers_every_line_in_order_and_survives_bad_lines() {
    let mut input = String::new();
    for i in 0..3000 {
        match i % 5 {
            0 => input.push_str(&format!("https://paypa1-{i}.example.com/\n")),
            1 => input.push_str("{\"url\": \"https://paypal-login.com/\", \"html\": \"<title>PayPal</title>\"}\n"),
            2 => input.push_str("no url here\n"),
            3 => input.push_str("{\"url\": 5}\n"),
            _ => input.push_str(&format!("https://site{i}.example.org/page\n")),
        }
    }
    input.push('\n');
    let out = ferretwatch(&["scan", "--batch", "-"], Some(&input));
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3000);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["line"], i + 1);
        match i % 5 {
            2 => assert_eq!(line["error"]["code"], "invalid_url"),
            3 => assert_eq!(line["error"]["code"], "bad_line"),
            1 => {
                assert_eq!(line["url"], "https://paypal-login.com/");
                assert!(line["findings"].as_array().unwrap().iter().any(|f| f["key"] == "brand_title_mismatch"));
            }
            _ => {
                assert!(line["level"].is_string(), "{line}");
                assert!(line["score"].is_u64());
            }
        }
    }
}

#[test]
fn every_runbook_wrapper_is_executable_as_the_runbook_runs_it() {
    use std::os::unix::fs::PermissionsExt;
    let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts");
    let mut checked = 0;
    for entry in std::fs::read_dir(&scripts).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sh") {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert!(mode & 0o111 == 0o111, "{} is mode {:o}: ./scripts/NAME.sh would be refused", path.display(), mode);
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} wrappers found in {}", scripts.display());
}
