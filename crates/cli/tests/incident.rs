//! `ferretwatch incident …`, the real binary on SQLite and on PostgreSQL: an incident
//! opened by hand and by an alert, acknowledged, assigned, updated and resolved into its
//! post-mortem skeleton; refusals of bad input; the MTTD and MTTR figures.

mod support;
#[macro_use]
#[path = "support/console.rs"]
mod console;

use console::{expect_status, stdout, Console};
use ferretwatch_store::{AlertNotice, Priority};
use ferretwatch_types::Timestamp;

on_both_backends!(an_incident_is_worked_from_open_to_its_post_mortem_and_counted,);

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
    assert!(stdout(&out).contains("#2 P3 open Slow pack downloads"), "{}", stdout(&out));
    expect_status(&c.run(&["incident", "open", "--title", "x", "--priority", "P9"]), 2);
    expect_status(&c.run(&["incident", "open", "--title", " ", "--priority", "P1"]), 2);

    let list = stdout(&c.run(&["incident", "list"]));
    assert!(list.lines().next().unwrap().starts_with("#2 P3 open"), "newest first: {list}");
    assert!(list.contains("#1 P1 open FerretWatchDatabaseDown"), "{list}");

    expect_status(&c.run(&["incident", "ack", "1"]), 0);
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
    assert!(text.starts_with("# Post-mortem: incident 1 — FerretWatchDatabaseDown"), "{text}");
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
    assert!(!stdout(&c.run(&["incident", "list"])).contains("#1 "), "resolved ones only with --all");
    assert!(stdout(&c.run(&["incident", "list", "--all"])).contains("#1 "));

    let stats = stdout(&c.run(&["incident", "stats", "--days", "7", "--format", "json"]));
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    let p2 = stats["priorities"].as_array().unwrap().iter().find(|p| p["priority"] == "P2").unwrap();
    assert_eq!(p2["incidents"], 1);
    assert_eq!(p2["mttd_seconds"], 180);
    assert!(p2["mttr_seconds"].as_u64().unwrap() < 120);
}
