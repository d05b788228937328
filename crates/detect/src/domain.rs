//! URL and host analysis: parse once, derive the registrable domain (eTLD+1 from the
//! Public Suffix List) and its label, decode punycode only when present.

use std::net::IpAddr;

use url::{Host, Url};

use crate::error::InputError;

/// A parsed page URL with the host facts every signal needs.
#[derive(Debug, Clone)]
pub struct Target {
    /// The parsed URL (the `url` crate lower-cases and punycodes the host).
    pub url: Url,
    /// The host's IP address, when the host is one.
    pub ip: Option<IpAddr>,
    /// Byte offset in `host()` where the registrable domain starts.
    reg_start: usize,
    /// Byte length of the registrable domain's public suffix (with its leading dot).
    suffix_len: usize,
}

impl Target {
    /// Parses an http(s) URL.
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let url = Url::parse(text.trim()).map_err(|e| InputError::InvalidUrl(format!("{e}: {}", preview(text))))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(InputError::UnsupportedUrl(format!(
                "scheme {:?} (only http and https pages are scanned)",
                url.scheme()
            )));
        }
        let (ip, reg_start, suffix_len) = match url.host() {
            None => return Err(InputError::UnsupportedUrl("URL has no host".into())),
            Some(Host::Ipv4(v4)) => (Some(IpAddr::V4(v4)), 0, 0),
            Some(Host::Ipv6(v6)) => (Some(IpAddr::V6(v6)), 0, 0),
            Some(Host::Domain(host)) => {
                let host = host.trim_end_matches('.');
                let (start, suffix_len) = registrable_span(host);
                (None, start, suffix_len)
            }
        };
        Ok(Target { url, ip, reg_start, suffix_len })
    }

    /// The host, lower case, punycode, without a trailing dot (IPv6 in brackets).
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default().trim_end_matches('.')
    }

    /// The registrable domain (eTLD+1); the whole host for IPs and bare suffixes.
    pub fn registrable(&self) -> &str {
        &self.host()[self.reg_start..]
    }

    /// The registrable domain without its public suffix: `paypal` for `www.paypal.co.uk`.
    pub(crate) fn label(&self) -> &str {
        let reg = self.registrable();
        &reg[..reg.len() - self.suffix_len]
    }

    /// The part of the host before the registrable domain, without the joining dot.
    pub(crate) fn subdomain(&self) -> &str {
        self.host()[..self.reg_start].trim_end_matches('.')
    }

    /// The public suffix of the registrable domain, without a leading dot.
    pub(crate) fn suffix(&self) -> &str {
        let reg = self.registrable();
        reg[reg.len() - self.suffix_len..].trim_start_matches('.')
    }

    /// Whether `other` (a host) shares this page's registrable domain.
    pub(crate) fn same_site(&self, other_host: &str) -> bool {
        registrable_of(other_host) == self.registrable()
    }
}

/// The registrable domain of a host: eTLD+1, or the host itself when it has none.
pub(crate) fn registrable_of(host: &str) -> &str {
    let host = host.trim_end_matches('.');
    let (start, _) = registrable_span(host);
    &host[start..]
}

/// (start of registrable domain, length of ".suffix") within `host`.
fn registrable_span(host: &str) -> (usize, usize) {
    match psl::domain_str(host) {
        Some(domain) if domain.len() <= host.len() => {
            let start = host.len() - domain.len();
            let suffix = psl::suffix_str(domain).map_or(0, |s| s.len());
            let suffix_len = if suffix < domain.len() { suffix + 1 } else { 0 };
            (start, suffix_len)
        }
        _ => (0, 0),
    }
}

/// Whether `host` is `domain` or a subdomain of it.
pub(crate) fn host_within(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

/// Host of a resource URL resolved against the page, lower case, when it is http(s).
pub(crate) fn resolve_host(base: &Url, reference: &str) -> Option<String> {
    let reference = reference.trim();
    if is_path_relative(reference) {
        // No scheme and no authority: the page's own host, without parsing anything.
        return base.host_str().map(|h| h.trim_end_matches('.').to_owned());
    }
    let resolved = base.join(reference).ok()?;
    if !matches!(resolved.scheme(), "http" | "https") {
        return None;
    }
    resolved.host_str().map(|h| h.trim_end_matches('.').to_owned())
}

/// Whether a reference can only resolve to the base's host: it has no authority (`//`)
/// and its first segment has no ':' (so it carries no scheme).
fn is_path_relative(reference: &str) -> bool {
    let b = reference.as_bytes();
    if b.is_empty() || b.starts_with(b"//") || b.starts_with(b"\\\\") || b.starts_with(b"/\\") || b.starts_with(b"\\/")
    {
        return false;
    }
    let first_segment_end = b.iter().position(|&c| matches!(c, b'/' | b'?' | b'#' | b'\\')).unwrap_or(b.len());
    !b[..first_segment_end].contains(&b':') && !b.iter().any(|c| c.is_ascii_control() || *c == b' ')
}

/// Decodes a punycode label for display; returns the input when it is not punycode.
pub(crate) fn to_unicode(label: &str) -> String {
    if !label.contains("xn--") {
        return label.to_owned();
    }
    let (text, result) = idna::domain_to_unicode(label);
    if result.is_ok() {
        text
    } else {
        label.to_owned()
    }
}

fn preview(text: &str) -> String {
    let cut = crate::input::truncate_str(text, 80).0;
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferretwatch_types::Coded;

    #[test]
    fn registrable_domain_uses_the_public_suffix_list() {
        let t = Target::parse("https://login.secure.amazon.co.uk/ap/signin").unwrap();
        assert_eq!(t.host(), "login.secure.amazon.co.uk");
        assert_eq!(t.registrable(), "amazon.co.uk");
        assert_eq!(t.label(), "amazon");
        assert_eq!(t.subdomain(), "login.secure");
        assert_eq!(t.suffix(), "co.uk");
    }

    #[test]
    fn unicode_hosts_become_punycode() {
        let t = Target::parse("https://pаypal.com/").unwrap();
        assert_eq!(t.registrable(), "xn--pypal-4ve.com");
        assert_eq!(to_unicode(t.label()), "pаypal");
    }

    #[test]
    fn ip_hosts_have_no_label_beyond_themselves() {
        let t = Target::parse("http://185.234.10.7/login").unwrap();
        assert!(t.ip.is_some());
        assert_eq!(t.registrable(), "185.234.10.7");
    }

    #[test]
    fn non_http_urls_are_refused() {
        assert_eq!(Target::parse("javascript:alert(1)").unwrap_err().code(), "unsupported_url");
        assert_eq!(Target::parse("not a url").unwrap_err().code(), "invalid_url");
    }

    #[test]
    fn trailing_dot_is_ignored() {
        let t = Target::parse("https://www.paypal.com./x").unwrap();
        assert_eq!(t.registrable(), "paypal.com");
    }

    #[test]
    fn relative_references_resolve_to_the_page_host_and_others_are_parsed() {
        let base = Url::parse("https://www.example.com/a/b").unwrap();
        assert_eq!(resolve_host(&base, "/img/1.jpg").as_deref(), Some("www.example.com"));
        assert_eq!(resolve_host(&base, "img/1.jpg?x=1:2").as_deref(), Some("www.example.com"));
        assert_eq!(resolve_host(&base, "//cdn.example.net/x").as_deref(), Some("cdn.example.net"));
        assert_eq!(resolve_host(&base, "\\\\evil.example\\x").as_deref(), Some("evil.example"));
        assert_eq!(resolve_host(&base, "https://evil.example/").as_deref(), Some("evil.example"));
        assert_eq!(resolve_host(&base, "javascript:alert(1)"), None);
        assert_eq!(resolve_host(&base, "HTTPS://Evil.Example/").as_deref(), Some("evil.example"));
    }

    #[test]
    fn host_within_needs_a_label_boundary() {
        assert!(host_within("a.paypal.com", "paypal.com"));
        assert!(host_within("paypal.com", "paypal.com"));
        assert!(!host_within("evilpaypal.com", "paypal.com"));
    }
}
