//! The abuse.ch CSV dialect: `#` comment lines (a banner, sometimes the column header and
//! a footer), then quoted, comma-separated rows.

use ferretwatch_pack_client::indicator::IndicatorError;

use super::Parsed;

/// Calls `row(out, fields)` for each data row; an `Err` from it, a row that is not valid
/// UTF-8 or a row that cannot be read is counted as bad with its line. Comment lines are
/// skipped.
pub(super) fn for_each_row(
    data: &[u8],
    out: &mut Parsed,
    mut row: impl FnMut(&mut Parsed, &[&str]) -> Result<(), IndicatorError>,
) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(data);
    let mut record = csv::ByteRecord::new();
    loop {
        let before = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(before, |p| p.line());
                let mut fields: Vec<&str> = Vec::with_capacity(record.len());
                let utf8 = record.iter().all(|field| match std::str::from_utf8(field) {
                    Ok(text) => {
                        fields.push(text);
                        true
                    }
                    Err(_) => false,
                });
                let outcome =
                    if utf8 { row(out, &fields) } else { Err(IndicatorError("row is not valid UTF-8".into())) };
                if let Err(reason) = outcome {
                    out.bad(line, reason.0);
                }
            }
            Err(e) => {
                // Reading from memory only fails on malformed records: report and go on,
                // but never loop on one position.
                out.bad(before, format!("unreadable row: {e}"));
                if reader.is_done() || reader.position().line() == before {
                    break;
                }
            }
        }
    }
}
