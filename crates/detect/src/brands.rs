//! The brand index, built once per rule set: who owns which domain, which labels attackers
//! imitate (with their confusable skeletons), title aliases and favicon hashes.

use std::collections::HashSet;

use rustc_hash::FxHashMap as HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::domain::registrable_of;
use crate::rules::{parse_phash, Rules};

/// A label an attacker imitates, e.g. `paypal`.
#[derive(Debug)]
pub(crate) struct Label {
    /// The label, ASCII lower case.
    pub text: String,
    /// Its canonical (confusable-folded) form.
    pub canon: String,
    /// Bitmask of the bytes in `text` (see [`char_mask`]).
    pub mask: u64,
    /// Owning brand.
    pub brand: usize,
}

/// Index over the rule set's brands.
#[derive(Debug)]
pub(crate) struct BrandIndex {
    /// Brand names, by index.
    pub names: Vec<String>,
    /// The first official domain of each brand, for evidence.
    pub primary_domain: Vec<String>,
    /// Registrable domain → owning brand (`None` for allowlisted brand hosts without a brand).
    owners: HashMap<String, Option<usize>>,
    /// Labels a brand registers under several country-code suffixes (`google` in
    /// google.de, google.co.uk, ...): the brand is taken to own the label under every one.
    country_labels: HashMap<String, usize>,
    /// Imitated labels.
    pub labels: Vec<Label>,
    /// Label text → label indices.
    exact: HashMap<String, Vec<usize>>,
    /// Canonical form → label indices.
    canon: HashMap<String, Vec<usize>>,
    /// Labels by length of `text` (index = length, capped at 63): (mask, label index), kept
    /// side by side so the prefilter loop reads one flat array.
    by_len: Vec<Vec<(u64, usize)>>,
    /// The same for the canonical forms (`canon`), for edits after confusable folding.
    by_canon_len: Vec<Vec<(u64, usize)>>,
    /// Popular registrable domains never flagged as lookalikes (the pack's precision guard).
    popular: std::collections::HashSet<String, rustc_hash::FxBuildHasher>,
    /// Labels of 5+ characters, for "brand inside a longer word" matches.
    pub contained: Option<AhoCorasick>,
    /// Label index per pattern of `contained`.
    pub contained_ids: Vec<usize>,
    /// Title aliases (case-insensitive) and their brands.
    pub aliases: Option<AhoCorasick>,
    /// Brand per pattern of `aliases`.
    pub alias_brands: Vec<usize>,
    /// Favicon perceptual hashes and their brands (read only with the `favicon` feature).
    #[cfg_attr(not(feature = "favicon"), allow(dead_code))]
    pub phashes: Vec<(u64, usize)>,
}

impl BrandIndex {
    /// Builds the index; the rules are assumed validated.
    pub(crate) fn new(rules: &Rules) -> Self {
        let mut owners = HashMap::default();
        for host in &rules.allowlists.brand_hosts {
            owners.insert(host.clone(), None);
        }
        let mut country_labels = HashMap::default();
        let mut names = Vec::new();
        let mut primary_domain = Vec::new();
        let mut labels = Vec::new();
        let mut alias_patterns = Vec::new();
        let mut alias_brands = Vec::new();
        let mut phashes = Vec::new();
        for (i, brand) in rules.brands.iter().enumerate() {
            names.push(brand.name.clone());
            primary_domain.push(brand.domains[0].clone());
            for domain in &brand.domains {
                owners.insert(domain.clone(), Some(i));
            }
            let mut per_label: HashMap<&str, usize> = HashMap::default();
            for domain in &brand.domains {
                if let Some((label, suffix)) = domain.split_once('.') {
                    if is_country_suffix(suffix) {
                        *per_label.entry(label).or_default() += 1;
                    }
                }
            }
            for (label, count) in per_label {
                if count >= 2 {
                    country_labels.entry(label.to_owned()).or_insert(i);
                }
            }
            let mut texts: Vec<String> = if brand.labels.is_empty() {
                brand
                    .domains
                    .iter()
                    .map(|d| {
                        let reg = registrable_of(d);
                        reg.split('.').next().unwrap_or(reg).replace('-', "")
                    })
                    .filter(|l| l.len() >= 3)
                    .collect()
            } else {
                brand.labels.clone()
            };
            texts.sort();
            texts.dedup();
            for text in texts {
                let canon = canonical(&text);
                labels.push(Label { mask: char_mask(text.as_bytes()), text, canon, brand: i });
            }
            let aliases =
                if brand.aliases.is_empty() { vec![brand.name.to_lowercase()] } else { brand.aliases.clone() };
            for alias in aliases {
                alias_patterns.push(alias);
                alias_brands.push(i);
            }
            phashes.extend(brand.favicon_phashes.iter().filter_map(|h| parse_phash(h)).map(|h| (h, i)));
        }
        let mut exact: HashMap<String, Vec<usize>> = HashMap::default();
        let mut canon: HashMap<String, Vec<usize>> = HashMap::default();
        let mut by_len = vec![Vec::new(); 64];
        let mut by_canon_len = vec![Vec::new(); 64];
        let mut contained_patterns = Vec::new();
        let mut contained_ids = Vec::new();
        let mut seen_contained = HashSet::new();
        for (i, label) in labels.iter().enumerate() {
            exact.entry(label.text.clone()).or_default().push(i);
            canon.entry(label.canon.clone()).or_default().push(i);
            by_len[label.text.len().min(63)].push((label.mask, i));
            if label.canon.is_ascii() {
                by_canon_len[label.canon.len().min(63)].push((char_mask(label.canon.as_bytes()), i));
            }
            if label.text.len() >= 5 && seen_contained.insert(label.text.clone()) {
                contained_patterns.push(label.text.clone());
                contained_ids.push(i);
            }
        }
        let contained = (!contained_patterns.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&contained_patterns)
                .expect("brand label automaton")
        });
        let aliases = (!alias_patterns.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&alias_patterns)
                .expect("brand alias automaton")
        });
        BrandIndex {
            names,
            primary_domain,
            owners,
            country_labels,
            labels,
            exact,
            canon,
            by_len,
            by_canon_len,
            popular: rules.allowlists.popular_domains.iter().cloned().collect(),
            contained,
            contained_ids,
            aliases,
            alias_brands,
            phashes,
        }
    }

    /// Whether a registrable domain belongs to a brand or an allowlisted brand host, and which.
    pub(crate) fn owner(&self, registrable: &str) -> Option<Option<usize>> {
        if let Some(owner) = self.owners.get(registrable) {
            return Some(*owner);
        }
        // Country-code suffixes end in a dot and two letters: most hosts stop here.
        let bytes = registrable.as_bytes();
        if self.country_labels.is_empty() || bytes.len() < 4 || bytes[bytes.len() - 3] != b'.' {
            return None;
        }
        let (label, suffix) = registrable.split_once('.')?;
        if !is_country_suffix(suffix) {
            return None;
        }
        self.country_labels.get(label).map(|&brand| Some(brand))
    }

    /// Whether a registrable domain is a brand's or an allowlisted brand host.
    pub(crate) fn is_brand_domain(&self, registrable: &str) -> bool {
        self.owner(registrable).is_some()
    }

    /// Labels equal to `text`.
    pub(crate) fn exact(&self, text: &str) -> &[usize] {
        self.exact.get(text).map_or(&[], Vec::as_slice)
    }

    /// Labels whose canonical form equals `canon`.
    pub(crate) fn by_canon(&self, canon: &str) -> &[usize] {
        self.canon.get(canon).map_or(&[], Vec::as_slice)
    }

    /// (mask, label index) of the labels whose length is `len`; of their canonical forms
    /// with `canon`.
    pub(crate) fn of_len(&self, len: usize, canon: bool) -> &[(u64, usize)] {
        let table = if canon { &self.by_canon_len } else { &self.by_len };
        table.get(len).map_or(&[], Vec::as_slice)
    }

    /// Whether a registrable domain is on the pack's popular-domain list.
    pub(crate) fn is_popular(&self, registrable: &str) -> bool {
        self.popular.contains(registrable)
    }
}

/// A country-code suffix: `de`, or a second level under one (`co.uk`, `com.au`).
fn is_country_suffix(suffix: &str) -> bool {
    let last = suffix.rsplit('.').next().unwrap_or(suffix);
    last.len() == 2 && last.bytes().all(|b| b.is_ascii_lowercase()) && suffix.split('.').count() <= 2
}

/// Bitmask of which bytes occur (a–z, 0–9, other), for a cheap edit-distance lower bound:
/// one edit changes the set of present characters by at most two.
pub(crate) fn char_mask(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |m, &b| {
        m | match b {
            b'a'..=b'z' => 1 << (b - b'a'),
            b'0'..=b'9' => 1 << (26 + b - b'0'),
            _ => 1 << 63,
        }
    })
}

/// Canonical form used to compare labels: compatibility forms and diacritics folded
/// (NFKD, combining marks dropped: `amazoṉ` reads `amazon`), then the UTS #39 confusable
/// skeleton, lower-cased, with the ASCII look-alikes attackers use folded too (digits read
/// as letters, `i`/`1`/`l`, `rn`/`m`, `vv`/`w`, `cl`/`d`, `q`/`g`) and hyphens dropped.
pub(crate) fn canonical(label: &str) -> String {
    if label.is_ascii() {
        return canonical_ascii(label.as_bytes());
    }
    let mut ascii = Vec::with_capacity(label.len() + 4);
    let mut out = String::with_capacity(label.len() + 4);
    let flush = |ascii: &mut Vec<u8>, out: &mut String| {
        if !ascii.is_empty() {
            out.push_str(&canonical_ascii(ascii));
            ascii.clear();
        }
    };
    for c in label.chars() {
        let mut folded = String::new();
        unicode_normalization::char::decompose_compatible(c, |d| {
            if !unicode_normalization::char::is_combining_mark(d) {
                folded.push(d);
            }
        });
        for d in folded.chars() {
            if d.is_ascii() {
                ascii.push(d as u8);
                continue;
            }
            if let Some(base) = latin_base(d) {
                ascii.push(base);
                continue;
            }
            let mut buf = [0u8; 4];
            for s in unicode_security::skeleton(d.encode_utf8(&mut buf)) {
                for l in s.to_lowercase() {
                    if l.is_ascii() {
                        ascii.push(l as u8);
                    } else {
                        flush(&mut ascii, &mut out);
                        out.push(l);
                    }
                }
            }
        }
    }
    flush(&mut ascii, &mut out);
    out
}

/// The base letter of a Latin letter with a stroke, hook, bar or descender, or a small
/// capital: letters that NFKD does not decompose and UTS #39 does not list as confusable,
/// yet read as the plain letter in a URL bar (`ł`, `ŋ`, `ɨ`, `ƴ`, `ʏ`).
fn latin_base(c: char) -> Option<u8> {
    Some(match c {
        'ƀ' | 'ƅ' | 'ɓ' | 'ʙ' | 'ƃ' => b'b',
        'ƈ' | 'ᴄ' | 'ȼ' => b'c',
        'đ' | 'ɖ' | 'ɗ' | 'ᴅ' | 'ƌ' => b'd',
        'ɇ' | 'ɛ' | 'ᴇ' => b'e',
        'ƒ' => b'f',
        'ǥ' | 'ɠ' | 'ɡ' | 'ɢ' => b'g',
        'ħ' | 'ɦ' | 'ⱨ' | 'ʜ' => b'h',
        'ɨ' | 'ı' | 'ɩ' | 'ɪ' => b'i',
        'ʝ' | 'ɉ' | 'ȷ' | 'ᴊ' => b'j',
        'ĸ' | 'ⱪ' | 'ᴋ' | 'ƙ' => b'k',
        'ł' | 'ɫ' | 'ƚ' | 'ʟ' | 'ŀ' => b'l',
        'ɱ' | 'ᴍ' => b'm',
        'ŋ' | 'ꞑ' | 'ɲ' | 'ƞ' | 'ɴ' => b'n',
        'ø' | 'ɵ' | 'ᴏ' | 'ɔ' => b'o',
        'ƥ' | 'ᴘ' | 'ƿ' => b'p',
        'ɋ' | 'ʠ' => b'q',
        'ɍ' | 'ʀ' | 'ɽ' | 'ɾ' | 'ɼ' | 'ɿ' => b'r',
        'ȿ' | 'ʂ' | 'ꜱ' => b's',
        'ŧ' | 'ƭ' | 'ʈ' | 'ᴛ' | 'ƫ' => b't',
        'ʉ' | 'ᴜ' => b'u',
        'ʋ' | 'ᴠ' | 'ᶌ' | 'ⱴ' | 'ⱱ' => b'v',
        'ⱳ' | 'ᴡ' => b'w',
        'ɏ' | 'ƴ' | 'ʏ' | 'ỿ' => b'y',
        'ƶ' | 'ȥ' | 'ʐ' | 'ᴢ' | 'ⱬ' => b'z',
        'ɑ' | 'ᴀ' | 'ə' | 'ɐ' => b'a',
        'ʒ' => b'3',
        'ƽ' => b'5',
        _ => return None,
    })
}

/// [`canonical`] for ASCII labels (nearly all hosts), byte by byte.
fn canonical_ascii(label: &[u8]) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(label.len() + 4);
    let mut prev = 0u8;
    for &b in label {
        let last = out.last().copied();
        let after_l = std::mem::replace(&mut prev, b) == b'l';
        match ascii_canon(b).as_bytes() {
            [] => {}
            [b'v'] if last == Some(b'v') => *out.last_mut().expect("non-empty") = b'w',
            [b'l'] if b == b'l' && last == Some(b'c') => *out.last_mut().expect("non-empty") = b'd',
            [b'c'] if after_l && last == Some(b'l') => *out.last_mut().expect("non-empty") = b'k',
            [one] => out.push(*one),
            many => out.extend_from_slice(many),
        }
    }
    String::from_utf8(out).expect("ASCII in, ASCII out")
}

/// Canonical text of one ASCII byte (its skeleton, lower-cased, digits read as letters).
fn ascii_canon(b: u8) -> &'static str {
    match b {
        b'-' | b'_' | b'.' => "",
        b'0' | b'O' | b'o' => "o",
        b'1' | b'I' | b'i' | b'l' | b'|' | b'!' => "l",
        b'q' | b'Q' => "g",
        b'3' => "e",
        b'4' => "a",
        b'5' => "s",
        b'7' => "t",
        b'8' => "b",
        b'm' | b'M' => "rn",
        _ => one_char(b.to_ascii_lowercase()),
    }
}

/// The printable ASCII characters, to hand out one-character `&'static str`s.
const PRINTABLE: &str =
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

fn one_char(b: u8) -> &'static str {
    if (0x20..0x7f).contains(&b) {
        let i = usize::from(b - 0x20);
        &PRINTABLE[i..i + 1]
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_folds_confusables_of_both_scripts() {
        assert_eq!(canonical("paypal"), canonical("paypa1"));
        assert_eq!(canonical("microsoft"), canonical("rnicrosoft"));
        assert_eq!(canonical("google"), canonical("g00gle"));
        assert_eq!(canonical("apple"), canonical("аррӏе")); // Cyrillic
        assert_eq!(canonical("paypal"), canonical("pаypal"));
        assert_ne!(canonical("paypal"), canonical("paypak"));
        assert_eq!(canonical("pay-pal"), "paypal");
        assert_eq!(canonical("vvellsfargo"), canonical("wellsfargo"));
        assert_eq!(canonical("vvv"), "wv");
        for label in ["paypa1", "rnicrosoft", "g00gle", "x-y_z|", "vvvv", "amazon"] {
            let slow: String = label.chars().map(|c| ascii_canon(c as u8)).collect::<String>().replace("vv", "w");
            assert_eq!(canonical(label), slow, "{label}");
        }
        assert_eq!(canonical("amazoṉ"), canonical("amazon"));
        assert_eq!(canonical("paypál"), "paypal");
        assert_eq!(canonical("ｐａｙｐａｌ"), "paypal"); // full-width compatibility forms
        assert_eq!(canonical("clropbox"), canonical("dropbox"));
        assert_eq!(canonical("g00gie"), canonical("google"));
        assert_eq!(canonical("ethercüm"), canonical("ethercum"));
        assert_eq!(canonical("łöwes"), canonical("lowes"));
        assert_eq!(canonical("ƴāndex"), canonical("yandex"));
        assert_eq!(canonical("coịꞑbase"), canonical("coinbase"));
    }

    #[test]
    fn mask_distinguishes_character_sets() {
        assert_eq!(char_mask(b"paypal"), char_mask(b"lapyap"));
        assert_eq!((char_mask(b"paypal") ^ char_mask(b"paypa1")).count_ones(), 2);
    }

    #[test]
    fn index_maps_domains_to_owners_and_labels_to_brands() {
        let rules = Rules::builtin();
        let index = BrandIndex::new(&rules);
        let paypal = index.owner("paypal.com").unwrap().unwrap();
        assert_eq!(index.names[paypal], "PayPal");
        assert!(index.exact("paypal").iter().any(|&l| index.labels[l].brand == paypal));
        assert!(index.owner("paypa1.com").is_none());
        // Google registers its name in many countries: it owns it in every one.
        let google = index.owner("google.com").unwrap();
        assert_eq!(index.owner("google.co.ke"), Some(google));
        assert_eq!(index.owner("google.tk"), Some(google));
        assert_eq!(index.owner("google.xyz"), None);
        assert_eq!(index.owner("google.co.com"), None);
    }
}
