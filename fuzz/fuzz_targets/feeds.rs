//! Fuzzes the threat-feed parsers (URLhaus CSV, PhishTank JSON, Feodo CSV, plain lists):
//! feeds are downloaded from third parties, so any bytes must give rows or counted errors.
#![no_main]

use ferretwatch_pack::Source;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let source = [Source::Urlhaus, Source::Phishtank, Source::Feodo, Source::Plain][usize::from(selector % 4)];
    let _ = source.parse(body, selector & 0x80 != 0);
});
