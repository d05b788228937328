//! Cross-domain hotlinking: images, CSS and fonts from an unrelated registrable domain that
//! is not an allowlisted CDN. Assets from a brand's own hosts on a foreign page weigh most.

use crate::brands::BrandIndex;
use crate::domain::{host_within, registrable_of, resolve_host, Target};
use crate::input::ResourceKind;
use crate::rules::Key;
use crate::verdict::Signal;

/// Checks the page's resources.
pub(crate) fn check<'a>(
    target: &Target,
    resources: impl Iterator<Item = (ResourceKind, &'a str)>,
    index: &BrandIndex,
    cdn_allowlist: &[String],
    out: &mut Vec<Signal>,
) {
    let page_owner = index.owner(target.registrable());
    let mut brand_hosts: Vec<(String, usize)> = Vec::new();
    let mut other_hosts: Vec<String> = Vec::new();
    for (kind, url) in resources {
        if !matches!(kind, ResourceKind::Image | ResourceKind::Css | ResourceKind::Font) {
            continue;
        }
        let Some(host) = resolve_host(&target.url, url) else { continue };
        if target.same_site(&host) || cdn_allowlist.iter().any(|cdn| host_within(&host, cdn)) {
            continue;
        }
        match index.owner(registrable_of(&host)) {
            // Assets of the same brand (paypal.com loading from paypalobjects.com) are related.
            Some(owner) if page_owner == Some(owner) => {}
            Some(Some(brand)) => {
                if !brand_hosts.iter().any(|(h, _)| *h == host) {
                    brand_hosts.push((host, brand));
                }
            }
            // Allowlisted brand hosts are third parties too, but not brands we can name.
            _ => {
                if !other_hosts.contains(&host) {
                    other_hosts.push(host);
                }
            }
        }
    }
    if let Some((host, brand)) = brand_hosts.first() {
        let name = &index.names[*brand];
        let evidence = format!(
            "assets hotlinked from {name}'s host {host}{} on {}, which is not {name}'s",
            more(brand_hosts.len()),
            target.registrable()
        );
        out.push(Signal::new(Key::cross_domain_hotlink, 1000, evidence).with_brand(name));
    }
    if let Some(host) = other_hosts.first() {
        let evidence = format!("assets hotlinked from unrelated host {host}{}", more(other_hosts.len()));
        out.push(Signal::new(Key::cross_domain_hotlink, 300, evidence));
    }
}

fn more(count: usize) -> String {
    if count > 1 {
        format!(" and {} other host(s)", count - 1)
    } else {
        String::new()
    }
}
