//! PhishTank `online-valid.json`: an array of objects with `phish_id, url,
//! phish_detail_url, submission_time, verified, verification_time, online, target` (and
//! `details`, ignored). Only verified entries that are online are taken. `phish_id` is a
//! number in the published file; a string is accepted too.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::Parsed;
use crate::error::FeedError;
use ferretwatch_pack_client::indicator as normalize;

#[derive(Deserialize)]
struct Entry {
    phish_id: PhishId,
    url: String,
    #[serde(default)]
    verified: Option<String>,
    #[serde(default)]
    online: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PhishId {
    Number(u64),
    Text(String),
}

pub(super) fn parse(data: &[u8], keep_query: bool, out: &mut Parsed) -> Result<(), FeedError> {
    // The document must be a whole array (a truncated download is refused); each entry is
    // then read on its own so that one malformed entry is only a bad row.
    let entries: Vec<&RawValue> = serde_json::from_slice(data).map_err(|e| FeedError::NotJsonArray(e.to_string()))?;
    for (index, raw) in entries.into_iter().enumerate() {
        let line = index as u64 + 1;
        let entry: Entry = match serde_json::from_str(raw.get()) {
            Ok(entry) => entry,
            Err(e) => {
                out.bad(line, format!("entry {line}: {e}"));
                continue;
            }
        };
        let yes = |field: &Option<String>| field.as_deref().is_none_or(|v| v.eq_ignore_ascii_case("yes"));
        if entry.verified.is_none() || !yes(&entry.verified) || !yes(&entry.online) {
            out.skip();
            continue;
        }
        let id = match entry.phish_id {
            PhishId::Number(n) => n.to_string(),
            PhishId::Text(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text,
            PhishId::Text(text) => {
                out.bad(line, format!("entry {line}: phish_id {text:?} is not a number"));
                continue;
            }
        };
        match normalize::url(&entry.url, keep_query) {
            Ok(indicator) => out.accept(indicator, Some(id)),
            Err(reason) => out.bad(line, format!("entry {line}: {reason}")),
        }
    }
    Ok(())
}
