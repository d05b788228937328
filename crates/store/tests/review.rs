//! The review queries on both backends: coordinated-reporting findings over a window (one
//! URL per report kind, one install token, one network, an install farm), the pages of a
//! suspicious-report export, and the report log's aggregates over a window.

mod support;

use std::sync::Arc;

use ferretwatch_store::{
    AbuseFinding, AbuseKind, Actor, BucketCount, ClientNet, ErrorKind, HostCount, InstallTokenId, LevelCount,
    ModerationState, OutcomeCount, ReportId, ReportKind, ReportReason, ReportStatsQuery, ReportUrl, Score, StateChange,
    Store, SuspiciousFilter,
};
use ferretwatch_types::Timestamp;
use support::{on_both_backends, Harness};

// Every suite test below, on SQLite and on PostgreSQL.
on_both_backends!(
    a_quiet_log_and_bursts_outside_the_window_find_nothing,
    one_url_with_many_reports_is_found_once_per_report_kind,
    one_install_token_or_one_network_across_urls_is_found,
    many_install_tokens_behind_at_most_two_networks_are_a_farm,
    a_threshold_below_one_is_refused,
    the_export_pages_newest_first_above_the_score_with_moderation_states,
    report_stats_count_the_window_by_kind_reason_level_outcome_host_and_bucket,
    report_stats_refuse_an_empty_window_and_the_database_size_grows_with_the_log,
    pack_report_counts_count_each_version_in_the_window_by_kind_and_install,
);

/// The start of the window every abuse test asks about.
const SINCE: i64 = 1_800_000_000_000;

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(SINCE + ms)
}

/// One seeded report: who sent it, from where, when.
struct Seed<'a> {
    url: &'a str,
    kind: ReportKind,
    token: Option<&'a str>,
    net: Option<&'a str>,
    at: i64,
}

fn seed<'a>(url: &'a str, token: Option<&'a str>, net: Option<&'a str>, at: i64) -> Seed<'a> {
    Seed { url, kind: ReportKind::Report, token, net, at }
}

/// An address in `net` (`a.b.c`), for [`ClientNet::from_ip`].
fn net(prefix: &str) -> ClientNet {
    ClientNet::from_ip(format!("{prefix}.77").parse().unwrap())
}

async fn append(store: &Arc<dyn Store>, seeds: &[Seed<'_>]) {
    for s in seeds {
        let mut report = support::report(s.url);
        report.kind = s.kind;
        report.received_at = t(s.at);
        report.install_token_id = s.token.map(|id| InstallTokenId::parse(id).unwrap());
        report.client_net = s.net.map(net);
        store.append_report(&report).await.unwrap();
    }
}

/// The findings since [`SINCE`] as `(kind, key, count)`.
async fn found(store: &Arc<dyn Store>, threshold: i64) -> Vec<(AbuseKind, String, i64)> {
    let findings = store.abuse_findings(t(0), threshold).await.unwrap();
    findings.iter().map(|f| (f.kind, f.key.clone(), f.count())).collect()
}

fn find(findings: &[AbuseFinding], kind: AbuseKind, key: &str) -> AbuseFinding {
    findings
        .iter()
        .find(|f| f.kind == kind && f.key == key)
        .unwrap_or_else(|| panic!("{kind} {key}: {findings:?}"))
        .clone()
}

async fn a_quiet_log_and_bursts_outside_the_window_find_nothing(h: &impl Harness) {
    let store = h.open().await;
    assert!(store.abuse_findings(t(0), 1).await.unwrap().is_empty(), "an empty log");
    let mut seeds = Vec::new();
    // Below the threshold of 3 on every axis: four URLs, four installs and four networks,
    // each with two reports.
    for i in 0..4 {
        let url = format!("https://quiet{i}.example/login");
        for j in [i, (i + 1) % 4] {
            seeds.push((url.clone(), Some(format!("tok-{j}")), Some(format!("198.51.{j}")), 10 * i + j));
        }
    }
    // Busy, but each report a millisecond or more before the window opens.
    for i in 0..5 {
        seeds.push(("https://old.example/".into(), Some("tok-old".into()), Some("203.0.113".into()), -1 - i));
    }
    let seeds: Vec<Seed> = seeds.iter().map(|(u, tok, n, at)| seed(u, tok.as_deref(), n.as_deref(), *at)).collect();
    append(&store, &seeds).await;
    assert_eq!(found(&store, 3).await, vec![]);
    // The window is what keeps the old burst quiet (one install, so no farm), and the
    // threshold the rest.
    let earlier = store.abuse_findings(t(-10), 5).await.unwrap();
    let earlier: Vec<(AbuseKind, &str)> = earlier.iter().map(|f| (f.kind, f.key.as_str())).collect();
    assert_eq!(
        earlier,
        [
            (AbuseKind::UrlReports, "https://old.example/"),
            (AbuseKind::InstallToken, "tok-old"),
            (AbuseKind::Network, "203.0.113.0/24")
        ]
    );
    // At 2, each URL, install and network; and each URL's two installs from two networks
    // make a (small) farm.
    let at_two = found(&store, 2).await;
    let per_kind: Vec<usize> =
        AbuseKind::ALL.iter().map(|k| at_two.iter().filter(|(kind, _, _)| kind == k).count()).collect();
    assert_eq!(per_kind, [4, 0, 4, 4, 4], "{at_two:?}");
}

async fn one_url_with_many_reports_is_found_once_per_report_kind(h: &impl Harness) {
    let store = h.open().await;
    let mut seeds = Vec::new();
    let tokens: Vec<String> = (0..4).map(|i| format!("install-{i:02}-abcdefghijkl")).collect();
    let nets: Vec<String> = (0..4).map(|i| format!("192.0.{i}")).collect();
    for i in 0..3 {
        // Three reports of one URL, each from its own install and network: no farm.
        seeds.push(seed("https://phish.example/login?session=1", Some(&tokens[i]), Some(&nets[i]), i as i64 * 100));
        // Three false positives of another: an attempt to get it allow-listed.
        let mut fp = seed("https://real-phish.example/", Some(&tokens[i + 1]), Some(&nets[i + 1]), 50 + i as i64);
        fp.kind = ReportKind::FalsePositive;
        seeds.push(fp);
    }
    // Two of each kind for a third URL: the kinds are counted apart, so it stays quiet.
    for (i, kind) in [ReportKind::Report, ReportKind::Report, ReportKind::FalsePositive, ReportKind::FalsePositive]
        .into_iter()
        .enumerate()
    {
        seeds.push(Seed { kind, ..seed("https://mixed.example/", None, None, 70 + i as i64) });
    }
    // One report of the first URL before the window: not counted.
    seeds.push(seed("https://phish.example/login?session=1", None, None, -1));
    append(&store, &seeds).await;

    let findings = store.abuse_findings(t(0), 3).await.unwrap();
    assert_eq!(
        findings.iter().map(|f| (f.kind, f.key.as_str(), f.count())).collect::<Vec<_>>(),
        [
            (AbuseKind::UrlReports, "https://phish.example/login?session=1", 3),
            (AbuseKind::UrlFalsePositives, "https://real-phish.example/", 3),
        ]
    );
    let phish = &findings[0];
    assert_eq!(phish.url_hash, Some(ReportUrl::parse(&phish.key).unwrap().hash()));
    assert_eq!((phish.install_tokens, phish.networks), (3, 3));
    assert_eq!((phish.first, phish.last), (t(0), t(200)), "the report at the window's start counts");
    assert_eq!(found(&store, 4).await, vec![]);
}

async fn one_install_token_or_one_network_across_urls_is_found(h: &impl Harness) {
    let store = h.open().await;
    let token = "0123456789abcdef-one-busy-install";
    let mut seeds = Vec::new();
    for i in 0..4 {
        // One install reporting four URLs from four networks.
        let url = format!("https://target{i}.example/");
        seeds.push((url, Some(token.to_owned()), Some(format!("10.{i}.0")), 1000 + i));
        // One network reporting four other URLs from four installs.
        let url = format!("https://victim{i}.example/");
        seeds.push((url, Some(format!("install-net-{i}")), Some("203.0.113".to_owned()), 2000 + i));
        // Four reports that carry neither: never grouped under a missing token or network.
        seeds.push((format!("https://anonymous{i}.example/"), None, None, 3000 + i));
    }
    let seeds: Vec<Seed> = seeds.iter().map(|(u, tok, n, at)| seed(u, tok.as_deref(), n.as_deref(), *at)).collect();
    append(&store, &seeds).await;

    let findings = store.abuse_findings(t(0), 4).await.unwrap();
    assert_eq!(findings.len(), 2, "{findings:?}");
    let busy = find(&findings, AbuseKind::InstallToken, token);
    assert_eq!((busy.reports, busy.install_tokens, busy.networks, busy.url_hash), (4, 1, 4, None));
    assert_eq!((busy.first, busy.last), (t(1000), t(1003)));
    let net = find(&findings, AbuseKind::Network, "203.0.113.0/24");
    assert_eq!((net.reports, net.install_tokens, net.networks), (4, 4, 1));
    assert_eq!(found(&store, 5).await, vec![]);
}

async fn many_install_tokens_behind_at_most_two_networks_are_a_farm(h: &impl Harness) {
    let store = h.open().await;
    let mut seeds = Vec::new();
    for i in 0..4 {
        // Four installs from two networks: a farm.
        let farm_net = if i % 2 == 0 { "198.51.100" } else { "198.51.101" };
        seeds.push(("https://farmed.example/".to_owned(), format!("farm-{i}"), farm_net.to_owned(), 10 + i));
        // Four installs from three networks: busy, but not a farm.
        seeds.push(("https://popular.example/".to_owned(), format!("user-{i}"), format!("172.16.{}", i % 3), 20 + i));
    }
    let seeds: Vec<Seed> = seeds.iter().map(|(u, tok, n, at)| seed(u, Some(tok), Some(n), *at)).collect();
    append(&store, &seeds).await;
    // Reports of the farmed URL without a token do not make it more or less of a farm.
    append(&store, &[seed("https://farmed.example/", None, Some("192.0.2"), 30)]).await;

    let findings = store.abuse_findings(t(0), 4).await.unwrap();
    let farm = find(&findings, AbuseKind::InstallFarm, "https://farmed.example/");
    assert_eq!((farm.count(), farm.reports, farm.install_tokens, farm.networks), (4, 4, 4, 2));
    assert_eq!((farm.first, farm.last), (t(10), t(13)));
    assert_eq!(farm.url_hash, Some(ReportUrl::parse("https://farmed.example/").unwrap().hash()));
    let farms: Vec<&str> =
        findings.iter().filter(|f| f.kind == AbuseKind::InstallFarm).map(|f| f.key.as_str()).collect();
    assert_eq!(farms, ["https://farmed.example/"], "three networks are not a farm: {findings:?}");
    // Both URLs also have four reports; nothing else reaches four.
    let kinds: Vec<(AbuseKind, &str)> = findings.iter().map(|f| (f.kind, f.key.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (AbuseKind::UrlReports, "https://farmed.example/"),
            (AbuseKind::UrlReports, "https://popular.example/"),
            (AbuseKind::InstallFarm, "https://farmed.example/"),
        ],
        "the farmed URL's five reports come first"
    );
    assert!(found(&store, 5).await.iter().all(|(kind, _, _)| *kind != AbuseKind::InstallFarm));
}

async fn a_threshold_below_one_is_refused(h: &impl Harness) {
    let store = h.open().await;
    let err = store.abuse_findings(t(0), 0).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
}

async fn the_export_pages_newest_first_above_the_score_with_moderation_states(h: &impl Harness) {
    let store = h.open().await;
    let scores = [95, 40, 90, 89, 100, 91, 0, 99];
    for (i, score) in scores.iter().enumerate() {
        let mut report = support::report(&format!("https://r{}.example/p?q={i}", i % 3));
        report.score = Score::new(*score).unwrap();
        report.received_at = t(i as i64 * 1000);
        report.install_token_id = Some(InstallTokenId::parse(&format!("tok-{i}")).unwrap());
        report.client_net = Some(net("203.0.113"));
        if i == 2 {
            report.kind = ReportKind::FalsePositive;
            report.reason = ReportReason::Other("=cmd|' /C calc'!A0 <script>".into());
        }
        store.append_report(&report).await.unwrap();
    }
    let verified = ReportUrl::parse("https://r0.example/p?q=0").unwrap().hash();
    let change = StateChange {
        url_hash: verified,
        to: ModerationState::Verified,
        actor: Actor::new("reviewer@example.test").unwrap(),
        note: None,
        at: t(10_000),
    };
    store.set_moderation_state(&change).await.unwrap();

    let filter = SuspiciousFilter { min_score: Score::new(90).unwrap(), since: None };
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = store.suspicious_reports(&filter, before, 2).await.unwrap();
        before = page.last().map(|r| r.id());
        let last = page.len() < 2;
        pages.push(page);
        if last {
            break;
        }
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2, 1], "5 of 8 reports score 90 or more");
    let all: Vec<_> = pages.into_iter().flatten().collect();
    let got: Vec<(i64, u8)> = all.iter().map(|r| (r.report.received_at.as_millis() - SINCE, r.report.score)).collect();
    assert_eq!(got, [(7000, 99), (5000, 91), (4000, 100), (2000, 90), (0, 95)], "newest first");
    assert!(all.windows(2).all(|w| w[0].id() > w[1].id()));
    let oldest = &all[4];
    assert_eq!((oldest.state, oldest.report.url.as_str()), (ModerationState::Verified, "https://r0.example/p?q=0"));
    assert_eq!(oldest.report.install_token_id.as_deref(), Some("tok-0"));
    assert_eq!(oldest.report.client_net.as_deref(), Some("203.0.113.0/24"));
    assert_eq!(oldest.report.findings.len(), 2, "findings decoded from JSON on both backends");
    assert_eq!(all[3].report.kind, ReportKind::FalsePositive);
    assert_eq!(all[3].report.reason.text(), Some("=cmd|' /C calc'!A0 <script>"));
    assert!(all[..4].iter().all(|r| r.state == ModerationState::Queued));

    let recent = SuspiciousFilter { min_score: Score::new(90).unwrap(), since: Some(t(4000)) };
    let page = store.suspicious_reports(&recent, None, 100).await.unwrap();
    assert_eq!(page.iter().map(|r| r.report.score).collect::<Vec<_>>(), [99, 91, 100], "received at or after since");
    let page = store.suspicious_reports(&recent, Some(ReportId(all[1].id().0)), 100).await.unwrap();
    assert_eq!(page.iter().map(|r| r.report.score).collect::<Vec<_>>(), [100], "below the cursor");
    let everything = SuspiciousFilter { min_score: Score::new(0).unwrap(), since: None };
    assert_eq!(store.suspicious_reports(&everything, None, 100).await.unwrap().len(), scores.len());
    let none = SuspiciousFilter { min_score: Score::new(100).unwrap(), since: Some(t(5000)) };
    assert!(store.suspicious_reports(&none, None, 100).await.unwrap().is_empty());
}

/// The stats of the ten minutes from [`SINCE`], in one-minute buckets, levels at 40 and 70.
fn ten_minutes() -> ReportStatsQuery {
    ReportStatsQuery {
        since: t(0),
        until: t(600_000),
        bucket_ms: 60_000,
        yellow: Score::new(40).unwrap(),
        red: Score::new(70).unwrap(),
        top_hosts: 2,
    }
}

async fn report_stats_count_the_window_by_kind_reason_level_outcome_host_and_bucket(h: &impl Harness) {
    let store = h.open().await;
    let empty = store.report_stats(&ten_minutes()).await.unwrap();
    assert_eq!((empty.total(), empty.install_tokens, empty.buckets.len()), (0, 0, 10));
    assert!(empty.by_reason.is_empty() && empty.by_level.is_empty() && empty.false_positive_hosts.is_empty());

    // (url, kind, reason, score, token, minute); the first and last fall outside the window.
    let fp = ReportKind::FalsePositive;
    let rep = ReportKind::Report;
    let seeds = [
        ("https://early.example/", rep, "phishing_login", 90, Some("tok-a"), -1),
        ("https://bank.example/login?u=victim", rep, "phishing_login", 95, Some("tok-a"), 0),
        ("https://bank.example/login?u=other", rep, "payment_fraud", 75, Some("tok-b"), 0),
        ("https://shop.example:8443/cart?id=1", rep, "phishing_login", 45, None, 3),
        ("https://news.example/a?ref=x", fp, "other", 80, Some("tok-c"), 3),
        ("https://news.example/b", fp, "other", 50, Some("tok-c"), 4),
        ("https://news.example/a?ref=x", fp, "other", 10, Some("tok-d"), 9),
        ("https://www.blog.example/post", fp, "brand_impersonation", 72, None, 9),
        ("https://shop.example:8443/", fp, "other", 60, None, 9),
        ("https://late.example/", fp, "other", 99, Some("tok-e"), 10),
    ];
    for (url, kind, reason, score, token, minute) in seeds {
        let mut report = support::report(url);
        report.kind = kind;
        report.reason = ReportReason::parse(reason, (reason == "other").then_some("looks fine to me")).unwrap();
        report.score = Score::new(score).unwrap();
        report.install_token_id = token.map(|id| InstallTokenId::parse(id).unwrap());
        report.received_at = t(minute * 60_000 + 1_000);
        store.append_report(&report).await.unwrap();
    }
    let decide = |url: &str, to| StateChange {
        url_hash: ReportUrl::parse(url).unwrap().hash(),
        to,
        actor: Actor::new("reviewer@example.test").unwrap(),
        note: None,
        at: t(700_000),
    };
    store.set_moderation_state(&decide("https://news.example/a?ref=x", ModerationState::Benign)).await.unwrap();
    store
        .set_moderation_state(&decide("https://bank.example/login?u=victim", ModerationState::Verified))
        .await
        .unwrap();

    let stats = store.report_stats(&ten_minutes()).await.unwrap();
    assert_eq!((stats.reports, stats.false_positives, stats.total()), (3, 5, 8), "the window is [since, until)");
    assert_eq!(stats.install_tokens, 4, "tok-a, tok-b, tok-c, tok-d; reports without one are not a token");
    let reasons: Vec<(ReportKind, &str, i64)> =
        stats.by_reason.iter().map(|r| (r.kind, r.reason.as_str(), r.reports)).collect();
    assert_eq!(
        reasons,
        [(rep, "phishing_login", 2), (rep, "payment_fraud", 1), (fp, "other", 4), (fp, "brand_impersonation", 1)]
    );
    assert_eq!(
        stats.by_level,
        [LevelCount { kind: rep, green: 0, yellow: 1, red: 2 }, LevelCount { kind: fp, green: 1, yellow: 2, red: 2 }],
        "green below 40, yellow from 40, red from 70"
    );
    assert_eq!(
        stats.outcomes,
        [
            OutcomeCount { kind: rep, state: ModerationState::Queued, urls: 2, reports: 2 },
            OutcomeCount { kind: rep, state: ModerationState::Verified, urls: 1, reports: 1 },
            OutcomeCount { kind: fp, state: ModerationState::Queued, urls: 3, reports: 3 },
            OutcomeCount { kind: fp, state: ModerationState::Benign, urls: 1, reports: 2 },
        ],
        "by the URL's state now"
    );
    assert_eq!(
        stats.false_positive_hosts,
        [
            HostCount { host: "news.example".into(), reports: 3, urls: 2 },
            HostCount { host: "shop.example:8443".into(), reports: 1, urls: 1 },
        ],
        "hosts only (no path or query), most first, then by name, at most top_hosts"
    );
    let per_minute: Vec<(i64, i64)> = stats.buckets.iter().map(|b| (b.reports, b.false_positives)).collect();
    assert_eq!(per_minute, [(2, 0), (0, 0), (0, 0), (1, 1), (0, 1), (0, 0), (0, 0), (0, 0), (0, 0), (0, 3)]);
    assert_eq!(stats.buckets[3], BucketCount { start: t(180_000), reports: 1, false_positives: 1 });

    let mut partial = ten_minutes();
    partial.since = t(150_000);
    partial.until = t(250_000);
    let stats = store.report_stats(&partial).await.unwrap();
    let starts: Vec<i64> = stats.buckets.iter().map(|b| b.start.as_millis() - SINCE).collect();
    assert_eq!(starts, [150_000, 210_000], "buckets from since; the last one partial");
    assert_eq!((stats.buckets[0].reports, stats.buckets[0].false_positives), (1, 1));
}

async fn report_stats_refuse_an_empty_window_and_the_database_size_grows_with_the_log(h: &impl Harness) {
    let store = h.open().await;
    let mut backwards = ten_minutes();
    backwards.until = backwards.since;
    assert_eq!(store.report_stats(&backwards).await.unwrap_err().kind(), ErrorKind::Invalid);
    let mut too_fine = ten_minutes();
    too_fine.bucket_ms = 10;
    assert_eq!(store.report_stats(&too_fine).await.unwrap_err().kind(), ErrorKind::Invalid);

    let before = store.database_size().await.unwrap();
    assert!(before > 0, "the schema takes room");
    for i in 0..300 {
        let mut report = support::report(&format!("https://grow{i}.example/{}", "p".repeat(400)));
        report.received_at = t(i);
        store.append_report(&report).await.unwrap();
    }
    let after = store.database_size().await.unwrap();
    assert!(after > before, "{before} bytes, then {after} after 300 reports");
}

async fn pack_report_counts_count_each_version_in_the_window_by_kind_and_install(h: &impl Harness) {
    let store = h.open().await;
    let (fp, rep) = (ReportKind::FalsePositive, ReportKind::Report);
    // (version, kind, token, minute); minute 10 is outside the window.
    let seeds = [
        ("2026.12.05.11", fp, "tok-a", 0),
        ("2026.12.05.11", rep, "tok-a", 1),
        ("2026.12.05.11", rep, "tok-b", 2),
        ("2026.12.05.11.1", rep, "tok-c", 3),
        ("2026.12.05.11.1", fp, "tok-c", 10),
        ("2026.11.27.01", fp, "tok-d", 4),
    ];
    for (n, (version, kind, token, minute)) in seeds.into_iter().enumerate() {
        let mut report = support::report(&format!("https://canary.example/{n}"));
        report.kind = kind;
        report.pack_version = ferretwatch_types::PackVersion::parse(version).unwrap();
        report.install_token_id = Some(InstallTokenId::parse(token).unwrap());
        report.received_at = t(minute * 60_000);
        store.append_report(&report).await.unwrap();
    }
    let versions = ["2026.12.05.11".to_owned(), "2026.12.05.11.1".to_owned(), "2026.01.01.00".to_owned()];
    let counts = store.pack_report_counts(&versions, t(0), t(600_000)).await.unwrap();
    let got: Vec<(&str, u64, u64, u64)> =
        counts.iter().map(|c| (c.pack_version.as_str(), c.reports, c.false_positives, c.install_tokens)).collect();
    assert_eq!(got, [("2026.12.05.11", 2, 1, 2), ("2026.12.05.11.1", 1, 0, 1), ("2026.01.01.00", 0, 0, 0)]);
    let refused = store.pack_report_counts(&[], t(0), t(600_000)).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Invalid);
}
