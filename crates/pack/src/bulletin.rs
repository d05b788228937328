//! Active-campaign bulletins (`docs/formats/bulletin.md`): short advisories that clients
//! pull from the CDN with their manifest check and show on matching sites.
//!
//! A bulletin is signed exactly like pack metadata: a TUF envelope whose signatures cover
//! the canonical JSON of `signed`, by the keys the root of trust lists for the `targets`
//! role, with the same threshold, so publishing one needs the same two people as a pack.
//! [`verify_bulletin`] checks the signatures before it interprets anything, then the
//! content, then the expiry, and reports each refusal with the codes and exit statuses
//! of `pack verify`.

use serde::{Deserialize, Serialize};

use crate::manifest::content_name;
use crate::publish::Severity;
use crate::trust::keys::PrivateKey;
use crate::trust::metadata::{typed, Envelope};
use crate::trust::verify::{check_signatures, trusted_root, VerifyError};
use crate::trust::{canonical_json, sha256_hex};
use ferretwatch_types::Timestamp;

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

/// What an operator gives to make a bulletin.
#[derive(Clone, Debug)]
pub struct BulletinSpec {
    /// The id; generated from the creation time and random bits when absent.
    pub id: Option<String>,
    /// The version (1 for a new bulletin).
    pub version: u64,
    /// The creation time.
    pub created_at: Timestamp,
    /// Seconds to live.
    pub ttl: u64,
    /// Severity.
    pub severity: Severity,
    /// Locales (default `en`).
    pub locales: Vec<String>,
    /// Brands.
    pub brands: Vec<String>,
    /// Domains; each is normalised (IDNA, lower case) and must be an eTLD+1.
    pub etld_plus1: Vec<String>,
    /// The advisory text.
    pub advisory_text: String,
    /// Safe links.
    pub safe_links: Vec<String>,
    /// Minimum extension version.
    pub min_ext_version: String,
    /// Daily display cap.
    pub frequency_cap: u32,
}

impl BulletinSpec {
    /// A spec with defaults: version 1, 24 hours, locale `en`, shown at most once a day,
    /// for every extension version from 0.1.0.
    pub fn new(severity: Severity, advisory_text: impl Into<String>, created_at: Timestamp) -> Self {
        BulletinSpec {
            id: None,
            version: 1,
            created_at,
            ttl: DEFAULT_TTL,
            severity,
            locales: vec!["en".into()],
            brands: Vec::new(),
            etld_plus1: Vec::new(),
            advisory_text: advisory_text.into(),
            safe_links: Vec::new(),
            min_ext_version: "0.1.0".into(),
            frequency_cap: 1,
        }
    }
}

/// Why a bulletin could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BulletinError {
    /// A field is out of bounds or malformed.
    #[error("bulletin: {0}")]
    Invalid(String),
    /// Signing failed.
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
}

impl Bulletin {
    /// Validates and normalises a spec into a bulletin.
    pub fn new(spec: BulletinSpec) -> Result<Self, BulletinError> {
        let id = match spec.id {
            Some(id) => id,
            None => {
                let mut random = [0u8; 4];
                getrandom::getrandom(&mut random)
                    .map_err(|e| BulletinError::Invalid(format!("no randomness for an id: {e}")))?;
                let t = spec.created_at.to_string();
                let digits: String = t.chars().filter(char::is_ascii_digit).collect();
                format!("{}-{}-{}", &digits[..8], &digits[8..14], hex::encode(random))
            }
        };
        let mut etld_plus1 = Vec::new();
        for domain in &spec.etld_plus1 {
            etld_plus1.push(normalise_etld1(domain).map_err(BulletinError::Invalid)?);
        }
        etld_plus1.sort();
        etld_plus1.dedup();
        let bulletin = Bulletin {
            kind: BULLETIN_TYPE.into(),
            id,
            version: spec.version,
            created_at: spec.created_at,
            ttl: spec.ttl,
            expires: spec.created_at.plus_secs(spec.ttl),
            severity: spec.severity,
            locales: spec.locales,
            brands: spec.brands.iter().map(|b| b.trim().to_owned()).collect(),
            etld_plus1,
            advisory_text: spec.advisory_text.trim().to_owned(),
            safe_links: spec.safe_links,
            min_ext_version: spec.min_ext_version,
            frequency_cap: spec.frequency_cap,
        };
        bulletin.check().map_err(BulletinError::Invalid)?;
        Ok(bulletin)
    }

    /// Every bound the format sets (used when making and when verifying).
    pub fn check(&self) -> Result<(), String> {
        if self.kind != BULLETIN_TYPE {
            return Err(format!("_type is {:?}, not \"bulletin\"", self.kind));
        }
        if self.id.is_empty()
            || self.id.len() > 64
            || !self.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!("id {:?}: use a-z, 0-9 and '-', at most 64", preview(&self.id)));
        }
        if self.version == 0 {
            return Err("version starts at 1".into());
        }
        if !(MIN_TTL..=MAX_TTL).contains(&self.ttl) {
            return Err(format!("ttl {} s: between {MIN_TTL} s (5 minutes) and {MAX_TTL} s (30 days)", self.ttl));
        }
        if self.expires != self.created_at.plus_secs(self.ttl) {
            return Err("expires is not created_at + ttl".into());
        }
        let chars = self.advisory_text.chars().count();
        if chars == 0 || chars > MAX_ADVISORY_CHARS {
            return Err(format!("message: 1 to {MAX_ADVISORY_CHARS} characters (got {chars})"));
        }
        if self.advisory_text.chars().any(|c| c.is_control() && c != '\n') {
            return Err("message: control characters are not allowed".into());
        }
        for (name, list) in [
            ("locales", &self.locales),
            ("brands", &self.brands),
            ("etldPlus1", &self.etld_plus1),
            ("safe_links", &self.safe_links),
        ] {
            if list.len() > MAX_LIST {
                return Err(format!("{name}: at most {MAX_LIST}"));
            }
        }
        if self.locales.is_empty() {
            return Err("locales: at least one".into());
        }
        if let Some(bad) = self.locales.iter().find(|l| !valid_locale(l)) {
            return Err(format!("locale {:?} is not a language tag such as en or de-CH", preview(bad)));
        }
        if let Some(bad) =
            self.brands.iter().find(|b| b.is_empty() || b.chars().count() > 64 || b.chars().any(char::is_control))
        {
            return Err(format!("brand {:?}: 1 to 64 printable characters", preview(bad)));
        }
        if let Some(bad) = self.etld_plus1.iter().find(|d| normalise_etld1(d).as_deref() != Ok(d.as_str())) {
            return Err(format!("{:?} is not a normalised eTLD+1", preview(bad)));
        }
        for link in &self.safe_links {
            let url = url::Url::parse(link).map_err(|_| format!("safe link {:?} is not a URL", preview(link)))?;
            if url.scheme() != "https" || url.host_str().is_none() || link.len() > 2048 {
                return Err(format!("safe link {:?}: https URLs only", preview(link)));
            }
        }
        let version_parts: Vec<&str> = self.min_ext_version.split('.').collect();
        if version_parts.len() != 3
            || version_parts.iter().any(|p| p.is_empty() || p.len() > 9 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!("min_ext_version {:?} is not MAJOR.MINOR.PATCH", preview(&self.min_ext_version)));
        }
        if !(1..=100).contains(&self.frequency_cap) {
            return Err("frequency_cap: 1 to 100 displays a day".into());
        }
        Ok(())
    }

    /// The cache-busting file name it is published under:
    /// `bulletin-ID.<first 16 hex of the sha256 of its signed content>.json`. Adding a
    /// signature keeps the name; changing the content changes it.
    pub fn file_name(&self) -> String {
        let value = serde_json::to_value(self).expect("a bulletin serialises");
        let canonical = canonical_json(&value).expect("a bulletin has no floats");
        content_name(&format!("bulletin-{}", self.id), &sha256_hex(&canonical), "json")
    }
}

/// An unsigned envelope around a bulletin, signed by each of `keys` in turn.
pub fn sign_new(bulletin: &Bulletin, keys: &[PrivateKey]) -> Result<Envelope, BulletinError> {
    let mut envelope = Envelope::new(bulletin);
    for key in keys {
        envelope.sign(key)?;
    }
    Ok(envelope)
}

/// Adds `key`'s signature to a bulletin file's bytes (the second publisher's step). The
/// content is checked first, so nobody signs a malformed bulletin.
pub fn add_signature(bytes: &[u8], key: &PrivateKey) -> Result<Envelope, BulletinError> {
    let mut envelope = Envelope::parse(bytes).map_err(|e| BulletinError::Invalid(format!("not a bulletin: {e}")))?;
    let bulletin: Bulletin = typed("bulletin", &envelope.signed)?;
    bulletin.check().map_err(BulletinError::Invalid)?;
    envelope.sign(key)?;
    Ok(envelope)
}

/// Verifies a bulletin file as a client does: size, then a threshold of valid signatures
/// by the root's `targets` keys (the root itself must be signed by its own threshold and
/// unexpired), then the content, then the expiry against `now`.
pub fn verify_bulletin(bytes: &[u8], root: &[u8], now: Timestamp) -> Result<Bulletin, VerifyError> {
    const FILE: &str = "bulletin";
    if bytes.len() as u64 > MAX_BULLETIN_BYTES {
        return Err(VerifyError::Oversized { file: FILE.into(), limit: MAX_BULLETIN_BYTES });
    }
    let root = trusted_root(root)?;
    if root.expires <= now {
        return Err(VerifyError::Expired { file: "root.json".into(), expires: root.expires, now });
    }
    let envelope = Envelope::parse(bytes).map_err(|e| VerifyError::Malformed(format!("{FILE}: {e}")))?;
    check_signatures(FILE, "targets", &envelope, &root)?;
    let bulletin: Bulletin = typed(FILE, &envelope.signed)?;
    bulletin.check().map_err(|e| VerifyError::Malformed(format!("{FILE}: {e}")))?;
    if bulletin.expires <= now {
        return Err(VerifyError::Expired { file: FILE.into(), expires: bulletin.expires, now });
    }
    Ok(bulletin)
}

/// Lower case, IDNA to ASCII, and exactly a registrable domain.
fn normalise_etld1(text: &str) -> Result<String, String> {
    let indicator = crate::normalize::host(text)?;
    if indicator.kind != ferretwatch_detect::signals::reputation::IndicatorKind::Host {
        return Err(format!("{:?} is an IP address, not an eTLD+1", preview(text)));
    }
    let host = indicator.value;
    match psl::domain_str(&host) {
        Some(domain) if domain == host => Ok(host),
        Some(domain) => Err(format!("{host} is not an eTLD+1 (its eTLD+1 is {domain}); name the eTLD+1")),
        None => Err(format!("{host} is not a registrable domain")),
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

/// Where bulletins live at the origin.
pub const BULLETIN_DIR: &str = "bulletins";
/// The list of active bulletins clients read with their manifest check.
pub const INDEX_NAME: &str = "bulletins/index.json";

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

/// Verifies a signed bulletin against the root of trust at `now`, uploads it to
/// `bulletins/NAME` and then rewrites `bulletins/index.json` (expired entries dropped, an
/// earlier version of the same id replaced). Returns the object name.
pub fn publish_bulletin(
    origin: &crate::publish::Origin,
    bytes: &[u8],
    root: &[u8],
    now: Timestamp,
) -> Result<String, crate::publish::PublishError> {
    use crate::publish::PublishError;
    let bulletin = verify_bulletin(bytes, root, now)?;
    let mut index: BulletinIndex = match origin.get(INDEX_NAME, 4 * 1024 * 1024)? {
        Some(existing) => serde_json::from_slice(&existing)
            .map_err(|e| PublishError::Invalid(format!("the origin's {INDEX_NAME} is malformed: {e}")))?,
        None => BulletinIndex::default(),
    };
    if let Some(newer) = index.bulletins.iter().find(|e| e.id == bulletin.id && e.version >= bulletin.version) {
        return Err(PublishError::VersionNotIncreasing {
            version: format!("bulletin {} version {}", bulletin.id, bulletin.version),
            current: format!("version {}", newer.version),
        });
    }
    let name = format!("{BULLETIN_DIR}/{}", bulletin.file_name());
    origin.put(&name, bytes)?;
    index.bulletins.retain(|e| e.id != bulletin.id && e.expires > now);
    index.bulletins.push(IndexEntry {
        id: bulletin.id.clone(),
        version: bulletin.version,
        severity: bulletin.severity,
        file: name.clone(),
        expires: bulletin.expires,
    });
    index.bulletins.sort_by(|a, b| a.id.cmp(&b.id));
    let mut bytes = serde_json::to_vec_pretty(&index).expect("an index serialises");
    bytes.push(b'\n');
    origin.put(INDEX_NAME, &bytes)?;
    Ok(name)
}
