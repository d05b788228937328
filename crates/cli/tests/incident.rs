//! `ferretwatch incident …`, the real binary on SQLite and on PostgreSQL: an incident
//! opened by hand and by an alert, acknowledged, assigned, updated and resolved into its
//! post-mortem skeleton; refusals of bad input; the MTTD and MTTR figures; the joined
//! timeline of an incident with the deploys, admin actions and sign-ins around it.

mod support;
#[macro_use]
#[path = "support/console.rs"]
mod console;

use console::{audit_entry, expect_status, stdout, Console};
use ferretwatch_store::{AccessOutcome, AlertNotice, Audited, Priority};
use ferretwatch_types::Timestamp;

on_both_backends!(
    an_incident_is_worked_from_open_to_its_post_mortem_and_counted,
    the_timeline_joins_deploys_admin_actions_and_sign_ins_and_checks_the_audit_chain,
);

fn an_incident_is_worked_from_open_to_its_post_mortem_and_counted(c: &Console) {
    // An alert opened one (the first alert started 3 minutes before it arrived).
    let now = Timestamp::now();
    c.with_store(async |store| {
        let notice = AlertNotice {
            group_key: "{}:{alertname=\"FerretWatchDatabaseDown\"}".into(),
            title: "FerretWatchDatabaseDown".into(),
            priority: Priority::P1,
            service: None,
            firing: true,
            lines: vec!["firing FerretWatchDatabaseDown on 127.0.0.1:18081".into()],
            started_at: now.minus_secs(180),
            at: now,
        };
        store.record_alert(&notice).await.unwrap().unwrap();
    });
    let out = c.run(&[
        "incident",
        "open",
        "--title",
        "Slow pack downloads in one region",
        "--priority",
        "p3",
        "--service",
        "packs",
    ]);
    expect_status(&out, 0);
    let year = now.to_civil().0;
    assert!(stdout(&out).contains(&format!("INC-{year}-002 P3 open Slow pack downloads")), "{}", stdout(&out));
    expect_status(&c.run(&["incident", "open", "--title", "x", "--priority", "P9"]), 2);
    expect_status(&c.run(&["incident", "open", "--title", " ", "--priority", "P1"]), 2);

    let list = stdout(&c.run(&["incident", "list"]));
    assert!(list.lines().next().unwrap().starts_with(&format!("INC-{year}-002 P3 open")), "newest first: {list}");
    assert!(list.contains(&format!("INC-{year}-001 P1 open FerretWatchDatabaseDown")), "{list}");

    // The runbook's form of the name; another year's is refused.
    expect_status(&c.run(&["incident", "ack", &format!("INC-{year}-001")]), 0);
    expect_status(&c.run(&["incident", "show", "INC-1999-001"]), 2);
    expect_status(&c.run(&["incident", "show", "INC-x"]), 2);
    let again = c.run(&["incident", "ack", "1"]);
    assert_ne!(again.status.code(), Some(0), "acknowledged twice");
    expect_status(&c.run(&["incident", "assign", "1", "--to", "alice"]), 0);
    expect_status(&c.run(&["incident", "update", "1", "--note", "failed over to the replica", "--priority", "P2"]), 0);
    expect_status(&c.run(&["incident", "update", "1"]), 2);
    expect_status(&c.run(&["incident", "show", "99"]), 2);

    let dir = c.path("pm");
    let out = c.run(&[
        "incident",
        "resolve",
        "1",
        "--summary",
        "disk full on the primary",
        "--postmortem-dir",
        dir.to_str().unwrap(),
    ]);
    expect_status(&out, 0);
    let text = std::fs::read_to_string(dir.join("INCIDENT-1-postmortem.md")).unwrap();
    assert!(
        text.starts_with(&format!("# Post-mortem: INC-{year}-001 (incident 1) — FerretWatchDatabaseDown")),
        "{text}"
    );
    assert!(text.contains("| Priority | P2 |"), "{text}");
    assert!(text.contains("(3 min to detect)"), "{text}");
    assert!(text.contains("| Owner | alice |"), "{text}");
    assert!(text.contains("failed over to the replica") && text.contains("acknowledged by cli:tester"), "{text}");
    assert!(text.contains("## Root cause") && text.contains("## Action items"), "{text}");
    let due = text.lines().find(|l| l.starts_with("Due: ")).unwrap().to_owned();
    let due = Timestamp::parse(due.trim_start_matches("Due: ").split(' ').next().unwrap()).unwrap();
    assert!((due.secs_since(now) as i64 - 48 * 3600).abs() < 120, "due 48 h after resolution");
    assert_ne!(c.run(&["incident", "resolve", "1", "--summary", "again"]).status.code(), Some(0));

    let show = stdout(&c.run(&["incident", "show", "1", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(json["incident"]["state"], "resolved");
    let kinds: Vec<&str> = json["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["opened", "alert_firing", "acknowledged", "assigned", "priority", "note", "resolved"]);
    assert!(!stdout(&c.run(&["incident", "list"])).contains("-001 "), "resolved ones only with --all");
    assert!(stdout(&c.run(&["incident", "list", "--all"])).contains("-001 "));

    let stats = stdout(&c.run(&["incident", "stats", "--days", "7", "--format", "json"]));
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    let p2 = stats["priorities"].as_array().unwrap().iter().find(|p| p["priority"] == "P2").unwrap();
    assert_eq!(p2["incidents"], 1);
    assert_eq!(p2["mttd_seconds"], 180);
    assert!(p2["mttr_seconds"].as_u64().unwrap() < 120);
    assert!(p2["mtta_seconds"].as_u64().unwrap() < 120);
    assert!(stats["changes"].is_null(), "no origin, no change failure rate");
}

fn the_timeline_joins_deploys_admin_actions_and_sign_ins_and_checks_the_audit_chain(c: &Console) {
    let now = Timestamp::now();
    let minutes_ago = |m: u64| now.minus_secs(m * 60);
    c.with_store(async |store| {
        let notice = AlertNotice {
            group_key: "{}:{alertname=\"FerretWatchHighErrorRate\"}".into(),
            title: "FerretWatchHighErrorRate".into(),
            priority: Priority::P2,
            service: Some("reports".into()),
            firing: true,
            lines: vec!["firing FerretWatchHighErrorRate".into()],
            started_at: minutes_ago(3),
            at: now,
        };
        store.record_alert(&notice).await.unwrap().unwrap();
    });
    // Admin actions: one long before the window (60 minutes before the first alert), three in it.
    let keys = c.keys();
    c.with_store(async |store| {
        for (action, target, at) in [
            ("account.role", "old-change", minutes_ago(300)),
            ("settings.changed", "reports.per_url_per_hour", minutes_ago(30)),
            ("account.role", "mallory", minutes_ago(20)),
            ("proposal.signed", "proposal 4", minutes_ago(10)),
        ] {
            let entry = audit_entry(action, target, at);
            store.append_audit(Audited { entry: &entry, signer: &keys }).await.unwrap();
        }
    });
    c.attempts("mallory@example.org", "203.0.113.0/24", AccessOutcome::BadPassword, 3, minutes_ago(25));
    // The origin's history: a deploy 15 minutes before the alert, and one the day before.
    let origin = c.path("origin");
    for (version, at) in [("2026.12.04.09", now.minus_secs(86_400)), ("2026.12.05.01", minutes_ago(15))] {
        let dir = origin.join("history").join(version);
        std::fs::create_dir_all(&dir).unwrap();
        let record = serde_json::json!({"version": version, "deployed_at": at, "kind": "build", "previous": null});
        std::fs::write(dir.join("deploy.json"), record.to_string()).unwrap();
    }
    let origin = format!("file://{}", origin.display());
    let year = now.to_civil().0;
    let reference = format!("INC-{year}-001");
    let timeline = |security: bool| {
        let mut args =
            vec!["incident", "timeline", reference.as_str(), "--origin", origin.as_str(), "--format", "json"];
        if security {
            args.push("--security");
        }
        args.extend(["--db", c.url.as_str()]);
        c.command(&args).env("FERRETWATCH_DB", &c.url).output().unwrap()
    };

    let out = timeline(false);
    expect_status(&out, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let lines = json["lines"].as_array().unwrap();
    let of = |source: &str| lines.iter().filter(|l| l["source"] == source).collect::<Vec<_>>();
    assert_eq!(of("deploy").len(), 1, "only the deploy in the window: {lines:?}");
    assert!(of("deploy")[0]["text"].as_str().unwrap().contains("pack 2026.12.05.01 deployed"));
    let audit: Vec<&str> = of("audit").iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(audit, ["settings.changed", "account.role", "proposal.signed"], "{lines:?}");
    assert!(of("sign-in").is_empty(), "sign-ins only in the security timeline");
    assert!(!of("incident").is_empty());
    let times: Vec<&str> = lines.iter().map(|l| l["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order: {times:?}");

    let out = timeline(true);
    expect_status(&out, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let lines = json["lines"].as_array().unwrap();
    let sign_ins = lines.iter().filter(|l| l["source"] == "sign-in").count();
    assert_eq!(sign_ins, 3, "{lines:?}");
    assert!(lines.iter().any(|l| l["text"] == "3 refused sign-in(s) in the window"));

    // The runbook's wrapper, as an operator runs it: the timeline, then the whole log verified.
    let wrapper = |args: &[&str]| {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/security-timeline.sh");
        std::process::Command::new("bash")
            .arg(script)
            .args(args)
            .env("FERRETWATCH_BIN", env!("CARGO_BIN_EXE_ferretwatch"))
            .env("FERRETWATCH_DB", &c.url)
            .env("FERRETWATCH_INCIDENTS_DB", &c.url)
            .env("FERRETWATCH_ORIGIN", &origin)
            .env("FERRETWATCH_DATA_DIR", c.data_dir())
            .env_remove("FERRETWATCH_CONFIG")
            .output()
            .unwrap()
    };
    let out = wrapper(&["--incident-id", &reference]);
    expect_status(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("proposal.signed") && text.contains("pack 2026.12.05.01 deployed"), "{text}");
    assert!(text.contains("bad_password") && text.contains("mallory@example.org"), "{text}");
    expect_status(&wrapper(&["--incident-id", "yesterday"]), 2);
    expect_status(&wrapper(&["--incident-id", "INC-2026-999"]), 1);

    // Someone with database access deletes an admin action: the chain no longer holds.
    c.drop_audit_triggers();
    c.raw("DELETE FROM audit_log WHERE target = 'mallory'");
    let out = timeline(true);
    expect_status(&out, 1);
    assert!(console::stderr(&out).contains("are missing"), "{}", console::stderr(&out));
    expect_status(&wrapper(&["--incident-id", &reference]), 1);
}
