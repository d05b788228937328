//! `ferretwatch admin …` for the console, the real binary on SQLite and on PostgreSQL (a
//! fresh database per test): invitations, the runbook's access audit (§7.1), the
//! permission reviews (§7.2: inactive accounts, TOTP, the permission table) and session
//! clean-up; then the four runbook wrappers in `scripts/` on a seeded SQLite database.

mod support;
#[macro_use]
#[path = "support/console.rs"]
mod console;

use console::{ago, arg, expect_status, stderr, stdout, Console, DAY_MS, HOUR_MS};
use ferretwatch_server::console::codes::invitation_hash;
use ferretwatch_server::console::permissions::{permissions, TABLE};
use ferretwatch_store::{AccessOutcome, Audited, NewSession, SessionStage, TokenRole};
use ferretwatch_types::{Sha256, Timestamp};

on_both_backends!(
    invite_prints_an_enrolment_url_whose_code_is_stored_by_hash_with_its_role_and_audited,
    access_audit_passes_a_clean_log_and_alerts_on_repeated_failures_and_on_a_busy_network,
    inactive_lists_an_account_idle_past_the_limit_and_not_a_fresh_or_recent_one,
    validate_2fa_fails_on_an_admin_without_totp_and_on_anyone_with_require_all_admins,
    permission_review_csv_has_one_row_per_account_with_its_roles_permissions,
    sessions_cleanup_removes_expired_and_idle_sessions_only,
);

fn invite_prints_an_enrolment_url_whose_code_is_stored_by_hash_with_its_role_and_audited(c: &Console) {
    let out = c.run(&["admin", "invite", "--role", "reviewer", "--email", "Bob@Example.test", "--hours", "5"]);
    expect_status(&out, 0);
    let url = stdout(&out);
    let lines: Vec<&str> = url.lines().collect();
    assert_eq!(lines.len(), 1, "only the URL on standard output: {url}");
    let code = lines[0].strip_prefix("http://127.0.0.1:8080/admin/enrol?code=").expect("the enrolment URL");
    assert!(!stderr(&out).contains(code), "the code is shown once, on standard output");
    let hash = invitation_hash(code).expect("a well-formed invitation code");

    let out = c.command(&["admin", "invite", "--role", "viewer", "--db", &c.url]).env_remove("USER").output().unwrap();
    expect_status(&out, 0);
    let second = invitation_hash(stdout(&out).trim().rsplit_once("code=").unwrap().1).unwrap();

    let bad = c.run(&["admin", "invite", "--role", "root"]);
    expect_status(&bad, 2);
    assert!(stdout(&bad).is_empty());
    expect_status(&c.run(&["admin", "invite", "--role", "viewer", "--email", "not-an-address"]), 2);

    c.with_store(async |store| {
        let invitation = store.find_invitation(&hash).await.unwrap().expect("stored by the code's hash");
        assert_eq!(invitation.role, TokenRole::Reviewer);
        assert_eq!(invitation.email.as_deref(), Some("bob@example.test"));
        assert_eq!(invitation.created_by, "cli:tester");
        assert_eq!(invitation.expires_at.as_millis() - invitation.created_at.as_millis(), 5 * HOUR_MS);
        assert!(invitation.used_at.is_none());
        let default = store.find_invitation(&second).await.unwrap().unwrap();
        assert_eq!(default.expires_at.as_millis() - default.created_at.as_millis(), 72 * HOUR_MS, "invitation_hours");
        assert_eq!(default.created_by, "cli", "no USER");

        let audit = store.audit_after(0, 100).await.unwrap();
        assert_eq!(audit.len(), 2, "one entry per invitation, none for refused ones: {audit:?}");
        let first = &audit[0];
        assert_eq!((first.actor.as_str(), first.action.as_str()), ("cli:tester", "account.invited"));
        assert_eq!(first.target, "bob@example.test");
        let details: serde_json::Value = serde_json::from_str(&first.details).unwrap();
        assert_eq!(details, serde_json::json!({ "role": "reviewer", "expires_at": invitation.expires_at.as_millis() }));
        assert_eq!((audit[1].target.as_str(), audit[1].actor.as_str()), ("any", "cli"));
    });
    let verified = c.run(&["audit", "verify"]);
    expect_status(&verified, 0);
    assert!(stdout(&verified).contains("2 entries checked"), "{}", stdout(&verified));

    let out = c
        .command(&["admin", "invite", "--role", "auditor", "--db", &c.url])
        .env("FERRETWATCH_CONSOLE_PUBLIC_URL", "https://console.example.test/")
        .output()
        .unwrap();
    expect_status(&out, 0);
    assert!(stdout(&out).starts_with("https://console.example.test/admin/enrol?code=fwin_"), "{}", stdout(&out));
    assert!(!stderr(&out).contains("public_url is not set"), "{}", stderr(&out));
}

/// The alerts of `access-audit --format json`, and its exit status.
fn access_alerts(c: &Console, extra: &[&str]) -> (i32, Vec<String>) {
    let mut args = vec!["admin", "access-audit", "--format", "json"];
    args.extend(extra);
    let out = c.run(&args);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    let alerts = json["alerts"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect();
    (out.status.code().unwrap(), alerts)
}

fn access_audit_passes_a_clean_log_and_alerts_on_repeated_failures_and_on_a_busy_network(c: &Console) {
    let clean = c.run(&["admin", "access-audit"]);
    expect_status(&clean, 0);
    assert!(stdout(&clean).contains("no sign-in attempts"), "{}", stdout(&clean));

    let hour_ago = ago(HOUR_MS);
    c.attempts("alice@example.test", "198.51.100.0/24", AccessOutcome::Success, 3, hour_ago);
    c.attempts("alice@example.test", "198.51.100.0/24", AccessOutcome::BadPassword, 4, hour_ago);
    // Outside the 7-day window: not counted.
    c.attempts("carol@example.test", "192.0.2.0/24", AccessOutcome::BadSecondFactor, 10, ago(8 * DAY_MS));
    // 50 from one network is the runbook's limit, not over it.
    c.attempts("dave@example.test", "203.0.113.0/24", AccessOutcome::Success, 50, hour_ago);
    let out = c.run(&["admin", "access-audit"]);
    expect_status(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("alice@example.test") && text.contains("dave@example.test"), "{text}");
    assert!(!text.contains("carol@example.test"), "outside the window: {text}");
    assert!(text.contains("no alerts"), "{text}");

    c.attempts("alice@example.test", "198.51.100.0/24", AccessOutcome::BadSecondFactor, 1, hour_ago);
    let (status, alerts) = access_alerts(c, &["--alert-threshold", "5"]);
    assert_eq!(status, 1, "{alerts:?}");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].starts_with("alice@example.test: 5 failed sign-ins"), "{alerts:?}");
    assert_eq!(access_alerts(c, &["--alert-threshold", "6"]), (0, vec![]));
    let (status, alerts) = access_alerts(c, &["--alert-threshold", "6", "--days", "9"]);
    assert_eq!((status, alerts.len()), (1, 1), "carol's 10 failures are in a 9-day window: {alerts:?}");
    assert!(alerts[0].starts_with("carol@example.test: 10 failed"), "{alerts:?}");

    c.attempts("dave@example.test", "203.0.113.0/24", AccessOutcome::Success, 1, hour_ago);
    let (status, alerts) = access_alerts(c, &["--alert-threshold", "6"]);
    assert_eq!(status, 1);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].starts_with("dave@example.test from 203.0.113.0/24: 51 attempts"), "{alerts:?}");
    let text = stdout(&c.run(&["admin", "access-audit"]));
    assert!(text.contains("ALERT alice@example.test") && text.contains("ALERT dave@example.test"), "{text}");
}

fn inactive_lists_an_account_idle_past_the_limit_and_not_a_fresh_or_recent_one(c: &Console) {
    expect_status(&c.run(&["admin", "inactive", "--inactive-days", "90"]), 0);
    let old = c.enrol(1, "old@example.test", TokenRole::Admin, ago(200 * DAY_MS));
    let recent = c.enrol(2, "recent@example.test", TokenRole::Viewer, ago(200 * DAY_MS));
    c.enrol(3, "fresh@example.test", TokenRole::Reviewer, ago(HOUR_MS));
    let gone = c.enrol(4, "gone@example.test", TokenRole::Publisher, ago(300 * DAY_MS));
    let keys = c.keys();
    c.with_store(async |store| {
        store.record_login_success(recent.id, ago(10 * DAY_MS)).await.unwrap();
        let entry = console::audit_entry("account.disabled", "gone@example.test", Timestamp::now());
        store
            .set_account_disabled(gone.id, Some(Timestamp::now()), Audited { entry: &entry, signer: &keys })
            .await
            .unwrap();
    });

    let out = c.run(&["admin", "inactive", "--inactive-days", "90"]);
    expect_status(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("old@example.test") && text.contains("never signed in"), "{text}");
    for other in ["recent@", "fresh@", "gone@"] {
        assert!(!text.contains(other), "{other}: {text}");
    }
    let out = c.run(&["admin", "inactive", "--inactive-days", "5", "--format", "json"]);
    expect_status(&out, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let listed: Vec<&str> = json["inactive"].as_array().unwrap().iter().map(|a| a["email"].as_str().unwrap()).collect();
    assert_eq!(listed, ["old@example.test", "recent@example.test"]);
    assert_eq!(json["inactive"][0]["id"], old.id.0);
    expect_status(&c.run(&["admin", "inactive", "--inactive-days", "250"]), 0);
    expect_status(&c.run(&["admin", "inactive", "--inactive-days", "0"]), 2);
}

fn validate_2fa_fails_on_an_admin_without_totp_and_on_anyone_with_require_all_admins(c: &Console) {
    let admin = c.enrol(1, "admin@example.test", TokenRole::Admin, ago(DAY_MS));
    let viewer = c.enrol(2, "viewer@example.test", TokenRole::Viewer, ago(DAY_MS));
    for flags in [&[][..], &["--require-all-admins"][..]] {
        let out = c.run(&[&["admin", "validate-2fa"][..], flags].concat());
        expect_status(&out, 0);
        assert!(stdout(&out).contains("every active account has TOTP (2 active)"), "{}", stdout(&out));
    }

    c.drop_totp(viewer.id);
    let out = c.run(&["admin", "validate-2fa"]);
    expect_status(&out, 0);
    assert!(stdout(&out).contains("viewer@example.test"), "listed, but not an admin: {}", stdout(&out));
    let out = c.run(&["admin", "validate-2fa", "--require-all-admins"]);
    expect_status(&out, 1);
    assert!(stdout(&out).contains("viewer@example.test") && !stdout(&out).contains("admin@example.test"));

    c.drop_totp(admin.id);
    let out = c.run(&["admin", "validate-2fa", "--format", "json"]);
    expect_status(&out, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let counted: Vec<(&str, bool)> = json["without_totp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["email"].as_str().unwrap(), a["counted"].as_bool().unwrap()))
        .collect();
    assert_eq!(counted, [("admin@example.test", true), ("viewer@example.test", false)]);
}

fn permission_review_csv_has_one_row_per_account_with_its_roles_permissions(c: &Console) {
    let keys = c.keys();
    let admin = c.enrol(1, "admin@example.test", TokenRole::Admin, ago(30 * DAY_MS));
    let viewer = c.enrol(2, "viewer@example.test", TokenRole::Viewer, ago(20 * DAY_MS));
    let auditor = c.enrol(3, "auditor@example.test", TokenRole::Auditor, ago(10 * DAY_MS));
    let reviewer = c.enrol(4, "reviewer@example.test", TokenRole::Reviewer, ago(5 * DAY_MS));
    c.enrol(5, "publisher@example.test", TokenRole::Publisher, ago(DAY_MS));
    let signed_in = ago(HOUR_MS);
    c.with_store(async |store| {
        let e = console::audit_entry("change", "x", Timestamp::now());
        let audited = Audited { entry: &e, signer: &keys };
        store.record_login_success(admin.id, signed_in).await.unwrap();
        store.set_account_role(viewer.id, TokenRole::Viewer, Some(TokenRole::Reviewer), audited).await.unwrap();
        store.link_oidc(viewer.id, Some(("https://idp.example.test", "sub-7")), audited).await.unwrap();
        store.set_account_disabled(auditor.id, Some(Timestamp::now()), audited).await.unwrap();
        store.record_login_failure(reviewer.id, Timestamp::now(), &|_| HOUR_MS).await.unwrap();
    });
    c.drop_totp(reviewer.id);

    let out = c.run(&["admin", "permission-review", "--output-format", "csv"]);
    expect_status(&out, 0);
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        headers,
        [
            "id",
            "email",
            "role",
            "eligible_role",
            "permissions",
            "totp_enrolled",
            "oidc_linked",
            "status",
            "created_at",
            "created_by",
            "last_login_at"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    for row in &rows {
        let role = TokenRole::parse(&row[2]).unwrap();
        let expected: Vec<&str> = permissions(role).iter().map(|p| p.code()).collect();
        assert_eq!(row[4].split(';').collect::<Vec<_>>(), expected, "{row:?}");
        assert!(TABLE.iter().any(|(r, _)| *r == role));
        assert!(Timestamp::parse(&row[8]).is_ok(), "RFC 3339: {row:?}");
        assert_eq!(&row[9], "cli:tester");
    }
    let by_email = |email: &str| rows.iter().find(|r| &r[1] == email).unwrap().clone();
    let admin_row = by_email("admin@example.test");
    assert_eq!(&admin_row[0], admin.id.to_string());
    assert_eq!(&admin_row[4], "view_dashboard;view_audit;manage_accounts;manage_settings");
    assert_eq!((&admin_row[5], &admin_row[6], &admin_row[7]), ("true", "false", "active"));
    assert_eq!(&admin_row[10], signed_in.whole_second().to_string());
    let viewer_row = by_email("viewer@example.test");
    assert_eq!((&viewer_row[3], &viewer_row[6], &viewer_row[10]), ("reviewer", "true", ""));
    assert_eq!(&by_email("auditor@example.test")[7], "disabled");
    let reviewer_row = by_email("reviewer@example.test");
    assert_eq!((&reviewer_row[5], &reviewer_row[7]), ("false", "locked"));

    let out = c.run(&["admin", "permission-review", "--output-format", "json"]);
    expect_status(&out, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 5);
    assert_eq!(
        json[0]["permissions"],
        serde_json::json!(["view_dashboard", "view_audit", "manage_accounts", "manage_settings"])
    );
    let text = stdout(&c.run(&["admin", "permission-review"]));
    assert!(text.starts_with("5 account(s):") && text.contains("TOTP NO"), "{text}");
}

fn sessions_cleanup_removes_expired_and_idle_sessions_only(c: &Console) {
    let account = c.enrol(1, "admin@example.test", TokenRole::Admin, ago(DAY_MS));
    let session = |n: u8, created_at: Timestamp, expires_at: Timestamp| NewSession {
        id_hash: Sha256::of(&[n]),
        account_id: account.id,
        stage: SessionStage::Full,
        created_at,
        expires_at,
        client_net: Some("198.51.100.0/24".into()),
    };
    c.with_store(async |store| {
        // Past its absolute end; idle for two hours (the idle timeout is 30 minutes); live.
        store.create_session(&session(1, ago(13 * HOUR_MS), ago(HOUR_MS))).await.unwrap();
        store.create_session(&session(2, ago(2 * HOUR_MS), ago(-10 * HOUR_MS))).await.unwrap();
        store.create_session(&session(3, ago(60_000), ago(-12 * HOUR_MS))).await.unwrap();
    });
    let out = c.run(&["admin", "sessions-cleanup"]);
    expect_status(&out, 0);
    assert!(stdout(&out).starts_with("removed 2 expired session(s)"), "{}", stdout(&out));
    c.with_store(async |store| {
        let left = store.list_account_sessions(account.id).await.unwrap();
        assert_eq!(left.iter().map(|s| s.id_hash).collect::<Vec<_>>(), [Sha256::of(&[3])]);
    });
    let out = c.run(&["admin", "sessions-cleanup", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["removed"], 0);
}

#[test]
fn the_runbook_wrappers_document_their_flags_and_fail_when_what_they_check_is_wrong() {
    let c = Console::sqlite();
    for (name, flag) in [
        ("audit-admin-access.sh", "--alert-threshold"),
        ("find-inactive-admins.sh", "--inactive-days"),
        ("validate-2fa.sh", "--require-all-admins"),
        ("admin-permission-review.sh", "--output-format"),
    ] {
        let help = c.script(name, &["--help"]);
        expect_status(&help, 0);
        let text = stdout(&help);
        assert!(
            text.contains(flag) && text.contains("FERRETWATCH_DB") && text.contains("FERRETWATCH_CONFIG"),
            "{name}: {text}"
        );
        expect_status(&c.script(name, &["--no-such-flag"]), 2);
    }

    let admin = c.enrol(1, "admin@example.test", TokenRole::Admin, ago(DAY_MS));
    let viewer = c.enrol(2, "viewer@example.test", TokenRole::Viewer, ago(120 * DAY_MS));
    expect_status(&c.script("audit-admin-access.sh", &["--alert-threshold", "5"]), 0);
    c.attempts("admin@example.test", "198.51.100.0/24", AccessOutcome::BadPassword, 5, ago(HOUR_MS));
    let out = c.script("audit-admin-access.sh", &["--alert-threshold", "5"]);
    expect_status(&out, 1);
    assert!(stdout(&out).contains("ALERT admin@example.test"), "{}", stdout(&out));

    let out = c.script("find-inactive-admins.sh", &["--inactive-days", "90"]);
    expect_status(&out, 1);
    assert!(stdout(&out).contains("viewer@example.test") && !stdout(&out).contains("admin@example.test"));
    expect_status(&c.script("find-inactive-admins.sh", &["--inactive-days", "150"]), 0);

    expect_status(&c.script("validate-2fa.sh", &["--require-all-admins"]), 0);
    c.drop_totp(viewer.id);
    expect_status(&c.script("validate-2fa.sh", &["--require-all-admins"]), 1);
    expect_status(&c.script("validate-2fa.sh", &[]), 0);

    let out = c.script("admin-permission-review.sh", &["--output-format", "csv"]);
    expect_status(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with("id,email,role,") && text.contains(&format!("{},admin@example.test,admin", admin.id)),
        "{text}"
    );

    // The database named by a configuration file instead.
    let config = c.path("ferretwatch.toml");
    std::fs::write(&config, format!("db = {:?}\n", c.url)).unwrap();
    let out = std::process::Command::new("bash")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/validate-2fa.sh"))
        .env("FERRETWATCH_BIN", env!("CARGO_BIN_EXE_ferretwatch"))
        .env("FERRETWATCH_CONFIG", arg(&config))
        .env("FERRETWATCH_DATA_DIR", c.data_dir())
        .env_remove("FERRETWATCH_DB")
        .output()
        .unwrap();
    expect_status(&out, 0);
    assert!(stdout(&out).contains("viewer@example.test"), "{}", stdout(&out));
}
