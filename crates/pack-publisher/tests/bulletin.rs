//! Bulletins: made, signed by two publishers with the pack keys, verified as a client does
//! (one test per refusal), and published to an origin with its index.

use ferretwatch_pack_client::bulletin::{verify_bulletin, Bulletin, BulletinIndex, Severity, INDEX_NAME};
use ferretwatch_pack_client::trust::metadata::{Envelope, Root};
use ferretwatch_pack_client::trust::verify::VerifyError;
use ferretwatch_pack_publisher::bulletin::{add_signature, create, publish_bulletin, sign_new, BulletinSpec};
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::PublishError;
use ferretwatch_pack_publisher::sign::sign_root;
use ferretwatch_types::Coded;
use ferretwatch_types::Timestamp;

fn t(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

const CREATED: &str = "2026-11-27T12:00:00Z";

struct Keys {
    a: PrivateKey,
    b: PrivateKey,
    root: Vec<u8>,
}

fn keys() -> Keys {
    let (a, b) = (PrivateKey::generate().unwrap(), PrivateKey::generate().unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("root.json");
    let root = Root::new(1, t("2027-11-27T00:00:00Z"), &[a.public(), b.public()], 2).unwrap();
    std::fs::write(&path, Envelope::new(&root).to_bytes()).unwrap();
    sign_root(&path, &a).unwrap();
    sign_root(&path, &b).unwrap();
    Keys { root: std::fs::read(&path).unwrap(), a, b }
}

fn spec() -> BulletinSpec {
    let mut spec = BulletinSpec::new(Severity::Critical, "Critical phishing campaign detected", t(CREATED));
    spec.brands = vec!["PayPal".into()];
    spec.etld_plus1 = vec!["PayPal.com".into()];
    spec.safe_links = vec!["https://www.paypal.com/".into()];
    spec
}

fn signed(k: &Keys, bulletin: &Bulletin) -> Vec<u8> {
    let one = sign_new(bulletin, std::slice::from_ref(&k.a)).unwrap().to_bytes();
    add_signature(&one, &k.b).unwrap().to_bytes()
}

#[test]
fn a_bulletin_signed_by_two_publishers_verifies_with_the_specified_fields() {
    let k = keys();
    let bulletin = create(spec()).unwrap();
    let bytes = signed(&k, &bulletin);
    let verified = verify_bulletin(&bytes, &k.root, t("2026-11-27T13:00:00Z")).unwrap();
    assert_eq!(verified, bulletin);
    assert_eq!(verified.expires, t("2026-11-28T12:00:00Z"), "expires = created_at + ttl (24 h by default)");
    assert_eq!(verified.etld_plus1, ["paypal.com"], "domains are normalised");

    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let signed = json["signed"].as_object().unwrap();
    for field in [
        "_type",
        "id",
        "version",
        "created_at",
        "ttl",
        "expires",
        "severity",
        "locales",
        "brands",
        "etldPlus1",
        "advisory_text",
        "safe_links",
        "min_ext_version",
        "frequency_cap",
    ] {
        assert!(signed.contains_key(field), "{field}");
    }
    assert_eq!(signed["_type"], "bulletin");
    assert_eq!(signed["severity"], "critical");
    assert_eq!(json["signatures"].as_array().unwrap().len(), 2);
    assert!(bulletin.file_name().starts_with(&format!("bulletin-{}.", bulletin.id)));
}

#[test]
fn one_signature_of_two_is_too_few() {
    let k = keys();
    let bulletin = create(spec()).unwrap();
    let bytes = sign_new(&bulletin, std::slice::from_ref(&k.a)).unwrap().to_bytes();
    match verify_bulletin(&bytes, &k.root, t(CREATED)) {
        Err(e @ VerifyError::TooFewSignatures { valid: 1, threshold: 2, .. }) => {
            assert_eq!(e.code(), "too_few_signatures")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_key_the_root_does_not_list_is_refused() {
    let k = keys();
    let stranger = PrivateKey::generate().unwrap();
    let bulletin = create(spec()).unwrap();
    let bytes = sign_new(&bulletin, &[stranger, PrivateKey::from_json(&k.a.to_json()).unwrap()]).unwrap().to_bytes();
    assert!(matches!(verify_bulletin(&bytes, &k.root, t(CREATED)), Err(VerifyError::UnknownKey { .. })));
}

#[test]
fn a_changed_message_is_tampering() {
    let k = keys();
    let bytes = signed(&k, &create(spec()).unwrap());
    let text = String::from_utf8(bytes).unwrap().replace("Critical phishing", "Harmless phishing");
    assert!(matches!(verify_bulletin(text.as_bytes(), &k.root, t(CREATED)), Err(VerifyError::Tampered { .. })));
}

#[test]
fn an_expired_bulletin_is_refused() {
    let k = keys();
    let mut short = spec();
    short.ttl = 3600;
    let bytes = signed(&k, &create(short).unwrap());
    verify_bulletin(&bytes, &k.root, t("2026-11-27T12:59:59Z")).unwrap();
    match verify_bulletin(&bytes, &k.root, t("2026-11-27T13:00:00Z")) {
        Err(e @ VerifyError::Expired { .. }) => assert_eq!(e.code(), "expired"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_and_foreign_documents_are_refused() {
    let k = keys();
    let huge = vec![b' '; 70 * 1024];
    assert!(matches!(verify_bulletin(&huge, &k.root, t(CREATED)), Err(VerifyError::Oversized { .. })));
    // Pack metadata signed by the same keys is not a bulletin.
    let mut other = Envelope::new(&serde_json::json!({"_type": "targets", "version": 1}));
    k.a.sign_envelope(&mut other).unwrap();
    k.b.sign_envelope(&mut other).unwrap();
    assert!(matches!(verify_bulletin(&other.to_bytes(), &k.root, t(CREATED)), Err(VerifyError::Malformed(_))));
}

#[test]
fn bad_input_is_refused_when_making_a_bulletin() {
    assert!("urgent".parse::<Severity>().is_err());
    assert_eq!("critical".parse::<Severity>(), Ok(Severity::Critical));
    type Change = Box<dyn Fn(&mut BulletinSpec)>;
    let cases: Vec<(&str, Change)> = vec![
        ("message", Box::new(|s| s.advisory_text = "x".repeat(1001))),
        ("message", Box::new(|s| s.advisory_text = "  ".into())),
        ("eTLD+1", Box::new(|s| s.etld_plus1 = vec!["login.paypal.com".into()])),
        ("public suffix", Box::new(|s| s.etld_plus1 = vec!["co.uk".into()])),
        ("ttl", Box::new(|s| s.ttl = 60)),
        ("ttl", Box::new(|s| s.ttl = 31 * 24 * 3600)),
        ("https", Box::new(|s| s.safe_links = vec!["http://paypal.com/".into()])),
        ("id", Box::new(|s| s.id = Some("Bad ID".into()))),
        ("locale", Box::new(|s| s.locales = vec!["english!".into()])),
    ];
    for (what, change) in cases {
        let mut s = spec();
        change(&mut s);
        let error = create(s).unwrap_err().to_string();
        assert!(error.contains(what), "{what}: {error}");
    }
}

#[test]
fn publishing_puts_the_bulletin_under_a_cache_busting_name_and_lists_it_in_the_index() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    let origin = Origin::open(&tmp.path().display().to_string()).unwrap();
    let mut first = spec();
    first.id = Some("campaign-1".into());
    let bulletin = create(first.clone()).unwrap();
    let name = publish_bulletin(&origin, &signed(&k, &bulletin), &k.root, t(CREATED)).unwrap();
    assert_eq!(name, format!("bulletins/{}", bulletin.file_name()));
    assert!(tmp.path().join(&name).is_file());
    let index: BulletinIndex = serde_json::from_slice(&std::fs::read(tmp.path().join(INDEX_NAME)).unwrap()).unwrap();
    assert_eq!(index.bulletins.len(), 1);
    assert_eq!(index.bulletins[0].file, name);

    // Half-signed: refused before anything is written.
    let half = sign_new(&bulletin, std::slice::from_ref(&k.a)).unwrap().to_bytes();
    assert!(matches!(
        publish_bulletin(&origin, &half, &k.root, t(CREATED)),
        Err(PublishError::Refused(VerifyError::TooFewSignatures { .. }))
    ));
    // The same version again is refused; a reissue replaces it.
    assert!(publish_bulletin(&origin, &signed(&k, &bulletin), &k.root, t(CREATED)).is_err());
    first.version = 2;
    first.advisory_text = "Update: the campaign now also targets mobile users".into();
    let reissue = create(first).unwrap();
    publish_bulletin(&origin, &signed(&k, &reissue), &k.root, t(CREATED)).unwrap();
    let index: BulletinIndex = serde_json::from_slice(&std::fs::read(tmp.path().join(INDEX_NAME)).unwrap()).unwrap();
    assert_eq!(index.bulletins.len(), 1);
    assert_eq!(index.bulletins[0].version, 2);
    assert!(tmp.path().join(&name).is_file(), "the earlier file stays for caches that still point at it");
}
