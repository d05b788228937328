//! The service degradation level in the signed timestamp (set with the online key, kept by
//! every later timestamp until set again, never taken from an unsigned file), and the
//! mirrors a pack's signed targets list.

use std::path::{Path, PathBuf};

use ferretwatch_pack_client::trust::metadata::{typed, Envelope, Pins, Root, Targets};
use ferretwatch_pack_client::trust::verify::{check_timestamp, State, Verifier};
use ferretwatch_pack_client::trust::TrustError;
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::timestamp::{
    carried_degradation, current_degradation, degradation_of, make, set_degradation, version_of,
};
use ferretwatch_pack_publisher::publish::{deploy_online, renew, OnlineKey, PublishError, Renewal};
use ferretwatch_pack_publisher::sign::{check_mirrors, sign_pack, sign_root, write_mirrors, MirrorError};
use ferretwatch_pack_publisher::{build, BuildOptions};
use ferretwatch_types::{PackVersion, Timestamp};

const NOW: &str = "2026-11-27T12:20:00Z";

fn now() -> Timestamp {
    Timestamp::parse(NOW).unwrap()
}

/// Two publishers, a root whose snapshot and timestamp roles are the online key's.
struct World {
    tmp: tempfile::TempDir,
    keys: [PrivateKey; 2],
    root: Vec<u8>,
    online: OnlineKey,
}

fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let keys = [PrivateKey::generate().unwrap(), PrivateKey::generate().unwrap()];
    let online = PrivateKey::generate().unwrap();
    let root = Root::with_online_roles(
        1,
        Timestamp::parse("2027-11-27T00:00:00Z").unwrap(),
        &[keys[0].public(), keys[1].public()],
        2,
        &online.public(),
    )
    .unwrap();
    let path = tmp.path().join("root.json");
    std::fs::write(&path, Envelope::new(&root).to_bytes()).unwrap();
    for key in &keys {
        sign_root(&path, key).unwrap();
    }
    std::fs::create_dir_all(tmp.path().join("intel")).unwrap();
    World { root: std::fs::read(path).unwrap(), tmp, keys, online: OnlineKey { key: online, ttl_secs: 24 * 3600 } }
}

impl World {
    /// Builds `version` with `mirrors` recorded, signed by both publishers.
    fn pack(&self, version: &str, mirrors: &[String]) -> PathBuf {
        let out = self.tmp.path().join(format!("dist-{version}"));
        build(&BuildOptions::new(PackVersion::parse(version).unwrap(), self.tmp.path().join("intel"), &out)).unwrap();
        write_mirrors(&out, mirrors).unwrap();
        let root = Root::parse_unverified(&self.root).unwrap();
        for key in &self.keys {
            sign_pack(&out, key, Some(&root)).unwrap();
        }
        out
    }

    fn origin(&self) -> Origin {
        Origin::open(&format!("file://{}", self.tmp.path().join("origin").display())).unwrap()
    }

    fn timestamp(&self) -> Vec<u8> {
        std::fs::read(self.tmp.path().join("origin/timestamp.json")).unwrap()
    }

    /// The origin's timestamp as a client checks it (signatures under the root, expiry at
    /// `at`), and the whole origin verified as a client reads it.
    fn checked(&self, at: Timestamp) -> Pins {
        let root = Root::parse_unverified(&self.root).unwrap();
        let pins = check_timestamp(&self.timestamp(), &root, &State::default(), at).unwrap();
        Verifier::new(self.root.clone(), at, State::default()).verify(&self.origin().source(None)).unwrap();
        pins
    }
}

#[test]
fn a_level_set_with_the_online_key_is_signed_kept_by_renewals_and_deploys_and_cleared_by_level_one() {
    let w = world();
    let origin = w.origin();
    let report = deploy_online(&w.pack("2026.11.27.10", &[]), &origin, &w.root, now(), Some(&w.online)).unwrap();
    assert_eq!(report.degradation, 1);
    let deployed = w.checked(now());
    assert_eq!(deployed.degradation(), 1);
    assert!(deployed.custom.is_none(), "full service writes no custom field");

    // Level 3: a new timestamp version at once, pinning the same snapshot.
    let Renewal::Renewed { version, .. } = set_degradation(&origin, &w.root, &w.online, now(), 3).unwrap() else {
        panic!("setting a level re-signs at once")
    };
    assert_eq!(version, deployed.version + 1);
    let degraded = w.checked(now());
    assert_eq!(degraded.degradation(), 3);
    assert_eq!(degraded.meta, deployed.meta, "the same snapshot");
    assert_eq!(Envelope::parse(&w.timestamp()).unwrap().signed["custom"], serde_json::json!({ "degradation": 3 }));
    assert_eq!(degradation_of(&w.timestamp()), 3);
    assert_eq!(current_degradation(&origin, &w.root).unwrap(), 3);

    // A renewal keeps it (a fresh one is left alone, a due one re-signed at the same level).
    assert!(matches!(renew(&origin, &w.root, &w.online, now(), 3600).unwrap(), Renewal::Fresh { .. }));
    let later = now().plus_secs(13 * 3600);
    assert!(matches!(renew(&origin, &w.root, &w.online, later, 12 * 3600).unwrap(), Renewal::Renewed { .. }));
    let renewed = w.checked(later);
    assert_eq!((renewed.version, renewed.degradation()), (version + 1, 3));
    // So does the deploy of the next pack.
    let report = deploy_online(&w.pack("2026.11.27.11", &[]), &origin, &w.root, later, Some(&w.online)).unwrap();
    assert_eq!(report.degradation, 3);
    assert_eq!(w.checked(later).degradation(), 3);

    // Level 1 removes the custom field: the timestamp is as one made without levels.
    set_degradation(&origin, &w.root, &w.online, later, 1).unwrap();
    let restored = w.checked(later);
    assert_eq!(restored.degradation(), 1);
    assert!(Envelope::parse(&w.timestamp()).unwrap().signed.get("custom").is_none());
    renew(&origin, &w.root, &w.online, later, 365 * 86_400).unwrap();
    assert_eq!(w.checked(later).degradation(), 1);
}

#[test]
fn a_level_outside_one_to_four_is_refused_and_nothing_is_written() {
    let w = world();
    let origin = w.origin();
    deploy_online(&w.pack("2026.11.27.10", &[]), &origin, &w.root, now(), Some(&w.online)).unwrap();
    let before = w.timestamp();
    for level in [0, 5, u8::MAX] {
        match set_degradation(&origin, &w.root, &w.online, now(), level) {
            Err(PublishError::Invalid(message)) => assert!(message.contains("1 (full service) to 4"), "{message}"),
            other => panic!("level {level}: {other:?}"),
        }
    }
    assert_eq!(w.timestamp(), before);
    // A publisher's key is not the online key.
    let publisher = OnlineKey { key: PrivateKey::from_json(&w.keys[0].to_json()).unwrap(), ttl_secs: 3600 };
    assert!(set_degradation(&origin, &w.root, &publisher, now(), 2).is_err());
    assert_eq!(w.timestamp(), before);
}

#[test]
fn a_level_written_to_the_origin_without_the_online_key_is_not_carried_forward() {
    let w = world();
    let origin = w.origin();
    deploy_online(&w.pack("2026.11.27.10", &[]), &origin, &w.root, now(), Some(&w.online)).unwrap();
    let root = Root::parse_unverified(&w.root).unwrap();
    // Somebody with write access to the origin, but not the key, sets level 4.
    let mut forged = Envelope::parse(&w.timestamp()).unwrap();
    forged.signed["custom"] = serde_json::json!({ "degradation": 4 });
    std::fs::write(w.tmp.path().join("origin/timestamp.json"), forged.to_bytes()).unwrap();
    assert_eq!(degradation_of(&w.timestamp()), 4, "read without trusting it");
    assert_eq!(carried_degradation(Some(&w.timestamp()), &root), 1);
    // Signed by another key: the same.
    let other = OnlineKey { key: PrivateKey::generate().unwrap(), ttl_secs: 3600 };
    let snapshot = std::fs::read(w.tmp.path().join("origin/snapshot.json")).unwrap();
    let foreign = make(&snapshot, version_of(&snapshot).unwrap(), 50, &other, now(), 4);
    assert_eq!(carried_degradation(Some(&foreign), &root), 1);

    renew(&origin, &w.root, &w.online, now(), 365 * 86_400).unwrap();
    assert_eq!(w.checked(now()).degradation(), 1, "the renewal signed full service, not the forged level");
}

#[test]
fn make_writes_the_level_in_custom_and_nothing_for_full_service() {
    let w = world();
    let snapshot = b"{}";
    let at = |level| Envelope::parse(&make(snapshot, 7, 9, &w.online, now(), level)).unwrap().signed;
    assert!(at(1).get("custom").is_none());
    for level in 2..=4u8 {
        assert_eq!(at(level)["custom"]["degradation"], serde_json::json!(level));
        let pins: Pins = typed("timestamp.json", &at(level)).unwrap();
        assert_eq!(pins.degradation(), level);
    }
    // Out of range: written as full service (clients would read it so anyway).
    assert!(at(0).get("custom").is_none() && at(9).get("custom").is_none());
}

fn urls(list: &[&str]) -> Vec<String> {
    list.iter().map(|u| (*u).to_owned()).collect()
}

fn signed_targets(dir: &Path) -> Targets {
    let envelope = Envelope::parse(&std::fs::read(dir.join("targets.json")).unwrap()).unwrap();
    typed("targets.json", &envelope.signed).unwrap()
}

#[test]
fn the_mirrors_a_pack_records_are_in_its_signed_targets_and_not_a_pack_file() {
    let w = world();
    let mirrors = urls(&["https://cdn-a.example.net/packs", "https://cdn-b.example.org"]);
    let pack = w.pack("2026.11.27.10", &mirrors);
    let targets = signed_targets(&pack);
    assert_eq!(targets.mirrors(), mirrors);
    assert!(!targets.targets.contains_key("mirrors.json"), "metadata, not a target");
    // It deploys and verifies; mirrors.json is not uploaded (targets.json carries it).
    let report = deploy_online(&pack, &w.origin(), &w.root, now(), Some(&w.online)).unwrap();
    assert!(!report.uploaded.iter().any(|name| name.contains("mirrors.json")), "{:?}", report.uploaded);
    assert_eq!(signed_targets(&w.tmp.path().join("origin")).mirrors(), mirrors);

    // A rebuild without mirrors removes the file, and the signed targets list none.
    let plain = w.pack("2026.11.27.11", &[]);
    assert!(!plain.join("mirrors.json").exists());
    assert!(signed_targets(&plain).mirrors().is_empty());
    assert!(signed_targets(&plain).custom.unwrap().get("mirrors").is_none());
}

#[test]
fn bad_duplicate_or_too_many_mirrors_are_refused() {
    for bad in ["ftp://x", "http://example.com", "https://", "https://a.example/?q=1", "https://u@a.example", ""] {
        assert_eq!(check_mirrors(&urls(&[bad])), Err(MirrorError::BadUrl(bad.into())), "{bad}");
    }
    assert!(check_mirrors(&urls(&["http://127.0.0.1:8080/packs", "https://a.example"])).is_ok());
    assert_eq!(
        check_mirrors(&urls(&["https://a.example/", "https://a.example"])),
        Err(MirrorError::Duplicate("https://a.example".into()))
    );
    let many: Vec<String> = (0..9).map(|i| format!("https://m{i}.example")).collect();
    assert_eq!(check_mirrors(&many), Err(MirrorError::TooMany(9)));
    assert!(check_mirrors(&many[..8]).is_ok());

    // Refused when written, and when a hand-edited mirrors.json is signed.
    let w = world();
    let pack = w.pack("2026.11.27.10", &[]);
    assert!(matches!(write_mirrors(&pack, &urls(&["ftp://x"])), Err(TrustError::Metadata(_))));
    assert!(!pack.join("mirrors.json").exists());
    let key = &w.keys[0];
    for bad in [&b"[\"http://example.com\"]"[..], b"{\"mirrors\": []}", b"not json"] {
        std::fs::write(pack.join("mirrors.json"), bad).unwrap();
        match sign_pack(&pack, key, None) {
            Err(TrustError::Metadata(message)) => assert!(message.contains("mirrors.json"), "{message}"),
            other => panic!("{}: {other:?}", String::from_utf8_lossy(bad)),
        }
    }
}
