//! Feodo Tracker IP blocklist CSV:
//! `first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware`. Every listed C2 address
//! is taken, online or not: the blocklist already holds only recent ones.

use super::csv_rows::for_each_row;
use super::Parsed;
use ferretwatch_pack_client::indicator as normalize;
use ferretwatch_pack_client::indicator::IndicatorError as RowError;

const COLUMNS: usize = 6;

pub(super) fn parse(data: &[u8], out: &mut Parsed) {
    for_each_row(data, out, |out, fields| {
        if fields.first() == Some(&"first_seen_utc") {
            return Ok(()); // the quoted header row
        }
        if fields.len() != COLUMNS {
            return Err(RowError(format!("{} fields, Feodo Tracker rows have {COLUMNS}", fields.len())));
        }
        out.accept(normalize::ip(fields[1])?, None);
        Ok(())
    });
}
