//! Community reputation: host, URL and IP lookups against exact sets or Bloom filters
//! shipped in packs. A listed host matches itself and its subdomains; a listed subdomain
//! never marks its parent (one phishing page on a shared host must not flag the service).

use std::collections::HashSet;

use crate::bloom::BloomFilter;
use crate::domain::Target;
use crate::normalize::url_key;
use crate::rules::Key;
use crate::verdict::Signal;

/// A set of indicators of one kind.
#[derive(Clone, Debug)]
pub enum IndicatorSet {
    /// Exact membership.
    Exact(HashSet<String>),
    /// Probabilistic membership.
    Bloom(BloomFilter),
}

impl Default for IndicatorSet {
    fn default() -> Self {
        IndicatorSet::Exact(HashSet::new())
    }
}

impl IndicatorSet {
    /// Whether `item` is (or may be, for a Bloom filter) listed.
    pub fn contains(&self, item: &str) -> bool {
        match self {
            IndicatorSet::Exact(set) => set.contains(item),
            IndicatorSet::Bloom(filter) => filter.contains(item.as_bytes()),
        }
    }

    fn confidence(&self) -> u16 {
        match self {
            IndicatorSet::Exact(_) => 1000,
            IndicatorSet::Bloom(_) => 950,
        }
    }
}

/// Reputation data: hosts (and registrable domains), normalised URLs, IPs.
#[derive(Clone, Debug, Default)]
pub struct Reputation {
    /// Listed hosts and registrable domains.
    pub hosts: IndicatorSet,
    /// Listed URLs, as [`url_key`] writes them (with and without query).
    pub urls: IndicatorSet,
    /// Listed IP addresses, in their canonical text form.
    pub ips: IndicatorSet,
}

/// Looks the page up.
pub fn check(target: &Target, reputation: &Reputation, out: &mut Vec<Signal>) {
    if let Some(ip) = target.ip {
        let text = ip.to_string();
        if reputation.ips.contains(&text) {
            out.push(Signal::new(Key::reputation_hit, reputation.ips.confidence(), format!("IP {text} is listed")));
            return;
        }
    }
    let host = target.host();
    let registrable = target.registrable();
    let mut candidate = host;
    loop {
        if reputation.hosts.contains(candidate) {
            let evidence = if candidate == host {
                format!("host {host} is listed")
            } else {
                format!("host {host} is under listed domain {candidate}")
            };
            out.push(Signal::new(Key::reputation_hit, reputation.hosts.confidence(), evidence));
            return;
        }
        if candidate.len() <= registrable.len() {
            break;
        }
        match candidate.split_once('.') {
            Some((_, parent)) => candidate = parent,
            None => break,
        }
    }
    for keep_query in [false, true] {
        let key = url_key(&target.url, keep_query);
        if reputation.urls.contains(&key) {
            out.push(Signal::new(Key::reputation_hit, reputation.urls.confidence(), format!("URL {key} is listed")));
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reputation() -> Reputation {
        let set = |items: &[&str]| IndicatorSet::Exact(items.iter().map(|s| s.to_string()).collect());
        let mut bloom = BloomFilter::with_rate(10, 1e-6);
        bloom.insert(b"203.0.113.9");
        Reputation {
            hosts: set(&["evil.example", "phish.blogspot.com", "kit.sites.example.org"]),
            urls: set(&["forms.example.net/f/abc", "docs.example.net/view?id=7"]),
            ips: IndicatorSet::Bloom(bloom),
        }
    }

    fn hit(url: &str) -> bool {
        let mut out = Vec::new();
        check(&Target::parse(url).unwrap(), &reputation(), &mut out);
        !out.is_empty()
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
}
