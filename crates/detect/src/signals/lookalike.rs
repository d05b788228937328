//! IDN homographs and lookalike domains: confusable skeletons (UTS #39), mixed scripts,
//! typo classes within the spec's edit-distance thresholds, brand-plus-words, brand as a
//! subdomain of another domain and brand in another TLD. A brand's own domains and their
//! subdomains are never flagged.

use unicode_security::MixedScript;

use crate::brands::{canonical, char_mask, BrandIndex};
use crate::domain::{to_unicode, Target};
use crate::rules::Key;
use crate::verdict::Signal;

/// Runs every lookalike check on the page's host and keeps the strongest finding: one host
/// is one lookalike, however many ways it resembles a brand.
pub(crate) fn check(target: &Target, index: &BrandIndex, out: &mut Vec<Signal>) {
    let registrable = target.registrable();
    if target.ip.is_some() || index.is_brand_domain(registrable) || index.is_popular(registrable) {
        return;
    }
    let mut found = Vec::new();
    let label = target.label();
    if !label.is_empty() {
        if label.contains("xn--") {
            check_idn(target, label, index, &mut found);
        } else {
            check_ascii(target.registrable(), target.suffix(), label, index, Depth::Full, &mut found);
        }
    }
    check_split(target, index, &mut found);
    check_subdomain(target, index, &mut found);
    let strongest = found.into_iter().max_by_key(|s| (s.key == Key::idn_homograph_high, s.confidence));
    out.extend(strongest);
}

/// How far the ASCII checks go: all of them, or only the near-certain ones (exact,
/// hyphen-split, confusable and brand-plus-words matches) where a looser match would be noise.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Depth {
    Full,
    Strict,
}

/// Words phishing hosts add to a brand's name; a brand inside a longer label counts as an
/// imitation when the rest is one of these (`paypalsecure`, `myamazonlogin`).
const LURE_WORDS: &[&str] = &[
    "login",
    "logon",
    "signin",
    "signon",
    "secure",
    "security",
    "account",
    "accounts",
    "verify",
    "verification",
    "update",
    "support",
    "help",
    "online",
    "service",
    "services",
    "auth",
    "wallet",
    "pay",
    "payment",
    "billing",
    "my",
    "app",
    "web",
    "mail",
    "bank",
    "banking",
    "id",
    "confirm",
    "unlock",
    "recovery",
    "restore",
    "claim",
    "reward",
    "rewards",
    "bonus",
    "gift",
    "refund",
    "alert",
    "notice",
    "center",
    "centre",
    "portal",
    "access",
    "customer",
    "client",
    "official",
    "team",
    "check",
    "review",
    "validate",
    "sso",
    "token",
    "airdrop",
    "connect",
];

/// The part of `label` around the brand label at `start..end`, when it is only lure words.
fn only_lure_words(rest: &str) -> bool {
    if rest.is_empty() {
        return true;
    }
    LURE_WORDS.iter().any(|w| rest.strip_prefix(w).is_some_and(only_lure_words))
}

/// The brand spread over the last subdomain label and the domain's label (`am.azon.com`,
/// `pay.pal-secure.com`): the joined label is checked with the near-certain checks only.
fn check_split(target: &Target, index: &BrandIndex, out: &mut Vec<Signal>) {
    let sub = target.subdomain();
    let label = target.label();
    let Some(last) = sub.rsplit('.').next().filter(|l| !l.is_empty() && l.len() <= 24 && *l != "www") else { return };
    if label.is_empty() || label.contains("xn--") || last.contains("xn--") {
        return;
    }
    let joined = format!("{last}{label}");
    let host = target.host();
    let shown = &host[host.len() - (last.len() + 1 + target.registrable().len())..];
    if let Some(&l) = index.exact(&joined).first() {
        let (name, domain) = brand_of(index, l);
        let evidence = format!(
            "{shown} splits a brand across labels: '{last}' + '{label}' reads '{joined}', {name}'s name; {name}'s domain is {domain}"
        );
        out.push(signal(index, Key::idn_homograph_high, 900, l, evidence));
        return;
    }
    let mut found = Vec::new();
    check_ascii(shown, target.suffix(), &joined, index, Depth::Strict, &mut found);
    for mut signal in found {
        signal.evidence = format!("{shown} splits a brand across labels ('{last}' + '{label}'): {}", signal.evidence);
        out.push(signal);
    }
}

fn brand_of(index: &BrandIndex, label: usize) -> (&str, &str) {
    let brand = index.labels[label].brand;
    (&index.names[brand], &index.primary_domain[brand])
}

fn signal(index: &BrandIndex, key: Key, confidence: u16, label: usize, evidence: String) -> Signal {
    let (name, _) = brand_of(index, label);
    Signal::new(key, confidence, evidence).with_brand(name)
}

fn check_idn(target: &Target, label: &str, index: &BrandIndex, out: &mut Vec<Signal>) {
    let shown = to_unicode(label);
    if shown == label {
        return;
    }
    let canon = canonical(&shown);
    let mixed = !shown.as_str().is_single_script();
    let confusables = describe_confusables(&shown);
    let scripts = if mixed { "; it mixes scripts" } else { "" };
    if let Some(&l) = index.by_canon(&canon).first() {
        let (name, domain) = brand_of(index, l);
        let evidence = format!(
            "{} is displayed as {}.{}, a homograph of {name} ({domain}){scripts}{confusables}",
            target.registrable(),
            shown,
            target.suffix()
        );
        out.push(signal(index, Key::idn_homograph_high, 950, l, evidence));
    } else if let Some((l, distance)) = nearest_label(index, &canon, true) {
        let (name, domain) = brand_of(index, l);
        let evidence = format!(
            "{} is displayed as {}.{}, within {distance} edit(s) of {name} ({domain}) after confusable folding{scripts}{confusables}",
            target.registrable(),
            shown,
            target.suffix()
        );
        out.push(signal(index, Key::idn_homograph_high, 800, l, evidence));
    } else if mixed {
        let evidence = format!(
            "{} is displayed as {}.{}, which mixes scripts{confusables}",
            target.registrable(),
            shown,
            target.suffix()
        );
        out.push(Signal::new(Key::idn_homograph_medium, 500, evidence));
    }
}

/// ", 'а' (U+0430) looks like 'a'" for each non-ASCII character with an ASCII skeleton.
fn describe_confusables(shown: &str) -> String {
    let mut text = String::new();
    for c in shown.chars().filter(|c| !c.is_ascii()) {
        let like = canonical(&c.to_string());
        if !like.is_empty() && like.is_ascii() {
            text.push_str(&format!("; '{c}' (U+{:04X}) looks like '{like}'", c as u32));
        }
    }
    text
}

fn check_ascii(reg: &str, suffix: &str, label: &str, index: &BrandIndex, depth: Depth, out: &mut Vec<Signal>) {
    if let Some(&l) = index.exact(label).first() {
        let (name, domain) = brand_of(index, l);
        let evidence =
            format!("{reg} uses the name of {name} under another suffix (.{suffix}); {name}'s domain is {domain}");
        out.push(signal(index, Key::idn_homograph_high, 800, l, evidence));
        return;
    }
    let joined: std::borrow::Cow<str> =
        if label.contains('-') { label.chars().filter(|&c| c != '-').collect::<String>().into() } else { label.into() };
    if joined.len() != label.len() {
        if let Some(&l) = index.exact(&joined).first() {
            let (name, domain) = brand_of(index, l);
            let evidence = format!("{reg} is {name}'s name split by hyphens ({label}); {name}'s domain is {domain}");
            out.push(signal(index, Key::idn_homograph_high, 900, l, evidence));
            return;
        }
    }
    let folded = canonical(label);
    if let Some(&l) = index.by_canon(&folded).first() {
        let (name, domain) = brand_of(index, l);
        let brand_label = &index.labels[l].text;
        let evidence = format!(
            "{reg} reads as {brand_label} with confusable characters ({}); it imitates {name} ({domain})",
            substitutions(&joined, brand_label)
        );
        out.push(signal(index, Key::idn_homograph_high, 900, l, evidence));
        return;
    }
    let tokens = label.split('-').filter(|t| t.len() >= 3);
    for token in tokens.clone() {
        if let Some(&l) = index.exact(token).first() {
            let (name, domain) = brand_of(index, l);
            let evidence =
                format!("{reg} combines {name}'s name with other words ({label}); {name}'s domain is {domain}");
            out.push(signal(index, Key::idn_homograph_medium, 850, l, evidence));
            return;
        }
        if token.len() >= 4 && token.bytes().any(|b| b.is_ascii_digit()) {
            if let Some(&l) = index.by_canon(&canonical(token)).first() {
                let (name, domain) = brand_of(index, l);
                let brand_label = &index.labels[l].text;
                let evidence = format!(
                    "{reg} combines {brand_label} written with confusable characters ({}) with other words; it imitates {name} ({domain})",
                    substitutions(token, brand_label)
                );
                out.push(signal(index, Key::idn_homograph_high, 850, l, evidence));
                return;
            }
        }
    }
    if depth == Depth::Strict {
        return;
    }
    let candidates = std::iter::once(joined.as_ref()).chain(tokens.filter(|_| label.contains('-')));
    // The nearest brand by edits, raw or after folding; then a brand inside the label,
    // which may be the stronger finding (`paypalsecure` is 2 edits from nothing useful).
    let mut near = usize::MAX;
    for candidate in candidates.clone() {
        if let Some((l, distance)) = nearest_label(index, candidate, false) {
            let (name, domain) = brand_of(index, l);
            let brand_label = &index.labels[l].text;
            let class = typo_class(candidate, brand_label);
            let evidence = format!(
                "{reg}: '{candidate}' is {distance} edit(s) from {name}'s '{brand_label}' ({class}); {name}'s domain is {domain}"
            );
            out.push(signal(
                index,
                Key::idn_homograph_medium,
                fuzzy_confidence(brand_label.len(), distance),
                l,
                evidence,
            ));
            near = distance;
            break;
        }
    }
    // Folding confusables first can bring a label nearer (`bankofm0ntrcal`: 2 edits raw,
    // 1 after folding); only a nearer match is reported, so the raw one stays when equal.
    for candidate in candidates.filter(|_| near > 1) {
        // The whole label's folded form is already at hand; a label that folds to itself
        // was compared as written.
        let canon = if candidate.len() == joined.len() { folded.clone() } else { canonical(candidate) };
        if canon == candidate || !has_confusables(candidate) {
            continue;
        }
        if let Some((l, distance)) = nearest_label(index, &canon, true).filter(|&(_, d)| d < near) {
            let (name, domain) = brand_of(index, l);
            let brand_label = &index.labels[l].text;
            let evidence = format!(
                "{reg}: '{candidate}' reads as '{canon}' with confusable characters folded, {distance} edit(s) from {name}'s '{brand_label}' ('{}'); {name}'s domain is {domain}",
                index.labels[l].canon
            );
            out.push(signal(
                index,
                Key::idn_homograph_medium,
                fuzzy_confidence(brand_label.len(), distance),
                l,
                evidence,
            ));
            break;
        }
    }
    if let Some(ac) = &index.contained {
        if let Some(m) = ac.find(joined.as_ref()) {
            let l = index.contained_ids[m.pattern().as_usize()];
            let (name, domain) = brand_of(index, l);
            let text = &index.labels[l].text;
            let rest = format!("{}{}", &joined[..m.start()], &joined[m.end()..]);
            let (confidence, how) = if only_lure_words(&joined[..m.start()]) && only_lure_words(&joined[m.end()..]) {
                (850, format!(" with a lure word ('{rest}')"))
            } else {
                (650, String::new())
            };
            let evidence = format!("{reg} contains {name}'s name ('{text}'){how}; {name}'s domain is {domain}");
            out.push(signal(index, Key::idn_homograph_medium, confidence, l, evidence));
        }
    }
}

fn check_subdomain(target: &Target, index: &BrandIndex, out: &mut Vec<Signal>) {
    let sub = target.subdomain();
    if sub.is_empty() {
        return;
    }
    let reg = target.registrable();
    // Tokens split on '.' and '-', each with whether a '.' joins it to the next: a brand
    // domain hides as "paypal.com.evil.example" or "accounts.google.com-signin.evil.top".
    let tokens: Vec<&str> = sub.split(['.', '-']).collect();
    let mut dotted = Vec::with_capacity(tokens.len());
    let mut offset = 0;
    for token in &tokens {
        offset += token.len();
        dotted.push(sub.as_bytes().get(offset) == Some(&b'.'));
        offset += 1;
    }
    let mut joined = String::new();
    for start in 0..tokens.len() {
        joined.clear();
        joined.push_str(tokens[start]);
        for end in start + 1..tokens.len().min(start + 3) {
            if !dotted[end - 1] {
                break;
            }
            joined.push('.');
            joined.push_str(tokens[end]);
            if let Some(Some(brand)) = index.owner(&joined) {
                let name = &index.names[brand];
                let evidence =
                    format!("{name}'s domain {joined} is used as a subdomain of {reg}, which {name} does not own");
                out.push(Signal::new(Key::idn_homograph_high, 900, evidence).with_brand(name));
                return;
            }
        }
    }
    let labels: Vec<&str> = sub.split('.').collect();
    for token in labels.iter().flat_map(|l| l.split('-')).filter(|t| t.len() >= 4) {
        let found = index.exact(token).first().or_else(|| index.by_canon(&canonical(token)).first());
        if let Some(&l) = found {
            let (name, domain) = brand_of(index, l);
            let evidence =
                format!("{name}'s name appears in the subdomain {sub} of {reg}; {name}'s domain is {domain}");
            out.push(signal(index, Key::idn_homograph_medium, 850, l, evidence));
            return;
        }
    }
}

/// Where the page sends visitors (form actions, redirect targets, links): a host that is a
/// lookalike of a brand is reported as such, at 80% of the confidence it would have as the
/// page's own host. At most `MAX_OUTBOUND` distinct hosts are examined.
pub(crate) fn check_outbound<'a>(
    page: &Target,
    hosts: impl Iterator<Item = &'a str>,
    index: &BrandIndex,
    out: &mut Vec<Signal>,
) {
    const MAX_OUTBOUND: usize = 32;
    let mut seen: Vec<&str> = Vec::new();
    for host in hosts {
        if seen.len() >= MAX_OUTBOUND {
            break;
        }
        if seen.contains(&host) || page.same_site(host) {
            continue;
        }
        seen.push(host);
        let Ok(target) = Target::parse(&format!("https://{host}/")) else { continue };
        let mut found = Vec::new();
        check(&target, index, &mut found);
        if let Some(mut signal) = found.into_iter().next() {
            signal.confidence = signal.confidence * 4 / 5;
            signal.evidence = format!("the page sends visitors to {host}: {}", signal.evidence);
            out.push(signal);
            return;
        }
    }
}

/// The spec's elevation: a medium lookalike of brand B becomes high when the page also
/// shows B's assets (title or site name, favicon, hotlinked B assets) on this foreign host.
pub(crate) fn elevate(signals: &mut [Signal]) {
    let shown: Vec<String> = signals
        .iter()
        .filter(|s| matches!(s.key, Key::brand_title_mismatch | Key::brand_asset_mismatch | Key::cross_domain_hotlink))
        .filter_map(|s| s.brand.clone())
        .collect();
    for signal in signals.iter_mut() {
        if signal.key == Key::idn_homograph_medium && signal.brand.as_ref().is_some_and(|b| shown.contains(b)) {
            signal.key = Key::idn_homograph_high;
            signal.evidence.push_str("; elevated: the page also shows this brand's name or assets");
        }
    }
}

/// Whether a label holds the look-alikes attackers combine with edits: digits, `|`, `!`,
/// `q`, or the pairs `rn`, `vv`, `cl`, `lc`. Only such labels are compared again after
/// folding (an ordinary word would only cost a second search).
fn has_confusables(label: &str) -> bool {
    // A digit read as a letter sits before a letter (`g00gie`, `1nstagram`); trailing
    // numbers (`shop74`) are just numbers. One pass over the bytes.
    let mut prev = 0u8;
    for &b in label.as_bytes() {
        let pair = matches!((prev, b), (b'r', b'n') | (b'v', b'v') | (b'c', b'l') | (b'l', b'c'));
        if pair || matches!(b, b'|' | b'!' | b'q') || (prev.is_ascii_digit() && b.is_ascii_lowercase()) {
            return true;
        }
        prev = b;
    }
    false
}

/// Largest edit distance tolerated for a brand label of `len` characters (spec: ≤ 1 for
/// brands of up to 6 characters, ≤ 2 for longer ones; none below 4, too noisy).
fn max_distance(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=6 => 1,
        _ => 2,
    }
}

fn fuzzy_confidence(brand_len: usize, distance: usize) -> u16 {
    match (brand_len, distance) {
        (0..=4, _) => 500,
        (_, 1) => 850,
        (0..=8, _) => 600,
        _ => 800,
    }
}

/// The brand label nearest to `candidate` within the tolerated distance (> 0), compared
/// with the labels' text, or with their canonical forms when `canon`.
fn nearest_label(index: &BrandIndex, candidate: &str, canon: bool) -> Option<(usize, usize)> {
    let bytes = candidate.as_bytes();
    let n = bytes.len();
    if !(4..=63).contains(&n) {
        return None;
    }
    let mask = char_mask(bytes);
    let mut best: Option<(usize, usize)> = None;
    for len in n.saturating_sub(2)..=n + 2 {
        let k = max_distance(len);
        if k == 0 || len.abs_diff(n) > k {
            continue;
        }
        for &(label_mask, l) in index.of_len(len, canon) {
            if (label_mask ^ mask).count_ones() as usize > 2 * k {
                continue;
            }
            let label = if canon { &index.labels[l].canon } else { &index.labels[l].text };
            if let Some(d) = osa_distance_within(bytes, label.as_bytes(), k) {
                if d > 0 && best.is_none_or(|(_, bd)| d < bd) {
                    best = Some((l, d));
                }
            }
        }
    }
    best
}

/// Optimal-string-alignment distance (edits plus adjacent transpositions) when it is at
/// most `k`; `None` otherwise. Strings are at most 63 bytes. Only the diagonal band
/// `|i - j| <= k` is computed; cells outside it hold `k + 1`, which stands for "too far".
pub(crate) fn osa_distance_within(a: &[u8], b: &[u8], k: usize) -> Option<usize> {
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > k || n > 63 || m > 63 || k > 61 {
        return None;
    }
    let far = (k + 1) as u8;
    let mut rows = [[far; 65]; 3];
    for (j, cell) in rows[0].iter_mut().enumerate().take(m.min(k) + 1) {
        *cell = j as u8;
    }
    for i in 1..=n {
        let (cur, prev, prev2) = (i % 3, (i + 2) % 3, (i + 1) % 3);
        let lo = i.saturating_sub(k).max(1);
        let hi = (i + k).min(m);
        rows[cur][0] = if i <= k { i as u8 } else { far };
        rows[cur][lo - 1] = if lo == 1 { rows[cur][0] } else { far };
        rows[cur][hi + 1] = far;
        let mut row_min = rows[cur][0];
        for j in lo..=hi {
            let cost = u8::from(a[i - 1] != b[j - 1]);
            let mut v = (rows[prev][j] + 1).min(rows[cur][j - 1] + 1).min(rows[prev][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(rows[prev2][j - 2] + 1);
            }
            let v = v.min(far);
            rows[cur][j] = v;
            row_min = row_min.min(v);
        }
        if usize::from(row_min) > k {
            return None;
        }
    }
    let d = usize::from(rows[n % 3][m]);
    (d <= k).then_some(d)
}

/// Names the typo class of a one-edit difference between an attacker's label and a brand's.
pub(crate) fn typo_class(candidate: &str, brand: &str) -> String {
    let (a, b) = (candidate.as_bytes(), brand.as_bytes());
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let i = common;
    if a.len() == b.len() + 1 {
        let inserted = a[i] as char;
        let repeated = (i > 0 && a[i - 1] == a[i]) || a.get(i + 1) == Some(&a[i]);
        if a[i + 1..] == b[i..] {
            return if repeated {
                format!("repetition: '{inserted}' doubled")
            } else {
                format!("insertion: '{inserted}' added")
            };
        }
    } else if a.len() + 1 == b.len() {
        if a[i..] == b[i + 1..] {
            return format!("omission: '{}' dropped", b[i] as char);
        }
    } else if a.len() == b.len() && i < a.len() {
        if i + 1 < a.len() && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 2..] == b[i + 2..] {
            return format!(
                "transposition: '{}{}' for '{}{}'",
                a[i] as char,
                a[i + 1] as char,
                b[i] as char,
                b[i + 1] as char
            );
        }
        if a[i + 1..] == b[i + 1..] {
            let (x, y) = (a[i], b[i]);
            let vowel = |c: u8| b"aeiouy".contains(&c);
            let kind = if vowel(x) && vowel(y) {
                "vowel swap"
            } else if (x ^ y).count_ones() == 1 {
                "bit flip"
            } else {
                "replacement"
            };
            return format!("{kind}: '{}' for '{}'", x as char, y as char);
        }
    }
    "several edits".to_owned()
}

/// "'1' for 'l'" for each position where two equal-length labels differ.
fn substitutions(candidate: &str, brand: &str) -> String {
    if candidate.len() != brand.len() {
        return format!("{candidate} for {brand}");
    }
    let parts: Vec<String> =
        candidate.chars().zip(brand.chars()).filter(|(x, y)| x != y).map(|(x, y)| format!("'{x}' for '{y}'")).collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rules;

    fn findings(url: &str) -> Vec<Signal> {
        let index = BrandIndex::new(&Rules::builtin());
        let mut out = Vec::new();
        check(&Target::parse(url).unwrap(), &index, &mut out);
        out
    }

    fn key_of(url: &str) -> Option<Key> {
        findings(url).first().map(|s| s.key)
    }

    #[test]
    fn cyrillic_homograph_of_paypal_is_high_and_names_the_character() {
        let f = findings("https://xn--pypal-4ve.com/signin");
        assert_eq!(f[0].key, Key::idn_homograph_high);
        assert_eq!(f[0].brand.as_deref(), Some("PayPal"));
        assert!(f[0].evidence.contains("U+0430"), "{}", f[0].evidence);
    }

    #[test]
    fn whole_script_cyrillic_apple_is_high() {
        assert_eq!(key_of("https://аррӏе.com/"), Some(Key::idn_homograph_high));
    }

    #[test]
    fn digit_substitution_is_high() {
        let f = findings("https://paypa1.com/");
        assert_eq!(f[0].key, Key::idn_homograph_high);
        assert!(f[0].evidence.contains("'1' for 'l'"), "{}", f[0].evidence);
        assert_eq!(key_of("https://rnicrosoft.com/"), Some(Key::idn_homograph_high));
    }

    #[test]
    fn each_typo_class_is_detected_and_named() {
        for (url, class) in [
            ("https://paypall.com", "repetition"),
            ("https://paypals.com", "insertion"),
            ("https://paypl.com", "omission"),
            ("https://paypla.com", "transposition"),
            ("https://paypel.com", "vowel swap"),
            ("https://paypak.com", "replacement"),
            ("https://paypcl.com", "bit flip"),
        ] {
            let f = findings(url);
            assert_eq!(f.len(), 1, "{url}: {f:?}");
            assert_eq!(f[0].key, Key::idn_homograph_medium, "{url}");
            assert!(f[0].evidence.contains(class), "{url}: {}", f[0].evidence);
        }
    }

    #[test]
    fn hyphenation_and_appended_words_are_flagged() {
        assert_eq!(key_of("https://pay-pal.com/"), Some(Key::idn_homograph_high));
        assert_eq!(key_of("https://paypal-login.com/"), Some(Key::idn_homograph_medium));
        assert_eq!(key_of("https://secure-paypal-account.net/"), Some(Key::idn_homograph_medium));
        assert_eq!(key_of("https://paypalsecurelogin.com/"), Some(Key::idn_homograph_medium));
    }

    #[test]
    fn confusable_brand_plus_words_is_high() {
        let f = findings("https://paypa1-resolution.com/");
        assert_eq!(f[0].key, Key::idn_homograph_high, "{f:?}");
        assert!(f[0].evidence.contains("'1' for 'l'"), "{}", f[0].evidence);
    }

    #[test]
    fn brand_domain_as_subdomain_is_high() {
        let f = findings("https://paypal.com.evil.example/");
        assert_eq!(f[0].key, Key::idn_homograph_high);
        assert!(f[0].evidence.contains("paypal.com is used as a subdomain"), "{}", f[0].evidence);
    }

    #[test]
    fn brand_domain_hidden_before_a_hyphen_is_high() {
        let f = findings("https://accounts.google.com-signin.verify-sess.top/");
        assert_eq!(f[0].key, Key::idn_homograph_high, "{f:?}");
        assert!(f[0].evidence.contains("google.com"), "{}", f[0].evidence);
    }

    #[test]
    fn brand_in_another_tld_is_high() {
        assert_eq!(key_of("https://paypal.xyz/"), Some(Key::idn_homograph_high));
    }

    #[test]
    fn long_brands_tolerate_two_edits_and_short_ones_one() {
        assert_eq!(key_of("https://wellsfrgo.com/"), Some(Key::idn_homograph_medium));
        assert_eq!(key_of("https://welsfrgo.com/"), Some(Key::idn_homograph_medium));
        assert_eq!(key_of("https://pypl.com/"), None);
    }

    #[test]
    fn brands_own_domains_and_subdomains_are_never_flagged() {
        for url in [
            "https://www.paypal.com/signin",
            "https://paypal.me/x",
            "https://login.microsoftonline.com/",
            "https://www.amazon.de/",
            "https://www.google.co.uk/",
            "https://accounts.google.com/",
        ] {
            assert!(findings(url).is_empty(), "{url}: {:?}", findings(url));
        }
    }

    #[test]
    fn unrelated_domains_are_quiet() {
        for url in
            ["https://example.com/", "https://www.bbc.co.uk/news", "https://rust-lang.org/", "https://wikipedia.org/"]
        {
            assert!(findings(url).is_empty(), "{url}: {:?}", findings(url));
        }
    }

    #[test]
    fn medium_lookalike_is_elevated_when_the_page_shows_the_same_brand() {
        let mut signals = findings("https://paypal-login.com/");
        signals.push(Signal::new(Key::brand_title_mismatch, 800, "title").with_brand("PayPal"));
        elevate(&mut signals);
        assert_eq!(signals[0].key, Key::idn_homograph_high);
        let mut other = findings("https://paypal-login.com/");
        other.push(Signal::new(Key::brand_title_mismatch, 800, "title").with_brand("Chase"));
        elevate(&mut other);
        assert_eq!(other[0].key, Key::idn_homograph_medium);
    }

    #[test]
    fn diacritics_and_letters_with_hooks_fold_to_the_brand() {
        for url in ["https://amazoṉ.com/", "https://paypál.com/", "https://łöwes.com/", "https://ƴāndex.com/"] {
            let f = findings(url);
            assert_eq!(f.len(), 1, "{url}: {f:?}");
            assert_eq!(f[0].key, Key::idn_homograph_high, "{url}: {f:?}");
            assert!(f[0].evidence.contains("looks like") || f[0].evidence.contains("homograph"), "{}", f[0].evidence);
        }
    }

    #[test]
    fn several_confusables_with_an_edit_are_found_and_named() {
        // g00gie: two digit swaps and an i for l; arnericarexpress: rn for m and an edit.
        for (url, brand) in [("https://g00gie.com/", "Google"), ("https://arnericarexpress.com/", "American Express")] {
            let f = findings(url);
            assert_eq!(f.len(), 1, "{url}: {f:?}");
            assert_eq!(f[0].brand.as_deref(), Some(brand), "{url}");
            assert!(f[0].confidence >= 800, "{url}: {f:?}");
        }
        let f = findings("https://rnyetherwallet.com/");
        assert_eq!(f[0].brand.as_deref(), Some("MyEtherWallet"), "{f:?}");
        assert!(f[0].evidence.contains("confusable"), "{}", f[0].evidence);
    }

    #[test]
    fn a_brand_split_across_labels_is_high_and_says_so() {
        for url in ["https://am.azon.com/", "https://pay.pal-secure.com/"] {
            let f = findings(url);
            assert_eq!(f.len(), 1, "{url}: {f:?}");
            assert!(f[0].evidence.contains("splits a brand across labels"), "{url}: {}", f[0].evidence);
            assert!(f[0].confidence >= 850, "{url}: {f:?}");
        }
        // Ordinary subdomains of ordinary domains do not join into anything.
        assert!(findings("https://my.bank-of-nowhere.example/").is_empty());
    }

    #[test]
    fn a_brand_with_a_lure_word_warns_and_a_longer_word_does_not() {
        let f = findings("https://paypalsecurelogin.com/");
        assert!(f[0].confidence >= 850 && f[0].evidence.contains("lure word"), "{f:?}");
        let f = findings("https://altruist.com/");
        assert!(f.iter().all(|s| s.confidence < 800), "{f:?}");
    }

    #[test]
    fn one_host_gives_one_lookalike_finding() {
        // Hyphen split, brand in the subdomain and an edit all apply; only the strongest is kept.
        let f = findings("https://paypal.pay-pal.com/");
        assert_eq!(f.len(), 1, "{f:?}");
    }

    #[test]
    fn popular_domains_and_country_domains_of_a_brand_are_never_flagged() {
        let mut rules = Rules::builtin();
        rules.allowlists.popular_domains = vec!["paypak.com".into()];
        let index = BrandIndex::new(&rules);
        let mut out = Vec::new();
        check(&Target::parse("https://www.paypak.com/").unwrap(), &index, &mut out);
        assert!(out.is_empty(), "{out:?}");
        assert!(findings("https://google.co.ke/").is_empty());
        assert!(!findings("https://google.xyz/").is_empty());
    }

    #[test]
    fn banded_osa_agrees_with_a_full_matrix() {
        fn full(a: &[u8], b: &[u8]) -> usize {
            let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
            for (i, row) in d.iter_mut().enumerate() {
                row[0] = i;
            }
            for (j, cell) in d[0].iter_mut().enumerate() {
                *cell = j;
            }
            for i in 1..=a.len() {
                for j in 1..=b.len() {
                    let cost = usize::from(a[i - 1] != b[j - 1]);
                    d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
                    if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                        d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                    }
                }
            }
            d[a.len()][b.len()]
        }
        let words = [
            "paypal",
            "paypla",
            "pyapal",
            "apypal",
            "paypal1",
            "ppaypal",
            "aypal",
            "paypl",
            "wellsfargo",
            "welsfargo",
            "wellsfrago",
            "abcdef",
            "",
            "a",
            "ab",
            "ba",
            "xyzpaypal",
            "microsoft",
            "micorsoft",
            "rnicrosoft",
        ];
        for a in words {
            for b in words {
                for k in 0..=3 {
                    let expected = full(a.as_bytes(), b.as_bytes());
                    let got = osa_distance_within(a.as_bytes(), b.as_bytes(), k);
                    assert_eq!(got, (expected <= k).then_some(expected), "{a} vs {b} within {k}");
                }
            }
        }
    }

    #[test]
    fn osa_distance_counts_transpositions_once() {
        assert_eq!(osa_distance_within(b"paypla", b"paypal", 2), Some(1));
        assert_eq!(osa_distance_within(b"paypal", b"paypal", 1), Some(0));
        assert_eq!(osa_distance_within(b"abcdef", b"uvwxyz", 2), None);
        assert_eq!(osa_distance_within(b"kitten", b"sitting", 3), Some(3));
    }
}
