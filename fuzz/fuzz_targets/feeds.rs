//! Fuzzes the threat-feed parsers (URLhaus CSV, PhishTank JSON, Feodo CSV, plain lists):
//! feeds are downloaded from third parties, so any bytes must give rows or counted errors,
//! and the counts must add up: every row is accepted, skipped by policy or bad.
#![no_main]

use ferretwatch_pack_client::manifest::FeedSource;
use ferretwatch_pack_publisher::feeds::SourceExt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let sources = [FeedSource::Urlhaus, FeedSource::Phishtank, FeedSource::Feodo, FeedSource::Plain];
    let source = sources[usize::from(selector % 4)];
    if let Ok(parsed) = source.parse(body, selector & 0x80 != 0) {
        let r = &parsed.report;
        assert_eq!(r.rows, r.accepted + r.skipped + r.bad);
        assert_eq!(parsed.records.len() as u64, r.accepted);
        assert!(r.samples.len() as u64 <= r.bad);
    }
});
