//! `ferretwatch abuse detect`, `ferretwatch reports export-suspicious` and `ferretwatch
//! reports stats`, the real binary on SQLite and on PostgreSQL (a fresh database per test),
//! over a report log seeded through the store; then their runbook wrappers in `scripts/`
//! (the weekly feedback review and capacity planning on both databases, the monthly
//! business metrics on SQLite).

mod support;
#[macro_use]
#[path = "support/console.rs"]
mod console;

use std::collections::HashSet;

use console::{ago, expect_status, stderr, stdout, Console, DAY_MS, HOUR_MS};
use ferretwatch_store::{
    Actor, ClientNet, ExtensionVersion, Finding, Findings, IncidentChange, InstallTokenId, ModerationState, NewReport,
    Priority, ReportKind, ReportReason, ReportUrl, Score, StateChange, StoreOptions, TokenRole,
};
use ferretwatch_types::{PackVersion, Timestamp};
use serde_json::Value;

on_both_backends!(
    detect_passes_a_quiet_log_and_fails_on_each_pattern_alone,
    detect_refuses_bad_usage,
    export_writes_the_reports_at_or_above_the_score_newest_first_as_csv_and_json,
    anonymize_removes_install_tokens_and_query_strings_and_coarsens_networks,
    hostile_reason_texts_are_quoted_in_csv_and_escaped_in_json,
    export_pages_through_more_reports_than_one_page,
    stats_and_the_feedback_review_count_the_week_without_paths_queries_or_tokens,
);

/// A report of `url` received at `at`, with a token and a network when given.
fn report(url: &str, at: Timestamp, token: Option<&str>, ip: Option<&str>) -> NewReport {
    NewReport {
        kind: ReportKind::Report,
        url: ReportUrl::parse(url).unwrap(),
        reason: ReportReason::PhishingLogin,
        received_at: at,
        client_timestamp: at,
        extension_version: ExtensionVersion::parse("1.4.2").unwrap(),
        pack_version: PackVersion::parse("2026.11.27.01").unwrap(),
        score: Score::new(95).unwrap(),
        findings: Findings::new(vec![
            Finding::new("idn_homograph_high", "xn--pypal-4ve.com").unwrap(),
            Finding::new("password_form_offsite", "<form action=…>").unwrap(),
        ])
        .unwrap(),
        screenshot_hash: None,
        install_token_id: token.map(|t| InstallTokenId::parse(t).unwrap()),
        client_net: ip.map(|ip| ClientNet::from_ip(ip.parse().unwrap())),
    }
}

fn append(c: &Console, reports: &[NewReport]) {
    c.with_store(async |store| {
        for r in reports {
            store.append_report(r).await.unwrap();
        }
    });
}

/// `abuse detect --format json` at threshold 4 over `window` seconds: exit status and the
/// findings as `(kind, key, count)`.
fn detect(c: &Console, window: &str) -> (i32, Vec<(String, String, i64)>, String) {
    let out = c.run(&["abuse", "detect", "--threshold", "4", "--window", window, "--format", "json"]);
    let text = stdout(&out);
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text} {}", stderr(&out)));
    let findings = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap().into(), f["key"].as_str().unwrap().into(), f["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(json["ok"], out.status.code() == Some(0), "{text}");
    (out.status.code().unwrap(), findings, text)
}

fn detect_passes_a_quiet_log_and_fails_on_each_pattern_alone(c: &Console) {
    let out = c.run(&["abuse", "detect", "--threshold", "4", "--window", "3600"]);
    expect_status(&out, 0);
    assert!(stdout(&out).contains("no coordinated reporting found"), "{}", stdout(&out));

    // Quiet: three reports per URL, install and network; and a burst two hours ago.
    let recent = ago(HOUR_MS / 2);
    let mut quiet = Vec::new();
    for i in 0..4 {
        for j in [i, (i + 1) % 4, (i + 2) % 4] {
            let ip = format!("198.51.{j}.9");
            quiet.push(report(&format!("https://quiet{i}.example/"), recent, Some(&format!("tok-{j}")), Some(&ip)));
        }
    }
    for _ in 0..6 {
        quiet.push(report("https://old.example/", ago(2 * HOUR_MS), Some("old-install"), Some("192.0.2.1")));
    }
    append(c, &quiet);
    let (status, findings, _) = detect(c, "3600");
    assert_eq!((status, findings), (0, vec![]));
    let (status, findings, _) = detect(c, "10800");
    assert_eq!(status, 1, "the old burst is inside three hours");
    let keys: HashSet<String> = findings.into_iter().map(|(_, key, _)| key).collect();
    assert_eq!(keys, HashSet::from(["https://old.example/".into(), "old-inst…".into(), "192.0.2.0/24".into()]));
    c.raw("DELETE FROM reports");

    let token = "abcdefgh-rest-of-a-long-install-token";
    let ips = ["203.0.113.1", "198.51.100.1", "192.0.2.1", "2001:db8:1::1"];
    let patterns: Vec<(&str, &str, Vec<NewReport>)> = vec![
        (
            "url_reports",
            "https://phish.example/login?session=1",
            (0..4).map(|i| report("https://phish.example/login?session=1", recent, None, Some(ips[i]))).collect(),
        ),
        (
            "url_false_positives",
            "https://allow-me.example/",
            (0..4)
                .map(|i| NewReport {
                    kind: ReportKind::FalsePositive,
                    ..report("https://allow-me.example/", recent, Some(&format!("fp-{i}")), Some(ips[i]))
                })
                .collect(),
        ),
        (
            "install_token",
            "abcdefgh…",
            (0..4).map(|i| report(&format!("https://t{i}.example/"), recent, Some(token), Some(ips[i]))).collect(),
        ),
        (
            "network",
            "2001:db8:1::/48",
            (0..4).map(|i| report(&format!("https://n{i}.example/"), recent, None, Some("2001:db8:1::77"))).collect(),
        ),
        // Four installs behind two networks, two reports and two false positives: no URL,
        // install or network reaches four, only the farm does.
        (
            "install_farm",
            "https://farmed.example/",
            (0..4)
                .map(|i| NewReport {
                    kind: if i < 2 { ReportKind::Report } else { ReportKind::FalsePositive },
                    ..report("https://farmed.example/", recent, Some(&format!("farm-{i}")), Some(ips[i % 2]))
                })
                .collect(),
        ),
    ];
    for (kind, key, reports) in patterns {
        append(c, &reports);
        let (status, findings, json) = detect(c, "3600");
        assert_eq!((status, findings), (1, vec![(kind.to_owned(), key.to_owned(), 4)]), "{kind}");
        assert!(!json.contains("rest-of-a-long"), "install tokens are shortened: {json}");
        let out = c.run(&["abuse", "detect", "--threshold", "4", "--window", "3600"]);
        expect_status(&out, 1);
        let text = stdout(&out);
        assert!(text.contains(&format!("ALERT {kind} {key}: ")), "{text}");
        assert!(text.contains("ALERTS: 1 finding"), "{text}");
        assert!(!text.contains(token), "{text}");
        expect_status(&c.run(&["abuse", "detect", "--threshold", "5", "--window", "3600"]), 0);
        c.raw("DELETE FROM reports");
    }
}

fn detect_refuses_bad_usage(c: &Console) {
    for args in [
        &["--threshold", "0", "--window", "3600"][..],
        &["--threshold", "10"],
        &["--window", "3600"],
        &["--threshold", "10", "--window", "0"],
        &["--threshold", "10", "--window", "7776001"],
        &["--threshold", "10", "--window", "an hour"],
        &["--threshold", "10", "--window", "3600", "--format", "yaml"],
    ] {
        let mut all = vec!["abuse", "detect"];
        all.extend(args);
        let out = c.run(&all);
        expect_status(&out, 2);
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
    }
}

/// `reports export-suspicious ARGS --db URL`, which must succeed: its standard output.
fn export(c: &Console, args: &[&str]) -> String {
    let mut all = vec!["reports", "export-suspicious"];
    all.extend(args);
    let out = c.run(&all);
    expect_status(&out, 0);
    assert!(stderr(&out).contains("exported "), "{}", stderr(&out));
    stdout(&out)
}

fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

fn json_rows(text: &str) -> Vec<serde_json::Map<String, Value>> {
    let value: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    value.as_array().unwrap().iter().map(|r| r.as_object().unwrap().clone()).collect()
}

/// Four reports at known times: scores 95, 50, 90 and 100, the 90 one a false positive
/// of an IPv6 client without an install token; the first URL verified.
fn seed_four(c: &Console) -> Timestamp {
    let base = Timestamp::from_secs(1_790_000_000);
    let at = |s: u64| base.plus_secs(s);
    let mut reports = vec![
        report(
            "https://bank.example/login?user=victim@example.test&otp=1",
            at(0),
            Some("tok-one"),
            Some("203.0.113.7"),
        ),
        report("https://low.example/", at(10), Some("tok-two"), Some("198.51.100.7")),
        NewReport {
            kind: ReportKind::FalsePositive,
            reason: ReportReason::Other("my bank, not phishing".into()),
            ..report("https://shop.example/cart?id=5", at(20), None, Some("2001:db8:abcd:12::1"))
        },
        report("https://pay.example/", at(30), Some("tok-four"), None),
    ];
    for (r, score) in reports.iter_mut().zip([95, 50, 90, 100]) {
        r.score = Score::new(score).unwrap();
    }
    append(c, &reports);
    c.with_store(async |store| {
        let change = StateChange {
            url_hash: reports[0].url.hash(),
            to: ModerationState::Verified,
            actor: Actor::new("reviewer@example.test").unwrap(),
            note: None,
            at: at(40),
        };
        store.set_moderation_state(&change).await.unwrap();
    });
    base
}

const ALL_COLUMNS: [&str; 13] = [
    "id",
    "received_at",
    "kind",
    "url",
    "reason",
    "reason_text",
    "score",
    "findings",
    "pack_version",
    "extension_version",
    "moderation_state",
    "install_token_id",
    "client_net",
];

fn export_writes_the_reports_at_or_above_the_score_newest_first_as_csv_and_json(c: &Console) {
    let empty = export(c, &["--threshold-score", "90"]);
    assert_eq!(empty.trim_end(), ALL_COLUMNS.join(","), "a header and no rows");
    assert_eq!(export(c, &["--threshold-score", "90", "--output-format", "json"]), "[]\n");
    seed_four(c);

    let (header, rows) = csv_rows(&export(c, &["--threshold-score", "90"]));
    assert_eq!(header, ALL_COLUMNS);
    let column = |name: &str| ALL_COLUMNS.iter().position(|c| *c == name).unwrap();
    let scores: Vec<&str> = rows.iter().map(|r| r[column("score")].as_str()).collect();
    assert_eq!(scores, ["100", "90", "95"], "at or above 90, newest first");
    let ids: Vec<i64> = rows.iter().map(|r| r[column("id")].parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let oldest = &rows[2];
    assert_eq!(oldest[column("received_at")], "2026-09-21T14:13:20Z");
    assert_eq!(oldest[column("kind")], "report");
    assert_eq!(oldest[column("url")], "https://bank.example/login?user=victim@example.test&otp=1");
    assert_eq!(oldest[column("reason")], "phishing_login");
    assert_eq!(oldest[column("reason_text")], "");
    assert_eq!(oldest[column("findings")], "idn_homograph_high;password_form_offsite");
    assert_eq!(oldest[column("pack_version")], "2026.11.27.01");
    assert_eq!(oldest[column("extension_version")], "1.4.2");
    assert_eq!(oldest[column("moderation_state")], "verified");
    assert_eq!(oldest[column("install_token_id")], "tok-one");
    assert_eq!(oldest[column("client_net")], "203.0.113.0/24");
    let fp = &rows[1];
    assert_eq!((fp[column("kind")].as_str(), fp[column("reason")].as_str()), ("false_positive", "other"));
    assert_eq!(fp[column("reason_text")], "my bank, not phishing");
    assert_eq!((fp[column("install_token_id")].as_str(), fp[column("moderation_state")].as_str()), ("", "queued"));
    assert_eq!(fp[column("client_net")], "2001:db8:abcd::/48");

    let json = json_rows(&export(c, &["--threshold-score", "90", "--output-format", "json"]));
    assert_eq!(json.len(), 3);
    let keys: Vec<&str> = json[0].keys().map(String::as_str).collect();
    let mut want = ALL_COLUMNS.to_vec();
    want.sort_unstable();
    assert_eq!(keys.iter().copied().collect::<HashSet<_>>(), want.into_iter().collect::<HashSet<_>>());
    assert_eq!(json[0]["score"], 100);
    assert_eq!(json[0]["client_net"], Value::Null);
    assert_eq!(json[1]["install_token_id"], Value::Null, "present, and null: this report had none");
    assert_eq!(json[2]["install_token_id"], "tok-one");
    assert_eq!(json[2]["findings"], serde_json::json!(["idn_homograph_high", "password_form_offsite"]));
    assert_eq!(json[2]["received_at"], "2026-09-21T14:13:20Z");
    assert_eq!(json[2]["moderation_state"], "verified");
    assert_eq!(json[1]["reason_text"], "my bank, not phishing");
    assert_eq!(json[0]["reason_text"], Value::Null);

    let all = json_rows(&export(c, &["--threshold-score", "0", "--output-format", "json"]));
    assert_eq!(all.len(), 4);
    let since = json_rows(&export(c, &["--threshold-score", "0", "--output-format", "json", "--since", "1790000010"]));
    assert_eq!(since.iter().map(|r| r["score"].as_i64().unwrap()).collect::<Vec<_>>(), [100, 90, 50]);
    let since = export(c, &["--threshold-score", "100", "--since", "2026-09-21T14:13:50Z"]);
    assert_eq!(csv_rows(&since).1.len(), 1);
    assert_eq!(csv_rows(&export(c, &["--threshold-score", "100", "--since", "2026-09-21T14:13:51Z"])).1.len(), 0);

    for bad in [
        &["--threshold-score", "101"][..],
        &["--threshold-score", "-1"],
        &[],
        &["--threshold-score", "9", "--keep-query"],
    ] {
        let mut args = vec!["reports", "export-suspicious"];
        args.extend(bad);
        let out = c.run(&args);
        expect_status(&out, 2);
        assert!(stdout(&out).is_empty(), "{bad:?}");
    }
    let out = c.run(&["reports", "export-suspicious", "--threshold-score", "9", "--since", "yesterday"]);
    expect_status(&out, 2);
}

fn anonymize_removes_install_tokens_and_query_strings_and_coarsens_networks(c: &Console) {
    seed_four(c);
    let text = export(c, &["--threshold-score", "0", "--output-format", "json", "--anonymize"]);
    for secret in ["tok-one", "tok-two", "tok-four", "victim@example.test", "?user", "?id=5", "203.0.113", "abcd"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    let rows = json_rows(&text);
    assert_eq!(rows.len(), 4);
    for row in &rows {
        assert!(!row.contains_key("install_token_id"), "no install token at all: {row:?}");
        assert!(!row["url"].as_str().unwrap().contains('?'), "{row:?}");
    }
    let urls: Vec<&str> = rows.iter().map(|r| r["url"].as_str().unwrap()).collect();
    assert_eq!(
        urls,
        ["https://pay.example/", "https://shop.example/cart", "https://low.example/", "https://bank.example/login"]
    );
    let nets: Vec<&Value> = rows.iter().map(|r| &r["client_net"]).collect();
    assert_eq!(
        nets,
        [&Value::Null, &Value::from("2001:db8::/32"), &Value::from("198.51.0.0/16"), &Value::from("203.0.0.0/16")]
    );

    let (header, rows) = csv_rows(&export(c, &["--threshold-score", "0", "--anonymize"]));
    let want: Vec<&str> = ALL_COLUMNS.iter().copied().filter(|c| *c != "install_token_id").collect();
    assert_eq!(header, want);
    assert!(rows.iter().all(|r| r.len() == want.len()));
    assert_eq!(rows[3][3], "https://bank.example/login");
    assert_eq!(rows[3][11], "203.0.0.0/16");

    let kept =
        json_rows(&export(c, &["--threshold-score", "0", "--output-format", "json", "--anonymize", "--keep-query"]));
    assert_eq!(kept[3]["url"], "https://bank.example/login?user=victim@example.test&otp=1");
    assert!(!kept[3].contains_key("install_token_id"));
    assert_eq!(kept[3]["client_net"], "203.0.0.0/16");
}

fn hostile_reason_texts_are_quoted_in_csv_and_escaped_in_json(c: &Console) {
    let now = Timestamp::now();
    let hostile = ["=cmd|' /C calc'!A0", "<script>alert(1)</script>", "+SUM(A1:A9) & \"quoted\", with a comma"];
    let reports: Vec<NewReport> = hostile
        .iter()
        .enumerate()
        .map(|(i, text)| NewReport {
            reason: ReportReason::Other((*text).into()),
            ..report(&format!("https://h{i}.example/"), now, Some("-leading-dash"), Some("203.0.113.1"))
        })
        .collect();
    append(c, &reports);

    let text = export(c, &["--threshold-score", "90"]);
    let (header, rows) = csv_rows(&text);
    let reason = header.iter().position(|h| h == "reason_text").unwrap();
    let token = header.iter().position(|h| h == "install_token_id").unwrap();
    let cells: Vec<&str> = rows.iter().map(|r| r[reason].as_str()).collect();
    assert_eq!(
        cells,
        ["'+SUM(A1:A9) & \"quoted\", with a comma", "<script>alert(1)</script>", "'=cmd|' /C calc'!A0"],
        "a cell a spreadsheet would evaluate starts with '"
    );
    assert!(rows.iter().all(|r| r[token] == "'-leading-dash"));
    assert!(!text.lines().any(|line| line.split(',').any(|cell| cell.starts_with('='))), "{text}");

    let text = export(c, &["--threshold-score", "90", "--output-format", "json"]);
    assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'), "markup escaped: {text}");
    assert!(text.contains("\\u003cscript\\u003e"), "{text}");
    let rows = json_rows(&text);
    let texts: Vec<&str> = rows.iter().map(|r| r["reason_text"].as_str().unwrap()).collect();
    assert_eq!(texts, [hostile[2], hostile[1], hostile[0]], "JSON readers get the text back unchanged");
}

fn export_pages_through_more_reports_than_one_page(c: &Console) {
    let now = Timestamp::now();
    append(c, &[report("https://bulk.example/p?q=1", now, Some("tok-bulk"), Some("203.0.113.9"))]);
    // 2,500 copies in one statement (the store's own path commits each one), then one
    // more report scored below the threshold.
    c.raw(
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 2500) \
         INSERT INTO reports (received_at, kind, url, url_hash, reason, reason_text, client_timestamp, \
             extension_version, pack_version, score, findings, install_token_id, client_net) \
         SELECT r.received_at + seq.n, r.kind, r.url, r.url_hash, r.reason, r.reason_text, r.client_timestamp, \
             r.extension_version, r.pack_version, r.score, r.findings, r.install_token_id, r.client_net \
         FROM reports r, seq",
    );
    let mut low = report("https://bulk.example/low", now, None, None);
    low.score = Score::new(10).unwrap();
    append(c, &[low]);

    let started = std::time::Instant::now();
    let (_, rows) = csv_rows(&export(c, &["--threshold-score", "90"]));
    eprintln!("exported {} rows as CSV in {:?}", rows.len(), started.elapsed());
    let ids: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(ids.len(), 2501, "every report at or above the score, across three pages");
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first, each once");
    let rows = json_rows(&export(c, &["--threshold-score", "90", "--output-format", "json", "--anonymize"]));
    assert_eq!(rows.len(), 2501);
    assert!(rows.iter().all(|r| r["url"] == "https://bulk.example/p" && r["client_net"] == "203.0.0.0/16"));
}

#[test]
fn the_runbook_wrappers_document_their_flags_and_exit_as_the_commands_do() {
    let c = Console::sqlite();
    for (name, flags) in [
        ("detect-abuse.sh", &["--threshold", "--window"][..]),
        (
            "export-suspicious-reports.sh",
            &["--threshold-score", "--output-format", "--anonymize", "--keep-query", "--since"],
        ),
    ] {
        let help = c.script(name, &["--help"]);
        expect_status(&help, 0);
        let text = stdout(&help);
        for flag in flags.iter().chain(&["FERRETWATCH_DB", "FERRETWATCH_CONFIG", "FERRETWATCH_BIN"]) {
            assert!(text.contains(flag), "{name}: {flag} missing from\n{text}");
        }
        assert!(!text.contains("#!") && !text.contains("set -euo"), "only the comment block: {text}");
        expect_status(&c.script(name, &["--no-such-flag"]), 2);
    }

    expect_status(&c.script("detect-abuse.sh", &["--threshold", "10", "--window", "3600"]), 0);
    let now = Timestamp::now();
    let burst: Vec<NewReport> =
        (0..10).map(|i| report("https://burst.example/", now, Some(&format!("t{i}")), Some("203.0.113.5"))).collect();
    append(&c, &burst);
    let out = c.script("detect-abuse.sh", &["--threshold", "10", "--window", "3600"]);
    expect_status(&out, 1);
    let text = stdout(&out);
    for line in ["ALERT url_reports https://burst.example/", "ALERT network 203.0.113.0/24", "ALERT install_farm"] {
        assert!(text.contains(line), "{line}: {text}");
    }
    expect_status(&c.script("detect-abuse.sh", &["--threshold", "0", "--window", "3600"]), 2);

    let out = c
        .script("export-suspicious-reports.sh", &["--threshold-score", "90", "--output-format", "json", "--anonymize"]);
    expect_status(&out, 0);
    let rows = json_rows(&stdout(&out));
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|r| !r.contains_key("install_token_id") && r["client_net"] == "203.0.0.0/16"));
    expect_status(&c.script("export-suspicious-reports.sh", &["--threshold-score", "900"]), 2);

    // The database named by a configuration file instead.
    let config = c.path("ferretwatch.toml");
    std::fs::write(&config, format!("db = {:?}\n", c.url)).unwrap();
    let out = std::process::Command::new("bash")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/detect-abuse.sh"))
        .args(["--threshold", "10", "--window", "3600"])
        .env("FERRETWATCH_BIN", env!("CARGO_BIN_EXE_ferretwatch"))
        .env("FERRETWATCH_CONFIG", &config)
        .env("FERRETWATCH_DATA_DIR", c.data_dir())
        .env_remove("FERRETWATCH_DB")
        .output()
        .unwrap();
    expect_status(&out, 1);
}

fn stats_and_the_feedback_review_count_the_week_without_paths_queries_or_tokens(c: &Console) {
    // This week: 20 reports and 5 false positives of pages on two hosts of one domain, with
    // private paths, queries and install tokens; the week before: 3 reports.
    let mut seeds: Vec<NewReport> = (0..20)
        .map(|i| report(&format!("https://phish{i}.example/login"), ago(HOUR_MS - i), Some("tok-plain"), None))
        .collect();
    for (i, host) in
        ["a.fine.example", "b.fine.example:8443", "a.fine.example", "a.fine.example", "b.fine.example:8443"]
            .iter()
            .enumerate()
    {
        seeds.push(NewReport {
            kind: ReportKind::FalsePositive,
            reason: ReportReason::Other("my own bank".into()),
            ..report(
                &format!("https://{host}/account/{i}?session=private{i}"),
                ago(HOUR_MS),
                Some(&format!("tok-secret-{i}")),
                Some("203.0.113.9"),
            )
        });
    }
    seeds.extend((0..3).map(|i| report(&format!("https://old{i}.example/"), ago(8 * DAY_MS), None, None)));
    append(c, &seeds);

    let since = (Timestamp::now().as_millis() / 1000 - 7 * 86_400).to_string();
    let out = c.run(&["reports", "stats", "--since", &since, "--format", "json"]);
    expect_status(&out, 0);
    let text = stdout(&out);
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((json["total"].as_i64(), json["false_positives"].as_i64()), (Some(25), Some(5)), "{text}");
    assert_eq!(json["false_positive_share"].as_f64(), Some(0.2));
    assert_eq!(json["install_tokens"].as_i64(), Some(6));
    let domains = json["false_positive_domains"].as_array().unwrap();
    assert_eq!(domains.len(), 1, "{text}");
    assert_eq!(domains[0], serde_json::json!({"domain": "fine.example", "reports": 5, "urls": 5, "hosts": 2}));
    assert_eq!(json["by_level"][0], serde_json::json!({"kind": "report", "green": 0, "yellow": 0, "red": 20}));
    assert_eq!(json["buckets"].as_array().unwrap().len(), 7, "a day each");
    assert_eq!(json["database"]["reports"].as_i64(), Some(28), "the whole log");
    assert!(json["database"]["bytes"].as_u64().unwrap() > 0);
    let plain = stdout(&c.run(&["reports", "stats", "--since", &since]));
    for shown in [&text, &plain] {
        for private in ["session", "private", "/account", "tok-secret", "tok-plain", "203.0.113"] {
            assert!(!shown.contains(private), "{private} shown: {shown}");
        }
    }
    for bad in [&["--until", &since][..], &["--bucket-secs", "0"], &["--yellow", "80", "--red", "70"]] {
        let mut args = vec!["reports", "stats", "--since", &since];
        args.extend(bad);
        expect_status(&c.run(&args), 2);
    }

    // The weekly review: 20% false positives is past the 5% alert.
    let out = c.script("analyze-feedback.sh", &["--weekly"]);
    expect_status(&out, 1);
    let review = stdout(&out);
    for line in [
        "FAIL false-positive share: 20.0% of 25 reports",
        "fine.example 5 report(s) of 5 URL(s)",
        "the 7d before 3 (+733%)",
        "n/a  client telemetry: FERRETWATCH_PROMETHEUS_URL is not set",
    ] {
        assert!(review.contains(line), "{line}: {review}");
    }
    assert!(!review.contains("session") && !review.contains("tok-secret"), "{review}");
    expect_status(&c.script("analyze-feedback.sh", &[]), 2);

    // Capacity planning without Prometheus: the database's size and the disk.
    let out = c.script("capacity-planning.sh", &[]);
    expect_status(&out, 0);
    let review = stdout(&out);
    let backend = if c.url.starts_with("postgres") { "postgres" } else { "sqlite" };
    for line in
        [format!("ok   database size ({backend})"), "ok   disk".into(), "n/a  traffic and request capacity".into()]
    {
        assert!(review.contains(&line), "{line}: {review}");
    }
}

/// A P1 incident in the incidents database (`DATA_DIR/incidents.db`, as `serve` keeps it),
/// opened `opened_min` minutes ago, acknowledged `respond_min` and resolved `recover_min`
/// minutes after.
fn p1_incident(c: &Console, opened_min: i64, respond_min: i64, recover_min: i64) {
    let url = format!("sqlite://{}", c.data_dir().join("incidents.db").display());
    let at = |min: i64| ago((opened_min - min) * 60_000);
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let store = ferretwatch_store::open(&url, &StoreOptions::default()).await.unwrap();
        let incident =
            store.open_incident("FerretWatchDatabaseDown", Priority::P1, None, "tester", at(0)).await.unwrap();
        store.change_incident(incident.id, &IncidentChange::Acknowledge, "tester", at(respond_min)).await.unwrap();
        let resolve = IncidentChange::Resolve("restarted".into());
        store.change_incident(incident.id, &resolve, "tester", at(recover_min)).await.unwrap();
        store.close().await;
    });
}

#[test]
fn the_business_metrics_review_judges_response_times_and_two_factor_from_the_databases() {
    let c = Console::sqlite();
    let admin = c.enrol(1, "admin@example.test", TokenRole::Admin, ago(DAY_MS));
    c.enrol(2, "viewer@example.test", TokenRole::Viewer, ago(DAY_MS));
    p1_incident(&c, 60, 5, 30);
    let out = c.script("business-metrics.sh", &["--monthly"]);
    let review = stdout(&out);
    expect_status(&out, 0);
    for line in [
        "ok   P1 incidents: 1 in 30 day(s)",
        "ok   mean time to respond (P1): 5.0 min (target < 15 min)",
        "ok   mean time to recover (P1): 30.0 min (target < 1 h)",
        "ok   two-factor authentication: 100%: 2 of 2 active console account(s)",
        "n/a  uptime per core service: FERRETWATCH_PROMETHEUS_URL is not set",
        "n/a  change failure rate: no pack deploy recorded at the server's origin",
    ] {
        assert!(review.contains(line), "{line}: {review}");
    }

    // A second P1 answered after 25 minutes (a mean of 15), and an account without TOTP.
    p1_incident(&c, 50, 25, 40);
    c.drop_totp(admin.id);
    let out = c.script("business-metrics.sh", &["--monthly"]);
    let review = stdout(&out);
    expect_status(&out, 1);
    for line in [
        "ok   P1 incidents: 2 in 30 day(s)",
        "FAIL mean time to respond (P1): 15.0 min (target < 15 min)",
        "ok   mean time to recover (P1): 35.0 min",
        "FAIL two-factor authentication: 50%: 1 of 2 active console account(s)",
    ] {
        assert!(review.contains(line), "{line}: {review}");
    }
    expect_status(&c.script("business-metrics.sh", &["--weekly"]), 2);
}
