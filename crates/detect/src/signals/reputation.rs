//! Community reputation: host, URL and IP lookups against the filters a pack ships
//! ([`crate::filter`]). A listed host matches itself and its subdomains; a listed
//! subdomain never marks its parent (one phishing page on a shared host must not flag the
//! service).

use crate::domain::Target;
use crate::filter::{FilterError, FilterFile, IndicatorKind, IndicatorSet};
use crate::normalize::url_key;
use crate::rules::Key;
use crate::verdict::Signal;

/// Reputation data: hosts (and registrable domains), normalised URLs, IPs.
#[derive(Clone, Debug)]
pub struct Reputation {
    /// Listed hosts and registrable domains.
    pub hosts: IndicatorSet,
    /// Listed URLs, as [`url_key`] writes them (with and without query).
    pub urls: IndicatorSet,
    /// Listed IP addresses, in their canonical text form.
    pub ips: IndicatorSet,
    /// The confidence of the feeds behind the filters, per mille: the lowest of the feeds a
    /// pack merged (a hit cannot tell which feed listed it, so it is taken at the weakest).
    pub feed_confidence: u16,
    /// Domains a feed lists wrongly (the rules' `reputation_exempt`): they and their
    /// subdomains never hit.
    pub exempt: Vec<String>,
    /// The blocklist the publishers keep themselves (the admin console's lists), looked up
    /// before the feeds and at full confidence: each entry was vetted by two people.
    pub curated: Option<Box<Reputation>>,
}

impl Default for Reputation {
    fn default() -> Self {
        Reputation {
            hosts: IndicatorSet::default(),
            urls: IndicatorSet::default(),
            ips: IndicatorSet::default(),
            feed_confidence: 1000,
            exempt: Vec::new(),
            curated: None,
        }
    }
}

impl Reputation {
    /// Assembles reputation data from decoded filter files, at most one per kind; a kind
    /// without a file lists nothing.
    pub fn from_filters(files: impl IntoIterator<Item = FilterFile>) -> Result<Self, FilterError> {
        let mut reputation = Reputation::default();
        let mut seen = [false; 3];
        for file in files {
            let slot = file.kind as usize - 1;
            if std::mem::replace(&mut seen[slot], true) {
                return Err(FilterError::DuplicateKind(file.kind));
            }
            match file.kind {
                IndicatorKind::Host => reputation.hosts = file.set,
                IndicatorKind::Url => reputation.urls = file.set,
                IndicatorKind::Ip => reputation.ips = file.set,
            }
        }
        Ok(reputation)
    }

    /// Adds the publishers' own blocklist ([`Reputation::curated`]), at most one file per kind.
    pub fn with_curated(mut self, files: impl IntoIterator<Item = FilterFile>) -> Result<Self, FilterError> {
        self.curated = Some(Box::new(Reputation::from_filters(files)?));
        Ok(self)
    }
}

/// Why a page is listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// How sure the hit is, per mille: certain in an exact set, nearly so in a Bloom filter.
    pub confidence: u16,
    /// What is listed (`host evil.example is listed`).
    pub evidence: String,
}

impl Reputation {
    /// Looks a page up: its IP address, then its host and each parent down to the
    /// registrable domain, then its URL key without and with the query.
    pub fn lookup(&self, target: &Target) -> Option<Listing> {
        if let Some(listing) = self.curated.as_ref().and_then(|curated| curated.lookup(target)) {
            return Some(Listing { evidence: format!("{} by the publishers", listing.evidence), ..listing });
        }
        let hit = |set: &IndicatorSet, evidence: String| {
            Some(Listing { confidence: confidence(set).min(self.feed_confidence), evidence })
        };
        if let Some(ip) = target.ip {
            let text = ip.to_string();
            if self.ips.contains(&text) {
                return hit(&self.ips, format!("IP {text} is listed"));
            }
        }
        let host = target.host();
        let registrable = target.registrable();
        let mut candidate = host;
        loop {
            if self.hosts.contains(candidate) {
                let evidence = if candidate == host {
                    format!("host {host} is listed")
                } else {
                    format!("host {host} is under listed domain {candidate}")
                };
                return hit(&self.hosts, evidence);
            }
            if candidate.len() <= registrable.len() {
                break;
            }
            match candidate.split_once('.') {
                Some((_, parent)) => candidate = parent,
                None => break,
            }
        }
        // One key with the query; the key without it is its prefix (feeds list both forms).
        let key = url_key(&target.url, true);
        let cut = key.find('?').unwrap_or(key.len());
        let keys = [&key[..cut], key.as_str()];
        for key in &keys[..if cut < key.len() { 2 } else { 1 }] {
            if self.urls.contains(key) {
                return hit(&self.urls, format!("URL {key} is listed"));
            }
        }
        None
    }
}

impl Reputation {
    /// The exempt domain covering `host`, when one does.
    pub fn exempted(&self, host: &str) -> Option<&str> {
        self.exempt.iter().map(String::as_str).find(|domain| crate::domain::host_within(host, domain))
    }
}

/// Pushes the reputation signal when the page is listed and not exempt.
pub(crate) fn check(target: &Target, reputation: &Reputation, out: &mut Vec<Signal>) {
    if reputation.exempted(target.host()).is_some() {
        return;
    }
    if let Some(listing) = reputation.lookup(target) {
        out.push(Signal::new(Key::reputation_hit, listing.confidence, listing.evidence));
    }
}

/// A page that sends its visitors on by itself (meta refresh, script redirect) to a listed
/// URL or host is as bad as the listed page: the listing counts at its own confidence.
pub(crate) fn check_redirects<'a>(
    page: &Target,
    targets: impl Iterator<Item = &'a str>,
    reputation: &Reputation,
    out: &mut Vec<Signal>,
) {
    if out.iter().any(|s| s.key == Key::reputation_hit) {
        return;
    }
    for url in targets {
        let Ok(target) = Target::parse(url) else { continue };
        if target.host() == page.host() || reputation.exempted(target.host()).is_some() {
            continue;
        }
        if let Some(listing) = reputation.lookup(&target) {
            let evidence = format!("the page redirects to {url}: {}", listing.evidence);
            out.push(Signal::new(Key::reputation_hit, listing.confidence, evidence));
            return;
        }
    }
}

/// How sure a hit is: certain in an exact set, nearly so in a Bloom filter.
fn confidence(set: &IndicatorSet) -> u16 {
    match set {
        IndicatorSet::Exact(_) => 1000,
        IndicatorSet::Bloom(_) => 950,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloom::BloomFilter;
    use ferretwatch_types::Coded;

    fn reputation() -> Reputation {
        let set = |items: &[&str]| IndicatorSet::Exact(items.iter().map(|s| s.to_string()).collect());
        let mut bloom = BloomFilter::with_rate(10, 1e-6);
        bloom.insert(b"203.0.113.9");
        Reputation {
            hosts: set(&["evil.example", "phish.blogspot.com", "kit.sites.example.org"]),
            urls: set(&["forms.example.net/f/abc", "docs.example.net/view?id=7"]),
            ips: IndicatorSet::Bloom(bloom),
            ..Reputation::default()
        }
    }

    #[test]
    fn feed_confidence_bounds_the_hit_and_exempt_domains_never_hit() {
        let mut reputation = reputation();
        reputation.feed_confidence = 800;
        let mut out = Vec::new();
        check(&Target::parse("https://evil.example/").unwrap(), &reputation, &mut out);
        assert_eq!(out[0].confidence, 800);
        reputation.exempt = vec!["evil.example".into()];
        assert!(!hit_in(&reputation, "https://login.evil.example/"));
        assert_eq!(reputation.exempted("login.evil.example"), Some("evil.example"));
        assert!(hit_in(&reputation, "https://phish.blogspot.com/"));
    }

    fn hit_in(reputation: &Reputation, url: &str) -> bool {
        let mut out = Vec::new();
        check(&Target::parse(url).unwrap(), reputation, &mut out);
        !out.is_empty()
    }

    fn hit(url: &str) -> bool {
        hit_in(&reputation(), url)
    }

    #[test]
    fn listed_host_matches_itself_and_subdomains() {
        assert!(hit("https://evil.example/"));
        assert!(hit("https://login.evil.example/x"));
        assert!(!hit("https://notevil.example/"));
    }

    #[test]
    fn listed_subdomain_never_marks_its_parent() {
        assert!(hit("https://phish.blogspot.com/post"));
        assert!(!hit("https://blogspot.com/"));
        assert!(!hit("https://other.blogspot.com/"));
        assert!(hit("https://kit.sites.example.org/"));
        assert!(!hit("https://sites.example.org/"));
        assert!(!hit("https://example.org/"));
    }

    #[test]
    fn urls_match_after_normalisation_and_ips_through_bloom() {
        assert!(hit("http://forms.example.net//f/abc?utm=1"));
        assert!(!hit("https://forms.example.net/f/other"));
        assert!(hit("https://docs.example.net/view?id=7"));
        assert!(hit("http://203.0.113.9/login"));
        assert!(!hit("http://203.0.113.10/login"));
    }

    fn round_trip(file: &FilterFile) -> FilterFile {
        FilterFile::from_bytes(&file.to_bytes()).unwrap()
    }

    #[test]
    fn engine_lookups_read_decoded_filters() {
        let hosts = FilterFile::build(IndicatorKind::Host, ["phish.blogspot.com", "evil.example"], 1e-6);
        let urls: Vec<String> = (0..300).map(|i| format!("forms.example.net/f/{i}")).collect();
        let urls = FilterFile::build(IndicatorKind::Url, urls.iter().map(String::as_str), 1e-6);
        let files = [round_trip(&hosts), round_trip(&urls)];
        let reputation = Reputation::from_filters(files).unwrap();
        assert!(hit_in(&reputation, "https://a.phish.blogspot.com/"));
        assert!(!hit_in(&reputation, "https://blogspot.com/"));
        assert!(hit_in(&reputation, "https://forms.example.net/f/42?x=1"));
        assert!(!hit_in(&reputation, "https://forms.example.net/f/300"));
        let twice = [round_trip(&hosts), round_trip(&hosts)];
        assert_eq!(Reputation::from_filters(twice).unwrap_err().code(), "filter_duplicate_kind");
    }
}
