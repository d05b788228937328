//! The parsers against fixtures in the providers' real formats (`tests/fixtures/feeds/`).

use ferretwatch_types::Coded;
use std::path::PathBuf;

use ferretwatch_detect::filter::IndicatorKind::{self, Host, Ip, Url};
use ferretwatch_pack_client::manifest::FeedSource as Source;
use ferretwatch_pack_publisher::feeds::{Parsed, SourceExt};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(source: Source, name: &str) -> Parsed {
    source.parse(&fixture(name), source.profile().keep_query).unwrap()
}

fn values(parsed: &Parsed) -> Vec<(IndicatorKind, &str, Option<&str>)> {
    parsed.records.iter().map(|r| (r.indicator.kind, r.indicator.value.as_str(), r.id.as_deref())).collect()
}

fn bad_lines(parsed: &Parsed) -> Vec<u64> {
    parsed.report.samples.iter().map(|b| b.line).collect()
}

#[test]
fn urlhaus_csv_skips_the_comment_banner_and_offline_urls_and_reports_bad_rows_by_line() {
    let parsed = parse(Source::Urlhaus, "urlhaus.csv");
    assert_eq!(
        values(&parsed),
        [
            (Url, "198.51.100.23:44785/Mozi.m", Some("3612045")),
            (Url, "cdn-update.example.net/files/invoice_0924.exe", Some("3612044")),
            (Url, "cdn-update.example.net/files/invoice_0924.exe", Some("3612043")),
            (Url, "wp.compromised-shop.example.org/wp-content/plugins/x/load.php?id=7781&t=dl", Some("3612042")),
            (Url, "xn--bcher-rechnung-gsb.example/download/Rechnung.zip", Some("3612041")),
            (Url, "[2001:db8::7]:8080/x86", Some("3612039")),
            (Url, "shared-forms.example.com/f/1FAIpQLSd-kit/viewform", Some("3612037")),
        ]
    );
    let report = &parsed.report;
    assert_eq!((report.rows, report.accepted, report.skipped, report.bad), (10, 7, 1, 2));
    assert_eq!(bad_lines(&parsed), [17, 19], "{:?}", report.samples);
    assert!(report.samples[0].reason.contains("scheme"), "{:?}", report.samples[0]);
    assert!(report.samples[1].reason.contains("4 fields"), "{:?}", report.samples[1]);
}

#[test]
fn phishtank_json_takes_verified_online_entries_and_counts_bad_ones() {
    let parsed = parse(Source::Phishtank, "phishtank.json");
    assert_eq!(
        values(&parsed),
        [
            (Url, "secure-paypa1-login.example.com/signin?country.x=US&locale.x=en_US", Some("9012345")),
            (Url, "phish.blogspot.com/2025/09/microsoft-365.html", Some("9012344")),
            (Url, "login-microsoftonline.example.net/common/oauth2", Some("9012343")),
            (Url, "docs-share.example.org/view.php?doc=inv-2231", Some("9012339")),
        ]
    );
    let report = &parsed.report;
    assert_eq!((report.rows, report.accepted, report.skipped, report.bad), (7, 4, 1, 2));
    assert_eq!(bad_lines(&parsed), [5, 6], "entries are numbered from 1");
    assert!(report.samples[0].reason.contains("missing field `url`"), "{:?}", report.samples[0]);
}

#[test]
fn a_truncated_phishtank_document_fails_the_feed_instead_of_shrinking_it() {
    let data = fixture("phishtank.json");
    let cut = &data[..data.len() / 2];
    let err = Source::Phishtank.parse(cut, true).unwrap_err();
    assert_eq!(err.code(), "feed_not_json_array");
}

#[test]
fn feodo_csv_reads_the_quoted_header_and_canonicalises_addresses() {
    let parsed = parse(Source::Feodo, "feodo.csv");
    assert_eq!(
        values(&parsed),
        [
            (Ip, "192.0.2.146", None),
            (Ip, "198.51.100.211", None),
            (Ip, "203.0.113.63", None),
            (Ip, "203.0.113.63", None),
            (Ip, "198.51.100.10", None),
            (Ip, "2001:db8::c2", None),
        ]
    );
    assert_eq!((parsed.report.rows, parsed.report.bad), (8, 2));
    assert_eq!(bad_lines(&parsed), [16, 17]);
}

#[test]
fn plain_lists_hold_hosts_urls_and_ips_with_comments() {
    let parsed = parse(Source::Plain, "plain.txt");
    assert_eq!(
        values(&parsed),
        [
            (Host, "evil-login.example", None),
            (Host, "kit.sites.example.org", None),
            (Host, "wildcard-phish.example", None),
            (Url, "forms.example.net/f/abc", None),
            (Url, "drop.example.com/gate.php", None),
            (Ip, "192.0.2.55", None),
            (Ip, "2001:db8::dead", None),
            (Host, "hosts-file-entry.example", None),
        ]
    );
    assert_eq!(parsed.report.bad, 2);
    assert_eq!(bad_lines(&parsed), [12, 13]);
    assert!(parsed.report.samples[0].reason.contains("public suffix"), "{:?}", parsed.report.samples);
}

#[test]
fn plain_lists_keep_queries_when_asked() {
    let parsed = Source::Plain.parse(b"drop.example.com/gate.php?id=5\n", true).unwrap();
    assert_eq!(parsed.records[0].indicator.value, "drop.example.com/gate.php?id=5");
}

#[test]
fn garbage_never_panics_and_is_counted() {
    let junk: &[u8] = b"\xff\xfe\"unterminated,\"quote\n,,,,,,,,\n\"a\"\"b\",\n";
    for source in Source::ALL {
        if let Ok(parsed) = source.parse(junk, false) {
            assert!(parsed.records.is_empty(), "{source}");
            assert!(parsed.report.bad >= 1, "{source}: {:?}", parsed.report);
        }
    }
}
