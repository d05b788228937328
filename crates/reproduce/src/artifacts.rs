//! A reproduction's artifacts in an object store (opened with
//! [`ferretwatch_pack_publisher::origin::open_store`]: `file:///DIR`, a directory, or
//! `s3://BUCKET[/PREFIX]`):
//!
//! ```text
//! reproductions/ID/summary.json    the Summary (no DOM, no screenshot)
//! reproductions/ID/screenshot.png  the screenshot (absent when none was taken)
//! reproductions/ID/dom.html        the rendered DOM, as hashed in the summary
//! ```
//!
//! `ID` is time-sortable and unique: the creation time in milliseconds (13 digits) and 8
//! random hex digits, `1764896400000-9f2c41d7`.

use ferretwatch_pack_publisher::origin::Store;
use ferretwatch_types::Timestamp;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use crate::scan::Comparison;
use crate::Reproduction;

/// The directory every reproduction's artifacts live under.
pub const DIR: &str = "reproductions";
/// The largest artifact read back (the DOM is capped at a few MB, a screenshot too).
pub const MAX_ARTIFACT_BYTES: usize = 32 << 20;

/// Why artifacts could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The store failed.
    #[error("artifact store: {0}")]
    Store(String),
    /// A summary does not parse.
    #[error("{id}/summary.json: {detail}")]
    Summary {
        /// The reproduction.
        id: String,
        /// Why.
        detail: String,
    },
}

/// What a reproduction's `summary.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The reproduction's id.
    pub id: String,
    /// When it ran (Unix milliseconds).
    pub created_ms: i64,
    /// Who asked for it (an account, or `cli`).
    pub actor: String,
    /// The reported URL's hash (hex), when it reproduces a report group.
    pub url_hash: Option<String>,
    /// The reproduction (without its DOM and screenshot, stored beside it).
    pub reproduction: Reproduction,
    /// The comparison of findings, when the pack could be scanned.
    pub comparison: Option<Comparison>,
    /// Why there is no comparison.
    #[serde(default)]
    pub comparison_error: Option<String>,
    /// The reporter's reason (code, and the reporter's own words for `other`).
    #[serde(default)]
    pub reporter_reason: Option<String>,
}

/// A new time-sortable unique id.
pub fn new_id(now: Timestamp) -> String {
    let mut random = [0u8; 4];
    // Without randomness the millisecond alone still orders; a collision is then only
    // possible within one millisecond.
    let _ = getrandom::getrandom(&mut random);
    format!("{:013}-{}", now.as_millis().max(0), hex::encode(random))
}

/// Whether `id` is one [`new_id`] makes (checked before any store lookup).
pub fn is_id(id: &str) -> bool {
    let Some((millis, random)) = id.split_once('-') else { return false };
    millis.len() == 13
        && millis.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 8
        && random.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn path(store: &Store, id: &str, file: &str) -> Result<object_store::path::Path, ArtifactError> {
    if !is_id(id) {
        return Err(ArtifactError::Store(format!("{id:?} is not a reproduction id")));
    }
    store.path(&format!("{DIR}/{id}/{file}")).map_err(|e| ArtifactError::Store(e.to_string()))
}

async fn put(store: &Store, id: &str, file: &str, bytes: Vec<u8>) -> Result<(), ArtifactError> {
    let at = path(store, id, file)?;
    store.store.put(&at, PutPayload::from(bytes)).await.map_err(|e| ArtifactError::Store(format!("{file}: {e}")))?;
    Ok(())
}

/// Writes a reproduction's summary, screenshot (when there is one) and DOM.
pub async fn write(store: &Store, summary: &Summary, dom: &str, screenshot: &[u8]) -> Result<(), ArtifactError> {
    let id = &summary.id;
    put(store, id, "dom.html", dom.as_bytes().to_vec()).await?;
    if !screenshot.is_empty() {
        put(store, id, "screenshot.png", screenshot.to_vec()).await?;
    }
    let json = serde_json::to_vec_pretty(summary).map_err(|e| ArtifactError::Store(e.to_string()))?;
    // The summary last: once it exists, so do the others.
    put(store, id, "summary.json", json).await
}

/// Reads one artifact, `None` when it does not exist (or the id is not one).
pub async fn read(store: &Store, id: &str, file: &str) -> Result<Option<Vec<u8>>, ArtifactError> {
    let Ok(at) = path(store, id, file) else { return Ok(None) };
    let result = match store.store.get(&at).await {
        Ok(result) => result,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(ArtifactError::Store(format!("{file}: {e}"))),
    };
    if result.meta.size > MAX_ARTIFACT_BYTES as u64 {
        return Err(ArtifactError::Store(format!("{file}: larger than {MAX_ARTIFACT_BYTES} bytes")));
    }
    let bytes = result.bytes().await.map_err(|e| ArtifactError::Store(format!("{file}: {e}")))?;
    Ok(Some(bytes.to_vec()))
}

/// Reads a reproduction's summary, `None` when there is none.
pub async fn read_summary(store: &Store, id: &str) -> Result<Option<Summary>, ArtifactError> {
    let Some(bytes) = read(store, id, "summary.json").await? else { return Ok(None) };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ArtifactError::Summary { id: id.to_owned(), detail: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_are_checked_before_use() {
        let a = new_id(Timestamp::from_millis(1_764_896_400_000));
        let b = new_id(Timestamp::from_millis(1_764_896_400_001));
        assert!(a < b);
        assert!(is_id(&a) && is_id(&b));
        for bad in ["", "../x", "1764896400000-9F2C41D7", "1764896400000-9f2c41d", "176489640000-9f2c41d7", "a-b"] {
            assert!(!is_id(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn artifacts_are_written_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = ferretwatch_pack_publisher::origin::open_store(
            dir.path().to_str().unwrap(),
            &ferretwatch_pack_publisher::origin::S3Options::default(),
        )
        .unwrap();
        let reproduction = Reproduction {
            requested_url: "https://example.com/".into(),
            final_url: "https://example.com/login".into(),
            chain: vec![crate::Hop { url: "https://example.com/".into(), status: 302 }],
            proxied: Vec::new(),
            refused: Vec::new(),
            dom_html: "<html></html>".into(),
            dom_sha256: "00".into(),
            screenshot_png: b"\x89PNG".to_vec(),
            bytes_transferred: 10,
            elapsed_ms: 5,
            timed_out: false,
            error: None,
        };
        let id = new_id(Timestamp::now());
        let summary = Summary {
            id: id.clone(),
            created_ms: 1,
            actor: "cli".into(),
            url_hash: None,
            reproduction: reproduction.clone(),
            comparison: None,
            comparison_error: None,
            reporter_reason: None,
        };
        write(&store, &summary, &reproduction.dom_html, &reproduction.screenshot_png).await.unwrap();
        let back = read_summary(&store, &id).await.unwrap().unwrap();
        assert_eq!(back.reproduction.chain, reproduction.chain);
        assert_eq!(back.reproduction.dom_html, "", "the DOM is not in the summary");
        assert_eq!(read(&store, &id, "dom.html").await.unwrap().unwrap(), b"<html></html>");
        assert_eq!(read(&store, &id, "screenshot.png").await.unwrap().unwrap(), b"\x89PNG");
        assert!(read_summary(&store, "1764896400000-00000000").await.unwrap().is_none());
        assert!(read(&store, "../../etc", "summary.json").await.unwrap().is_none());
    }
}
