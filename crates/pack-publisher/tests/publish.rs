//! Publishing end to end: real packs built, signed by two publishers, deployed to a local
//! origin and to a real S3-compatible server (moto) on loopback, then read back exactly
//! as a client reads them. Rollbacks and emergency rules are checked the same way.

use ferretwatch_types::Fault;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ferretwatch_pack_client::bulletin::Severity;
use ferretwatch_pack_client::load::{load, YaraLimit};
use ferretwatch_pack_client::manifest::{Manifest, Role};
use ferretwatch_pack_client::trust::metadata::{Envelope, Root};
use ferretwatch_pack_client::trust::verify::{State, VerifiedPack, Verifier, VerifyError};
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::republish::EmergencyRecord;
use ferretwatch_pack_publisher::publish::{deploy, emergency, rollback, EmergencyRule, PublishError};
use ferretwatch_pack_publisher::sign::{sign_pack, sign_root};
use ferretwatch_pack_publisher::testing::{create_bucket, moto, s3_options};
use ferretwatch_pack_publisher::{build, BuildOptions};
use ferretwatch_types::Coded;
use ferretwatch_types::PackVersion;
use ferretwatch_types::Timestamp;

const NOW: &str = "2026-11-27T12:20:00Z";
const KIT_RULE: &str = "rule kit_marker { strings: $a = \"fw-kit-marker-7731\" condition: $a }\n";
const EMERGENCY_RULE: &str = "rule phish_2025_001 { strings: $a = \"evil-campaign-2025-001\" condition: $a }\n";

fn now() -> Timestamp {
    Timestamp::parse(NOW).unwrap()
}

struct World {
    tmp: tempfile::TempDir,
    a: PrivateKey,
    b: PrivateKey,
    root: Vec<u8>,
}

/// Two publishers and a root of trust that needs both.
fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (PrivateKey::generate().unwrap(), PrivateKey::generate().unwrap());
    let root = Root::new(1, Timestamp::parse("2027-11-27T00:00:00Z").unwrap(), &[a.public(), b.public()], 2).unwrap();
    let path = tmp.path().join("root.json");
    std::fs::write(&path, Envelope::new(&root).to_bytes()).unwrap();
    sign_root(&path, &a).unwrap();
    sign_root(&path, &b).unwrap();
    std::fs::create_dir_all(tmp.path().join("intel")).unwrap();
    World { root: std::fs::read(path).unwrap(), tmp, a, b }
}

impl World {
    /// Builds `version` (with the kit YARA rule when asked) and has both publishers sign it.
    fn pack(&self, version: &str, with_kit: bool) -> PathBuf {
        let out = self.tmp.path().join(format!("dist-{version}"));
        let mut options = BuildOptions::new(PackVersion::parse(version).unwrap(), self.tmp.path().join("intel"), &out);
        if with_kit {
            let yara = self.tmp.path().join(format!("yara-{version}"));
            std::fs::create_dir_all(&yara).unwrap();
            std::fs::write(yara.join("kit.yar"), KIT_RULE).unwrap();
            options.yara = Some(yara);
        }
        build(&options).unwrap();
        sign_pack(&out, &self.a, None).unwrap();
        sign_pack(&out, &self.b, None).unwrap();
        out
    }

    fn origin(&self) -> Origin {
        Origin::open(&format!("file://{}", self.tmp.path().join("origin").display())).unwrap()
    }

    fn keys(&self) -> Vec<PrivateKey> {
        [&self.a, &self.b].iter().map(|k| PrivateKey::from_json(&k.to_json()).unwrap()).collect()
    }
}

/// What a client gets from the origin, with the state it remembers.
fn client(root: &[u8], origin: &Origin, state: State) -> Result<VerifiedPack, VerifyError> {
    Verifier::new(root.to_vec(), now(), state).verify(&origin.source(None))
}

fn yara_names(pack: &VerifiedPack) -> Vec<String> {
    let manifest = Manifest::from_json(&pack.files["manifest.json"]).unwrap();
    manifest.files.iter().filter(|f| f.role == Role::Yara).map(|f| f.name.clone()).collect()
}

#[test]
fn deploy_uploads_files_first_and_timestamp_last_and_the_origin_verifies() {
    let w = world();
    let pack = w.pack("2026.11.27.10", true);
    let origin = w.origin();
    let report = deploy(&pack, &origin, &w.root, now()).unwrap();

    let position = |name: &str| report.uploaded.iter().position(|n| n == name).unwrap();
    let live = ["manifest.json", "targets.json", "snapshot.json", "timestamp.json"];
    let versioned = |n: &str| n.ends_with(".snapshot.json") || n.ends_with(".targets.json");
    let last_content =
        report.uploaded.iter().rposition(|n| !n.contains('/') && !live.contains(&n.as_str()) && !versioned(n)).unwrap();
    assert!(last_content < position("history/2026.11.27.10/timestamp.json"), "{:?}", report.uploaded);
    // The root of trust is published as 1.root.json, before any metadata.
    assert!(position("1.root.json") < position("history/2026.11.27.10/timestamp.json"));
    // Consistent snapshots: the versioned metadata lands before the entry point moves.
    let snapshot = report.uploaded.iter().position(|n| n.ends_with(".snapshot.json")).unwrap();
    let targets = report.uploaded.iter().position(|n| n.ends_with(".targets.json")).unwrap();
    assert!(position("history/2026.11.27.10/timestamp.json") < snapshot.min(targets));
    assert!(snapshot.max(targets) < position("manifest.json"));
    assert!(position("manifest.json") < position("targets.json"));
    assert!(position("targets.json") < position("snapshot.json"));
    assert_eq!(report.uploaded.last().map(String::as_str), Some("timestamp.json"));

    let served = client(&w.root, &origin, State::default()).unwrap();
    assert_eq!(served.pack_version, "2026.11.27.10");
    let on_disk = w.tmp.path().join("origin");
    for (name, bytes) in &served.files {
        assert!(name == "manifest.json" || on_disk.join(name).is_file(), "{name} at the origin");
        let prefixed =
            ferretwatch_pack_client::layout::hash_prefixed(name, &ferretwatch_types::Sha256::of(bytes).to_hex());
        assert_eq!(&std::fs::read(on_disk.join(&prefixed)).unwrap(), bytes, "{prefixed} at the origin");
    }
    // A client reading consistent names gets the same pack.
    let consistent = Verifier::new(w.root.clone(), now(), State::default())
        .consistent_when_root_says()
        .verify(&origin.source(None))
        .unwrap();
    assert_eq!(consistent.files, served.files);
    for name in ["manifest.json", "targets.json", "snapshot.json", "timestamp.json"] {
        assert_eq!(
            std::fs::read(on_disk.join("history/2026.11.27.10").join(name)).unwrap(),
            std::fs::read(pack.join(name)).unwrap()
        );
    }
}

#[test]
fn deploy_refuses_an_unsigned_or_half_signed_pack_and_uploads_nothing() {
    let w = world();
    let out = w.tmp.path().join("dist");
    build(&BuildOptions::new(PackVersion::parse("2026.11.27.10").unwrap(), w.tmp.path().join("intel"), &out)).unwrap();
    let origin = w.origin();
    match deploy(&out, &origin, &w.root, now()) {
        Err(PublishError::Refused(VerifyError::Missing { file })) => assert_eq!(file, "timestamp.json"),
        other => panic!("an unsigned pack must be refused: {other:?}"),
    }
    sign_pack(&out, &w.a, None).unwrap();
    let refused = deploy(&out, &origin, &w.root, now()).unwrap_err();
    assert!(matches!(refused, PublishError::Refused(VerifyError::TooFewSignatures { valid: 1, threshold: 2, .. })));
    assert_eq!(refused.code(), "too_few_signatures");
    assert_eq!(std::fs::read_dir(w.tmp.path().join("origin")).unwrap().count(), 0, "nothing was uploaded");

    sign_pack(&out, &w.b, None).unwrap();
    deploy(&out, &origin, &w.root, now()).unwrap();
}

#[test]
fn a_second_deploy_keeps_the_first_versions_files_and_clients_move_forward() {
    let w = world();
    let origin = w.origin();
    let first = w.pack("2026.11.27.10", true);
    deploy(&first, &origin, &w.root, now()).unwrap();
    let seen = client(&w.root, &origin, State::default()).unwrap();

    let second = w.pack("2026.11.27.11", false);
    let report = deploy(&second, &origin, &w.root, now()).unwrap();
    assert_eq!(report.previous.as_ref().map(PackVersion::as_str), Some("2026.11.27.10"));
    let now_served = client(&w.root, &origin, seen.state.clone()).unwrap();
    assert_eq!(now_served.pack_version, "2026.11.27.11");
    for name in seen.files.keys().filter(|n| n.as_str() != "manifest.json") {
        assert!(w.tmp.path().join("origin").join(name).is_file(), "{name} of the first version was kept");
    }
    assert!(w.tmp.path().join("origin/history/2026.11.27.10/targets.json").is_file());
    assert!(w.tmp.path().join("origin/history/2026.11.27.11/targets.json").is_file());

    // Deploying the same pack again is harmless; an older one is refused.
    deploy(&second, &origin, &w.root, now()).unwrap();
    let older = deploy(&first, &origin, &w.root, now()).unwrap_err();
    assert!(matches!(older, PublishError::VersionNotIncreasing { .. }), "{older:?}");
    assert_eq!(older.fault(), Fault::Input);
}

#[test]
fn an_interrupted_deploy_leaves_the_previous_pack_served() {
    let w = world();
    let origin = w.origin();
    deploy(&w.pack("2026.11.27.10", false), &origin, &w.root, now()).unwrap();
    // Something in the way of the history copy makes the upload fail after the files.
    std::fs::create_dir_all(w.tmp.path().join("origin/history/2026.11.27.11/manifest.json/blocked")).unwrap();
    let second = w.pack("2026.11.27.11", true);
    let failed = deploy(&second, &origin, &w.root, now()).unwrap_err();
    assert!(matches!(failed, PublishError::Store { .. }), "{failed:?}");
    assert_eq!(failed.fault(), Fault::Operation);

    let served = client(&w.root, &origin, State::default()).unwrap();
    assert_eq!(served.pack_version, "2026.11.27.10", "clients still get the complete previous pack");
    let kit = std::fs::read_dir(&second).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap());
    let kit = kit.filter(|n| n.starts_with("yara-kit.")).collect::<Vec<_>>();
    assert!(w.tmp.path().join("origin").join(&kit[0]).is_file(), "new files went up first");
}

#[test]
fn rollback_republishes_old_content_under_a_higher_version_that_clients_accept() {
    let w = world();
    let origin = w.origin();
    deploy(&w.pack("2026.11.27.10", true), &origin, &w.root, now()).unwrap();
    let old = client(&w.root, &origin, State::default()).unwrap();
    deploy(&w.pack("2026.11.27.11", false), &origin, &w.root, now()).unwrap();
    let bad = client(&w.root, &origin, old.state.clone()).unwrap();
    assert!(yara_names(&bad).is_empty());

    let out = w.tmp.path().join("rollback");
    let version = PackVersion::parse("2026.11.27.10").unwrap();
    let republished = rollback(&origin, &version, &w.root, &w.keys(), Some(out.clone()), now()).unwrap();
    assert_eq!(republished.version.as_str(), "2026.11.27.12", "the next free version at 12:20");
    assert!(republished.fully_signed());
    deploy(&out, &origin, &w.root, now()).unwrap();

    let back = client(&w.root, &origin, bad.state.clone()).unwrap();
    assert_eq!(back.pack_version, "2026.11.27.12");
    assert_eq!(yara_names(&back), yara_names(&old), "the old content is back");
    let loaded = load(&back.files, now(), YaraLimit::Timeout(Duration::from_millis(200)), true).unwrap();
    assert_eq!(loaded.engine.rules().version, "2026.11.27.12", "the rule set carries the new version");
    assert_eq!(loaded.manifest.expires.secs_since(loaded.manifest.created), 168 * 3600);
    let old_manifest = Manifest::from_json(&old.files["manifest.json"]).unwrap();
    let filters = |m: &Manifest| m.files.iter().filter(|f| f.role == Role::Filter).cloned().collect::<Vec<_>>();
    assert_eq!(filters(&loaded.manifest), filters(&old_manifest));

    // Rolling back again in the same hour takes the next suffix.
    let again = rollback(&origin, &version, &w.root, &w.keys(), None, now());
    let again = again.unwrap();
    assert_eq!(again.version.as_str(), "2026.11.27.12.1");
    // The default directory is in the working directory, its note beside it.
    let note = std::path::PathBuf::from(format!("{}.republished.json", again.out.display()));
    let note: serde_json::Value = serde_json::from_slice(&std::fs::read(&note).unwrap()).unwrap();
    assert_eq!((note["kind"].as_str(), note["from"].as_str()), (Some("rollback"), Some(version.as_str())));
    std::fs::remove_dir_all(&again.out).unwrap();
    std::fs::remove_file(format!("{}.republished.json", again.out.display())).unwrap();
}

#[test]
fn rollback_to_a_version_never_deployed_is_refused() {
    let w = world();
    let origin = w.origin();
    deploy(&w.pack("2026.11.27.10", false), &origin, &w.root, now()).unwrap();
    let version = PackVersion::parse("2026.11.26.10").unwrap();
    let refused = rollback(&origin, &version, &w.root, &w.keys(), Some(w.tmp.path().join("x")), now()).unwrap_err();
    assert!(refused.to_string().contains("2026.11.27.10"), "names the versions there: {refused}");
    assert_eq!(refused.fault(), Fault::Input);
}

#[test]
fn an_emergency_rule_is_added_to_the_current_pack_recorded_and_loaded() {
    let w = world();
    let origin = w.origin();
    deploy(&w.pack("2026.11.27.12", true), &origin, &w.root, now()).unwrap();
    let rule =
        EmergencyRule { rule_id: "PHISH-2025-001".into(), severity: Severity::Critical, source: EMERGENCY_RULE.into() };
    let out = w.tmp.path().join("emergency");
    let made = emergency(&origin, &rule, &w.root, &w.keys(), Some(out.clone()), now()).unwrap();
    assert_eq!(made.version.as_str(), "2026.11.27.12.1");
    deploy(&out, &origin, &w.root, now()).unwrap();

    let served = client(&w.root, &origin, State::default()).unwrap();
    let names = yara_names(&served);
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("yara-emergency-phish-2025-001.")));
    let (_, record) = served.files.iter().find(|(n, _)| n.starts_with("emergency.")).unwrap();
    let record: EmergencyRecord = serde_json::from_slice(record).unwrap();
    assert_eq!(record.rules.len(), 1);
    assert_eq!(record.rules[0].rule_id, "PHISH-2025-001");
    assert_eq!(record.rules[0].severity, Severity::Critical);
    assert_eq!(record.rules[0].since.as_str(), "2026.11.27.12.1");
    load(&served.files, now(), YaraLimit::Timeout(Duration::from_millis(200)), true).unwrap();

    // A second rule keeps the first.
    let second =
        EmergencyRule { rule_id: "PHISH-2025-002".into(), source: EMERGENCY_RULE.replace("001", "002"), ..rule };
    let out2 = w.tmp.path().join("emergency2");
    emergency(&origin, &second, &w.root, &w.keys(), Some(out2.clone()), now()).unwrap();
    deploy(&out2, &origin, &w.root, now()).unwrap();
    let served = client(&w.root, &origin, State::default()).unwrap();
    assert_eq!(yara_names(&served).len(), 3);
    let (_, record) = served.files.iter().find(|(n, _)| n.starts_with("emergency.")).unwrap();
    let record: EmergencyRecord = serde_json::from_slice(record).unwrap();
    assert_eq!(
        record.rules.iter().map(|r| r.rule_id.as_str()).collect::<Vec<_>>(),
        ["PHISH-2025-001", "PHISH-2025-002"]
    );
}

#[test]
fn an_emergency_rule_that_does_not_compile_or_has_a_bad_id_is_refused() {
    let w = world();
    let origin = w.origin();
    deploy(&w.pack("2026.11.27.12", false), &origin, &w.root, now()).unwrap();
    let broken =
        EmergencyRule { rule_id: "PHISH-1".into(), severity: Severity::High, source: "rule x { condition: }".into() };
    let refused = emergency(&origin, &broken, &w.root, &w.keys(), Some(w.tmp.path().join("e1")), now()).unwrap_err();
    assert_eq!(refused.fault(), Fault::Input, "{refused}");
    assert!(!w.tmp.path().join("e1").exists(), "nothing written");
    let bad_id = EmergencyRule { rule_id: "../x".into(), severity: Severity::High, source: EMERGENCY_RULE.into() };
    let refused = emergency(&origin, &bad_id, &w.root, &w.keys(), Some(w.tmp.path().join("e2")), now()).unwrap_err();
    assert!(matches!(refused, PublishError::Invalid(_)));
}

#[test]
fn with_one_key_of_two_the_update_waits_for_the_second_signature() {
    let w = world();
    let origin = w.origin();
    deploy(&w.pack("2026.11.27.12", false), &origin, &w.root, now()).unwrap();
    let rule = EmergencyRule { rule_id: "PHISH-9".into(), severity: Severity::Critical, source: EMERGENCY_RULE.into() };
    let out = w.tmp.path().join("emergency");
    let one = vec![PrivateKey::from_json(&w.a.to_json()).unwrap()];
    let made = emergency(&origin, &rule, &w.root, &one, Some(out.clone()), now()).unwrap();
    assert!(!made.fully_signed());
    assert_eq!((made.signatures, made.threshold), (1, 2));
    assert!(matches!(
        deploy(&out, &origin, &w.root, now()),
        Err(PublishError::Refused(VerifyError::TooFewSignatures { .. }))
    ));
    sign_pack(&out, &w.b, None).unwrap();
    deploy(&out, &origin, &w.root, now()).unwrap();
    assert_eq!(client(&w.root, &origin, State::default()).unwrap().pack_version, made.version.as_str());
}

#[test]
#[cfg_attr(skip_s3, ignore = "FERRETWATCH_SKIP_S3=1")]
fn deploy_and_rollback_through_s3_on_a_loopback_moto_server() {
    let moto = moto();
    create_bucket(&moto.endpoint, "packs");
    let w = world();
    let origin = Origin::open_with("s3://packs/prod/v1", &s3_options(&moto.endpoint)).unwrap();
    assert!(!format!("{origin:?}").contains("secret"));

    let first = w.pack("2026.11.27.10", true);
    let report = deploy(&first, &origin, &w.root, now()).unwrap();
    assert_eq!(report.uploaded.last().map(String::as_str), Some("timestamp.json"));
    let seen = client(&w.root, &origin, State::default()).unwrap();
    deploy(&w.pack("2026.11.27.11", false), &origin, &w.root, now()).unwrap();
    let second = client(&w.root, &origin, seen.state.clone()).unwrap();
    assert_eq!(second.pack_version, "2026.11.27.11");

    // The objects really are under the prefix: another origin on the bucket's root sees them there.
    let bucket = Origin::open_with("s3://packs", &s3_options(&moto.endpoint)).unwrap();
    let history = bucket.get("prod/v1/history/2026.11.27.10/manifest.json", 1 << 20).unwrap();
    assert_eq!(history.as_deref(), Some(seen.files["manifest.json"].as_slice()));
    assert_eq!(bucket.get("timestamp.json", 1 << 20).unwrap(), None);
    for name in seen.files.keys() {
        assert!(origin.size(name).unwrap().is_some(), "{name} kept in the bucket");
    }

    let version = PackVersion::parse("2026.11.27.10").unwrap();
    let out = w.tmp.path().join("rollback");
    rollback(&origin, &version, &w.root, &w.keys(), Some(out.clone()), now()).unwrap();
    deploy(&out, &origin, &w.root, now()).unwrap();
    let back = client(&w.root, &origin, second.state.clone()).unwrap();
    assert_eq!(back.pack_version, "2026.11.27.12");
    assert_eq!(yara_names(&back), yara_names(&seen));
}

#[test]
fn an_unreachable_s3_origin_fails_with_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let w = world();
    let origin = Origin::open_with("s3://packs/x", &s3_options(&format!("http://127.0.0.1:{port}"))).unwrap();
    let pack = w.pack("2026.11.27.10", false);
    let started = Instant::now();
    let failed = deploy(&pack, &origin, &w.root, now()).unwrap_err();
    assert!(matches!(failed, PublishError::Store { .. }), "{failed:?}");
    assert!(started.elapsed() < Duration::from_secs(120));
}

#[test]
fn a_pack_carrying_its_deltas_deploys_and_each_delta_is_served_by_its_hash() {
    let w = world();
    let out = w.tmp.path().join("dist-deltas");
    build(&BuildOptions::new(PackVersion::parse("2026.11.27.10").unwrap(), w.tmp.path().join("intel"), &out)).unwrap();
    std::fs::create_dir_all(out.join("deltas")).unwrap();
    std::fs::write(out.join("deltas/2026.11.27.09.fwd"), b"FWDL delta bytes").unwrap();
    sign_pack(&out, &w.a, None).unwrap();
    sign_pack(&out, &w.b, None).unwrap();
    let origin = w.origin();
    deploy(&out, &origin, &w.root, now()).unwrap();
    let on_disk = w.tmp.path().join("origin");
    let hash = ferretwatch_types::Sha256::of(b"FWDL delta bytes").to_hex();
    assert_eq!(std::fs::read(on_disk.join(format!("deltas/{hash}.2026.11.27.09.fwd"))).unwrap(), b"FWDL delta bytes");
    assert!(client(&w.root, &origin, State::default()).unwrap().files.contains_key("deltas/2026.11.27.09.fwd"));
    // Other names that are not content-addressed are still refused.
    let bad = w.tmp.path().join("dist-bad");
    build(&BuildOptions::new(PackVersion::parse("2026.11.27.11").unwrap(), w.tmp.path().join("intel"), &bad)).unwrap();
    std::fs::write(bad.join("notes.txt"), b"x").unwrap();
    sign_pack(&bad, &w.a, None).unwrap();
    sign_pack(&bad, &w.b, None).unwrap();
    let err = deploy(&bad, &origin, &w.root, now()).unwrap_err();
    assert!(err.to_string().contains("not content-addressed"), "{err}");
}
