//! Console list changes: the current pack plus one block or allow decision, republished
//! under the next free version (the way an emergency rule is), for the two-publisher
//! flow of the admin console.
//!
//! The pack keeps the lists publishers curate in a signed record, `console.HASH.json`
//! ([`ConsoleLists`]), so each change starts from the previous one (a Bloom filter cannot
//! be read back). From the record:
//! - blocked hosts, URLs and IP addresses become one filter file per kind (an exact set
//!   while the list is short) with the
//!   source [`CONSOLE_FILTER_SOURCE`], which the delegated intel role never replaces;
//! - allowed domains go into the rule set's `reputation_exempt` and `popular_domains`, so
//!   that neither a feed listing nor a look-alike signal warns on them (content signals
//!   still do: an allowed domain that starts serving a phishing kit is still caught).
//!
//! Allowing a URL or host takes it off the console blocklist; a URL a feed lists is
//! exempted by allowing its domain.

use std::collections::BTreeSet;
use std::path::PathBuf;

use ferretwatch_detect::filter::{FilterFile, IndicatorKind};
use ferretwatch_pack_client::indicator::{self, Indicator};
use ferretwatch_pack_client::layout::content_name;
use ferretwatch_pack_client::load::CONSOLE_FILTER_SOURCE;
use ferretwatch_pack_client::manifest::{FileEntry, Role};
use ferretwatch_pack_client::trust::verify::{State, Verifier};
use ferretwatch_types::{PackVersion, Sha256, Timestamp};
use serde::{Deserialize, Serialize};

use super::deploy::known_versions;
use super::republish::{finish, keep_operations, read_manifest, write_republished, Extra, Republished};
use super::{next_version, PublishError};

/// One decision about the lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListChange {
    /// Warn on a host (and its subdomains) or an IP address.
    BlockHost(String),
    /// Warn on one URL (keyed as the engine keys a page, query dropped).
    BlockUrl(String),
    /// Never warn on a domain through reputation or look-alike signals; also takes it
    /// off the console blocklist.
    AllowDomain(String),
    /// Take a URL off the console blocklist.
    AllowUrl(String),
}

impl ListChange {
    /// The normalised indicator the change is about.
    pub fn indicator(&self) -> Result<Indicator, PublishError> {
        let parsed = match self {
            ListChange::BlockHost(text) | ListChange::AllowDomain(text) => indicator::host(text),
            ListChange::BlockUrl(text) | ListChange::AllowUrl(text) => indicator::url(text, false),
        };
        parsed.map_err(|e| PublishError::Invalid(e.0))
    }
}

/// The lists publishers keep in the console, as the pack records them
/// (`console.HASH.json`, a signed target the manifest does not list).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleLists {
    /// Format, 1.
    pub format: u32,
    /// Blocked hosts (a host covers its subdomains), sorted.
    pub blocked_hosts: BTreeSet<String>,
    /// Blocked URL keys, sorted.
    pub blocked_urls: BTreeSet<String>,
    /// Blocked IP addresses, sorted.
    pub blocked_ips: BTreeSet<String>,
    /// Allowed domains, sorted.
    pub allowed_domains: BTreeSet<String>,
}

impl ConsoleLists {
    fn blocked(&mut self, kind: IndicatorKind) -> &mut BTreeSet<String> {
        match kind {
            IndicatorKind::Host => &mut self.blocked_hosts,
            IndicatorKind::Url => &mut self.blocked_urls,
            IndicatorKind::Ip => &mut self.blocked_ips,
        }
    }

    /// Applies `change`; false when it changes nothing.
    pub fn apply(&mut self, change: &ListChange) -> Result<bool, PublishError> {
        let item = change.indicator()?;
        Ok(match change {
            ListChange::BlockHost(_) | ListChange::BlockUrl(_) => {
                let allowed = item.kind == IndicatorKind::Host && self.allowed_domains.contains(&item.value);
                if allowed {
                    return Err(PublishError::Invalid(format!(
                        "{} is on the console's allowlist; allow and block exclude each other",
                        item.value
                    )));
                }
                self.blocked(item.kind).insert(item.value)
            }
            ListChange::AllowDomain(_) => {
                let unblocked = self.blocked(item.kind).remove(&item.value);
                let allowed = item.kind == IndicatorKind::Host && self.allowed_domains.insert(item.value);
                unblocked || allowed
            }
            ListChange::AllowUrl(_) => self.blocked(item.kind).remove(&item.value),
        })
    }
}

fn is_record_name(name: &str) -> bool {
    name.starts_with("console.") && name.ends_with(".json") && !name.contains('/')
}

/// The console lists the pack `files` carries (empty when it has none).
pub fn lists_of(files: &std::collections::BTreeMap<String, Vec<u8>>) -> Result<ConsoleLists, PublishError> {
    match files.iter().find(|(name, _)| is_record_name(name)) {
        Some((name, bytes)) => serde_json::from_slice(bytes)
            .map_err(|e| PublishError::Invalid(format!("{name} is not a console list record: {e}"))),
        None => Ok(ConsoleLists { format: 1, ..ConsoleLists::default() }),
    }
}

/// Builds the current pack at `origin` with `change` applied to its console lists under
/// the next free version at `now`, into `out` (default `dist-NEWVERSION`), signed with
/// `keys` (none: the publishers sign later). A change that changes nothing is refused.
pub fn amend(
    origin: &crate::origin::Origin,
    change: &ListChange,
    root: &[u8],
    keys: &[crate::keys::PrivateKey],
    out: Option<PathBuf>,
    now: Timestamp,
) -> Result<Republished, PublishError> {
    if super::current_version(origin)?.is_none() {
        return Err(PublishError::NoCurrentPack(origin.url().to_owned()));
    }
    let verified = Verifier::new(root.to_vec(), now, State::default()).verify(&origin.source(None))?;
    let from_version = PackVersion::parse(&verified.pack_version)
        .map_err(|e| PublishError::Invalid(format!("the origin's pack: {e}")))?;
    let manifest = read_manifest(&verified.files)?;
    let mut lists = lists_of(&verified.files)?;
    if !lists.apply(change)? {
        return Err(PublishError::Invalid(format!("the pack at {} already has that: nothing to change", origin.url())));
    }
    let version = next_version(known_versions(origin)?.last(), now)?;

    // The previous record and console filters are replaced.
    let mut drop: Vec<String> = verified.files.keys().filter(|name| is_record_name(name)).cloned().collect();
    drop.extend(
        manifest
            .files
            .iter()
            .filter(|e| e.role == Role::Filter && e.source.as_deref() == Some(CONSOLE_FILTER_SOURCE))
            .map(|e| e.name.clone()),
    );
    let mut extras: Vec<Extra> = Vec::new();
    for kind in IndicatorKind::ALL {
        let items = match kind {
            IndicatorKind::Host => &lists.blocked_hosts,
            IndicatorKind::Url => &lists.blocked_urls,
            IndicatorKind::Ip => &lists.blocked_ips,
        };
        if items.is_empty() {
            continue;
        }
        // The smaller of an exact set and a Bloom filter: for lists this short, the exact set.
        let filter = FilterFile::build(kind, items.iter().map(String::as_str), crate::build::DEFAULT_FP_RATE);
        let bytes = filter.to_bytes();
        let sha256 = Sha256::of(&bytes);
        let name = content_name(&format!("console-{}", kind.name()), &sha256, "fwf");
        let entry = FileEntry {
            name: name.clone(),
            role: Role::Filter,
            sha256: sha256.to_hex(),
            size: bytes.len() as u64,
            kind: Some(kind),
            encoding: Some(filter.encoding().to_owned()),
            count: Some(filter.count),
            expires: None,
            source: Some(CONSOLE_FILTER_SOURCE.to_owned()),
        };
        extras.push((name, bytes, Some(entry)));
    }
    let mut record = serde_json::to_vec_pretty(&lists).expect("lists serialise");
    record.push(b'\n');
    let record_name = content_name("console", &Sha256::of(&record), "json");
    extras.push((record_name, record, None));

    let allowed: Vec<String> = lists.allowed_domains.iter().cloned().collect();
    let edit = move |rules: &mut ferretwatch_detect::Rules| {
        for list in [&mut rules.allowlists.reputation_exempt, &mut rules.allowlists.popular_domains] {
            for domain in &allowed {
                if !list.contains(domain) {
                    list.push(domain.clone());
                }
            }
            list.sort();
        }
    };
    let out = out.unwrap_or_else(|| PathBuf::from(format!("dist-{version}")));
    let manifest = write_republished(&verified.files, &version, extras, &drop, &edit, &out)?;
    keep_operations(&out, &verified)?;
    finish(out, manifest, from_version, super::record::ChangeKind::Amend, root, keys)
}
