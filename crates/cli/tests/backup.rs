//! `ferretwatch backup …` and its runbook wrappers, the real binary on SQLite and on
//! PostgreSQL (real `pg_dump`/`pg_restore`), a local destination and moto's S3: a backup
//! verified by a scratch restore and restored; a non-empty target refused without
//! `--force`; a flipped byte, a truncated dump and another database's backup each refused
//! with the reason; encryption and secrets; configuration and pack backups checked.

mod support;
#[macro_use]
#[path = "support/console.rs"]
mod console;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use console::{arg, expect_status, stderr, stdout, Console};

on_both_backends!(
    a_backup_verifies_restores_and_refuses_to_replace_data_without_force,
    a_flipped_byte_a_truncated_dump_and_another_databases_backup_are_each_refused,
);

/// Three incidents: rows in two tables.
fn seed(c: &Console) {
    for title in ["db down", "slow packs", "login errors"] {
        expect_status(&c.run(&["incident", "open", "--title", title, "--priority", "P2"]), 0);
    }
}

fn create(c: &Console, dest: &Path) -> serde_json::Value {
    let out = c.run(&["backup", "create", "--to", arg(dest), "--format", "json"]);
    expect_status(&out, 0);
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// The one database object of backup `id` at `dest`.
fn database_object(dest: &Path, id: &str) -> PathBuf {
    let dir = dest.join(id);
    ["database.dump", "database.sqlite.gz"].iter().map(|n| dir.join(n)).find(|p| p.exists()).unwrap()
}

/// A second, empty database on the same backend.
fn other_database(c: &Console) -> Console {
    if c.url.starts_with("postgres") {
        Console::postgres()
    } else {
        Console::sqlite()
    }
}

fn a_backup_verifies_restores_and_refuses_to_replace_data_without_force(c: &Console) {
    seed(c);
    let dest = c.path("backups");
    let made = create(c, &dest);
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["row_counts"]["incidents"], 3, "{made}");
    assert!(made["created_at"].as_i64().unwrap() > 1_700_000_000_000);
    assert_eq!(made["destination"], arg(&dest));
    assert_eq!(made["objects"].as_array().unwrap().len(), 1, "{made}");

    let listed = stdout(&c.run_plain(&["backup", "list", "--from", arg(&dest)]));
    assert!(listed.contains(&id), "{listed}");
    let verified = c.run_plain(&["backup", "verify", "--from", arg(&dest), "--backup", &id, "--source-db", &c.url]);
    expect_status(&verified, 0);
    assert!(stdout(&verified).contains("it is a backup of the source database"), "{}", stdout(&verified));

    // Into an empty database: restored, checked, and the store opens it.
    let target = other_database(c);
    let out = target.run(&["backup", "restore", "--from", arg(&dest), "--backup", "latest"]);
    expect_status(&out, 0);
    assert!(stdout(&out).contains("counts and checksums match the backup"), "{}", stdout(&out));
    assert_eq!(stdout(&target.run(&["incident", "list"])).lines().count(), 3);

    // Over the live database, changed since: refused with what is there, then forced.
    expect_status(&c.run(&["incident", "open", "--title", "after the backup", "--priority", "P3"]), 0);
    let refused = c.run(&["backup", "restore", "--from", arg(&dest), "--backup", &id]);
    expect_status(&refused, 1);
    assert!(
        stderr(&refused).contains("holds data of the database this backup was taken from")
            && stderr(&refused).contains("incidents 4"),
        "{}",
        stderr(&refused)
    );
    expect_status(&c.run(&["backup", "restore", "--from", arg(&dest), "--backup", &id, "--force"]), 0);
    let list = stdout(&c.run(&["incident", "list"]));
    assert_eq!(list.lines().count(), 3, "back to the backup's rows: {list}");
    assert!(!list.contains("after the backup"), "{list}");
}

fn a_flipped_byte_a_truncated_dump_and_another_databases_backup_are_each_refused(c: &Console) {
    seed(c);
    let dest = c.path("backups");
    let id = create(c, &dest)["id"].as_str().unwrap().to_owned();
    let object = database_object(&dest, &id);
    let original = std::fs::read(&object).unwrap();
    let verify = |extra: &[&str]| {
        let mut args = vec!["backup", "verify", "--from", arg(&dest), "--backup", &id];
        args.extend_from_slice(extra);
        c.run_plain(&args)
    };

    let mut flipped = original.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    std::fs::write(&object, &flipped).unwrap();
    let out = verify(&[]);
    expect_status(&out, 1);
    assert!(stderr(&out).contains("backup_checksum_mismatch") && stderr(&out).contains("altered"), "{}", stderr(&out));

    std::fs::write(&object, &original[..original.len() - 100]).unwrap();
    let out = verify(&[]);
    expect_status(&out, 1);
    assert!(stderr(&out).contains("backup_truncated"), "{}", stderr(&out));

    std::fs::write(&object, &original).unwrap();
    let stranger = other_database(c);
    expect_status(&stranger.run(&["incident", "list"]), 0);
    let out = verify(&["--source-db", &stranger.url]);
    expect_status(&out, 1);
    assert!(stderr(&out).contains("backup_other_database"), "{}", stderr(&out));
    expect_status(&verify(&["--source-db", &c.url]), 0);

    // A damaged manifest is refused as such.
    let manifest = dest.join(&id).join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replacen("\"rows\": 3", "\"rows\": 2", 1)).unwrap();
    let out = verify(&[]);
    expect_status(&out, 1);
    assert!(stderr(&out).contains("manifest's checksum"), "{}", stderr(&out));
}

#[test]
fn an_encrypted_backup_needs_its_identity_and_plain_backups_leave_secrets_out() {
    let c = Console::sqlite();
    seed(&c);
    let config = c.path("ferretwatch.toml");
    let key = c.path("tls.key");
    std::fs::write(&key, "PRIVATE").unwrap();
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\n[console]\nsecret = \"console-secret-of-forty-characters-at-least\"\n[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
            c.url,
            arg(&c.path("tls.pem")),
            arg(&key)
        ),
    )
    .unwrap();
    std::fs::write(c.path("tls.pem"), "CERT").unwrap();
    let dest = c.path("backups");
    let plain = c.run_plain(&["backup", "create", "--to", arg(&dest), "--config", arg(&config), "--format", "json"]);
    expect_status(&plain, 0);
    let plain: serde_json::Value = serde_json::from_str(&stdout(&plain)).unwrap();
    let skipped = plain["skipped"].to_string();
    assert!(skipped.contains("console.secret") && skipped.contains("tls.key"), "{skipped}");
    let copied =
        std::fs::read_to_string(dest.join(plain["id"].as_str().unwrap()).join("config/ferretwatch.toml")).unwrap();
    assert!(!copied.contains("console-secret"), "{copied}");

    expect_status(&c.run_plain(&["backup", "keygen", "--out", arg(&c.path("backup.key"))]), 0);
    let sealed_dest = c.path("sealed");
    let sealed = c.run_plain(&[
        "backup",
        "create",
        "--to",
        arg(&sealed_dest),
        "--config",
        arg(&config),
        "--encrypt-to",
        arg(&c.path("backup.key.pub")),
        "--format",
        "json",
    ]);
    expect_status(&sealed, 0);
    let sealed: serde_json::Value = serde_json::from_str(&stdout(&sealed)).unwrap();
    assert_eq!(sealed["skipped"], serde_json::json!([]), "encrypted: secrets included");
    let id = sealed["id"].as_str().unwrap();
    let dump = std::fs::read(sealed_dest.join(id).join("database.sqlite.gz")).unwrap();
    assert!(dump.starts_with(b"FWBACKUP-X25519-1\n"));

    let verify = |identity: Option<&Path>| {
        let mut args = vec!["backup", "verify", "--from", arg(&sealed_dest)];
        if let Some(identity) = identity {
            args.extend(["--identity", arg(identity)]);
        }
        c.run_plain(&args)
    };
    expect_status(&verify(None), 2);
    expect_status(&verify(Some(&c.path("backup.key"))), 0);
    expect_status(&c.run_plain(&["backup", "keygen", "--out", arg(&c.path("other.key"))]), 0);
    let wrong = verify(Some(&c.path("other.key")));
    expect_status(&wrong, 1);
    assert!(stderr(&wrong).contains("wrong identity"), "{}", stderr(&wrong));

    // Someone who can write to the destination swaps the plain backup's database in and
    // rewrites the manifest to match: with the identity given, it is refused, not loaded.
    let plain_id = plain["id"].as_str().unwrap();
    std::fs::remove_dir_all(sealed_dest.join(id)).unwrap();
    copy_dir(&dest.join(plain_id), &sealed_dest.join(plain_id));
    let swapped = verify(Some(&c.path("backup.key")));
    expect_status(&swapped, 1);
    assert!(stderr(&swapped).contains("not encrypted, but an identity was given"), "{}", stderr(&swapped));
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

#[test]
fn prune_keeps_the_newest_count_and_never_the_last() {
    let c = Console::sqlite();
    seed(&c);
    let dest = c.path("backups");
    let ids: Vec<String> = (0..4).map(|_| create(&c, &dest)["id"].as_str().unwrap().to_owned()).collect();
    let out = c.run_plain(&["backup", "prune", "--from", arg(&dest), "--keep-count", "2", "--format", "json"]);
    expect_status(&out, 0);
    let pruned: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(pruned["removed"], serde_json::json!([ids[0], ids[1]]));
    assert!(!dest.join(&ids[0]).join("manifest.json").exists());
    // Everything is older than zero days; the newest stays all the same.
    let out = c.run_plain(&["backup", "prune", "--from", arg(&dest), "--keep-days", "0", "--format", "json"]);
    let pruned: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(pruned["removed"], serde_json::json!([ids[2]]));
    assert!(stdout(&c.run_plain(&["backup", "list", "--from", arg(&dest)])).contains(&ids[3]));
    expect_status(&c.run_plain(&["backup", "prune", "--from", arg(&dest)]), 2);
}

#[test]
#[cfg_attr(skip_s3, ignore = "FERRETWATCH_SKIP_S3=1")]
fn a_backup_to_s3_lists_verifies_and_restores() {
    let c = Console::sqlite();
    seed(&c);
    let moto = ferretwatch_pack_publisher::testing::moto();
    moto.create_bucket("backups");
    let s3 = |args: &[&str]| {
        c.command(args)
            .env("FERRETWATCH_S3_ENDPOINT", &moto.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "ferretwatch-test")
            .env("AWS_SECRET_ACCESS_KEY", "ferretwatch-test-secret")
            .output()
            .unwrap()
    };
    let out = s3(&["backup", "create", "--to", "s3://backups/fw/prod", "--db", &c.url, "--format", "json"]);
    expect_status(&out, 0);
    let made: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let id = made["id"].as_str().unwrap();
    assert!(stdout(&s3(&["backup", "list", "--from", "s3://backups/fw/prod"])).contains(id));
    expect_status(&s3(&["backup", "verify", "--from", "s3://backups/fw/prod", "--source-db", &c.url]), 0);
    let target = Console::sqlite();
    let out = s3(&["backup", "restore", "--from", "s3://backups/fw/prod", "--backup", "latest", "--db", &target.url]);
    expect_status(&out, 0);
    assert_eq!(stdout(&target.run(&["incident", "list"])).lines().count(), 3);
}

/// Runs a runbook wrapper with the binary, the configuration and extra environment.
fn script(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts").join(name);
    let mut command = Command::new("bash");
    command
        .arg(path)
        .args(args)
        .env("FERRETWATCH_BIN", env!("CARGO_BIN_EXE_ferretwatch"))
        .env_remove("FERRETWATCH_CONFIG")
        .env_remove("FERRETWATCH_DB")
        .env_remove("FERRETWATCH_BACKUP_DESTINATION");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

#[test]
fn the_database_wrappers_verify_test_and_restore_the_latest_backup() {
    let c = Console::sqlite();
    seed(&c);
    let dest = c.path("backups");
    let config = c.path("ferretwatch.toml");
    std::fs::write(&config, format!("db = \"{}\"\n[backup]\ndestination = \"{}\"\n", c.url, arg(&dest))).unwrap();
    let env = [("FERRETWATCH_CONFIG", arg(&config))];
    for name in ["verify-backups.sh", "test-db-restore.sh", "restore-database.sh"] {
        let help = script(name, &["--help"], &[]);
        expect_status(&help, 0);
        assert!(stdout(&help).contains("Environment:"), "{name}: {}", stdout(&help));
    }
    assert!(stdout(&script("restore-database.sh", &["--help"], &[])).contains("--target-env"));
    expect_status(&script("verify-backups.sh", &["--backup", "x"], &env), 2);
    let made = c.run_plain(&["backup", "create", "--config", arg(&config), "--format", "json"]);
    expect_status(&made, 0);
    let id = serde_json::from_str::<serde_json::Value>(&stdout(&made)).unwrap()["id"].as_str().unwrap().to_owned();
    // A configuration-only backup after it: `latest` still means the newest database.
    expect_status(&c.run_plain(&["backup", "create", "--only", "config", "--config", arg(&config)]), 0);

    let weekly = script("verify-backups.sh", &[], &env);
    expect_status(&weekly, 0);
    assert!(stdout(&weekly).contains(&id) && stdout(&weekly).contains("rows restored"), "{}", stdout(&weekly));
    let tested = script("test-db-restore.sh", &["--backup-file", "latest_backup.sql.gz"], &env);
    expect_status(&tested, 0);
    assert!(stdout(&tested).contains(&id), "{}", stdout(&tested));
    let dump = database_object(&dest, &id);
    let bare = script("test-db-restore.sh", &["--backup-file", arg(&dump)], &env);
    expect_status(&bare, 0);
    assert!(stdout(&bare).contains("no manifest to compare with"), "{}", stdout(&bare));

    // The target environment: refused while it holds data, replaced with --force.
    let envs = c.path("environments");
    std::fs::create_dir_all(&envs).unwrap();
    let staging = Console::sqlite();
    seed(&staging);
    std::fs::write(envs.join("staging.toml"), format!("db = \"{}\"\n", staging.url)).unwrap();
    let env = [("FERRETWATCH_CONFIG", arg(&config)), ("FERRETWATCH_ENVIRONMENTS", arg(&envs))];
    expect_status(&script("restore-database.sh", &["--backup-file", "latest", "--target-env", "nowhere"], &env), 2);
    let refused =
        script("restore-database.sh", &["--backup-file", "latest_backup.sql.gz", "--target-env", "staging"], &env);
    expect_status(&refused, 1);
    assert!(stderr(&refused).contains("incidents 3"), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("of another database than this backup's"), "{}", stderr(&refused));
    let forced = script(
        "restore-database.sh",
        &["--backup-file", "latest_backup.sql.gz", "--target-env", "staging", "--force"],
        &env,
    );
    expect_status(&forced, 0);
    let said = stdout(&forced);
    assert!(said.contains("counts and checksums match"), "{said}");
    assert!(said.contains("deletion ledger: 0 tombstone(s) re-applied"), "{said}");

    // Damaged: the weekly check fails.
    let mut bytes = std::fs::read(&dump).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&dump, bytes).unwrap();
    let failed = script("verify-backups.sh", &[], &[("FERRETWATCH_CONFIG", arg(&config))]);
    expect_status(&failed, 1);
    assert!(stderr(&failed).contains("altered"), "{}", stderr(&failed));
}

#[test]
fn the_configuration_wrappers_back_up_check_and_report_drift() {
    let c = Console::sqlite();
    let dest = c.path("config-backups");
    let config = c.path("ferretwatch.toml");
    std::fs::write(&config, format!("db = \"{}\"\nlog = \"info\"\n", c.url)).unwrap();
    let env = [("FERRETWATCH_CONFIG", arg(&config))];
    expect_status(&script("backup-configs.sh", &[], &env), 2);
    expect_status(&script("backup-configs.sh", &["--destination", arg(&dest)], &[]), 2);
    assert!(stdout(&script("backup-configs.sh", &["--help"], &[])).contains("--destination"));
    assert!(stdout(&script("verify-config-backup.sh", &["--help"], &[])).contains("--backup-date"));
    expect_status(&script("backup-configs.sh", &["--destination", arg(&dest)], &env), 0);

    let today = &ferretwatch_types::Timestamp::now().to_string()[..10];
    let env = [("FERRETWATCH_CONFIG", arg(&config)), ("FERRETWATCH_BACKUP_DESTINATION", arg(&dest))];
    let checked = script("verify-config-backup.sh", &["--backup-date", today], &env);
    expect_status(&checked, 0);
    assert!(stdout(&checked).contains("0 difference(s)"), "{}", stdout(&checked));

    std::fs::write(&config, format!("db = \"{}\"\nlog = \"debug\"\n", c.url)).unwrap();
    let drifted = script("verify-config-backup.sh", &["--backup-date", today], &env);
    expect_status(&drifted, 0);
    assert!(stdout(&drifted).contains("drift: changed: log: \"info\" → \"debug\""), "{}", stdout(&drifted));
    expect_status(&script("verify-config-backup.sh", &["--backup-date", "2001-01-01"], &env), 1);
    expect_status(&script("verify-config-backup.sh", &["--backup-date", "yesterday"], &env), 2);
}

#[test]
fn the_pack_backup_restores_and_verifies_its_signatures_and_a_tampered_one_fails() {
    let c = Console::sqlite();
    seed(&c);
    let dir = c.path("publish");
    std::fs::create_dir_all(dir.join("intel")).unwrap();
    let ok = |args: &[&str]| expect_status(&c.command(args).current_dir(&dir).output().unwrap(), 0);
    for name in ["alice", "bob"] {
        ok(&["keys", "generate", "--out", name]);
    }
    let expires = ferretwatch_types::Timestamp::now().plus_secs(365 * 86_400).to_string();
    ok(&[
        "root",
        "create",
        "--key",
        "alice.pub",
        "--key",
        "bob.pub",
        "--threshold",
        "2",
        "--expires",
        &expires,
        "--out",
        "root.json",
    ]);
    for name in ["alice", "bob"] {
        ok(&["root", "sign", "root.json", "--key", &format!("{name}.key")]);
    }
    let version = ferretwatch_types::PackVersion::of_hour(ferretwatch_types::Timestamp::now()).to_string();
    ok(&["pack", "build", "--version", &version, "--feeds", "intel", "--out", "dist"]);
    for name in ["alice", "bob"] {
        ok(&["pack", "sign", "dist", "--key", &format!("{name}.key")]);
    }
    let origin = dir.join("origin");
    ok(&["pack", "deploy", "dist", "--to", arg(&origin)]);

    let dest = c.path("backups");
    let made = c.run(&["backup", "create", "--to", arg(&dest), "--origin", arg(&origin), "--format", "json"]);
    expect_status(&made, 0);
    let made: serde_json::Value = serde_json::from_str(&stdout(&made)).unwrap();
    assert_eq!(made["kinds"], serde_json::json!(["database", "packs"]));
    let root = dir.join("root.json");
    let env = [("FERRETWATCH_BACKUP_DESTINATION", arg(&dest)), ("FERRETWATCH_ROOT", arg(&root))];
    expect_status(&script("test-rule-pack-backup.sh", &[], &env), 2);
    let verified = script("test-rule-pack-backup.sh", &["--verify-signatures"], &env);
    expect_status(&verified, 0);

    // One pack object altered at the destination: refused before anything trusts it.
    let packs = dest.join(made["id"].as_str().unwrap()).join("packs");
    let target = walk(&packs).into_iter().find(|p| p.to_string_lossy().ends_with(".json")).unwrap();
    let mut bytes = std::fs::read(&target).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&target, bytes).unwrap();
    let tampered = script("test-rule-pack-backup.sh", &["--verify-signatures"], &env);
    expect_status(&tampered, 1);
    assert!(stderr(&tampered).contains("altered"), "{}", stderr(&tampered));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The backup unit as systemd reads it, with its timer, and confined as the service is.
#[test]
fn the_backup_units_verify_and_are_confined() {
    support::verify_units(&["ferretwatch-backup.service", "ferretwatch-backup.timer"]);
}
