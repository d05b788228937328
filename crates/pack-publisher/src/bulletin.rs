//! Making and publishing active-campaign bulletins (`docs/formats/bulletin.md`): an
//! operator's spec becomes a validated [`Bulletin`], each publisher signs it in turn with
//! the keys the root lists for `targets`, and a fully signed bulletin is uploaded and
//! listed in `bulletins/index.json`. Clients verify them with
//! `ferretwatch_pack_client::bulletin::verify_bulletin`.

use ferretwatch_pack_client::bulletin::{
    normalise_etld1, verify_bulletin, Bulletin, BulletinIndex, IndexEntry, InvalidBulletin, Severity, BULLETIN_DIR,
    BULLETIN_TYPE, DEFAULT_TTL, INDEX_NAME,
};
use ferretwatch_pack_client::trust::metadata::{typed, Envelope};
use ferretwatch_pack_client::trust::TrustError;
use ferretwatch_types::{Coded, Fault, Timestamp};

use crate::keys::PrivateKey;
use crate::origin::Origin;
use crate::publish::PublishError;

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
    #[error(transparent)]
    Invalid(#[from] InvalidBulletin),
    /// Signing failed.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// The operating system gave no random bits for an id.
    #[error("no randomness for a bulletin id: {0}")]
    NoRandomness(getrandom::Error),
}

impl Coded for BulletinError {
    fn code(&self) -> &'static str {
        match self {
            BulletinError::Invalid(_) => "invalid_bulletin",
            BulletinError::Trust(e) => e.code(),
            BulletinError::NoRandomness(_) => "no_randomness",
        }
    }

    fn fault(&self) -> Fault {
        match self {
            BulletinError::Invalid(_) => Fault::Input,
            _ => Fault::Operation,
        }
    }
}

/// Validates and normalises a spec into a bulletin.
pub fn create(spec: BulletinSpec) -> Result<Bulletin, BulletinError> {
    let id = match spec.id {
        Some(id) => id,
        None => {
            let mut random = [0u8; 4];
            getrandom::getrandom(&mut random).map_err(BulletinError::NoRandomness)?;
            let t = spec.created_at.to_string();
            let digits: String = t.chars().filter(char::is_ascii_digit).collect();
            format!("{}-{}-{}", &digits[..8], &digits[8..14], hex::encode(random))
        }
    };
    let mut etld_plus1 = Vec::new();
    for domain in &spec.etld_plus1 {
        etld_plus1.push(normalise_etld1(domain)?);
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
    bulletin.check()?;
    Ok(bulletin)
}

/// An unsigned envelope around a bulletin, signed by each of `keys` in turn.
pub fn sign_new(bulletin: &Bulletin, keys: &[PrivateKey]) -> Result<Envelope, BulletinError> {
    let mut envelope = Envelope::new(bulletin);
    for key in keys {
        key.sign_envelope(&mut envelope)?;
    }
    Ok(envelope)
}

/// Adds `key`'s signature to a bulletin file's bytes (the second publisher's step). The
/// content is checked first, so nobody signs a malformed bulletin.
pub fn add_signature(bytes: &[u8], key: &PrivateKey) -> Result<Envelope, BulletinError> {
    let mut envelope =
        Envelope::parse(bytes).map_err(|e| BulletinError::Invalid(InvalidBulletin(format!("not a bulletin: {e}"))))?;
    let bulletin: Bulletin = typed("bulletin", &envelope.signed)?;
    bulletin.check()?;
    key.sign_envelope(&mut envelope)?;
    Ok(envelope)
}

/// Verifies a signed bulletin against the root of trust at `now`, uploads it to
/// `bulletins/NAME` and then rewrites `bulletins/index.json` (expired entries dropped, an
/// earlier version of the same id replaced). Returns the object name.
pub fn publish_bulletin(origin: &Origin, bytes: &[u8], root: &[u8], now: Timestamp) -> Result<String, PublishError> {
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
