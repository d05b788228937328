//! Indicator normalisation, on the engine's own parser and key function so that packs and
//! engine agree byte for byte: the host goes through `url` (IDNA to ASCII, lower case,
//! IPv4 forms canonicalised) exactly as [`Target::parse`] does for a scanned page, and URLs
//! are keyed by detect's [`url_key`] (default port dropped, repeated slashes collapsed,
//! query kept only when asked, scheme and fragment dropped).
//!
//! Hosts are kept whole, not folded to their eTLD+1: a listed host covers itself and its
//! subdomains, so folding `phish.blogspot.com` to `blogspot.com` would list a whole shared
//! service. The eTLD+1 (from the Public Suffix List, through `psl` as in detect) is used to
//! refuse hosts that are public suffixes themselves, which would match nothing or too much.

use std::net::IpAddr;

use ferretwatch_detect::filter::{url_key, IndicatorKind, Target};

/// Why a text is not an indicator (a feed row is then counted as bad, with this reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IndicatorError(pub String);

impl From<String> for IndicatorError {
    fn from(reason: String) -> Self {
        IndicatorError(reason)
    }
}

/// A normalised indicator.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Indicator {
    /// Its kind.
    pub kind: IndicatorKind,
    /// Its lookup key: a host, a [`url_key`], or a canonical IP address.
    pub value: String,
}

impl Indicator {
    fn new(kind: IndicatorKind, value: impl Into<String>) -> Self {
        Indicator { kind, value: value.into() }
    }
}

/// The longest indicator text accepted, in bytes.
pub const MAX_INDICATOR_TEXT: usize = 2048;

/// An IP address in its canonical text form (`::ffff:a.b.c.d` folds to IPv4).
pub fn ip(text: &str) -> Result<Indicator, IndicatorError> {
    let text = text.trim().trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = text.parse().map_err(|_| format!("not an IP address: {}", preview(text)))?;
    let ip = ip.to_canonical();
    Ok(Indicator::new(IndicatorKind::Ip, ip.to_string()))
}

/// A domain name (or an IP address written as a host).
pub fn host(text: &str) -> Result<Indicator, IndicatorError> {
    let text = text.trim();
    let text = text.strip_prefix("*.").unwrap_or(text).trim_end_matches('.');
    if text.is_empty() || text.len() > 253 {
        return Err(IndicatorError(format!("not a host name: {}", preview(text))));
    }
    if let Ok(indicator) = ip(text) {
        return Ok(indicator);
    }
    if text.contains(['/', '?', '#', '@', ' ', '\t', '\\']) {
        return Err(IndicatorError(format!("not a host name: {}", preview(text))));
    }
    let target =
        Target::parse(&format!("http://{text}/")).map_err(|_| format!("not a host name: {}", preview(text)))?;
    if let Some(address) = target.ip {
        return Ok(Indicator::new(IndicatorKind::Ip, address.to_string()));
    }
    let host = target.host();
    if !host.contains('.') || psl::domain_str(host).is_none() {
        return Err(IndicatorError(format!("{host} is a public suffix, not a registrable domain or host")));
    }
    Ok(Indicator::new(IndicatorKind::Host, host))
}

/// An http(s) URL, keyed as the engine keys a page URL.
pub fn url(text: &str, keep_query: bool) -> Result<Indicator, IndicatorError> {
    let text = text.trim();
    if text.len() > MAX_INDICATOR_TEXT {
        return Err(IndicatorError(format!("URL longer than {MAX_INDICATOR_TEXT} bytes")));
    }
    let target = Target::parse(text).map_err(|e| IndicatorError(e.to_string()))?;
    if target.ip.is_none() && psl::domain_str(target.host()).is_none() {
        return Err(IndicatorError(format!("{} is a public suffix, not a site", target.host())));
    }
    let key = url_key(&target.url, keep_query);
    if key.contains(['\t', '\n', '\r']) {
        return Err(IndicatorError("URL holds control characters".into()));
    }
    Ok(Indicator::new(IndicatorKind::Url, key))
}

/// One entry of a plain list: a URL (with a scheme, or a host followed by a path), an IP
/// address, or a host name.
pub fn plain(text: &str, keep_query: bool) -> Result<Indicator, IndicatorError> {
    let text = text.trim();
    if text.contains("://") {
        return url(text, keep_query);
    }
    if let Ok(indicator) = ip(text) {
        return Ok(indicator);
    }
    if text.contains(['/', '?']) {
        return url(&format!("http://{text}"), keep_query);
    }
    host(text)
}

fn preview(text: &str) -> String {
    let mut end = text.len().min(80);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(r: Result<Indicator, IndicatorError>) -> (IndicatorKind, String) {
        let i = r.unwrap();
        (i.kind, i.value)
    }

    #[test]
    fn hosts_are_punycoded_lower_cased_and_kept_whole() {
        assert_eq!(value(host("Login.Bücher.Example.")), (IndicatorKind::Host, "login.xn--bcher-kva.example".into()));
        assert_eq!(value(host("*.evil.example")), (IndicatorKind::Host, "evil.example".into()));
        assert_eq!(value(host("phish.blogspot.com")), (IndicatorKind::Host, "phish.blogspot.com".into()));
        assert!(host("blogspot.com").is_err(), "a public suffix lists a whole service");
        assert!(host("co.uk").is_err());
        assert!(host("com").is_err());
        assert!(host("evil.example/path").is_err());
        assert!(host("").is_err());
    }

    #[test]
    fn ips_are_exact_and_canonical() {
        assert_eq!(value(ip("203.0.113.9")), (IndicatorKind::Ip, "203.0.113.9".into()));
        assert_eq!(value(ip("::ffff:203.0.113.10")), (IndicatorKind::Ip, "203.0.113.10".into()));
        assert_eq!(value(ip("2001:DB8::0:1")), (IndicatorKind::Ip, "2001:db8::1".into()));
        assert_eq!(value(host("0x7f.1")), (IndicatorKind::Ip, "127.0.0.1".into()), "as a browser reads it");
        assert!(ip("203.0.113.256").is_err());
    }

    #[test]
    fn urls_use_the_engine_key() {
        let k = |t: &str, q: bool| url(t, q).unwrap().value;
        assert_eq!(k("HTTP://Evil.Example:80//a///b.php?x=1#f", false), "evil.example/a/b.php");
        assert_eq!(k("HTTP://Evil.Example:80//a///b.php?x=1#f", true), "evil.example/a/b.php?x=1");
        assert_eq!(k("https://evil.example:443/", true), "evil.example/");
        assert_eq!(k("http://117.222.236.48:44785/Mozi.m", true), "117.222.236.48:44785/Mozi.m");
        assert!(url("ftp://evil.example/x", false).is_err());
        assert!(url("http://", false).is_err());
    }

    #[test]
    fn plain_entries_are_classified() {
        assert_eq!(value(plain("evil.example", false)).0, IndicatorKind::Host);
        assert_eq!(value(plain("198.51.100.7", false)).0, IndicatorKind::Ip);
        assert_eq!(value(plain("evil.example/login?a=1", false)), (IndicatorKind::Url, "evil.example/login".into()));
        assert_eq!(value(plain("https://evil.example/login?a=1", true)).1, "evil.example/login?a=1");
    }
}
