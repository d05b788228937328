//! Indicator normalisation shared by the engine's reputation lookups and the pack builder
//! (`docs/formats/feed.md`): lower-case host (IDNA to ASCII by the URL
//! parser), default ports stripped, repeated slashes collapsed, query and fragment dropped
//! unless kept. The scheme is not part of the key: a listed `http://` URL served over
//! `https://` is the same page.

use url::Url;

/// The lookup key of a URL.
pub fn url_key(url: &Url, keep_query: bool) -> String {
    let mut key = String::with_capacity(url.as_str().len());
    key.push_str(url.host_str().unwrap_or_default().trim_end_matches('.'));
    if let Some(port) = url.port() {
        key.push(':');
        key.push_str(&port.to_string());
    }
    let mut last_slash = false;
    for c in url.path().chars() {
        if c == '/' && last_slash {
            continue;
        }
        last_slash = c == '/';
        key.push(c);
    }
    if keep_query {
        if let Some(query) = url.query().filter(|q| !q.is_empty()) {
            key.push('?');
            key.push_str(query);
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_keys_are_normalised() {
        let url = Url::parse("HTTP://Evil.EXAMPLE:80//a///b.php?x=1#frag").unwrap();
        assert_eq!(url_key(&url, false), "evil.example/a/b.php");
        assert_eq!(url_key(&url, true), "evil.example/a/b.php?x=1");
        let url = Url::parse("https://evil.example:8443/").unwrap();
        assert_eq!(url_key(&url, false), "evil.example:8443/");
        let url = Url::parse("https://bücher.example/").unwrap();
        assert_eq!(url_key(&url, false), "xn--bcher-kva.example/");
    }
}
