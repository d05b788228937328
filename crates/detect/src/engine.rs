//! The engine: a compiled rule set that scans pages into verdicts.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::brands::BrandIndex;
use crate::domain::{host_within, Target};
use crate::error::{InputError, RulesError};
use crate::html;
use crate::input::{limits, truncate_str, Page, ResourceKind, ScanOptions};
use crate::rules::{Key, Rules};
use crate::signals::reputation::Reputation;
use crate::signals::{hotlink, lookalike, new_domain, reputation, ui, url};
use crate::verdict::{Level, Scoring, Signal, Verdict};

/// The built-in YARA rules shipped with the default rule set.
pub const DEFAULT_YARA: &str = include_str!("../data/default.yar");

/// A compiled rule set, ready to scan. Cheap to share between threads.
#[derive(Debug)]
pub struct Engine {
    rules: Rules,
    version: std::sync::Arc<str>,
    index: BrandIndex,
    keywords: Option<AhoCorasick>,
    #[cfg(feature = "yara")]
    yara: Option<crate::signals::yara::Yara>,
    reputation: Option<Reputation>,
}

impl Engine {
    /// Validates and compiles a rule set (without YARA rules or reputation data).
    pub fn new(rules: Rules) -> Result<Self, RulesError> {
        rules.validate()?;
        let index = BrandIndex::new(&rules);
        let keywords = (!rules.keywords.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&rules.keywords)
                .expect("keyword automaton")
        });
        Ok(Engine {
            version: rules.version.as_str().into(),
            rules,
            index,
            keywords,
            #[cfg(feature = "yara")]
            yara: None,
            reputation: None,
        })
    }

    /// The built-in rules with the built-in YARA rules: works with no setup.
    pub fn builtin() -> Self {
        let engine = Engine::new(Rules::builtin()).expect("built-in rules are valid");
        #[cfg(feature = "yara")]
        let engine = engine
            .with_yara([("builtin.yar", DEFAULT_YARA)], std::time::Duration::from_millis(200))
            .expect("built-in YARA rules compile");
        engine
    }

    /// Adds YARA rules, replacing any before; `timeout` is the hard limit of each scan.
    #[cfg(feature = "yara")]
    pub fn with_yara<'a>(
        mut self,
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
        timeout: std::time::Duration,
    ) -> Result<Self, RulesError> {
        self.yara = Some(crate::signals::yara::Yara::compile(sources, Some(timeout))?);
        Ok(self)
    }

    /// Adds YARA rules whose scans the engine does not time itself, for a host that
    /// enforces the limit: the WebAssembly build runs in a worker that the host
    /// terminates at the limit (`wasm32-unknown-unknown` has no clock for the scanner to
    /// read), then scans again with [`crate::ScanOptions::skip_yara`]. Never use this
    /// where nothing else bounds the scan.
    #[cfg(feature = "yara")]
    pub fn with_yara_limited_by_host<'a>(
        mut self,
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, RulesError> {
        self.yara = Some(crate::signals::yara::Yara::compile(sources, None)?);
        Ok(self)
    }

    /// Adds reputation data; the rules' `reputation_exempt` domains are added to its exempt list.
    pub fn with_reputation(mut self, mut reputation: Reputation) -> Self {
        reputation.exempt.extend(self.rules.allowlists.reputation_exempt.iter().cloned());
        self.reputation = Some(reputation);
        self
    }

    /// The reputation data, when any.
    pub fn reputation(&self) -> Option<&Reputation> {
        self.reputation.as_ref()
    }

    /// The rule set.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Scans one page. Fails only when the URL is not an http(s) URL with a host.
    pub fn scan(&self, page: &Page<'_>, options: &ScanOptions) -> Result<Verdict, InputError> {
        let mut truncated = Vec::new();
        let (url_text, cut) = truncate_str(page.url, limits::MAX_URL_BYTES);
        if cut {
            truncated.push("url");
        }
        let target = Target::parse(url_text)?;
        let mut signals: Vec<Signal> = Vec::new();
        let mut partial = false;

        lookalike::check(&target, &self.index, &mut signals);
        url::check(&target, &self.index, &mut signals);
        if let Some(reputation) = &self.reputation {
            reputation::check(&target, reputation, &mut signals);
        }
        new_domain::check(&target, page.state, &self.index, &mut signals);
        self.check_favicon(&target, page, &mut truncated, &mut signals);

        let extra = page.resources.iter().map(|r| (r.kind, r.url.as_str()));
        let facts = page.html.map(|source| {
            let (source, cut) = truncate_str(source, limits::MAX_HTML_BYTES);
            if cut {
                truncated.push("html");
            }
            let mut facts = html::extract(source);
            if facts.text_truncated {
                truncated.push("text");
            }
            let written = crate::decode::written_payloads(&facts.inline_scripts).join("\n");
            if !written.is_empty() {
                facts.merge_written(html::extract(&written));
            }
            (source, written, facts)
        });
        let from_html = facts.iter().flat_map(|(_, _, f)| f.resources.iter().map(|(k, u)| (*k, u.as_str())));
        let resources = self.bounded(from_html.chain(extra), &mut truncated);
        hotlink::check(&target, resources.into_iter(), &self.index, &self.rules.allowlists.cdn_domains, &mut signals);
        if let Some((source, written, facts)) = &facts {
            ui::check(&target, facts, &self.index, self.keywords.as_ref(), &mut signals);
            let outbound = ui::outbound_hosts(&target, facts);
            lookalike::check_outbound(&target, outbound.iter().map(String::as_str), &self.index, &mut signals);
            if let Some(reputation) = &self.reputation {
                let redirects = ui::redirect_targets(&target, facts);
                reputation::check_redirects(&target, redirects.iter().map(String::as_str), reputation, &mut signals);
            }
            if options.skip_yara {
                partial |= self.has_yara();
            } else {
                partial |= self.check_yara(source, written, facts, &mut truncated, &mut signals);
            }
        }

        lookalike::elevate(&mut signals);
        let scoring = Scoring {
            weights: &self.rules.weights,
            caps: &self.rules.caps,
            thresholds: options.thresholds.unwrap_or(self.rules.thresholds),
        };
        let severe = signals.iter().any(|s| matches!(s.key, Key::reputation_hit | Key::yara_phishing_high));
        let (score, findings) = scoring.score(signals);
        let host = target.host();
        let allowlisted = !severe
            && options
                .user_allowlist
                .iter()
                .any(|entry| host_within(host, entry.trim().trim_end_matches('.').to_ascii_lowercase().as_str()));
        let level = if allowlisted { Level::Green } else { scoring.level(score) };
        Ok(Verdict { score, level, findings, pack_version: self.version.clone(), partial, truncated, allowlisted })
    }

    fn bounded<'a>(
        &self,
        resources: impl Iterator<Item = (ResourceKind, &'a str)>,
        truncated: &mut Vec<&'static str>,
    ) -> Vec<(ResourceKind, &'a str)> {
        let mut out: Vec<_> = resources.take(limits::MAX_RESOURCES + 1).collect();
        if out.len() > limits::MAX_RESOURCES {
            out.truncate(limits::MAX_RESOURCES);
            truncated.push("resources");
        }
        out
    }

    #[cfg(feature = "favicon")]
    fn check_favicon(
        &self,
        target: &Target,
        page: &Page<'_>,
        truncated: &mut Vec<&'static str>,
        out: &mut Vec<Signal>,
    ) {
        match page.favicon {
            Some(bytes) if bytes.len() > limits::MAX_FAVICON_BYTES => truncated.push("favicon"),
            favicon => crate::signals::favicon::check(target, favicon, &self.index, out),
        }
    }

    #[cfg(not(feature = "favicon"))]
    fn check_favicon(&self, _: &Target, _: &Page<'_>, _: &mut Vec<&'static str>, _: &mut Vec<Signal>) {}

    /// Runs YARA over the HTML source (which holds the inline scripts and event handlers
    /// verbatim), the visible text and the markup the script decodes and writes; returns
    /// whether it timed out.
    #[cfg(feature = "yara")]
    fn check_yara(
        &self,
        source: &str,
        written: &str,
        facts: &html::PageFacts,
        truncated: &mut Vec<&'static str>,
        out: &mut Vec<Signal>,
    ) -> bool {
        let Some(yara) = &self.yara else { return false };
        let mut buffer = Vec::with_capacity(source.len() + facts.text.len() + 1);
        for part in [source, facts.text.as_str(), written] {
            let room = limits::MAX_YARA_BYTES.saturating_sub(buffer.len());
            let (part, cut) = truncate_str(part, room);
            if cut {
                truncated.push("yara");
            }
            buffer.extend_from_slice(part.as_bytes());
            buffer.push(b'\n');
        }
        let outcome = yara.scan(&buffer);
        out.extend(outcome.signals);
        outcome.timed_out
    }

    /// Whether YARA rules are loaded (and would have run).
    #[cfg(feature = "yara")]
    pub fn has_yara(&self) -> bool {
        self.yara.is_some()
    }

    /// Whether YARA rules are loaded (never without the `yara` feature).
    #[cfg(not(feature = "yara"))]
    pub fn has_yara(&self) -> bool {
        false
    }

    #[cfg(not(feature = "yara"))]
    fn check_yara(
        &self,
        _: &str,
        _: &str,
        _: &html::PageFacts,
        _: &mut Vec<&'static str>,
        _: &mut Vec<Signal>,
    ) -> bool {
        false
    }
}
