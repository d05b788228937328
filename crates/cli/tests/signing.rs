//! The two-person publishing flow as operators run it: `keys generate`, `root create` and
//! `root sign`, `pack build`, `pack sign` by two publishers, `pack verify`, and the exit
//! status of each refusal.

mod support;

use support::{ferretwatch, ok, p};

use std::path::Path;
use std::process::Output;

const NOW: &str = "2026-11-27T12:00:00Z";

/// Two publishers' keys and a root of trust needing both.
fn publishers(dir: &Path) -> std::path::PathBuf {
    for name in ["alice", "bob"] {
        let id = ok(&["keys", "generate", "--out", p(&dir.join(name))]);
        assert_eq!(id.trim().len(), 64, "a key id is a sha256: {id}");
    }
    let root = dir.join("root.json");
    ok(&[
        "root",
        "create",
        "--key",
        p(&dir.join("alice.pub")),
        "--key",
        p(&dir.join("bob.pub")),
        "--threshold",
        "2",
        "--expires",
        "2027-11-27T00:00:00Z",
        "--out",
        p(&root),
    ]);
    ok(&["root", "sign", p(&root), "--key", p(&dir.join("alice.key"))]);
    ok(&["root", "sign", p(&root), "--key", p(&dir.join("bob.key"))]);
    root
}

/// Builds a pack from the URLhaus fixture feed.
fn build(dir: &Path, version: &str) -> std::path::PathBuf {
    let feeds = dir.join("intel");
    if !feeds.join("urlhaus.feed").is_file() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds/urlhaus.csv");
        ok(&["intel", "fetch", "--source", "urlhaus", "--from", p(&fixture), "--out", p(&feeds)]);
    }
    let out = dir.join(format!("dist-{version}"));
    ok(&["pack", "build", "--version", version, "--feeds", p(&feeds), "--out", p(&out)]);
    out
}

fn verify(pack: &Path, root: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["pack", "verify", p(pack), "--root", p(root), "--now", NOW];
    args.extend_from_slice(extra);
    ferretwatch(&args)
}

#[test]
fn two_publishers_sign_in_turn_and_a_client_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let root = publishers(dir);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("alice.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "private keys are readable by their owner only");
    }
    // An existing key is never overwritten.
    assert_eq!(ferretwatch(&["keys", "generate", "--out", p(&dir.join("alice"))]).status.code(), Some(2));

    let pack = build(dir, "2026.11.27.10");
    let first = ok(&["pack", "sign", p(&pack), "--key", p(&dir.join("alice.key")), "--root", p(&root)]);
    assert!(first.contains("1 signature(s) of 2 required"), "{first}");
    let refused = verify(&pack, &root, &[]);
    assert_eq!(refused.status.code(), Some(42), "one publisher is not enough");

    ok(&["pack", "sign", p(&pack), "--key", p(&dir.join("bob.key")), "--root", p(&root)]);
    let state = dir.join("state");
    let out = verify(&pack, &root, &["--state", p(&state), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["pack_version"], "2026.11.27.10");
    assert!(state.join("state.json").is_file());

    // An older, properly signed pack is now a rollback.
    let older = build(dir, "2026.11.27.09");
    for who in ["alice", "bob"] {
        ok(&["pack", "sign", p(&older), "--key", p(&dir.join(format!("{who}.key")))]);
    }
    assert_eq!(verify(&older, &root, &[]).status.code(), Some(0), "fine for a new client");
    let out = verify(&older, &root, &["--state", p(&state), "--format", "json"]);
    assert_eq!(out.status.code(), Some(44));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["error"]["code"], "rollback");

    // `scan --pack --state` keeps the same protection.
    let html = dir.join("page.html");
    std::fs::write(&html, "<html><body>hello</body></html>").unwrap();
    let scan_state = dir.join("scan-state");
    let scan = |pack: &Path| {
        ferretwatch(&[
            "scan",
            "--url",
            "https://example.org/",
            "--html",
            p(&html),
            "--pack",
            p(pack),
            "--root",
            p(&root),
            "--state",
            p(&scan_state),
            "--now",
            NOW,
        ])
    };
    assert_eq!(scan(&pack).status.code(), Some(0), "{}", String::from_utf8_lossy(&scan(&pack).stderr));
    assert!(scan_state.join("state.json").is_file());
    assert_eq!(scan(&older).status.code(), Some(44), "an older pack is a rollback for this client");
}

#[test]
fn tampered_and_outsider_signed_packs_exit_with_their_own_status() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let root = publishers(dir);
    ok(&["keys", "generate", "--out", p(&dir.join("mallory"))]);

    let pack = build(dir, "2026.11.27.10");
    // A key the root does not list is refused before it signs when the root is given ...
    let out = ferretwatch(&["pack", "sign", p(&pack), "--key", p(&dir.join("mallory.key")), "--root", p(&root)]);
    assert_eq!(out.status.code(), Some(2));
    // ... and its signature does not count when it signs anyway.
    ok(&["pack", "sign", p(&pack), "--key", p(&dir.join("alice.key"))]);
    ok(&["pack", "sign", p(&pack), "--key", p(&dir.join("mallory.key"))]);
    let out = verify(&pack, &root, &[]);
    assert_eq!(out.status.code(), Some(41), "{}", String::from_utf8_lossy(&out.stderr));

    ok(&["pack", "sign", p(&pack), "--key", p(&dir.join("bob.key"))]);
    assert_eq!(verify(&pack, &root, &[]).status.code(), Some(0));
    let rules = std::fs::read_dir(&pack)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|path| path.file_name().unwrap().to_string_lossy().starts_with("rules."))
        .expect("the pack has a rules file");
    let mut bytes = std::fs::read(&rules).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    std::fs::write(&rules, bytes).unwrap();
    let out = verify(&pack, &root, &[]);
    assert_eq!(out.status.code(), Some(40));
    assert!(String::from_utf8_lossy(&out.stderr).contains("REFUSED"));
    // Too late for a signature: the pack changed after the first one.
    assert_eq!(ferretwatch(&["pack", "sign", p(&pack), "--key", p(&dir.join("bob.key"))]).status.code(), Some(2));
}

#[test]
fn an_expired_pack_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let root = publishers(dir);
    let pack = build(dir, "2026.10.01.00");
    for who in ["alice", "bob"] {
        ok(&["pack", "sign", p(&pack), "--key", p(&dir.join(format!("{who}.key")))]);
    }
    assert_eq!(verify(&pack, &root, &[]).status.code(), Some(43));
}

/// A signed pack built from the URLhaus fixture (fetched 2025-09-24; its intel is valid
/// for 72 hours) and a root trusting its two publishers.
fn signed_fixture_pack(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let root = publishers(dir);
    let pack = build(dir, "2025.09.24.15");
    for who in ["alice", "bob"] {
        ok(&["pack", "sign", p(&pack), "--key", p(&dir.join(format!("{who}.key")))]);
    }
    (pack, root)
}

/// 2025-09-25T12:00:00Z, inside the fixture intel's lifetime.
const FIXTURE_NOW: &str = "1758801600";

#[test]
fn scan_with_a_pack_uses_its_intel_only_after_verifying_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (pack, root) = signed_fixture_pack(tmp.path());
    let listed = "https://cdn-update.example.net/files/invoice_0924.exe";
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", "--url", listed, "--format", "json", "--now", FIXTURE_NOW];
        args.extend_from_slice(extra);
        ferretwatch(&args)
    };
    // Without the pack the URL looks ordinary.
    assert_eq!(scan(&[]).status.code(), Some(0));
    // A listing alone is red (exit 20), taken at the lowest confidence of the pack's feeds.
    let out = scan(&["--pack", p(&pack), "--root", p(&root)]);
    assert_eq!(out.status.code(), Some(20), "{}", String::from_utf8_lossy(&out.stderr));
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["pack_version"], "2025.09.24.15");
    assert!(verdict["findings"].as_array().unwrap().iter().any(|f| f["key"] == "reputation_hit"), "{verdict}");

    // A filter altered after signing: the scan refuses the pack instead of using it.
    let filter = std::fs::read_dir(&pack)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|path| path.file_name().unwrap().to_string_lossy().starts_with("intel-url."))
        .unwrap();
    let mut bytes = std::fs::read(&filter).unwrap();
    *bytes.last_mut().unwrap() ^= 0x80;
    std::fs::write(&filter, bytes).unwrap();
    let out = scan(&["--pack", p(&pack), "--root", p(&root)]);
    assert_eq!(out.status.code(), Some(40), "a refused pack has the status `pack verify` gives it");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("REFUSED")
            && String::from_utf8_lossy(&out.stderr).contains("error[tampered]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Serves the files of `dir` over HTTP/1.1 on loopback, one request per connection.
fn serve(dir: std::path::PathBuf) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/packs", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap() == 0 || header.trim().is_empty() {
                    break;
                }
            }
            let path = line.split(' ').nth(1).unwrap_or("/").trim_start_matches("/packs/").to_owned();
            let response = match std::fs::read(dir.join(&path)) {
                Ok(body) if !path.contains("..") => {
                    let mut r =
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())
                            .into_bytes();
                    r.extend_from_slice(&body);
                    r
                }
                _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    base
}

#[test]
fn verify_fetches_a_pack_from_an_origin_url() {
    let tmp = tempfile::tempdir().unwrap();
    let (pack, root) = signed_fixture_pack(tmp.path());
    let url = serve(pack.clone());
    let out = ferretwatch(&["pack", "verify", &url, "--root", p(&root), "--now", "2025-09-25T12:00:00Z"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));
    // The origin serves a longer file than signed: refused as oversized.
    let rules = std::fs::read_dir(&pack)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|path| path.file_name().unwrap().to_string_lossy().starts_with("rules."))
        .unwrap();
    let mut bytes = std::fs::read(&rules).unwrap();
    bytes.extend(std::iter::repeat_n(b' ', 1 << 20));
    std::fs::write(&rules, bytes).unwrap();
    let out = ferretwatch(&["pack", "verify", &url, "--root", p(&root), "--now", "2025-09-25T12:00:00Z"]);
    assert_eq!(out.status.code(), Some(46), "{}", String::from_utf8_lossy(&out.stderr));
}
