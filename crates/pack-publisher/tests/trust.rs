//! Signing and verification, one test per attack the client must refuse (TUF's threat
//! model lists them), plus the happy paths: two publishers in turn, root rotation.

use std::path::Path;

use ferretwatch_pack_client::dir::{self, DirSource};
use ferretwatch_pack_client::trust::metadata::{Envelope, Root};
use ferretwatch_pack_client::trust::verify::{State, Verifier, VerifyError};
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_pack_publisher::sign::{sign_pack, sign_root};
use ferretwatch_types::Coded;
use ferretwatch_types::Timestamp;

const NOW: &str = "2026-11-27T12:00:00Z";

fn now() -> Timestamp {
    Timestamp::parse(NOW).unwrap()
}

/// Writes an unsigned pack: a manifest, rules and a filter file in a subdirectory.
fn write_pack(dir: &Path, version: &str, expires: &str, rules: &str) {
    std::fs::create_dir_all(dir.join("filters")).unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        format!(r#"{{"version": "{version}", "expires": "{expires}", "files": []}}"#),
    )
    .unwrap();
    std::fs::write(dir.join("rules.json"), rules).unwrap();
    std::fs::write(dir.join("filters/hosts.bin"), vec![7u8; 4096]).unwrap();
}

struct Keys {
    a: PrivateKey,
    b: PrivateKey,
    c: PrivateKey,
}

fn keys() -> Keys {
    Keys { a: PrivateKey::generate().unwrap(), b: PrivateKey::generate().unwrap(), c: PrivateKey::generate().unwrap() }
}

/// A root (version 1) trusting `a` and `b` with threshold 2, signed by both.
fn root(dir: &Path, k: &Keys) -> Vec<u8> {
    let root =
        Root::new(1, Timestamp::parse("2027-11-27T00:00:00Z").unwrap(), &[k.a.public(), k.b.public()], 2).unwrap();
    let path = dir.join("root.json");
    std::fs::write(&path, Envelope::new(&root).to_bytes()).unwrap();
    sign_root(&path, &k.a).unwrap();
    sign_root(&path, &k.b).unwrap();
    std::fs::read(path).unwrap()
}

fn signed_pack(dir: &Path, k: &Keys, version: &str) {
    write_pack(dir, version, "2026-12-04T00:00:00Z", r#"{"version": "1"}"#);
    sign_pack(dir, &k.a, None).unwrap();
    sign_pack(dir, &k.b, None).unwrap();
}

fn verify(root: &[u8], pack: &Path) -> Result<ferretwatch_pack_client::trust::verify::VerifiedPack, VerifyError> {
    Verifier::new(root.to_vec(), now(), State::default()).verify(&DirSource(pack.to_owned()))
}

#[test]
fn two_publishers_in_turn_make_an_accepted_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let root = root(tmp.path(), &k);
    let pack = tmp.path().join("dist");
    write_pack(&pack, "2026.11.27.10", "2026-12-04T00:00:00Z", "{}");

    let first = sign_pack(&pack, &k.a, None).unwrap();
    assert_eq!(first.signatures, 1);
    match verify(&root, &pack) {
        Err(VerifyError::TooFewSignatures { valid: 1, threshold: 2, .. }) => {}
        other => panic!("one signature must not be enough: {other:?}"),
    }
    let second = sign_pack(&pack, &k.b, None).unwrap();
    assert_eq!(second.signatures, 2);
    let verified = verify(&root, &pack).unwrap();
    assert_eq!(verified.pack_version, "2026.11.27.10");
    assert_eq!(verified.files.len(), 3);
    assert_eq!(verified.files["rules.json"], b"{}");
    assert!(verified.files.contains_key("filters/hosts.bin"));
    // Signing again with the same key replaces, never double counts.
    assert!(sign_pack(&pack, &k.b, None).unwrap().replaced);
    assert_eq!(verify(&root, &pack).unwrap().version, verified.version);
}

#[test]
fn a_signer_refuses_a_pack_that_changed_after_the_first_signature() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let pack = tmp.path().join("dist");
    write_pack(&pack, "2026.11.27.10", "2026-12-04T00:00:00Z", "{}");
    sign_pack(&pack, &k.a, None).unwrap();
    std::fs::write(pack.join("rules.json"), "{\"x\": 1}").unwrap();
    let err = sign_pack(&pack, &k.b, None).unwrap_err();
    assert!(err.to_string().contains("changed after it was first signed"), "{err}");
}

#[test]
fn a_key_the_root_does_not_list_cannot_sign_when_the_root_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let root_bytes = root(tmp.path(), &k);
    let root: Root = serde_json::from_value(Envelope::parse(&root_bytes).unwrap().signed).unwrap();
    let pack = tmp.path().join("dist");
    write_pack(&pack, "2026.11.27.10", "2026-12-04T00:00:00Z", "{}");
    assert!(sign_pack(&pack, &k.c, Some(&root)).is_err());
    assert!(sign_pack(&pack, &k.a, Some(&root)).is_ok());
}

#[test]
fn attack_tampered_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let root = root(tmp.path(), &k);
    let pack = tmp.path().join("dist");
    signed_pack(&pack, &k, "2026.11.27.10");
    // Same length, different bytes.
    std::fs::write(pack.join("rules.json"), r#"{"version": "2"}"#).unwrap();
    let err = verify(&root, &pack).unwrap_err();
    assert!(matches!(err, VerifyError::Tampered { ref file, .. } if file == "rules.json"), "{err}");
    assert_eq!(err.code(), "tampered");
}

#[test]
fn attack_tampered_metadata_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let root = root(tmp.path(), &k);
    let pack = tmp.path().join("dist");
    signed_pack(&pack, &k, "2026.11.27.10");
    // Push the expiry out a year without re-signing.
    let text = std::fs::read_to_string(pack.join("targets.json")).unwrap();
    std::fs::write(pack.join("targets.json"), text.replace("2026-12-04", "2027-12-04")).unwrap();
    let err = verify(&root, &pack).unwrap_err();
    assert!(matches!(err, VerifyError::Tampered { ref file, .. } if file == "targets.json"), "{err}");
}

#[test]
fn attack_unknown_key_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let root = root(tmp.path(), &k);
    let pack = tmp.path().join("dist");
    write_pack(&pack, "2026.11.27.10", "2026-12-04T00:00:00Z", "{}");
    // One trusted publisher and an outsider: still one valid signature short.
    sign_pack(&pack, &k.a, None).unwrap();
    sign_pack(&pack, &k.c, None).unwrap();
    let err = verify(&root, &pack).unwrap_err();
    match &err {
        VerifyError::UnknownKey { keyid, .. } => assert_eq!(*keyid, k.c.public().key_id()),
        other => panic!("expected unknown_key, got {other:?}"),
    }
    assert_eq!(err.code(), "unknown_key");
}

#[test]
fn attack_too_few_signatures_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let root = root(tmp.path(), &k);
    let pack = tmp.path().join("dist");
    write_pack(&pack, "2026.11.27.10", "2026-12-04T00:00:00Z", "{}");
    sign_pack(&pack, &k.a, None).unwrap();
    // The same signature twice counts once.
    let path = pack.join("timestamp.json");
    let mut envelope = Envelope::parse(&std::fs::read(&path).unwrap()).unwrap();
    envelope.signatures.push(envelope.signatures[0].clone());
    std::fs::write(&path, envelope.to_bytes()).unwrap();
    let err = verify(&root, &pack).unwrap_err();
    assert!(matches!(err, VerifyError::TooFewSignatures { valid: 1, threshold: 2, .. }), "{err}");
    assert_eq!(err.code(), "too_few_signatures");
}

#[test]
fn attack_expired_metadata_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let root = root(tmp.path(), &k);
    let pack = tmp.path().join("dist");
    write_pack(&pack, "2026.11.20.10", "2026-11-27T00:00:00Z", "{}");
    sign_pack(&pack, &k.a, None).unwrap();
    sign_pack(&pack, &k.b, None).unwrap();
    let err = verify(&root, &pack).unwrap_err();
    assert!(matches!(err, VerifyError::Expired { .. }), "{err}");
    assert_eq!(err.code(), "expired");
}

#[test]
fn attack_rollback_to_a_lower_version_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let root = root(tmp.path(), &k);
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    signed_pack(&old, &k, "2026.11.27.09");
    signed_pack(&new, &k, "2026.11.27.10");
    let state_dir = tmp.path().join("state");
    let verifier = dir::verifier(root.clone(), now(), Some(&state_dir)).unwrap();
    let verified = verifier.verify(&DirSource(new.clone())).unwrap();
    dir::save_state(&state_dir, &verified).unwrap();

    let verifier = dir::verifier(root, now(), Some(&state_dir)).unwrap();
    let err = verifier.verify(&DirSource(old)).unwrap_err();
    assert!(matches!(err, VerifyError::Rollback { .. }), "{err}");
    assert_eq!(err.code(), "rollback");
    // The same version again is fine (a client re-checking what it has).
    assert!(verifier.verify(&DirSource(new)).is_ok());
}

#[test]
fn attack_files_from_two_packs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let root = root(tmp.path(), &k);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    signed_pack(&a, &k, "2026.11.27.09");
    signed_pack(&b, &k, "2026.11.27.10");
    // Pack a's timestamp and snapshot with pack b's targets and files.
    std::fs::copy(b.join("targets.json"), a.join("targets.json")).unwrap();
    std::fs::copy(b.join("manifest.json"), a.join("manifest.json")).unwrap();
    let err = verify(&root, &a).unwrap_err();
    assert!(matches!(err, VerifyError::MixedPack { .. }), "{err}");
    assert_eq!(err.code(), "mixed_pack");
}

#[test]
fn attack_oversized_file_is_refused_before_it_is_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let root = root(tmp.path(), &k);
    let pack = tmp.path().join("dist");
    signed_pack(&pack, &k, "2026.11.27.10");
    // Endless data: the listed 4096 bytes followed by much more.
    std::fs::write(pack.join("filters/hosts.bin"), vec![7u8; 50 * 1024 * 1024]).unwrap();
    let err = verify(&root, &pack).unwrap_err();
    assert!(matches!(err, VerifyError::Oversized { ref file, limit: 4096 } if file == "filters/hosts.bin"), "{err}");
    assert_eq!(err.code(), "oversized");
    // Oversized metadata too.
    std::fs::write(pack.join("timestamp.json"), vec![b' '; 1024 * 1024]).unwrap();
    assert!(matches!(verify(&root, &pack).unwrap_err(), VerifyError::Oversized { .. }));
}

#[test]
fn root_rotation_needs_a_threshold_of_old_and_new_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let root1 = root(tmp.path(), &k);
    let d = PrivateKey::generate().unwrap();
    // Version 2 replaces b with c and d.
    let root2 =
        Root::new(2, Timestamp::parse("2027-11-27T00:00:00Z").unwrap(), &[k.a.public(), k.c.public(), d.public()], 2)
            .unwrap();
    let pack = tmp.path().join("dist");
    write_pack(&pack, "2026.11.27.10", "2026-12-04T00:00:00Z", "{}");
    let path = pack.join("2.root.json");
    std::fs::write(&path, Envelope::new(&root2).to_bytes()).unwrap();
    sign_root(&path, &k.c).unwrap();
    sign_root(&path, &d).unwrap();
    // The pack is signed by the new keys only.
    sign_pack(&pack, &k.c, None).unwrap();
    sign_pack(&pack, &d, None).unwrap();

    // Only new keys signed the new root: the old root's threshold is not met.
    let err = verify(&root1, &pack).unwrap_err();
    assert!(matches!(err, VerifyError::UnknownKey { ref file, .. } if file == "2.root.json"), "{err}");

    // Old a + old b, and new c + d: accepted, and the pack verifies under root 2.
    sign_root(&path, &k.a).unwrap();
    sign_root(&path, &k.b).unwrap();
    let verified = verify(&root1, &pack).unwrap();
    assert_eq!(verified.root_version, 2);

    // A state that learned root 2 starts from it next time.
    let state_dir = tmp.path().join("state");
    dir::save_state(&state_dir, &verified).unwrap();
    std::fs::remove_file(&path).unwrap();
    let verifier = dir::verifier(root1, now(), Some(&state_dir)).unwrap();
    assert_eq!(verifier.verify(&DirSource(pack)).unwrap().root_version, 2);
}

#[test]
fn malformed_and_missing_metadata_are_refused_with_their_own_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let root = root(tmp.path(), &k);
    let pack = tmp.path().join("dist");
    signed_pack(&pack, &k, "2026.11.27.10");
    std::fs::write(pack.join("snapshot.json"), "{\"signed\": 1}").unwrap();
    assert_eq!(verify(&root, &pack).unwrap_err().code(), "malformed");
    std::fs::remove_file(pack.join("snapshot.json")).unwrap();
    assert_eq!(verify(&root, &pack).unwrap_err().code(), "missing");
    assert_eq!(verify(b"not json", &pack).unwrap_err().code(), "malformed");
}

#[test]
fn one_key_spelled_twice_is_not_two_signers() {
    let k = keys();
    let mut upper = k.a.public();
    upper.keyval.public = upper.keyval.public.to_ascii_uppercase();
    // Refused both as a key of its own and beside its lower-case spelling.
    assert!(Root::new(1, Timestamp::parse("2027-11-27T00:00:00Z").unwrap(), &[k.a.public(), upper], 2).is_err());
    // A root written by hand with the same key under two ids is refused when verified.
    let tmp = tempfile::tempdir().unwrap();
    let mut root =
        Root::new(1, Timestamp::parse("2027-11-27T00:00:00Z").unwrap(), &[k.a.public(), k.b.public()], 1).unwrap();
    let mut twin = k.a.public();
    twin.keyval.public = twin.keyval.public.to_ascii_uppercase();
    let twin_id = twin.key_id();
    root.keys.insert(twin_id.clone(), twin);
    for role in root.roles.values_mut() {
        role.keyids.push(twin_id.clone());
        role.threshold = 2;
    }
    let mut envelope = Envelope::new(&root);
    k.a.sign_envelope(&mut envelope).unwrap();
    k.b.sign_envelope(&mut envelope).unwrap();
    let pack = tmp.path().join("dist");
    write_pack(&pack, "2026.11.27.10", "2026-12-04T00:00:00Z", "{}");
    sign_pack(&pack, &k.a, None).unwrap();
    let err = verify(&envelope.to_bytes(), &pack).unwrap_err();
    assert_eq!(err.code(), "malformed", "{err}");
}

#[test]
fn a_root_planted_in_the_state_directory_is_not_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let root1 = root(tmp.path(), &k);
    // An attacker's own root, version 2, self-signed, dropped where roots are remembered.
    let mallory = PrivateKey::generate().unwrap();
    let evil = Root::new(2, Timestamp::parse("2027-11-27T00:00:00Z").unwrap(), &[mallory.public()], 1).unwrap();
    let state_dir = tmp.path().join("state");
    std::fs::create_dir_all(&state_dir).unwrap();
    let path = state_dir.join("2.root.json");
    std::fs::write(&path, Envelope::new(&evil).to_bytes()).unwrap();
    sign_root(&path, &mallory).unwrap();
    std::fs::copy(&path, state_dir.join("root.json")).unwrap();
    // ... and a pack signed by the attacker alone.
    let pack = tmp.path().join("dist");
    write_pack(&pack, "2026.11.27.10", "2026-12-04T00:00:00Z", "{}");
    sign_pack(&pack, &mallory, None).unwrap();
    let verifier = dir::verifier(root1, now(), Some(&state_dir)).unwrap();
    let err = verifier.verify(&DirSource(pack)).unwrap_err();
    assert_eq!(err.code(), "unknown_key", "the planted root must be checked against root 1: {err}");
}
