//! URLhaus CSV: `id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter`.
//! Offline URLs are skipped (the full dump holds years of them); every other row with a
//! valid http(s) URL becomes a URL indicator.

use super::csv_rows::for_each_row;
use super::Parsed;
use ferretwatch_pack_client::indicator as normalize;
use ferretwatch_pack_client::indicator::IndicatorError as RowError;

const COLUMNS: usize = 9;

pub(super) fn parse(data: &[u8], keep_query: bool, out: &mut Parsed) {
    for_each_row(data, out, |out, fields| {
        if fields.first() == Some(&"id") {
            return Ok(()); // an uncommented header row
        }
        if fields.len() != COLUMNS {
            return Err(RowError(format!("{} fields, URLhaus rows have {COLUMNS}", fields.len())));
        }
        let (id, url, status) = (fields[0], fields[2], fields[3]);
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RowError(format!("id {id:?} is not a number")));
        }
        if status.eq_ignore_ascii_case("offline") {
            out.skip();
            return Ok(());
        }
        out.accept(normalize::url(url, keep_query)?, Some(id.to_owned()));
        Ok(())
    });
}
