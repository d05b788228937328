//! The online timestamp role as operators run it: `root create --online-key`, two
//! publishers signing targets and snapshot, `pack deploy --online-key` (refused
//! without it), `pack timestamp` (and its `--degradation` level), `ferretwatch serve`
//! renewing the origin's timestamp by itself before it expires, and the mirrors `pack build
//! --mirror` lists in the signed targets.

mod support;

use support::{ferretwatch, ok, p};

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::timestamp::{current_degradation, version_of};
use ferretwatch_pack_publisher::publish::{deploy_online, OnlineKey};
use ferretwatch_types::Timestamp;

/// Keys for alice, bob and the online role; a root where the online key alone signs
/// timestamps; a built pack signed by both publishers.
fn setup(dir: &Path) -> std::path::PathBuf {
    setup_with(dir, &[])
}

/// [`setup`], with more `pack build` arguments.
fn setup_with(dir: &Path, build_args: &[&str]) -> std::path::PathBuf {
    for name in ["alice", "bob", "online", "intel-bot"] {
        ok(&["keys", "generate", "--out", p(&dir.join(name))]);
    }
    let root = dir.join("root.json");
    let expires = Timestamp::now().plus_secs(365 * 86_400).to_string();
    ok(&[
        "root",
        "create",
        "--key",
        p(&dir.join("alice.pub")),
        "--key",
        p(&dir.join("bob.pub")),
        "--online-key",
        p(&dir.join("online.pub")),
        "--expires",
        &expires,
        "--out",
        p(&root),
    ]);
    ok(&["root", "sign", p(&root), "--key", p(&dir.join("alice.key"))]);
    ok(&["root", "sign", p(&root), "--key", p(&dir.join("bob.key"))]);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds/urlhaus.csv");
    ok(&["intel", "fetch", "--source", "urlhaus", "--from", p(&fixture), "--out", p(&dir.join("intel"))]);
    let version = ferretwatch_types::PackVersion::of_hour(Timestamp::now()).to_string();
    let out = dir.join("dist");
    let feeds = dir.join("intel");
    let mut build = vec!["pack", "build", "--version", &version, "--feeds", p(&feeds), "--out", p(&out)];
    build.extend_from_slice(build_args);
    ok(&build);
    for who in ["alice", "bob"] {
        ok(&["pack", "sign", p(&out), "--key", p(&dir.join(format!("{who}.key"))), "--root", p(&root)]);
    }
    out
}

#[test]
fn deploy_needs_the_online_key_and_pack_timestamp_renews_only_when_due() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pack = setup(dir);
    assert!(!pack.join("timestamp.json").exists(), "publishers do not sign the online role");
    let origin = format!("file://{}", dir.join("origin").display());
    let refused = ferretwatch(&["pack", "deploy", p(&pack), "--to", &origin, "--root", p(&dir.join("root.json"))]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--online-key"));

    let online = dir.join("online.key");
    let root = dir.join("root.json");
    ok(&["pack", "deploy", p(&pack), "--to", &origin, "--root", p(&root), "--online-key", p(&online)]);
    // It verifies as a client reads it (ok() asserts the exit status).
    ok(&["pack", "verify", &origin, "--root", p(&root)]);
    let first = version_of(&std::fs::read(dir.join("origin/timestamp.json")).unwrap()).unwrap();

    let fresh = ok(&["pack", "timestamp", "--origin", &origin, "--root", p(&root), "--online-key", p(&online)]);
    assert!(fresh.contains("fresh"), "{fresh}");
    let forced = ok(&[
        "pack",
        "timestamp",
        "--origin",
        &origin,
        "--root",
        p(&root),
        "--online-key",
        p(&online),
        "--renew-within",
        "999999",
    ]);
    assert!(forced.contains("renewed"), "{forced}");
    let second = version_of(&std::fs::read(dir.join("origin/timestamp.json")).unwrap()).unwrap();
    assert_eq!(second, first + 1);
    ok(&["pack", "verify", &origin, "--root", p(&root)]);
    // A publisher's key is not the online key.
    let wrong = ferretwatch(&[
        "pack",
        "timestamp",
        "--origin",
        &origin,
        "--root",
        p(&root),
        "--online-key",
        p(&dir.join("alice.key")),
    ]);
    assert!(!wrong.status.success());
}

/// The origin's timestamp checked as a client checks it (signatures under the root,
/// expiry): its degradation level.
fn signed_degradation(dir: &Path) -> u8 {
    use ferretwatch_pack_client::trust::metadata::Root;
    use ferretwatch_pack_client::trust::verify::{check_timestamp, State};
    let root = Root::parse_unverified(&std::fs::read(dir.join("root.json")).unwrap()).unwrap();
    let bytes = std::fs::read(dir.join("origin/timestamp.json")).unwrap();
    check_timestamp(&bytes, &root, &State::default(), Timestamp::now()).unwrap().degradation()
}

#[test]
fn pack_timestamp_degradation_signs_a_level_that_renewals_keep_until_set_back_to_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pack = setup(dir);
    let origin = format!("file://{}", dir.join("origin").display());
    let (root, online) = (dir.join("root.json"), dir.join("online.key"));
    let deployed = ok(&["pack", "deploy", p(&pack), "--to", &origin, "--root", p(&root), "--online-key", p(&online)]);
    assert!(!deployed.contains("degradation"), "{deployed}");
    let first = version_of(&std::fs::read(dir.join("origin/timestamp.json")).unwrap()).unwrap();
    let timestamp = |extra: &[&str]| {
        let mut args = vec!["pack", "timestamp", "--origin", &origin, "--root", p(&root), "--online-key", p(&online)];
        args.extend_from_slice(extra);
        ferretwatch(&args)
    };

    // Level 3, at once: a new version, signed by the online key, as the JSON says.
    let set = timestamp(&["--degradation", "3", "--format", "json"]);
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let report: serde_json::Value = serde_json::from_slice(&set.stdout).unwrap();
    assert_eq!(report["degradation"], 3, "{report}");
    assert_eq!(report["version"], first + 1, "{report}");
    assert_eq!(signed_degradation(dir), 3);
    ok(&["pack", "verify", &origin, "--root", p(&root)]);

    // A renewal keeps it, and says so; a fresh timestamp is left alone and says so too.
    let fresh = String::from_utf8(timestamp(&[]).stdout).unwrap();
    assert!(fresh.contains("fresh") && fresh.contains("degradation level 3"), "{fresh}");
    let renewed = String::from_utf8(timestamp(&["--renew-within", "999999"]).stdout).unwrap();
    assert!(renewed.contains("renewed") && renewed.contains("degradation level 3"), "{renewed}");
    assert_eq!(version_of(&std::fs::read(dir.join("origin/timestamp.json")).unwrap()), Some(first + 2));
    assert_eq!(signed_degradation(dir), 3);

    // Level 1: full service, no custom field left.
    let cleared = String::from_utf8(timestamp(&["--degradation", "1"]).stdout).unwrap();
    assert!(cleared.contains("re-signed") && cleared.contains("degradation level 1 (full service)"), "{cleared}");
    assert_eq!(signed_degradation(dir), 1);
    let envelope: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("origin/timestamp.json")).unwrap()).unwrap();
    assert!(envelope["signed"].get("custom").is_none(), "{envelope}");

    // Out of range, or with --renew-within: refused, nothing written.
    let before = std::fs::read(dir.join("origin/timestamp.json")).unwrap();
    for bad in [&["--degradation", "0"][..], &["--degradation", "5"], &["--degradation", "2", "--renew-within", "9"]] {
        let refused = timestamp(bad);
        assert_eq!(refused.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&refused.stderr).contains("--degradation"), "{bad:?}");
    }
    assert_eq!(std::fs::read(dir.join("origin/timestamp.json")).unwrap(), before);
}

#[test]
fn pack_build_mirrors_are_listed_in_the_signed_targets_and_bad_ones_refused() {
    use ferretwatch_pack_client::trust::metadata::{typed, Envelope, Targets};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mirrors = ["https://cdn-a.example.net/packs", "https://cdn-b.example.org"];
    let pack = setup_with(dir, &["--mirror", mirrors[0], "--mirror", mirrors[1]]);
    let signed = |path: &Path| -> Targets {
        let envelope = Envelope::parse(&std::fs::read(path.join("targets.json")).unwrap()).unwrap();
        typed("targets.json", &envelope.signed).unwrap()
    };
    assert_eq!(signed(&pack).mirrors(), mirrors);
    let origin = format!("file://{}", dir.join("origin").display());
    let root = dir.join("root.json");
    ok(&["pack", "deploy", p(&pack), "--to", &origin, "--root", p(&root), "--online-key", p(&dir.join("online.key"))]);
    ok(&["pack", "verify", &origin, "--root", p(&root)]);
    assert_eq!(signed(&dir.join("origin")).mirrors(), mirrors);
    assert!(!dir.join("origin/mirrors.json").exists(), "targets.json carries them");

    let listed = std::fs::read(pack.join("mirrors.json")).unwrap();
    let version = ferretwatch_types::PackVersion::of_hour(Timestamp::now()).to_string();
    let feeds = dir.join("intel");
    for bad in [
        &["--mirror", "ftp://x"][..],
        &["--mirror", "http://example.com"],
        &["--mirror", mirrors[0], "--mirror", mirrors[0]],
    ] {
        let mut args = vec!["pack", "build", "--version", &version, "--feeds", p(&feeds), "--out", p(&pack)];
        args.extend_from_slice(bad);
        let refused = ferretwatch(&args);
        assert_eq!(refused.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&refused.stderr).contains("bad_mirror"), "{bad:?}");
    }
    assert_eq!(std::fs::read(pack.join("mirrors.json")).unwrap(), listed, "a refused build changes nothing");
}

#[test]
fn the_service_renews_the_timestamp_before_it_expires() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pack = setup(dir);
    let root = std::fs::read(dir.join("root.json")).unwrap();
    let online = OnlineKey { key: PrivateKey::read(&dir.join("online.key")).unwrap(), ttl_secs: 60 };
    let origin_dir = dir.join("origin");
    let origin = Origin::open(&format!("file://{}", origin_dir.display())).unwrap();
    // Deployed 45 s ago with a 60 s lifetime: 15 s are left, less than half.
    deploy_online(&pack, &origin, &root, Timestamp::now().minus_secs(45), Some(&online)).unwrap();
    let deployed = version_of(&std::fs::read(origin_dir.join("timestamp.json")).unwrap()).unwrap();

    let online_key = dir.join("online.key");
    let root_file = dir.join("root.json");
    let served = serve_origin(
        dir,
        &origin_dir,
        &[
            ("FERRETWATCH_SERVER_ONLINE_KEY", online_key.as_os_str()),
            ("FERRETWATCH_SERVER_ROOT", root_file.as_os_str()),
            ("FERRETWATCH_SERVER_TIMESTAMP_TTL_SECS", "60".as_ref()),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let logged =
        std::iter::from_fn(|| served.logs.recv_timeout(deadline.saturating_duration_since(Instant::now())).ok())
            .find(|line| line.contains("timestamp renewed"));
    let started = Instant::now();
    let mut renewed = None;
    while started.elapsed() < Duration::from_secs(10) {
        let now = version_of(&std::fs::read(origin_dir.join("timestamp.json")).unwrap()).unwrap();
        if now > deployed {
            renewed = Some(now);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(served);
    assert!(logged.is_some(), "the service logged a renewal");
    assert_eq!(renewed, Some(deployed + 1), "the origin's timestamp was renewed");
    // What it wrote verifies as a client reads it, valid for a full lifetime again.
    let out = ferretwatch(&[
        "pack",
        "verify",
        &format!("file://{}", origin_dir.display()),
        "--root",
        p(&dir.join("root.json")),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn update_intel_feeds_publishes_fresh_filters_with_the_automated_keys_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // setup generates every key before it builds, so the delegation can name intel-bot.pub.
    let intel_pub = dir.join("intel-bot.pub");
    let pack = setup_with(dir, &["--delegate-intel", p(&intel_pub)]);
    let origin = format!("file://{}", dir.join("origin").display());
    let root = dir.join("root.json");
    ok(&["pack", "deploy", p(&pack), "--to", &origin, "--root", p(&root), "--online-key", p(&dir.join("online.key"))]);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/update-intel-feeds.sh");
    let help = Command::new("bash").arg(&script).arg("--help").output().unwrap();
    assert!(help.status.success() && String::from_utf8_lossy(&help.stdout).contains("FERRETWATCH_INTEL_KEY"));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds/urlhaus.csv");
    let run = |with_keys: bool| {
        let mut command = Command::new("bash");
        command
            .arg(&script)
            .args(["--only", "urlhaus", "--urlhaus-url", p(&fixture), "--out", p(&dir.join("fresh"))])
            .env("FERRETWATCH_BIN", env!("CARGO_BIN_EXE_ferretwatch"))
            .env("FERRETWATCH_ROOT", &root);
        if with_keys {
            command
                .env("FERRETWATCH_INTEL_KEY", dir.join("intel-bot.key"))
                .env("FERRETWATCH_ONLINE_KEY", dir.join("online.key"))
                .env("FERRETWATCH_ORIGIN", &origin);
        }
        command.output().unwrap()
    };
    let unpublished = run(false);
    assert!(unpublished.status.success(), "{}", String::from_utf8_lossy(&unpublished.stderr));
    assert!(String::from_utf8_lossy(&unpublished.stderr).contains("not published"));
    assert!(!dir.join("origin/intel.json").exists());

    let published = run(true);
    assert!(published.status.success(), "{}", String::from_utf8_lossy(&published.stderr));
    assert!(
        String::from_utf8_lossy(&published.stdout).contains("role version 1"),
        "{}",
        String::from_utf8_lossy(&published.stdout)
    );
    assert!(dir.join("origin/intel.json").is_file() && dir.join("origin/1.intel.json").is_file());
    // A client verifies the origin with the delegated intel in it, signed by no publisher.
    ok(&["pack", "verify", &origin, "--root", p(&root)]);
    // The intel key is not a publisher: it cannot sign a pack.
    let refused = ferretwatch(&["pack", "sign", p(&pack), "--key", p(&dir.join("intel-bot.key")), "--root", p(&root)]);
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
}

/// A running `ferretwatch serve`, stopped when dropped (also when a test panics).
struct Served {
    child: std::process::Child,
    /// Its origin's base URL.
    base: String,
    /// Its log lines after the "listening" one.
    logs: std::sync::mpsc::Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ferretwatch serve` on a free port serving the origin in `origin_dir`, with `env`
/// added to its environment.
fn serve_origin(dir: &Path, origin_dir: &Path, env: &[(&str, &std::ffi::OsStr)]) -> Served {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferretwatch"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--db", &format!("sqlite://{}", dir.join("fw.db").display())])
        .current_dir(dir)
        .env("FERRETWATCH_METRICS_LISTEN", "127.0.0.1:0")
        .env("FERRETWATCH_ORIGIN", format!("file://{}", origin_dir.display()))
        .env("FERRETWATCH_DEV_BOOTSTRAP", "false")
        .env("FERRETWATCH_SERVER_REVALIDATE_MS", "0")
        .env("FERRETWATCH_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, logs) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut served = Served { child, base: String::new(), logs };
    let listening = std::iter::from_fn(|| served.logs.recv_timeout(Duration::from_secs(60)).ok())
        .find(|line| line.contains("\"message\":\"listening\""))
        .expect("the server printed its address");
    let value: serde_json::Value = serde_json::from_str(&listening).unwrap();
    served.base = format!("http://{}/v1", value["addr"].as_str().unwrap());
    served
}

/// python-tuf's ngclient (`tests/python/tuf_client.py`) refreshing and downloading every
/// target; its summary.
fn python_tuf(dir: &Path, base: &str) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/tuf_client.py");
    let installed = Command::new("python3").args(["-c", "import tuf.ngclient"]).output().unwrap();
    assert!(
        installed.status.success(),
        "this test needs python-tuf: python3 -m pip install 'tuf==7.*' (scripts/test.sh installs it)"
    );
    let out = Command::new("python3")
        .arg(&script)
        .arg(dir.join("tuf-metadata"))
        .arg(base)
        .arg(dir.join("root.json"))
        .arg(dir.join("tuf-targets"))
        .output()
        .unwrap();
    assert!(out.status.success(), "python-tuf failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_stock_tuf_client_follows_a_deploy_a_rotation_and_the_delegated_intel() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pack = setup_with(dir, &["--delegate-intel", p(&dir.join("intel-bot.pub"))]);
    let (root, online) = (dir.join("root.json"), dir.join("online.key"));
    let origin_dir = dir.join("origin");
    let origin = format!("file://{}", origin_dir.display());
    let deploy =
        |pack: &Path| ok(&["pack", "deploy", p(pack), "--to", &origin, "--root", p(&root), "--online-key", p(&online)]);
    deploy(&pack);
    let server = serve_origin(dir, &origin_dir, &[]);
    let base = server.base.clone();

    let first = python_tuf(dir, &base);
    assert_eq!(first["root"], 1);
    assert!(first["targets"].as_u64().unwrap() >= 4, "{first}");

    // A deploy: the next version, same client state.
    let hour = ferretwatch_types::PackVersion::of_hour(Timestamp::now()).to_string();
    let next = |suffix: u32| format!("{hour}.{suffix}");
    let build = |version: &str, out: &Path| {
        ok(&[
            "pack",
            "build",
            "--version",
            version,
            "--feeds",
            p(&dir.join("intel")),
            "--out",
            p(out),
            "--delegate-intel",
            p(&dir.join("intel-bot.pub")),
            "--mirror",
            "https://cdn-a.example.net/packs",
        ]);
    };
    let second_pack = dir.join("dist-2");
    build(&next(1), &second_pack);
    for who in ["alice", "bob"] {
        ok(&["pack", "sign", p(&second_pack), "--key", p(&dir.join(format!("{who}.key"))), "--root", p(&root)]);
    }
    deploy(&second_pack);
    // Mirrors in the targets and a degradation level in the timestamp are custom fields a
    // stock client reads past.
    ok(&[
        "pack",
        "timestamp",
        "--origin",
        &origin,
        "--root",
        p(&root),
        "--online-key",
        p(&online),
        "--degradation",
        "3",
    ]);
    let second = python_tuf(dir, &base);
    assert!(second["targets_version"].as_u64() > first["targets_version"].as_u64(), "{second}");

    // A rotation: carol and dave replace alice and bob; the pack carries 2.root.json.
    for who in ["carol", "dave"] {
        ok(&["keys", "generate", "--out", p(&dir.join(who))]);
    }
    let third_pack = dir.join("dist-3");
    build(&next(2), &third_pack);
    let rotation = third_pack.join("2.root.json");
    let expires = Timestamp::now().plus_secs(365 * 86_400).to_string();
    ok(&[
        "root",
        "create",
        "--version",
        "2",
        "--key",
        p(&dir.join("carol.pub")),
        "--key",
        p(&dir.join("dave.pub")),
        "--online-key",
        p(&dir.join("online.pub")),
        "--expires",
        &expires,
        "--out",
        p(&rotation),
    ]);
    for who in ["alice", "bob", "carol", "dave"] {
        ok(&["root", "sign", p(&rotation), "--key", p(&dir.join(format!("{who}.key")))]);
    }
    for who in ["carol", "dave"] {
        ok(&["pack", "sign", p(&third_pack), "--key", p(&dir.join(format!("{who}.key"))), "--root", p(&root)]);
    }
    deploy(&third_pack);
    let third = python_tuf(dir, &base);
    assert_eq!(third["root"], 2, "python-tuf followed the rotation: {third}");

    // The delegation: fresh intel signed by the intel key and the online key alone.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds/urlhaus.csv");
    ok(&["intel", "fetch", "--source", "urlhaus", "--from", p(&fixture), "--out", p(&dir.join("fresh"))]);
    ok(&[
        "intel",
        "publish",
        "--feeds",
        p(&dir.join("fresh")),
        "--to",
        &origin,
        "--root",
        p(&root),
        "--intel-key",
        p(&dir.join("intel-bot.key")),
        "--online-key",
        p(&online),
    ]);
    let fourth = python_tuf(dir, &base);
    assert!(fourth["delegated"]["intel"].as_u64().unwrap() >= 2, "intel/manifest.json and filters: {fourth}");
    // The level set after the second deploy stayed through the third, the rotation and the
    // intel, signed each time.
    let served = Origin::open(&origin).unwrap();
    assert_eq!(current_degradation(&served, &std::fs::read(&root).unwrap()).unwrap(), 3);
}

/// `ferretwatch update --dir` against a real server, as a native client runs it.
fn update(dir: &Path, base: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let (client, root) = (dir.join("client"), dir.join("root.json"));
    let mut args = vec!["update", "--dir", p(&client), "--root", p(&root), "--mirror", base, "--format", "json"];
    args.extend_from_slice(extra);
    let out = ferretwatch(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), json)
}

#[test]
fn a_native_client_updates_over_http_swaps_packs_keeps_the_last_good_one_and_refuses_tampering() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pack = setup(dir);
    let (root, online) = (dir.join("root.json"), dir.join("online.key"));
    let origin_dir = dir.join("origin");
    let origin = format!("file://{}", origin_dir.display());
    let deploy =
        |pack: &Path| ok(&["pack", "deploy", p(pack), "--to", &origin, "--root", p(&root), "--online-key", p(&online)]);
    deploy(&pack);
    let server = serve_origin(dir, &origin_dir, &[]);

    let (code, first) = update(dir, &server.base, &[]);
    assert_eq!((code, first["outcome"]["result"].as_str()), (0, Some("updated")), "{first}");
    let version = first["status"]["pack_version"].as_str().unwrap().to_owned();
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("client/state.json")).unwrap()).unwrap();
    assert_eq!(state["install_id"].as_str().unwrap().len(), 32, "a random install id");
    let scan = |url: &str| ferretwatch(&["scan", "--client", p(&dir.join("client")), "--url", url, "--format", "json"]);
    let out = scan("https://example.com/");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["pack_version"], version.as_str(), "scanned with the installed pack");

    // Nothing new: unchanged; and not due yet with --if-due.
    let (code, again) = update(dir, &server.base, &[]);
    assert_eq!((code, again["outcome"]["result"].as_str()), (0, Some("unchanged")), "{again}");
    let (code, not_due) = update(dir, &server.base, &["--if-due"]);
    assert_eq!((code, &not_due["due"]), (0, &serde_json::json!(false)), "{not_due}");

    // A new pack: installed beside the old one, which stays as the last known good.
    let hour = ferretwatch_types::PackVersion::of_hour(Timestamp::now()).to_string();
    let build_signed = |version: &str, out: &Path| {
        ok(&["pack", "build", "--version", version, "--feeds", p(&dir.join("intel")), "--out", p(out)]);
        for who in ["alice", "bob"] {
            ok(&["pack", "sign", p(out), "--key", p(&dir.join(format!("{who}.key"))), "--root", p(&root)]);
        }
    };
    let second = dir.join("dist-2");
    build_signed(&format!("{hour}.1"), &second);
    deploy(&second);
    let (code, updated) = update(dir, &server.base, &[]);
    assert_eq!((code, updated["outcome"]["pack_version"].as_str()), (0, Some(format!("{hour}.1").as_str())));
    let installed: Vec<_> = std::fs::read_dir(dir.join("client/packs")).unwrap().map(|e| e.unwrap()).collect();
    assert_eq!(installed.len(), 2, "the current pack and the last known good one");

    // A third pack whose rules are tampered with at the origin: refused (exit 40), and the
    // client keeps scanning with the second.
    let third = dir.join("dist-3");
    build_signed(&format!("{hour}.2"), &third);
    deploy(&third);
    let rules = std::fs::read_dir(&third).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap());
    let rules = rules.filter(|name| name.starts_with("rules.")).collect::<Vec<_>>();
    for entry in std::fs::read_dir(&origin_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if rules.iter().any(|r| name.ends_with(r.as_str())) {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[10] ^= 0x20;
            std::fs::write(&path, bytes).unwrap();
        }
    }
    let (code, refused) = update(dir, &server.base, &[]);
    assert_eq!((code, refused["outcome"]["code"].as_str()), (40, Some("tampered")), "{refused}");
    assert_eq!(refused["status"]["pack_version"].as_str(), Some(format!("{hour}.1").as_str()));
    let verdict: serde_json::Value = serde_json::from_slice(&scan("https://example.com/").stdout).unwrap();
    assert_eq!(verdict["pack_version"].as_str(), Some(format!("{hour}.1").as_str()));
}

/// `ferretwatch pack timestamp --degradation LEVEL` on the origin in `dir/origin`.
fn set_level(dir: &Path, level: u8) {
    ok(&[
        "pack",
        "timestamp",
        "--origin",
        &format!("file://{}", dir.join("origin").display()),
        "--root",
        p(&dir.join("root.json")),
        "--online-key",
        p(&dir.join("online.key")),
        "--degradation",
        &level.to_string(),
    ]);
}

/// Waits (at most 20 s: housekeeping reads the level every 5 s) until `/ready` reports
/// `level`.
fn await_level(agent: &ureq::Agent, base: &str, level: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut ready = agent.get(&format!("{base}/ready")).call().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&ready.body_mut().read_to_vec().unwrap()).unwrap();
        if body["degradation"] == level {
            return;
        }
        assert!(Instant::now() < deadline, "the service did not reach level {level}: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The URLs in the service's database.
fn stored_urls(dir: &Path) -> Vec<String> {
    let db = format!("sqlite://{}", dir.join("fw.db").display());
    let out = ok(&["reports", "export-suspicious", "--threshold-score", "0", "--output-format", "json", "--db", &db]);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut urls: Vec<String> =
        rows.as_array().unwrap().iter().map(|r| r["url"].as_str().unwrap().to_owned()).collect();
    urls.sort();
    urls
}

#[test]
fn the_service_follows_the_signed_degradation_level_queues_reports_at_3_and_serves_only_the_origin_at_4() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pack = setup(dir);
    let origin = format!("file://{}", dir.join("origin").display());
    let root = dir.join("root.json");
    ok(&["pack", "deploy", p(&pack), "--to", &origin, "--root", p(&root), "--online-key", p(&dir.join("online.key"))]);
    // Limits high enough for the test's dozen reports from one address and install.
    let data = dir.join("data");
    let env = [
        ("FERRETWATCH_SERVER_ROOT", root.as_os_str()),
        ("FERRETWATCH_DATA_DIR", data.as_os_str()),
        ("FERRETWATCH_LIMITS_IP_PER_MINUTE", "1000".as_ref()),
        ("FERRETWATCH_LIMITS_INSTALL_PER_MINUTE", "1000".as_ref()),
    ];
    let mut served = serve_origin(dir, &dir.join("origin"), &env);
    let base = served.base.trim_end_matches("/v1").to_owned();
    let agent = support::agent();
    let status = |r: Result<ureq::http::Response<ureq::Body>, ureq::Error>| r.unwrap().status().as_u16();
    let install = |agent: &ureq::Agent| agent.post(&format!("{base}/v1/install")).send_empty();
    let token = |agent: &ureq::Agent| {
        let mut issued = install(agent).unwrap();
        assert_eq!(issued.status(), 201);
        let body: serde_json::Value = serde_json::from_slice(&issued.body_mut().read_to_vec().unwrap()).unwrap();
        body["install_token"].as_str().unwrap().to_owned()
    };
    let telemetry = |agent: &ureq::Agent, token: &str| {
        agent
            .post(&format!("{base}/v1/telemetry"))
            .header("content-type", "application/json")
            .header("x-install-token", token)
            .send("{}".as_bytes())
    };
    let origin_object = |agent: &ureq::Agent| agent.get(&format!("{base}/v1/timestamp.json")).call();

    // Level 1: reports are committed (201).
    await_level(&agent, &base, 1);
    let t = token(&agent);
    assert_eq!(status(support::post_report(&agent, &base, &t, "https://one.example.test/a")), 201);

    // A level written into the origin's timestamp without the online key is not believed.
    let timestamp_path = dir.join("origin/timestamp.json");
    let signed = std::fs::read(&timestamp_path).unwrap();
    let mut forged: serde_json::Value = serde_json::from_slice(&signed).unwrap();
    forged["signed"]["custom"] = serde_json::json!({"degradation": 4});
    std::fs::write(&timestamp_path, serde_json::to_vec(&forged).unwrap()).unwrap();
    std::thread::sleep(Duration::from_secs(6));
    await_level(&agent, &base, 1);
    assert_eq!(status(support::post_report(&agent, &base, &t, "https://one.example.test/b")), 201);
    std::fs::write(&timestamp_path, &signed).unwrap();

    // Level 2: client telemetry is shed with a reason and a Retry-After; reports as at 1.
    set_level(dir, 2);
    await_level(&agent, &base, 2);
    let shed = telemetry(&agent, &t).unwrap();
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "900");
    assert_eq!(status(support::post_report(&agent, &base, &t, "https://two.example.test/a")), 201);

    // Level 3: a report is checked as always (a bad one is still a 422), then queued on
    // disk (202) and not yet in the database; deletion requests wait.
    set_level(dir, 3);
    await_level(&agent, &base, 3);
    let mut queued = support::post_report(&agent, &base, &t, "https://three.example.test/a").unwrap();
    assert_eq!(queued.status(), 202);
    let body: serde_json::Value = serde_json::from_slice(&queued.body_mut().read_to_vec().unwrap()).unwrap();
    assert_eq!(body["status"], "queued", "{body}");
    let bad = agent
        .post(&format!("{base}/v1/report"))
        .header("content-type", "application/json")
        .header("x-install-token", &t)
        .send(r#"{"url":"ftp://x","reason":"phishing_login"}"#.as_bytes());
    assert_eq!(status(bad), 422);
    let deletion = agent.post(&format!("{base}/v1/deletion-request")).header("x-install-token", &t).send_empty();
    assert_eq!(status(deletion), 503);
    assert_eq!(
        stored_urls(dir),
        ["https://one.example.test/a", "https://one.example.test/b", "https://two.example.test/a"]
    );

    // Level 4: only the origin serves.
    set_level(dir, 4);
    await_level(&agent, &base, 4);
    assert_eq!(status(support::post_report(&agent, &base, &t, "https://four.example.test/a")), 503);
    assert_eq!(status(install(&agent)), 503);
    assert_eq!(status(origin_object(&agent)), 200);
    assert_eq!(status(agent.get(&format!("{base}/health")).call()), 200);

    // Back at 3, more reports queue; the instance is killed with reports still queued.
    set_level(dir, 3);
    await_level(&agent, &base, 3);
    for n in 0..5 {
        let url = format!("https://queued.example.test/{n}");
        assert_eq!(status(support::post_report(&agent, &base, &t, &url)), 202);
    }
    served.child.kill().unwrap();
    served.child.wait().unwrap();
    drop(served);

    // Level 1 again: a new instance drains the stopped one's queue into the database; no
    // acknowledged report is lost.
    set_level(dir, 1);
    let served = serve_origin(dir, &dir.join("origin"), &env);
    let base = served.base.trim_end_matches("/v1").to_owned();
    await_level(&agent, &base, 1);
    let mut expected: Vec<String> =
        ["one", "two", "three"].iter().map(|n| format!("https://{n}.example.test/a")).collect();
    expected.push("https://one.example.test/b".into());
    expected.extend((0..5).map(|n| format!("https://queued.example.test/{n}")));
    expected.sort();
    let deadline = Instant::now() + Duration::from_secs(20);
    while stored_urls(dir) != expected {
        assert!(Instant::now() < deadline, "queued reports not drained: {:?}", stored_urls(dir));
        std::thread::sleep(Duration::from_millis(250));
    }
    let telemetry_now = agent
        .post(&format!("{base}/v1/telemetry"))
        .header("content-type", "application/json")
        .header("x-install-token", &t)
        .send("{}".as_bytes())
        .unwrap()
        .status()
        .as_u16();
    assert_ne!(telemetry_now, 503, "telemetry is taken again at level 1");
    let leftovers: Vec<_> = std::fs::read_dir(data.join("report-queue"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.metadata().unwrap().len() > 0)
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "every spool file drained: {leftovers:?}");
    drop(served);
}
