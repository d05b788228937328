//! Publishing as operators run it, through the runbook's wrapper scripts and the real
//! binary: deploy (refused until two publishers signed), roll back, push an emergency
//! rule, broadcast a bulletin; each result checked with `pack verify` / `bulletin verify`
//! against the origin.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferretwatch_types::Timestamp;

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_ferretwatch")).parent().unwrap().to_owned()
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn origin(&self) -> String {
        format!("file://{}", self.path("origin").display())
    }

    /// A command run in the temporary directory with the runbook's environment.
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        let path = format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap_or_default());
        command
            .args(args)
            .current_dir(self.tmp.path())
            .env("PATH", path)
            .env("FERRETWATCH_ROOT", self.path("root.json"))
            .env("FERRETWATCH_ORIGIN", self.origin())
            .env(
                "FERRETWATCH_SIGNING_KEY",
                format!("{},{}", self.path("alice.key").display(), self.path("bob.key").display()),
            )
            .env_remove("FERRETWATCH_EMERGENCY_RULE");
        command
    }

    fn ferretwatch(&self, args: &[&str]) -> Output {
        self.command(Path::new(env!("CARGO_BIN_EXE_ferretwatch")), args).output().unwrap()
    }

    fn script(&self, name: &str, args: &[&str]) -> Output {
        self.command(&scripts().join(name), args).output().unwrap()
    }
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The pack version `hours_ago` hours before now.
fn version(hours_ago: u64) -> String {
    let t = Timestamp::now().minus_secs(hours_ago * 3600).to_string();
    format!("{}.{}.{}.{}", &t[0..4], &t[5..7], &t[8..10], &t[11..13])
}

/// Two publishers, a root needing both, an empty feeds directory.
fn setup() -> Env {
    let env = Env { tmp: tempfile::tempdir().unwrap() };
    for name in ["alice", "bob"] {
        ok(env.ferretwatch(&["keys", "generate", "--out", p(&env.path(name))]));
    }
    let root = env.path("root.json");
    let expires = Timestamp::now().plus_secs(365 * 86_400).to_string();
    ok(env.ferretwatch(&[
        "root",
        "create",
        "--key",
        p(&env.path("alice.pub")),
        "--key",
        p(&env.path("bob.pub")),
        "--threshold",
        "2",
        "--expires",
        &expires,
        "--out",
        p(&root),
    ]));
    for name in ["alice", "bob"] {
        ok(env.ferretwatch(&["root", "sign", p(&root), "--key", p(&env.path(&format!("{name}.key")))]));
    }
    std::fs::create_dir_all(env.path("intel")).unwrap();
    env
}

fn build(env: &Env, version: &str, yara: Option<&str>) -> PathBuf {
    let out = env.path(&format!("dist-{version}"));
    let mut args = vec!["pack", "build", "--version", version, "--feeds", "intel", "--out", p(&out)];
    let dir = env.path(&format!("yara-{version}"));
    if let Some(rule) = yara {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("kit.yar"), rule).unwrap();
        args.extend(["--yara", p(&dir)]);
    }
    ok(env.ferretwatch(&args));
    out
}

fn rules_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("rules."))
        .unwrap()
}

fn served_version(env: &Env) -> String {
    let out = ok(env.ferretwatch(&["pack", "verify", &env.origin(), "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    json["pack_version"].as_str().unwrap().to_owned()
}

#[test]
fn deploy_waits_for_two_signatures_then_rollback_and_emergency_republish_higher_versions() {
    let env = setup();
    let v1 = version(3);
    let first = build(&env, &v1, Some("rule kit_marker { strings: $a = \"fw-kit-7731\" condition: $a }\n"));
    let rules = rules_file(&first);

    ok(env.ferretwatch(&["pack", "sign", p(&rules), "--key", p(&env.path("alice.key"))]));
    let refused = env.script("deploy-rule-pack.sh", &[p(&rules)]);
    assert_eq!(refused.status.code(), Some(42), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("too_few_signatures"));
    assert!(!env.path("origin/timestamp.json").exists(), "nothing a client reads was uploaded");

    ok(env.ferretwatch(&["pack", "sign", p(&rules), "--key", p(&env.path("bob.key"))]));
    let out = ok(env.script("deploy-rule-pack.sh", &[p(&rules)]));
    assert!(out.contains(&format!("deployed {v1}")), "{out}");
    assert_eq!(served_version(&env), v1);

    let v2 = version(2);
    let second = build(&env, &v2, None);
    for key in ["alice.key", "bob.key"] {
        ok(env.ferretwatch(&["pack", "sign", p(&second), "--key", p(&env.path(key))]));
    }
    ok(env.ferretwatch(&["pack", "deploy", p(&second), "--to", &env.origin()]));
    assert_eq!(served_version(&env), v2);

    // Roll back to the first version: the runbook's arguments as written.
    let out = ok(env.script("rollback-rule.sh", &["--version", &v1]));
    assert!(out.contains(&format!("the content of {v1} as version ")), "{out}");
    let v3 = served_version(&env);
    assert!(v3 > v2 && out.contains(&v3), "a higher version than {v2}: {v3}");
    assert!(env.path(&format!("origin/history/{v1}/timestamp.json")).is_file());
    assert!(env.path(&format!("origin/history/{v3}/timestamp.json")).is_file());

    // Emergency rule, rule file from the environment.
    let rule = env.path("phish.yar");
    std::fs::write(&rule, "rule phish_2025_001 { strings: $a = \"campaign-2025-001\" condition: $a }\n").unwrap();
    let mut emergency = env.command(
        &scripts().join("emergency-rule-deploy.sh"),
        &["--rule-id", "PHISH-2025-001", "--severity", "critical"],
    );
    let out = ok(emergency.env("FERRETWATCH_EMERGENCY_RULE", &rule).output().unwrap());
    assert!(out.contains("emergency rule PHISH-2025-001 (critical)"), "{out}");
    let v4 = served_version(&env);
    assert!(v4 > v3, "{v4} above {v3}");
    let manifest = std::fs::read_to_string(env.path("origin/manifest.json")).unwrap();
    assert!(manifest.contains("yara-emergency-phish-2025-001."), "{manifest}");
    assert!(manifest.contains("yara-kit."), "the rolled-back content is kept: {manifest}");

    // Each deploy left its record; the rollback reverted the second, one deploy in four.
    let record = std::fs::read_to_string(env.path(&format!("origin/history/{v3}/deploy.json"))).unwrap();
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert_eq!((record["kind"].as_str(), record["restores"].as_str()), (Some("rollback"), Some(v1.as_str())));
    assert_eq!(record["previous"].as_str(), Some(v2.as_str()));
    let incidents = format!("sqlite://{}", env.path("incidents.db").display());
    let stats = ok(env.ferretwatch(&[
        "incident",
        "stats",
        "--days",
        "1",
        "--origin",
        &env.origin(),
        "--db",
        &incidents,
        "--format",
        "json",
    ]));
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["changes"]["deploys"], 4, "{stats}");
    assert_eq!(stats["changes"]["failed_versions"], serde_json::json!([v2]), "{stats}");
    assert_eq!(stats["changes"]["change_failure_rate"], 0.25, "{stats}");
}

#[test]
fn bad_emergency_input_exits_2_and_one_key_of_two_waits_for_the_second_publisher() {
    let env = setup();
    let v1 = version(1);
    let pack = build(&env, &v1, None);
    for key in ["alice.key", "bob.key"] {
        ok(env.ferretwatch(&["pack", "sign", p(&pack), "--key", p(&env.path(key))]));
    }
    ok(env.ferretwatch(&["pack", "deploy", p(&pack)]));
    let rule = env.path("r.yar");
    std::fs::write(&rule, "rule r { strings: $a = \"x-2025\" condition: $a }\n").unwrap();

    let bad = env.ferretwatch(&["pack", "emergency", "--rule-id", "X-1", "--severity", "urgent", "--rule", p(&rule)]);
    assert_eq!(bad.status.code(), Some(2));
    std::fs::write(env.path("broken.yar"), "rule broken { condition: }").unwrap();
    let broken =
        env.ferretwatch(&["pack", "emergency", "--rule-id", "X-1", "--severity", "high", "--rule", "broken.yar"]);
    assert_eq!(broken.status.code(), Some(2), "{}", String::from_utf8_lossy(&broken.stderr));

    let one_key = env
        .command(
            Path::new(env!("CARGO_BIN_EXE_ferretwatch")),
            &["pack", "emergency", "--rule-id", "X-1", "--severity", "high", "--rule", p(&rule), "--out", "pending"],
        )
        .env("FERRETWATCH_SIGNING_KEY", env.path("alice.key"))
        .output()
        .unwrap();
    assert_eq!(one_key.status.code(), Some(42));
    let stderr = String::from_utf8_lossy(&one_key.stderr);
    assert!(stderr.contains("ferretwatch pack sign") && stderr.contains("pending"), "{stderr}");
    assert_eq!(served_version(&env), v1, "nothing deployed");
    ok(env.ferretwatch(&["pack", "sign", "pending", "--key", p(&env.path("bob.key"))]));
    ok(env.ferretwatch(&["pack", "deploy", "pending"]));
    assert_ne!(served_version(&env), v1);
}

#[test]
fn a_bulletin_is_created_signed_by_two_published_and_verified() {
    let env = setup();
    let out = ok(env.script(
        "create-bulletin.sh",
        &[
            "--severity",
            "critical",
            "--message",
            "Critical phishing campaign detected",
            "--brands",
            "PayPal",
            "--etld1",
            "paypal.com",
            "--ttl",
            "48h",
        ],
    ));
    assert!(out.contains("published bulletins/bulletin-"), "{out}");
    let index = std::fs::read_to_string(env.path("origin/bulletins/index.json")).unwrap();
    let index: serde_json::Value = serde_json::from_str(&index).unwrap();
    let file = index["bulletins"][0]["file"].as_str().unwrap();
    let published = env.path("origin").join(file);
    let verified = ok(env.ferretwatch(&["bulletin", "verify", p(&published)]));
    assert!(verified.contains("(critical) verified"), "{verified}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&published).unwrap()).unwrap();
    assert_eq!(json["signed"]["ttl"], 48 * 3600);
    assert_eq!(json["signed"]["etldPlus1"][0], "paypal.com");

    // One key: written, not published, until the second publisher signs.
    let one = env
        .command(
            &scripts().join("create-bulletin.sh"),
            &["--severity", "high", "--message", "Second campaign", "--id", "second"],
        )
        .env("FERRETWATCH_SIGNING_KEY", env.path("alice.key"))
        .output()
        .unwrap();
    assert_eq!(one.status.code(), Some(42), "{}", String::from_utf8_lossy(&one.stderr));
    let pending = std::fs::read_dir(env.path("bulletins"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("bulletin-second."))
        .unwrap();
    let refused = env.ferretwatch(&["bulletin", "verify", p(&pending)]);
    assert_eq!(refused.status.code(), Some(42));
    ok(env.ferretwatch(&["bulletin", "sign", p(&pending), "--key", p(&env.path("bob.key"))]));
    ok(env.ferretwatch(&["bulletin", "publish", p(&pending)]));
    ok(env.ferretwatch(&["bulletin", "verify", p(&pending)]));

    // Bad input: exit status 2.
    for args in [
        vec!["bulletin", "create", "--severity", "urgent", "--message", "m"],
        vec!["bulletin", "create", "--severity", "low", "--message", &"x".repeat(1001)],
        vec!["bulletin", "create", "--severity", "low", "--message", "m", "--etld1", "login.paypal.com"],
    ] {
        let out = env.ferretwatch(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Runbook 7.1 "Check for unauthorized rule modifications": a CDN copy that matches the
/// origin passes; one still serving the previous version is a warning, or an alert with
/// `--alert-on-mismatch`; one whose file was changed is an alert either way.
#[test]
fn verify_rule_integrity_compares_the_cdn_with_the_origin_and_alerts_on_tampering() {
    let env = setup();
    let v1 = version(3);
    let first = build(&env, &v1, None);
    for key in ["alice.key", "bob.key"] {
        ok(env.ferretwatch(&["pack", "sign", p(&first), "--key", p(&env.path(key))]));
    }
    ok(env.ferretwatch(&["pack", "deploy", p(&first), "--to", &env.origin()]));
    let cdn = env.path("cdn");
    copy_dir(&env.path("origin"), &cdn);
    let run = |args: &[&str]| {
        let mut command = env.command(&scripts().join("verify-rule-integrity.sh"), args);
        command.env("FERRETWATCH_RULES_URL", &cdn).env("FERRETWATCH_BIN", env!("CARGO_BIN_EXE_ferretwatch"));
        command.output().unwrap()
    };
    let text = |out: &Output| String::from_utf8_lossy(&out.stdout).into_owned();

    let out = run(&["--alert-on-mismatch"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out), String::from_utf8_lossy(&out.stderr));
    assert!(text(&out).contains(&format!("ok    public {}: the same pack {v1}", cdn.display())), "{}", text(&out));

    // The origin moves on; the CDN still serves the previous version.
    let v2 = version(2);
    let second = build(&env, &v2, None);
    for key in ["alice.key", "bob.key"] {
        ok(env.ferretwatch(&["pack", "sign", p(&second), "--key", p(&env.path(key))]));
    }
    ok(env.ferretwatch(&["pack", "deploy", p(&second), "--to", &env.origin()]));
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("WARN  public {}: serves pack {v1}, the origin {v2}", cdn.display())),
        "{}",
        text(&out)
    );
    let out = run(&["--alert-on-mismatch"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(&format!("serves pack {v1}")) && text(&out).contains("ALERT"), "{}", text(&out));

    // Someone edits the rules on the CDN: refused whatever the flag.
    copy_dir(&env.path("origin"), &cdn);
    // The rule set the served manifest names (the origin keeps older packs' files too).
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cdn.join("manifest.json")).unwrap()).unwrap();
    let name = manifest["files"].as_array().unwrap().iter().find(|f| f["role"] == "rules").unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let rules = cdn.join(name);
    let mut bytes = std::fs::read(&rules).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(&rules, bytes).unwrap();
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("ALERT public") && text(&out).contains("does not verify"), "{}", text(&out));

    let out = run(&["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    let help = run(&["--help"]);
    assert!(text(&help).contains("--alert-on-mismatch"));
}
