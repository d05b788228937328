//! `ferretwatch audit …`, the real binary on SQLite and on PostgreSQL (a fresh database per
//! test): `verify` passes an intact log and fails after an edit (the append-only trigger
//! dropped first, as an attacker with the database would), with the wrong key, and with
//! `--expect-head` once the newest entry is deleted; `export` writes signed JSON lines that
//! `verify-export` accepts, and refuses once any one byte changes; both read a log longer
//! than one page; an export to S3 (moto on loopback; `FERRETWATCH_SKIP_S3=1` skips it).

mod support;
#[macro_use]
#[path = "support/console.rs"]
mod console;

use console::{ago, arg, audit_entry, expect_status, stderr, stdout, Console, DAY_MS};
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::testing::moto;
use ferretwatch_store::{Audited, TokenRole};
use ferretwatch_types::Timestamp;

on_both_backends!(
    verify_passes_an_intact_log_and_fails_after_an_edit_a_deletion_or_with_another_key,
    an_export_verifies_offline_and_fails_after_any_one_byte_changes,
);

/// A log of `n` invitations by the command line, then one enrolment through the store.
fn seed(c: &Console, n: usize) {
    for _ in 0..n {
        expect_status(&c.run(&["admin", "invite", "--role", "viewer"]), 0);
    }
    c.enrol(1, "admin@example.test", TokenRole::Admin, ago(DAY_MS));
}

/// The head `SEQ:HASH` a verification printed.
fn head(out: &std::process::Output) -> String {
    let text = stdout(out);
    let rest = text.split_once(", head ").unwrap_or_else(|| panic!("no head in {text}")).1;
    rest.split_whitespace().next().unwrap().to_owned()
}

fn verify_passes_an_intact_log_and_fails_after_an_edit_a_deletion_or_with_another_key(c: &Console) {
    // Nothing to verify without the key: never created by verification.
    let out = c.run(&["audit", "verify"]);
    expect_status(&out, 2);
    assert!(stderr(&out).contains("no_audit_key"), "{}", stderr(&out));
    assert!(!c.data_dir().join("console").exists());

    seed(c, 3);
    let out = c.run(&["audit", "verify"]);
    expect_status(&out, 0);
    assert!(stdout(&out).contains("5 entries checked"), "{}", stdout(&out));
    let head5 = head(&out);
    assert!(head5.starts_with("5:") && head5.len() == 2 + 64, "{head5}");
    let public = c.data_dir().join("console/audit.pub.json");
    expect_status(&c.run(&["audit", "verify", "--public-key", arg(&public), "--expect-head", &head5]), 0);
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&c.run(&["audit", "verify", "--format", "json"]))).unwrap();
    assert_eq!(
        (json["ok"].as_bool(), json["entries"].as_u64(), json["head"].as_str()),
        (Some(true), Some(5), Some(&*head5))
    );

    // Another key: every signature fails.
    let other = c.path("other");
    expect_status(&c.run_plain(&["keys", "generate", "--out", arg(&other)]), 0);
    let out = c.run(&["audit", "verify", "--public-key", arg(&c.path("other.pub"))]);
    expect_status(&out, 1);
    assert_eq!(stdout(&out).matches("invalid signature").count(), 5, "{}", stdout(&out));

    // An expected head that is not the log's: a different hash at that entry.
    let wrong = format!("4:{}", head5.split_once(':').unwrap().1);
    let out = c.run(&["audit", "verify", "--expect-head", &wrong]);
    expect_status(&out, 1);
    assert!(stdout(&out).contains("entry 4 has hash"), "{}", stdout(&out));

    // The newest entry deleted: the shorter chain is valid, the expected head is missing.
    c.drop_audit_triggers();
    c.raw("DELETE FROM audit_log WHERE seq = 5");
    let out = c.run(&["audit", "verify"]);
    expect_status(&out, 0);
    assert!(stdout(&out).contains("4 entries checked"), "{}", stdout(&out));
    let out = c.run(&["audit", "verify", "--expect-head", &head5]);
    expect_status(&out, 1);
    assert!(stdout(&out).contains("entry 5, is missing"), "{}", stdout(&out));

    // An edited entry.
    c.raw("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2");
    let out = c.run(&["audit", "verify"]);
    expect_status(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("problem: entry 2 was edited") && text.contains("BROKEN: 1 problem(s)"), "{text}");

    // A deleted entry in the middle.
    c.raw("DELETE FROM audit_log WHERE seq = 3");
    let text = stdout(&c.run(&["audit", "verify"]));
    assert!(text.contains("entry 3 is missing"), "{text}");
}

fn an_export_verifies_offline_and_fails_after_any_one_byte_changes(c: &Console) {
    seed(c, 4);
    let dir = c.path("exports");
    let to = format!("file://{}", dir.display());
    let out = c.run(&["audit", "export", "--to", &to]);
    expect_status(&out, 0);
    let url = stdout(&out).trim().to_owned();
    let name = url.strip_prefix(&format!("{to}/")).expect("the object's URL");
    assert!(name.starts_with("audit/audit-00000001-00000006-") && name.ends_with(".jsonl"), "{name}");
    let file = dir.join(name);
    let bytes = std::fs::read(&file).unwrap();
    let lines: Vec<&str> = std::str::from_utf8(&bytes).unwrap().lines().collect();
    assert_eq!(lines.len(), 7, "six entries and the trailer");
    let trailer: serde_json::Value = serde_json::from_str(lines[6]).unwrap();
    assert_eq!((trailer["trailer"]["entries"].as_u64(), trailer["trailer"]["head_seq"].as_i64()), (Some(6), Some(6)));
    let entry: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!((entry["seq"].as_i64(), entry["action"].as_str()), (Some(3), Some("account.invited")));

    let verified = c.run_plain(&["audit", "verify-export", arg(&file)]);
    expect_status(&verified, 0);
    assert!(
        stdout(&verified).contains("6 entries") && stdout(&verified).ends_with("intact\n"),
        "{}",
        stdout(&verified)
    );
    let public = c.data_dir().join("console/audit.pub.json");
    expect_status(&c.run_plain(&["audit", "verify-export", arg(&file), "--public-key", arg(&public)]), 0);

    // An incremental export to a plain directory: entries after 4, checked from entry 4's hash.
    let out = c.run(&["audit", "export", "--to", arg(&dir), "--after-seq", "4", "--format", "json"]);
    expect_status(&out, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((json["entries"].as_u64(), json["first_seq"].as_i64()), (Some(2), Some(5)));
    let part = std::path::PathBuf::from(json["url"].as_str().unwrap());
    assert!(part.file_name().unwrap().to_str().unwrap().starts_with("audit-00000005-00000006-"));
    expect_status(&c.run_plain(&["audit", "verify-export", arg(&part)]), 0);
    let nothing = c.run(&["audit", "export", "--to", arg(&dir), "--after-seq", "6"]);
    expect_status(&nothing, 0);
    assert!(stdout(&nothing).is_empty() && stderr(&nothing).contains("nothing exported"));

    // Any one byte changed: in the first entry, in the middle, in the trailer, the last
    // line break.
    let tampered = c.path("tampered.jsonl");
    for at in [5, bytes.len() / 3, bytes.len() / 2, bytes.len() - 40, bytes.len() - 1] {
        let mut changed = bytes.clone();
        changed[at] = if changed[at] == b'0' { b'1' } else { b'0' };
        std::fs::write(&tampered, &changed).unwrap();
        let out = c.run_plain(&["audit", "verify-export", arg(&tampered)]);
        expect_status(&out, 1);
        assert!(stdout(&out).contains("problem: "), "byte {at}: {}", stdout(&out));
    }
    // A line dropped (the trailer's count and digest no longer match).
    let dropped: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != 3).map(|(_, l)| *l).collect();
    std::fs::write(&tampered, dropped.join("\n") + "\n").unwrap();
    let out = c.run_plain(&["audit", "verify-export", arg(&tampered)]);
    expect_status(&out, 1);
    assert!(stdout(&out).contains("entry 4 is missing"), "{}", stdout(&out));
}

/// Paging is the command's, the same on both backends (whose `audit_after` the store's
/// conformance suite checks); once is enough, since a thousand Ed25519 checks in a debug
/// build take seconds.
#[test]
fn verify_and_export_read_a_log_longer_than_one_page() {
    let c = &Console::sqlite();
    seed(c, 0);
    c.bulk_audit(999);
    let keys = c.keys();
    c.with_store(async |store| {
        // The store chains its next entry to the newest it finds.
        let entry = audit_entry("settings.changed", "after", Timestamp::now());
        store.append_audit(Audited { entry: &entry, signer: &keys }).await.unwrap();
    });
    let out = c.run(&["audit", "verify"]);
    expect_status(&out, 0);
    assert!(head(&out).starts_with("1002:"), "{}", stdout(&out));
    assert!(stdout(&out).contains("1002 entries checked"), "{}", stdout(&out));

    let dir = c.path("exports");
    let out = c.run(&["audit", "export", "--to", arg(&dir), "--after-seq", "1", "--format", "json"]);
    expect_status(&out, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (json["entries"].as_u64(), json["first_seq"].as_i64(), json["head_seq"].as_i64()),
        (Some(1001), Some(2), Some(1002))
    );
    let written = std::fs::read_to_string(json["url"].as_str().unwrap()).unwrap();
    assert_eq!(written.lines().count(), 1002, "1001 entries and the trailer");
}

#[test]
#[cfg_attr(skip_s3, ignore = "FERRETWATCH_SKIP_S3=1")]
fn an_export_to_s3_lands_in_the_bucket_under_the_prefix_and_verifies() {
    let c = Console::sqlite();
    seed(&c, 2);
    let moto = moto();
    moto.create_bucket("audit-exports");
    let out = c
        .command(&["audit", "export", "--to", "s3://audit-exports/fw/prod", "--db", &c.url])
        .env("FERRETWATCH_SERVER_S3_ENDPOINT", &moto.endpoint)
        .env("FERRETWATCH_SERVER_S3_REGION", "us-east-1")
        .env("FERRETWATCH_SERVER_S3_ACCESS_KEY_ID", "ferretwatch-test")
        .env("FERRETWATCH_SERVER_S3_SECRET_ACCESS_KEY", "ferretwatch-test-secret")
        .output()
        .unwrap();
    expect_status(&out, 0);
    let url = stdout(&out).trim().to_owned();
    let name = url.strip_prefix("s3://audit-exports/fw/prod/").expect("the object's URL");
    assert!(name.starts_with("audit/audit-00000001-00000004-"), "{name}");
    let bucket = Origin::open_with("s3://audit-exports/fw/prod", &moto.s3_options()).unwrap();
    let bytes = bucket.get(name, 1 << 20).unwrap().expect("the object is in the bucket");
    let file = c.path("downloaded.jsonl");
    std::fs::write(&file, bytes).unwrap();
    expect_status(&c.run_plain(&["audit", "verify-export", arg(&file)]), 0);
}
