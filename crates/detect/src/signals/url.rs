//! Signals from the URL beyond the host name: bare IP hosts and brand names in the path
//! of an unrelated host (kits dropped on compromised sites).

use crate::brands::BrandIndex;
use crate::domain::Target;
use crate::rules::Key;
use crate::verdict::Signal;

/// Checks the URL.
pub(crate) fn check(target: &Target, index: &BrandIndex, out: &mut Vec<Signal>) {
    if let Some(ip) = target.ip {
        out.push(Signal::new(Key::raw_ip_host, 800, format!("the page is served from the bare IP address {ip}")));
    }
    if index.is_brand_domain(target.registrable()) {
        return;
    }
    let Some(ac) = &index.contained else { return };
    let path = target.url.path();
    if path.len() < 5 {
        return;
    }
    let lower: std::borrow::Cow<str> =
        if path.bytes().any(|b| b.is_ascii_uppercase()) { path.to_ascii_lowercase().into() } else { path.into() };
    let bytes = lower.as_bytes();
    for m in ac.find_iter(lower.as_ref()) {
        let boundary = |i: Option<&u8>| i.is_none_or(|b| !b.is_ascii_alphanumeric());
        let before = m.start().checked_sub(1).map(|i| &bytes[i]);
        if boundary(before) && boundary(bytes.get(m.end())) {
            let label = index.contained_ids[m.pattern().as_usize()];
            let brand = index.labels[label].brand;
            let name = &index.names[brand];
            let evidence = format!(
                "the path names {name} ('{}') on {}, which is not {name}'s",
                &lower[m.start()..m.end()],
                target.registrable()
            );
            out.push(Signal::new(Key::brand_in_url_path, 600, evidence).with_brand(name));
            return;
        }
    }
}
