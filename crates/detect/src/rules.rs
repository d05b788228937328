//! The rule set: `rules.json` as the detection spec describes it (version, thresholds,
//! weights, allowlists) plus per-signal caps, brands and keyword lists.
//!
//! Parsing is strict: an unknown field anywhere is an error that names the field, because a
//! misspelt weight that is silently ignored is a detection gap nobody notices. Sections that
//! are absent take the built-in defaults; a section that is present replaces its default
//! (write `"brands": []` to scan with no brands).

use serde::{Deserialize, Serialize};

use crate::error::RulesError;

/// The perceptual hash of a favicon or logo (ICO, PNG, GIF, JPEG or BMP), as a brand's
/// `favicon_phashes` lists it (16 hex digits of this number); `None` for an image that
/// does not decode.
#[cfg(feature = "favicon")]
pub use crate::signals::favicon::phash as favicon_phash;

/// Declares the weight keys once: the `Weights` struct, its defaults, the `Key` enum naming
/// each finding, and the signal group each key is capped in.
macro_rules! weight_keys {
    ($( $key:ident = $default:expr, $group:ident, $doc:literal; )*) => {
        /// Weight of each finding key, in score points at confidence 1.0.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Weights {
            $( #[doc = $doc] pub $key: u32, )*
        }

        impl Default for Weights {
            fn default() -> Self {
                Self { $( $key: $default, )* }
            }
        }

        impl Weights {
            /// The weight of `key`.
            pub fn get(&self, key: Key) -> u32 {
                match key { $( Key::$key => self.$key, )* }
            }
        }

        /// The key of a finding; equal to the name of its weight in `rules.json`.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Key {
            $( #[doc = $doc] $key, )*
        }

        impl Key {
            /// Every key, in declaration order.
            pub const ALL: &'static [Key] = &[ $( Key::$key, )* ];

            /// The key as it appears in `rules.json` and in verdicts.
            pub fn name(self) -> &'static str {
                match self { $( Key::$key => stringify!($key), )* }
            }

            /// The signal group whose cap bounds this key's contributions.
            pub fn group(self) -> Group {
                match self { $( Key::$key => Group::$group, )* }
            }
        }
    };
}

weight_keys! {
    idn_homograph_high = 60, Lookalike, "Homograph or near-certain lookalike of a brand domain.";
    idn_homograph_medium = 50, Lookalike, "Typosquat, brand plus words, brand inside a longer label, brand label in a subdomain.";
    brand_in_url_path = 10, Url, "A brand's domain or label in the path of an unrelated host.";
    raw_ip_host = 10, Url, "The page is served from a bare IP address.";
    brand_asset_mismatch = 20, BrandAsset, "Favicon perceptually matches a brand's, or is served from a brand's host; the page's host is not the brand's.";
    brand_title_mismatch = 15, BrandAsset, "Title, og:site_name or application-name names a brand, host is not the brand's.";
    brand_credential_form = 25, Ui, "A password, card or wallet-secret form on a page presenting a brand it is not hosted by.";
    new_domain_local_first_seen = 15, NewDomain, "This browser first saw the domain less than 24 hours ago.";
    phishing_form_cross_domain = 30, Ui, "A password form posts to another registrable domain.";
    form_action_off_domain = 10, Ui, "A form without a password field posts to another registrable domain.";
    hidden_identity_fields = 10, Ui, "Hidden inputs carry an email address, user name or phone number.";
    payment_card_form = 8, Ui, "A form asks for card number and security code.";
    seed_phrase_form = 30, Ui, "A form asks for a wallet recovery (seed) phrase.";
    scareware_screen = 35, Ui, "Alarm text, a phone number to call and navigation traps: a tech-support scam screen.";
    data_uri_script = 15, Ui, "A script is loaded from a data: URL.";
    data_uri_image = 6, Ui, "Images are embedded as data: URLs.";
    obfuscated_script = 15, Ui, "Inline script decodes and evaluates hidden code.";
    phishing_keywords_only = 8, Ui, "Phrases typical of phishing lures appear in the page text.";
    evasive_redirect = 30, Ui, "A redirect that decodes its target, screens out crawlers or forwards the visitor's identity.";
    redirect_unrelated_domain = 10, Ui, "Meta refresh or script redirect to an unrelated registrable domain.";
    cross_domain_hotlink = 12, Hotlink, "Images, CSS or fonts hotlinked from an unrelated domain.";
    yara_phishing_high = 45, Yara, "A high-severity YARA rule matched.";
    yara_phishing_medium = 25, Yara, "A medium-severity YARA rule matched.";
    yara_phishing_low = 10, Yara, "A low-severity YARA rule matched.";
    reputation_hit = 80, Reputation, "The host, URL or IP is listed in a reputation pack.";
}

/// Declares the signal groups once, with their caps.
macro_rules! groups {
    ($( $group:ident : $field:ident = $default:expr; )*) => {
        /// A detection subsystem; each has a cap so that no noisy one dominates the score.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Group {
            $( #[doc = stringify!($field)] $group, )*
        }

        /// Maximum points each signal group may contribute.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Caps {
            $( #[doc = concat!("Cap of the ", stringify!($field), " group.")] pub $field: u32, )*
        }

        impl Default for Caps {
            fn default() -> Self {
                Self { $( $field: $default, )* }
            }
        }

        impl Caps {
            /// The cap of `group`.
            pub fn get(&self, group: Group) -> u32 {
                match group { $( Group::$group => self.$field, )* }
            }
        }
    };
}

groups! {
    Lookalike: lookalike = 60;
    Url: url = 20;
    Ui: ui = 55;
    BrandAsset: brand_asset = 30;
    Hotlink: hotlink = 20;
    NewDomain: new_domain = 15;
    Yara: yara = 60;
    Reputation: reputation = 80;
}

/// Score thresholds: `score >= yellow` is yellow, `score >= red` is red.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Lowest yellow score.
    pub yellow: u8,
    /// Lowest red score.
    pub red: u8,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { yellow: 40, red: 70 }
    }
}

impl Thresholds {
    /// Checks `0 < yellow <= red <= 100`.
    pub fn validate(&self) -> Result<(), RulesError> {
        if self.yellow == 0 || self.yellow > self.red || self.red > 100 {
            return Err(RulesError::Invalid(format!(
                "thresholds must satisfy 0 < yellow <= red <= 100, got yellow={} red={}",
                self.yellow, self.red
            )));
        }
        Ok(())
    }
}

/// Domains that are never treated as unrelated or as impostors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Allowlists {
    /// CDN and vendor hosts (a listed host covers its subdomains) exempt from hotlinking.
    pub cdn_domains: Vec<String>,
    /// Registrable domains of brands that are never flagged as lookalikes.
    pub brand_hosts: Vec<String>,
    /// Popular registrable domains that are never flagged as lookalikes: the sites of a
    /// published popularity ranking that resemble a brand (a precision guard of the kind
    /// browsers' own lookalike checks use).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub popular_domains: Vec<String>,
    /// Domains a feed lists wrongly: they and their subdomains never count as a reputation
    /// hit (`pack test` reports each one a pack's filters list).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reputation_exempt: Vec<String>,
}

/// A brand that phishing imitates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Brand {
    /// The brand as people write it, e.g. "PayPal".
    pub name: String,
    /// Kind of brand (bank, mail, social, shop, payments, crypto, cloud, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Official registrable domains; they and their subdomains are never flagged.
    pub domains: Vec<String>,
    /// Strings attackers imitate in hostnames (default: the domains' registrable labels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Lower-case names as they appear in a page title (default: the lower-cased name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// 64-bit perceptual hashes (16 hex digits) of the brand's favicons and logos.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub favicon_phashes: Vec<String>,
}

/// A pre-publish gate on labelled URL lists: the share of URLs with `label` (and `class`,
/// when given) at `level` or above must stay within `min` and `max`. The engine never reads
/// gates; `pack test` applies them, so a pack carries the bar it was published against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// `phishing` or `benign`.
    pub label: String,
    /// One class of the lists (`homoglyph`, `popular`, ...); absent: all URLs with the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// With no `class`: apply the gate to every class of the label separately as well.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub each_class: bool,
    /// `yellow` (yellow or red) or `red`.
    pub level: String,
    /// The lowest acceptable share, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The highest acceptable share, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Gate {
    fn validate(&self) -> Result<(), RulesError> {
        let bad = |what: String| Err(RulesError::Invalid(format!("gate on {} at {}: {what}", self.label, self.level)));
        if !matches!(self.label.as_str(), "phishing" | "benign") {
            return bad("label must be phishing or benign".into());
        }
        if !matches!(self.level.as_str(), "yellow" | "red") {
            return bad("level must be yellow or red".into());
        }
        if self.min.is_none() && self.max.is_none() {
            return bad("needs min or max".into());
        }
        for bound in self.min.iter().chain(&self.max) {
            if !(0.0..=1.0).contains(bound) {
                return bad(format!("bound {bound} is not between 0 and 1"));
            }
        }
        if self.each_class && self.class.is_some() {
            return bad("each_class and class exclude each other".into());
        }
        Ok(())
    }
}

/// A complete rule set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Rule set version; reported in every verdict as `pack_version`.
    pub version: String,
    /// Level thresholds.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Weight per finding key.
    #[serde(default)]
    pub weights: Weights,
    /// Cap per signal group.
    #[serde(default)]
    pub caps: Caps,
    /// Allowlists.
    #[serde(default = "default_allowlists")]
    pub allowlists: Allowlists,
    /// Brands.
    #[serde(default = "default_brands")]
    pub brands: Vec<Brand>,
    /// Phrases typical of phishing lures (matched case-insensitively in visible text).
    #[serde(default = "default_keywords")]
    pub keywords: Vec<String>,
    /// Pre-publish gates for `pack test` on labelled URL lists.
    #[serde(default = "default_gates", skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<Gate>,
}

const DEFAULT_RULES: &str = include_str!("../data/default_rules.json");
const DEFAULT_BRANDS: &str = include_str!("../data/brands.json");
/// Generated by `bench/eval-sets.sh` from the tuning popularity list (see docs/detection.md).
const DEFAULT_POPULAR: &str = include_str!("../data/popular_domains.json");

fn builtin_base() -> Rules {
    // The embedded files are checked by tests; failing here is a build defect.
    let mut rules: Rules = serde_json::from_str(DEFAULT_RULES).expect("embedded default_rules.json");
    rules.brands = serde_json::from_str(DEFAULT_BRANDS).expect("embedded brands.json");
    rules.allowlists.popular_domains = serde_json::from_str(DEFAULT_POPULAR).expect("embedded popular_domains.json");
    rules
}

fn default_allowlists() -> Allowlists {
    let mut allowlists: Allowlists = serde_json::from_str::<serde_json::Value>(DEFAULT_RULES)
        .ok()
        .and_then(|v| serde_json::from_value(v["allowlists"].clone()).ok())
        .unwrap_or_default();
    allowlists.popular_domains = serde_json::from_str(DEFAULT_POPULAR).unwrap_or_default();
    allowlists
}

fn default_brands() -> Vec<Brand> {
    serde_json::from_str(DEFAULT_BRANDS).unwrap_or_default()
}

fn default_keywords() -> Vec<String> {
    serde_json::from_str::<serde_json::Value>(DEFAULT_RULES)
        .ok()
        .and_then(|v| serde_json::from_value(v["keywords"].clone()).ok())
        .unwrap_or_default()
}

fn default_gates() -> Vec<Gate> {
    serde_json::from_str::<serde_json::Value>(DEFAULT_RULES)
        .ok()
        .and_then(|v| serde_json::from_value(v["gates"].clone()).ok())
        .unwrap_or_default()
}

impl Default for Rules {
    fn default() -> Self {
        builtin_base()
    }
}

impl Rules {
    /// The built-in default rule set (at least 100 brands).
    pub fn builtin() -> Self {
        builtin_base()
    }

    /// Parses and validates `rules.json`.
    pub fn from_json(text: &str) -> Result<Self, RulesError> {
        let rules: Rules = serde_json::from_str(text).map_err(RulesError::from_json)?;
        rules.validate()?;
        Ok(rules)
    }

    /// Checks the values serde cannot: thresholds, domains, brand fields, hashes.
    pub fn validate(&self) -> Result<(), RulesError> {
        self.thresholds.validate()?;
        if self.version.trim().is_empty() {
            return Err(RulesError::Invalid("version must not be empty".into()));
        }
        for key in Key::ALL {
            if self.weights.get(*key) > 100 {
                return Err(RulesError::Invalid(format!(
                    "weight {} is {}, above 100",
                    key.name(),
                    self.weights.get(*key)
                )));
            }
        }
        let mut names = std::collections::HashSet::new();
        for brand in &self.brands {
            if brand.name.trim().is_empty() || !names.insert(brand.name.to_lowercase()) {
                return Err(RulesError::Invalid(format!("brand name {:?} is empty or repeated", brand.name)));
            }
            if brand.domains.is_empty() {
                return Err(RulesError::Invalid(format!("brand {} has no domains", brand.name)));
            }
            for domain in brand.domains.iter().chain(&self.allowlists.brand_hosts) {
                check_domain(domain)?;
            }
            for label in &brand.labels {
                if label.len() < 3 || !label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
                    return Err(RulesError::Invalid(format!(
                        "brand {} label {label:?} must be 3+ lower-case ASCII letters or digits",
                        brand.name
                    )));
                }
            }
            for hash in &brand.favicon_phashes {
                parse_phash(hash).ok_or_else(|| {
                    RulesError::Invalid(format!("brand {} favicon hash {hash:?} is not 16 hex digits", brand.name))
                })?;
            }
        }
        let allowlists = &self.allowlists;
        for domain in
            allowlists.cdn_domains.iter().chain(&allowlists.popular_domains).chain(&allowlists.reputation_exempt)
        {
            check_domain(domain)?;
        }
        for gate in &self.gates {
            gate.validate()?;
        }
        Ok(())
    }

    /// Pretty JSON, as `ferretwatch rules default` prints it.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("rules serialise")
    }
}

fn check_domain(domain: &str) -> Result<(), RulesError> {
    let ok = !domain.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(RulesError::Invalid(format!("domain {domain:?} must be lower-case ASCII (punycode) with a dot")))
    }
}

/// Parses a 64-bit perceptual hash written as 16 hex digits.
pub fn parse_phash(text: &str) -> Option<u64> {
    if text.len() != 16 {
        return None;
    }
    u64::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_are_valid_and_cover_at_least_100_brands() {
        let rules = Rules::builtin();
        rules.validate().unwrap();
        assert!(rules.brands.len() >= 100, "{} brands", rules.brands.len());
    }

    #[test]
    fn the_spec_example_parses_and_missing_sections_take_defaults() {
        let text = r#"{
          "version": "2025.09.24",
          "thresholds": { "yellow": 40, "red": 70 },
          "weights": { "idn_homograph_high": 40, "reputation_hit": 50, "cross_domain_hotlink": 12 },
          "allowlists": { "cdn_domains": ["cdn.jsdelivr.net"], "brand_hosts": ["paypal.com"] }
        }"#;
        let rules = Rules::from_json(text).unwrap();
        assert_eq!(rules.weights.reputation_hit, 50);
        assert_eq!(rules.weights.phishing_form_cross_domain, 30);
        assert_eq!(rules.allowlists.cdn_domains, vec!["cdn.jsdelivr.net"]);
        assert_eq!(rules.brands, Rules::builtin().brands);
    }

    #[test]
    fn unknown_top_level_field_is_rejected_by_name() {
        let err = Rules::from_json(r#"{"version": "1", "treshholds": {}}"#).unwrap_err();
        assert!(err.to_string().contains("treshholds"), "{err}");
    }

    #[test]
    fn unknown_weight_is_rejected_by_name() {
        let err = Rules::from_json(r#"{"version": "1", "weights": {"idn_homograf_high": 3}}"#).unwrap_err();
        assert!(err.to_string().contains("idn_homograf_high"), "{err}");
    }

    #[test]
    fn unknown_brand_field_is_rejected_by_name() {
        let text = r#"{"version": "1", "brands": [{"name": "X", "domains": ["x.com"], "logo": 1}]}"#;
        let err = Rules::from_json(text).unwrap_err();
        assert!(err.to_string().contains("logo"), "{err}");
    }

    #[test]
    fn inverted_thresholds_are_rejected() {
        let err = Rules::from_json(r#"{"version": "1", "thresholds": {"yellow": 80, "red": 70}}"#).unwrap_err();
        assert!(err.to_string().contains("yellow <= red"), "{err}");
    }

    #[test]
    fn upper_case_brand_domain_is_rejected() {
        let text = r#"{"version": "1", "brands": [{"name": "X", "domains": ["X.com"]}]}"#;
        assert!(Rules::from_json(text).is_err());
    }

    #[test]
    fn every_key_has_a_weight_in_the_default_file() {
        let raw: serde_json::Value = serde_json::from_str(DEFAULT_RULES).unwrap();
        for key in Key::ALL {
            assert!(raw["weights"].get(key.name()).is_some(), "{} missing", key.name());
        }
    }

    #[test]
    fn builtin_rules_round_trip_through_json() {
        let rules = Rules::builtin();
        assert_eq!(Rules::from_json(&rules.to_json_pretty()).unwrap(), rules);
    }
}
