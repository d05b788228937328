//! A user's report, as the report API accepts it (`NewReport`) and as the log keeps it
//! (`StoredReport`). Every field of a new report is a type whose constructor enforces the
//! report API's rules (`docs/formats/report-api.md`); a `NewReport` that exists is valid.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use ferretwatch_types::{PackVersion, Sha256, Timestamp};

/// Whether the user reports a dangerous page or a page wrongly flagged as dangerous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// `POST /v1/report`: the page is dangerous.
    Report,
    /// `POST /v1/false-positive`: the page was flagged but is fine.
    FalsePositive,
}

impl ReportKind {
    /// The stored code: `report` or `false_positive`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Report => "report",
            Self::FalsePositive => "false_positive",
        }
    }

    /// The kind with this stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "report" => Some(Self::Report),
            "false_positive" => Some(Self::FalsePositive),
            _ => None,
        }
    }
}

/// The closed list of report reasons. `Other` carries the user's short text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReportReason {
    /// Phishing login page.
    PhishingLogin,
    /// Payment fraud or scam.
    PaymentFraud,
    /// Malware or download deception.
    MalwareDownload,
    /// Brand impersonation or homograph.
    BrandImpersonation,
    /// Data exfiltration or form abuse.
    DataExfiltration,
    /// Something else, described in 1 to [`ReportReason::MAX_OTHER_CHARS`] characters.
    Other(String),
}

impl ReportReason {
    /// The longest free text accepted for `other`, in characters.
    pub const MAX_OTHER_CHARS: usize = 200;

    /// The codes of the closed list, as the API spells them.
    pub const CODES: [&'static str; 6] =
        ["phishing_login", "payment_fraud", "malware_download", "brand_impersonation", "data_exfiltration", "other"];

    /// Builds a reason from its code and optional text. `other` requires a non-blank text;
    /// the other reasons refuse one (an empty text counts as none).
    pub fn parse(code: &str, text: Option<&str>) -> Result<Self, ValidationError> {
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        let reason = match code {
            "phishing_login" => Self::PhishingLogin,
            "payment_fraud" => Self::PaymentFraud,
            "malware_download" => Self::MalwareDownload,
            "brand_impersonation" => Self::BrandImpersonation,
            "data_exfiltration" => Self::DataExfiltration,
            "other" => {
                let text = text.ok_or_else(|| ValidationError::new("reason_text", "required when reason is other"))?;
                let chars = text.chars().count();
                if chars > Self::MAX_OTHER_CHARS {
                    return Err(ValidationError::new(
                        "reason_text",
                        format!("at most {} characters (got {chars})", Self::MAX_OTHER_CHARS),
                    ));
                }
                if text.chars().any(char::is_control) {
                    return Err(ValidationError::new("reason_text", "must not contain control characters"));
                }
                return Ok(Self::Other(text.to_owned()));
            }
            _ => {
                return Err(ValidationError::new("reason", format!("must be one of {}", Self::CODES.join(", "))));
            }
        };
        if text.is_some() {
            return Err(ValidationError::new("reason_text", "only allowed when reason is other"));
        }
        Ok(reason)
    }

    /// The stored code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::PhishingLogin => "phishing_login",
            Self::PaymentFraud => "payment_fraud",
            Self::MalwareDownload => "malware_download",
            Self::BrandImpersonation => "brand_impersonation",
            Self::DataExfiltration => "data_exfiltration",
            Self::Other(_) => "other",
        }
    }

    /// The free text of `Other`, if any.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Other(text) => Some(text),
            _ => None,
        }
    }
}

/// A reported page's address: a full `http` or `https` URL with a host, never a domain
/// pattern, normalised so that the same page always gets the same [`UrlHash`].
///
/// Normalisation is the WHATWG URL parser's (lower-case scheme and host, IDNA to
/// punycode, default port removed, dot segments resolved, percent-encoding made
/// canonical), plus: the fragment is dropped (it never reaches the server, so two
/// reports differing only there are the same page) and one trailing dot of the host is
/// removed. Query strings and user-info are kept: phishing kits live there.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ReportUrl {
    normalised: String,
    hash: UrlHash,
}

impl ReportUrl {
    /// The longest URL accepted, in bytes, before and after normalisation.
    pub const MAX_LEN: usize = 2048;

    /// Parses and normalises a reported URL.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let invalid = |reason: &str| ValidationError::new("url", reason);
        if raw.len() > Self::MAX_LEN {
            return Err(invalid("longer than 2048 bytes"));
        }
        let mut url = url::Url::parse(raw).map_err(|e| ValidationError::new("url", format!("not a full URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("scheme must be http or https"));
        }
        let host = url.host_str().ok_or_else(|| invalid("must have a host"))?.to_owned();
        if host.contains('*') {
            return Err(invalid("a domain pattern is not a URL; report a concrete page"));
        }
        if let Some(trimmed) = host.strip_suffix('.').filter(|h| !h.is_empty()) {
            url.set_host(Some(trimmed)).map_err(|_| invalid("invalid host"))?;
        }
        url.set_fragment(None);
        // Credentials in a reported URL are the reporter's or a victim's: never stored. The
        // page is the same without them, so the moderation key is too.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let normalised = String::from(url);
        if normalised.len() > Self::MAX_LEN {
            return Err(invalid("longer than 2048 bytes once normalised"));
        }
        let hash = UrlHash(Sha256::of(normalised.as_bytes()));
        Ok(Self { normalised, hash })
    }

    /// The normalised URL.
    pub fn as_str(&self) -> &str {
        &self.normalised
    }

    /// SHA-256 of the normalised URL: the moderation table's key.
    pub fn hash(&self) -> UrlHash {
        self.hash
    }
}

impl fmt::Debug for ReportUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReportUrl({})", self.normalised)
    }
}

impl fmt::Display for ReportUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalised)
    }
}

/// SHA-256 of a normalised URL ([`ReportUrl::hash`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UrlHash(pub(crate) Sha256);

impl UrlHash {
    /// Parses 64 hexadecimal digits, as shown in the admin API.
    pub fn from_hex(text: &str) -> Result<Self, ValidationError> {
        Sha256::from_hex(text).map(Self).map_err(|_| ValidationError::new("url_hash", "must be 64 hex digits"))
    }

    /// The digest.
    pub fn digest(&self) -> &Sha256 {
        &self.0
    }
}

impl fmt::Display for UrlHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Checks a short identifier-like string: 1..=`max` characters from `allowed`.
fn short_token(field: &'static str, value: &str, max: usize, allowed: fn(char) -> bool) -> Result<(), ValidationError> {
    if value.is_empty() || value.len() > max {
        return Err(ValidationError::new(field, format!("must be 1 to {max} characters")));
    }
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(ValidationError::new(field, format!("must not contain {bad:?}")));
    }
    Ok(())
}

/// The reporting extension's version, e.g. `1.4.2` or `1.5.0-beta.1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionVersion(String);

impl ExtensionVersion {
    /// Accepts 1 to 32 characters of `[0-9A-Za-z.+-]`.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        short_token("extension_version", value, 32, |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'))?;
        Ok(Self(value.to_owned()))
    }

    /// The version text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The verdict's score, 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(u8);

impl Score {
    /// Accepts 0..=100.
    pub fn new(value: i64) -> Result<Self, ValidationError> {
        u8::try_from(value)
            .ok()
            .filter(|v| *v <= 100)
            .map(Self)
            .ok_or_else(|| ValidationError::new("score", "must be an integer from 0 to 100"))
    }

    /// The score.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// One of the verdict's top findings: its key and the evidence snippet shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Finding {
    key: String,
    evidence: String,
}

impl Finding {
    /// The longest evidence snippet accepted, in characters.
    pub const MAX_EVIDENCE_CHARS: usize = 500;

    /// A finding with a key of 1 to 64 characters `[a-z0-9_.:-]` and an evidence snippet
    /// of at most [`Finding::MAX_EVIDENCE_CHARS`] characters.
    pub fn new(key: &str, evidence: &str) -> Result<Self, ValidationError> {
        short_token("findings.key", key, 64, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | ':' | '-')
        })?;
        if evidence.chars().count() > Self::MAX_EVIDENCE_CHARS {
            return Err(ValidationError::new(
                "findings.evidence",
                format!("at most {} characters", Self::MAX_EVIDENCE_CHARS),
            ));
        }
        Ok(Self { key: key.to_owned(), evidence: evidence.to_owned() })
    }

    /// The finding key, as in the engine's verdict (`idn_homograph_high`, …).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The evidence snippet.
    pub fn evidence(&self) -> &str {
        &self.evidence
    }
}

/// The top findings of a verdict: at most [`Findings::MAX`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Findings(Vec<Finding>);

impl Findings {
    /// The most findings a report may carry.
    pub const MAX: usize = 10;

    /// Accepts up to [`Findings::MAX`] findings.
    pub fn new(findings: Vec<Finding>) -> Result<Self, ValidationError> {
        if findings.len() > Self::MAX {
            return Err(ValidationError::new("findings", format!("at most {} findings", Self::MAX)));
        }
        Ok(Self(findings))
    }

    /// The findings, in verdict order.
    pub fn as_slice(&self) -> &[Finding] {
        &self.0
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".to_owned())
    }
}

/// The opaque identifier of the client's install token (never the token's signature).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstallTokenId(String);

impl InstallTokenId {
    /// Accepts 1 to 128 characters of `[A-Za-z0-9_.-]`.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        short_token("install_token_id", value, 128, |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))?;
        Ok(Self(value.to_owned()))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The network a report came from, never the address itself: IPv4 truncated to its /24,
/// IPv6 to its /48 (decision 0010). Enough to correlate abuse, not enough to identify a
/// household.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientNet(String);

impl ClientNet {
    /// The truncated network of `ip` (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                Self(format!("{a}.{b}.{c}.0/24"))
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
                Self(format!("{net}/48"))
            }
        }
    }

    /// The network in CIDR notation.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A report accepted by the API, ready to append to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    /// Report or false positive.
    pub kind: ReportKind,
    /// The page.
    pub url: ReportUrl,
    /// Why it is reported.
    pub reason: ReportReason,
    /// When the server received it (the log's order of record).
    pub received_at: Timestamp,
    /// When the client says it made the report.
    pub client_timestamp: Timestamp,
    /// The extension's version.
    pub extension_version: ExtensionVersion,
    /// The pack version the page was scored with (the reproduction runner applies it).
    pub pack_version: PackVersion,
    /// The verdict's score.
    pub score: Score,
    /// The verdict's top findings with evidence.
    pub findings: Findings,
    /// SHA-256 of a screenshot taken locally, if the user attached one.
    pub screenshot_hash: Option<Sha256>,
    /// The client's install token id, if it sent one.
    pub install_token_id: Option<InstallTokenId>,
    /// The truncated network the report came from, if known.
    pub client_net: Option<ClientNet>,
}

/// A report's server-assigned identifier: increasing in commit order within one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReportId(pub i64);

impl fmt::Display for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What `append_report` returns once the report is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportReceipt {
    /// The new report's id.
    pub id: ReportId,
    /// The URL's moderation key.
    pub url_hash: UrlHash,
    /// Whether this was the first report of this URL (a new moderation entry).
    pub new_url: bool,
    /// Reports of this URL so far, this one included.
    pub report_count: i64,
}

/// A report as the log holds it. Plain data: it was valid when appended, and the store
/// does not re-run today's validation on yesterday's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    /// Server-assigned id.
    pub id: ReportId,
    /// When the server received it.
    pub received_at: Timestamp,
    /// Report or false positive.
    pub kind: ReportKind,
    /// The normalised URL.
    pub url: String,
    /// Its moderation key.
    pub url_hash: UrlHash,
    /// The reason.
    pub reason: ReportReason,
    /// When the client says it made the report.
    pub client_timestamp: Timestamp,
    /// The extension's version.
    pub extension_version: String,
    /// The pack version the page was scored with.
    pub pack_version: String,
    /// The score, 0..=100.
    pub score: u8,
    /// The top findings.
    pub findings: Vec<Finding>,
    /// Screenshot hash, if any.
    pub screenshot_hash: Option<Sha256>,
    /// Install token id, if any.
    pub install_token_id: Option<String>,
    /// Truncated client network, if any.
    pub client_net: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_that_differ_only_in_spelling_share_a_hash() {
        let a = ReportUrl::parse("HTTPS://PayPal.COM.:443/a/../signin?x=1#frag").unwrap();
        let b = ReportUrl::parse("https://paypal.com/signin?x=1").unwrap();
        assert_eq!(a.as_str(), "https://paypal.com/signin?x=1");
        assert_eq!(a.hash(), b.hash());
        assert_ne!(a.hash(), ReportUrl::parse("https://paypal.com/signin?x=2").unwrap().hash());
    }

    #[test]
    fn credentials_in_a_reported_url_are_never_kept() {
        let url = ReportUrl::parse("https://victim:hunter2@evil.example/login").unwrap();
        assert_eq!(url.as_str(), "https://evil.example/login");
        assert_eq!(url.hash(), ReportUrl::parse("https://evil.example/login").unwrap().hash());
    }

    #[test]
    fn idn_hosts_are_stored_as_punycode() {
        assert_eq!(ReportUrl::parse("https://pаypal.com/").unwrap().as_str(), "https://xn--pypal-4ve.com/");
    }

    #[test]
    fn report_url_refuses_patterns_other_schemes_and_bare_domains() {
        for bad in ["https://*.paypal.com/", "ftp://paypal.com/", "paypal.com", "javascript:alert(1)", "file:///etc"] {
            assert!(ReportUrl::parse(bad).is_err(), "{bad} was accepted");
        }
        assert!(ReportUrl::parse(&format!("https://a.com/{}", "x".repeat(2048))).is_err());
    }

    #[test]
    fn other_reason_requires_a_short_text_and_the_rest_refuse_one() {
        assert!(ReportReason::parse("other", None).is_err());
        assert!(ReportReason::parse("other", Some("   ")).is_err());
        assert!(ReportReason::parse("other", Some(&"x".repeat(201))).is_err());
        assert_eq!(ReportReason::parse("other", Some(" fake shop ")).unwrap(), ReportReason::Other("fake shop".into()));
        assert!(ReportReason::parse("phishing_login", Some("why")).is_err());
        assert_eq!(ReportReason::parse("phishing_login", Some("")).unwrap(), ReportReason::PhishingLogin);
        assert!(ReportReason::parse("spam", None).is_err());
        for code in ReportReason::CODES {
            let reason = ReportReason::parse(code, (code == "other").then_some("t")).unwrap();
            assert_eq!(reason.code(), code);
        }
    }

    #[test]
    fn score_is_zero_to_one_hundred() {
        assert!(Score::new(-1).is_err());
        assert!(Score::new(101).is_err());
        assert_eq!(Score::new(100).unwrap().get(), 100);
    }

    #[test]
    fn findings_are_bounded() {
        assert!(Finding::new("Bad Key", "").is_err());
        assert!(Finding::new("idn_homograph_high", &"e".repeat(501)).is_err());
        let one = Finding::new("idn_homograph_high", "pаypal.com").unwrap();
        assert!(Findings::new(vec![one.clone(); 11]).is_err());
        assert_eq!(Findings::new(vec![one; 10]).unwrap().as_slice().len(), 10);
    }

    #[test]
    fn client_networks_are_truncated() {
        assert_eq!(ClientNet::from_ip("203.0.113.77".parse().unwrap()).as_str(), "203.0.113.0/24");
        assert_eq!(ClientNet::from_ip("::ffff:203.0.113.77".parse().unwrap()).as_str(), "203.0.113.0/24");
        assert_eq!(ClientNet::from_ip("2001:db8:1:2:3:4:5:6".parse().unwrap()).as_str(), "2001:db8:1::/48");
    }
}
