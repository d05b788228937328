//! Active-campaign bulletins (`docs/formats/bulletin.md`): short advisories that clients
//! pull from the CDN with their manifest check and show on matching sites.
//!
//! A bulletin is signed exactly like pack metadata: a TUF envelope whose signatures cover
//! the canonical JSON of `signed`, by the keys the root of trust lists for the `targets`
//! role, with the same threshold, so publishing one needs the same two people as a pack.
//! [`verify_bulletin`] checks the signatures before it interprets anything, then the
//! content, then the expiry, and reports each refusal with the codes of `pack verify`.
//! Making and publishing bulletins is the publisher side's.

use std::collections::BTreeMap;

use ferretwatch_types::{Sha256, Timestamp};
use serde::{Deserialize, Serialize};

use crate::layout::{self, content_name};
use crate::trust::canonical_json;
use crate::trust::metadata::{typed, Envelope, Root};
use crate::trust::verify::{check_signatures, trusted_root, VerifyError};

/// How serious a bulletin or an emergency rule is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Low,
    /// Worth attention.
    Medium,
    /// Active harm likely.
    High,
    /// Active, widespread harm.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 4] = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    /// The name as written in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// A severity name that names none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("severity {0:?}: want one of low, medium, high, critical")]
pub struct UnknownSeverity(String);

impl std::str::FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Severity::ALL.into_iter().find(|s| s.name() == text).ok_or_else(|| UnknownSeverity(preview(text)))
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The `_type` of bulletin metadata.
pub const BULLETIN_TYPE: &str = "bulletin";
/// The largest bulletin file accepted.
pub const MAX_BULLETIN_BYTES: u64 = 64 * 1024;
/// The longest advisory text, in characters.
pub const MAX_ADVISORY_CHARS: usize = 1000;
/// The shortest time to live: 5 minutes.
pub const MIN_TTL: u64 = 5 * 60;
/// The longest time to live: 30 days.
pub const MAX_TTL: u64 = 30 * 24 * 3600;
/// The default time to live: 24 hours.
pub const DEFAULT_TTL: u64 = 24 * 3600;
/// At most this many brands, domains, locales or safe links.
pub const MAX_LIST: usize = 50;

/// A bulletin's content (the envelope's `signed`). Field names follow the reporting
/// specification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bulletin {
    /// Always `bulletin`.
    #[serde(rename = "_type")]
    pub kind: String,
    /// Its id: lower-case letters, digits and `-`, at most 64.
    pub id: String,
    /// Its version: a reissue of the same id carries a higher one.
    pub version: u64,
    /// When it was made.
    pub created_at: Timestamp,
    /// Seconds it stays valid.
    pub ttl: u64,
    /// `created_at` + `ttl`: clients drop it then.
    pub expires: Timestamp,
    /// How serious the campaign is.
    pub severity: Severity,
    /// Locales it is written for (`en`, `de-CH`).
    pub locales: Vec<String>,
    /// Brands the campaign impersonates (brand names as in `rules.json`).
    pub brands: Vec<String>,
    /// Registrable domains (eTLD+1, ASCII) where the advisory shows.
    #[serde(rename = "etldPlus1")]
    pub etld_plus1: Vec<String>,
    /// The advisory shown to users.
    pub advisory_text: String,
    /// https links to the genuine sites.
    pub safe_links: Vec<String>,
    /// The oldest extension version that shows it (`MAJOR.MINOR.PATCH`).
    pub min_ext_version: String,
    /// The most times a client shows it per day.
    pub frequency_cap: u32,
}

/// A bulletin that breaks a bound of the format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bulletin: {0}")]
pub struct InvalidBulletin(pub String);

impl Bulletin {
    /// Every bound the format sets (used when making and when verifying).
    pub fn check(&self) -> Result<(), InvalidBulletin> {
        let refuse = |why: String| Err(InvalidBulletin(why));
        if self.kind != BULLETIN_TYPE {
            return refuse(format!("_type is {:?}, not \"bulletin\"", self.kind));
        }
        if self.id.is_empty()
            || self.id.len() > 64
            || !self.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return refuse(format!("id {:?}: use a-z, 0-9 and '-', at most 64", preview(&self.id)));
        }
        if self.version == 0 {
            return refuse("version starts at 1".into());
        }
        if !(MIN_TTL..=MAX_TTL).contains(&self.ttl) {
            return refuse(format!("ttl {} s: between {MIN_TTL} s (5 minutes) and {MAX_TTL} s (30 days)", self.ttl));
        }
        if self.expires != self.created_at.plus_secs(self.ttl) {
            return refuse("expires is not created_at + ttl".into());
        }
        let chars = self.advisory_text.chars().count();
        if chars == 0 || chars > MAX_ADVISORY_CHARS {
            return refuse(format!("message: 1 to {MAX_ADVISORY_CHARS} characters (got {chars})"));
        }
        if self.advisory_text.chars().any(|c| c.is_control() && c != '\n') {
            return refuse("message: control characters are not allowed".into());
        }
        for (name, list) in [
            ("locales", &self.locales),
            ("brands", &self.brands),
            ("etldPlus1", &self.etld_plus1),
            ("safe_links", &self.safe_links),
        ] {
            if list.len() > MAX_LIST {
                return refuse(format!("{name}: at most {MAX_LIST}"));
            }
        }
        if self.locales.is_empty() {
            return refuse("locales: at least one".into());
        }
        if let Some(bad) = self.locales.iter().find(|l| !valid_locale(l)) {
            return refuse(format!("locale {:?} is not a language tag such as en or de-CH", preview(bad)));
        }
        if let Some(bad) =
            self.brands.iter().find(|b| b.is_empty() || b.chars().count() > 64 || b.chars().any(char::is_control))
        {
            return refuse(format!("brand {:?}: 1 to 64 printable characters", preview(bad)));
        }
        if let Some(bad) = self.etld_plus1.iter().find(|d| normalise_etld1(d).ok().as_deref() != Some(d.as_str())) {
            return refuse(format!("{:?} is not a normalised eTLD+1", preview(bad)));
        }
        for link in &self.safe_links {
            let url = url::Url::parse(link)
                .map_err(|_| InvalidBulletin(format!("safe link {:?} is not a URL", preview(link))))?;
            if url.scheme() != "https" || url.host_str().is_none() || link.len() > 2048 {
                return refuse(format!("safe link {:?}: https URLs only", preview(link)));
            }
        }
        let version_parts: Vec<&str> = self.min_ext_version.split('.').collect();
        if version_parts.len() != 3
            || version_parts.iter().any(|p| p.is_empty() || p.len() > 9 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return refuse(format!("min_ext_version {:?} is not MAJOR.MINOR.PATCH", preview(&self.min_ext_version)));
        }
        if !(1..=100).contains(&self.frequency_cap) {
            return refuse("frequency_cap: 1 to 100 displays a day".into());
        }
        Ok(())
    }

    /// The cache-busting file name it is published under:
    /// `bulletin-ID.<first 16 hex of the sha256 of its signed content>.json`. Adding a
    /// signature keeps the name; changing the content changes it.
    pub fn file_name(&self) -> String {
        let value = serde_json::to_value(self).expect("a bulletin serialises");
        let canonical = canonical_json(&value).expect("a bulletin has no floats");
        content_name(&format!("bulletin-{}", self.id), &Sha256::of(&canonical), "json")
    }
}

/// Verifies a bulletin file as a client does: size, then a threshold of valid signatures
/// by the root's `targets` keys (the root itself must be signed by its own threshold and
/// unexpired), then the content, then the expiry against `now`.
pub fn verify_bulletin(bytes: &[u8], root: &[u8], now: Timestamp) -> Result<Bulletin, VerifyError> {
    if bytes.len() as u64 > MAX_BULLETIN_BYTES {
        return Err(VerifyError::Oversized { file: "bulletin".into(), limit: MAX_BULLETIN_BYTES });
    }
    verify_bulletin_with(bytes, &trusted_root(root)?, now)
}

/// [`verify_bulletin`] against a root already trusted (the updater's, after rotations).
pub fn verify_bulletin_with(bytes: &[u8], root: &Root, now: Timestamp) -> Result<Bulletin, VerifyError> {
    const FILE: &str = "bulletin";
    if bytes.len() as u64 > MAX_BULLETIN_BYTES {
        return Err(VerifyError::Oversized { file: FILE.into(), limit: MAX_BULLETIN_BYTES });
    }
    if root.expires <= now {
        return Err(VerifyError::Expired { file: layout::ROOT.into(), expires: root.expires, now });
    }
    let envelope = Envelope::parse(bytes).map_err(|e| VerifyError::Malformed(format!("{FILE}: {e}")))?;
    check_signatures(FILE, "targets", &envelope, root)?;
    let bulletin: Bulletin = typed(FILE, &envelope.signed)?;
    bulletin.check().map_err(|e| VerifyError::Malformed(format!("{FILE}: {e}")))?;
    if bulletin.expires <= now {
        return Err(VerifyError::Expired { file: FILE.into(), expires: bulletin.expires, now });
    }
    Ok(bulletin)
}

/// Lower case, IDNA to ASCII, and exactly a registrable domain (eTLD+1).
pub fn normalise_etld1(text: &str) -> Result<String, InvalidBulletin> {
    let indicator = crate::indicator::host(text).map_err(|e| InvalidBulletin(e.to_string()))?;
    if indicator.kind != ferretwatch_detect::filter::IndicatorKind::Host {
        return Err(InvalidBulletin(format!("{:?} is an IP address, not an eTLD+1", preview(text))));
    }
    let host = indicator.value;
    match psl::domain_str(&host) {
        Some(domain) if domain == host => Ok(host),
        Some(domain) => {
            Err(InvalidBulletin(format!("{host} is not an eTLD+1 (its eTLD+1 is {domain}); name the eTLD+1")))
        }
        None => Err(InvalidBulletin(format!("{host} is not a registrable domain"))),
    }
}

fn valid_locale(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let language = parts.next().unwrap_or_default();
    (2..=3).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn preview(text: &str) -> String {
    text.chars().take(80).collect()
}

pub use crate::layout::{BULLETIN_DIR, BULLETIN_INDEX as INDEX_NAME};

/// `bulletins/index.json`: the active bulletins. It is not signed: each bulletin is, so
/// the index can hide a bulletin but never forge one (`docs/formats/bulletin.md`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulletinIndex {
    /// Active bulletins, sorted by id.
    pub bulletins: Vec<IndexEntry>,
}

/// One bulletin in the index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    /// Its id.
    pub id: String,
    /// Its version.
    pub version: u64,
    /// Its severity.
    pub severity: Severity,
    /// Its object name under `bulletins/`.
    pub file: String,
    /// When it expires.
    pub expires: Timestamp,
}

/// The largest `bulletins/index.json` a client reads.
pub const MAX_INDEX_BYTES: u64 = 64 * 1024;
/// At most this many bulletins are held at once (the newest expiring last are kept).
pub const MAX_HELD: usize = 64;

/// Where a bulletin might show: the page's registrable domain, the brands the engine saw
/// on it, and the user's language.
#[derive(Clone, Debug, Default)]
pub struct Place<'a> {
    /// The page's eTLD+1 (ASCII, lower case), when it has one.
    pub etld1: Option<&'a str>,
    /// Brands the engine found on the page (its `brand` findings).
    pub brands: &'a [String],
    /// The user's locale (`de-CH`); a bulletin for `de` shows to `de-CH`.
    pub locale: &'a str,
}

/// Displays of one bulletin on one day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shown {
    /// Days since 1970-01-01 (UTC).
    pub day: u64,
    /// Times shown that day.
    pub count: u32,
}

/// The bulletins a client holds and how often it showed each: persisted with the
/// updater's state, filled by its cycles, read by the user interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Board {
    /// Verified bulletins, by id (one version per id: the highest seen).
    pub held: BTreeMap<String, Bulletin>,
    /// Object names already fetched (verified or refused), so none is fetched twice.
    pub fetched: Vec<String>,
    /// The ETag of the last index read.
    pub index_etag: Option<String>,
    /// Displays per bulletin id, for the frequency cap.
    pub shown: BTreeMap<String, Shown>,
}

impl Board {
    /// Takes a verified bulletin unless one of the same id and a higher or equal version
    /// is held.
    pub fn offer(&mut self, bulletin: Bulletin) -> bool {
        if self.held.get(&bulletin.id).is_some_and(|held| held.version >= bulletin.version) {
            return false;
        }
        self.held.insert(bulletin.id.clone(), bulletin);
        true
    }

    /// Drops what expired at `now`, and keeps at most [`MAX_HELD`] bulletins (the least
    /// severe, then the soonest to expire, go first) and the names of the files it still
    /// needs to remember.
    pub fn prune(&mut self, now: Timestamp) {
        self.held.retain(|_, bulletin| bulletin.expires > now);
        while self.held.len() > MAX_HELD {
            let first = self.held.values().min_by_key(|b| (b.severity, b.expires)).map(|b| b.id.clone());
            self.held.remove(&first.expect("not empty"));
        }
        self.shown.retain(|id, _| self.held.contains_key(id));
        let excess = self.fetched.len().saturating_sub(4 * MAX_HELD);
        self.fetched.drain(..excess);
    }

    /// The index entries worth fetching: not fetched before, not expired, and newer than
    /// what is held for their id; at most `limit`, most severe first.
    pub fn wanted<'a>(&self, index: &'a BulletinIndex, now: Timestamp, limit: usize) -> Vec<&'a IndexEntry> {
        let mut wanted: Vec<&IndexEntry> = index
            .bulletins
            .iter()
            .filter(|entry| entry.expires > now && !self.fetched.contains(&entry.file))
            .filter(|entry| self.held.get(&entry.id).is_none_or(|held| held.version < entry.version))
            .filter(|entry| {
                entry.file.starts_with(&format!("{BULLETIN_DIR}/")) && crate::layout::check_name(&entry.file).is_ok()
            })
            .collect();
        wanted.sort_by_key(|entry| std::cmp::Reverse(entry.severity));
        wanted.truncate(limit);
        wanted
    }

    /// The bulletins to show on `place` at `now` for a client of version `client`,
    /// most severe first: unexpired, in scope, in the user's language, not over their
    /// frequency cap today, and (when `critical_only`, at the highest degradation level)
    /// critical. Showing one is recorded with [`Board::record_shown`].
    pub fn for_place(&self, place: &Place<'_>, now: Timestamp, client: &str, critical_only: bool) -> Vec<&Bulletin> {
        let today = now.as_secs() / 86_400;
        let mut due: Vec<&Bulletin> = self
            .held
            .values()
            .filter(|b| b.expires > now && (!critical_only || b.severity == Severity::Critical))
            .filter(|b| in_scope(b, place) && speaks(b, place.locale) && version_at_least(client, &b.min_ext_version))
            .filter(|b| match self.shown.get(&b.id) {
                Some(shown) if shown.day == today => shown.count < b.frequency_cap,
                _ => true,
            })
            .collect();
        due.sort_by_key(|b| (std::cmp::Reverse(b.severity), b.id.clone()));
        due
    }

    /// Records that bulletin `id` was shown at `now`.
    pub fn record_shown(&mut self, id: &str, now: Timestamp) {
        if !self.held.contains_key(id) {
            return;
        }
        let today = now.as_secs() / 86_400;
        let shown = self.shown.entry(id.to_owned()).or_default();
        if shown.day != today {
            *shown = Shown { day: today, count: 0 };
        }
        shown.count = shown.count.saturating_add(1);
    }
}

/// A bulletin with neither domains nor brands is for every site; otherwise the page's
/// eTLD+1 must be listed, or one of the brands seen on it (case aside).
fn in_scope(bulletin: &Bulletin, place: &Place<'_>) -> bool {
    if bulletin.etld_plus1.is_empty() && bulletin.brands.is_empty() {
        return true;
    }
    place.etld1.is_some_and(|etld1| bulletin.etld_plus1.iter().any(|d| d == etld1))
        || place.brands.iter().any(|seen| bulletin.brands.iter().any(|b| b.eq_ignore_ascii_case(seen)))
}

/// Whether the user's locale is one the bulletin is written for: the same tag, or the
/// bulletin's language alone (`en` for `en-GB`).
fn speaks(bulletin: &Bulletin, locale: &str) -> bool {
    let language = locale.split('-').next().unwrap_or(locale);
    bulletin.locales.iter().any(|l| l.eq_ignore_ascii_case(locale) || l.eq_ignore_ascii_case(language))
}

/// `MAJOR.MINOR.PATCH` compared as numbers; an unreadable version is never at least.
fn version_at_least(have: &str, want: &str) -> bool {
    fn parse(v: &str) -> Option<(u64, u64, u64)> {
        let mut parts = v.split('.').map(|p| p.parse::<u64>().ok());
        let triple = (parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(triple)
    }
    matches!((parse(have), parse(want)), (Some(h), Some(w)) if h >= w)
}
