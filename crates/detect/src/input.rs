//! What the engine scans, and the limits it applies to oversized input.

use serde::{Deserialize, Serialize};

/// Documented input limits. Input beyond a limit is truncated (never rejected) and the
/// verdict's `truncated` list names what was cut.
pub mod limits {
    /// URL bytes analysed.
    pub const MAX_URL_BYTES: usize = 8 * 1024;
    /// HTML bytes analysed.
    pub const MAX_HTML_BYTES: usize = 2 * 1024 * 1024;
    /// Resources considered (from the input list plus those found in the HTML).
    pub const MAX_RESOURCES: usize = 1_000;
    /// Favicon bytes decoded; a larger favicon is ignored.
    pub const MAX_FAVICON_BYTES: usize = 256 * 1024;
    /// Visible-text bytes kept for keyword matching and YARA.
    pub const MAX_TEXT_BYTES: usize = 512 * 1024;
    /// Bytes of HTML source and visible text handed to YARA in total.
    pub const MAX_YARA_BYTES: usize = 3 * 1024 * 1024;
}

/// What kind of resource a page loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// An image.
    Image,
    /// A stylesheet.
    Css,
    /// A web font.
    Font,
    /// A script.
    Script,
    /// A frame.
    Frame,
    /// Anything else (XHR, media, ...).
    Other,
}

/// One resource a page loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// Resource kind.
    pub kind: ResourceKind,
    /// Absolute URL, or relative to the page URL.
    pub url: String,
}

/// Browser-local state, passed in because the engine reads no clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalState {
    /// Unix seconds at which this browser first saw the page's registrable domain;
    /// `None` means now is the first time.
    pub first_seen: Option<u64>,
    /// Unix seconds now.
    pub now: u64,
}

/// A page to scan. Only the URL is required.
#[derive(Clone, Debug, Default)]
pub struct Page<'a> {
    /// The page URL (http or https).
    pub url: &'a str,
    /// The HTML source.
    pub html: Option<&'a str>,
    /// Resources the page loaded, beyond those referenced in the HTML.
    pub resources: &'a [Resource],
    /// Favicon bytes (ICO, PNG, GIF, JPEG or BMP).
    pub favicon: Option<&'a [u8]>,
    /// Local first-seen state.
    pub state: Option<LocalState>,
}

impl<'a> Page<'a> {
    /// A page known only by its URL.
    pub fn url(url: &'a str) -> Self {
        Page { url, ..Page::default() }
    }
}

/// Per-scan options the user controls. (The YARA scan's hard time limit is set with the
/// rules, [`crate::Engine::with_yara`].)
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// Overrides the rule set's thresholds.
    pub thresholds: Option<crate::rules::Thresholds>,
    /// Domains the user trusts; a listed domain covers its subdomains. Warnings on them
    /// are suppressed unless a severe signal (reputation hit, high-severity YARA) fires.
    pub user_allowlist: Vec<String>,
    /// Leave YARA out of this scan (the client's breaker is open, or the service runs
    /// degraded); the verdict is then marked `partial`.
    pub skip_yara: bool,
}

/// Cuts `text` to at most `max` bytes at a character boundary.
pub(crate) fn truncate_str(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_char_boundaries() {
        let (cut, truncated) = truncate_str("aé", 2);
        assert_eq!((cut, truncated), ("a", true));
        assert_eq!(truncate_str("abc", 3), ("abc", false));
    }
}
