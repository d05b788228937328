//! Verdicts and scoring: weighted sum of weight × confidence, capped per signal group,
//! in integer milli-points so the result is identical to the byte on every platform.

use serde::{Serialize, Serializer};

use crate::rules::{Caps, Group, Key, Thresholds, Weights};

/// Warning level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// No warning.
    Green,
    /// Caution.
    Yellow,
    /// Prominent warning (navigation is never blocked).
    Red,
}

impl Level {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Green => "green",
            Level::Yellow => "yellow",
            Level::Red => "red",
        }
    }
}

/// What a signal observed, before weighting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Signal {
    /// Finding key (names its weight).
    pub key: Key,
    /// Confidence in thousandths (0..=1000).
    pub confidence: u16,
    /// Human-readable evidence.
    pub evidence: String,
    /// Impersonated brand, when the signal names one.
    pub brand: Option<String>,
}

impl Signal {
    /// A signal with no brand.
    pub(crate) fn new(key: Key, confidence: u16, evidence: impl Into<String>) -> Self {
        Signal { key, confidence: confidence.min(1000), evidence: evidence.into(), brand: None }
    }

    /// The same signal, naming a brand.
    pub(crate) fn with_brand(mut self, brand: &str) -> Self {
        self.brand = Some(brand.to_owned());
        self
    }
}

/// One explained contribution to the score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Finding key, as named in `rules.json` weights.
    #[serde(serialize_with = "ser_key")]
    pub key: Key,
    /// Signal group whose cap applies.
    pub group: Group,
    /// Weight from the rules.
    pub weight: u32,
    /// Confidence 0.0–1.0.
    #[serde(serialize_with = "ser_thousandths")]
    pub confidence: u16,
    /// Points this finding adds after the group cap.
    #[serde(serialize_with = "ser_thousandths")]
    pub contribution: u32,
    /// Human-readable evidence.
    pub evidence: String,
    /// Impersonated brand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
}

/// The engine's answer for one page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// 0–100.
    pub score: u8,
    /// Level from the thresholds (green when allowlisted and nothing severe fired).
    pub level: Level,
    /// Findings, strongest first within each group, groups in a fixed order.
    pub findings: Vec<Finding>,
    /// Version of the rule set that produced this verdict (shared, not copied per scan).
    pub pack_version: std::sync::Arc<str>,
    /// True when a time limit cut a signal short (the score is a lower bound).
    pub partial: bool,
    /// Inputs cut to their documented limits (`url`, `html`, `resources`, `favicon`, `text`, `yara`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<&'static str>,
    /// True when the user's allowlist suppressed the warning.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allowlisted: bool,
}

fn ser_key<S: Serializer>(key: &Key, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(key.name())
}

fn ser_thousandths<S: Serializer, T: Copy + Into<u32>>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    // Exactly representable decimal text: 0.9 rather than 0.9000000000000000222.
    s.serialize_f64(f64::from((*value).into()) / 1000.0)
}

/// Scoring inputs taken from the rule set and user options.
pub(crate) struct Scoring<'a> {
    /// Weights per key.
    pub weights: &'a Weights,
    /// Caps per group.
    pub caps: &'a Caps,
    /// Effective thresholds.
    pub thresholds: Thresholds,
}

impl Scoring<'_> {
    /// Turns signals into a scored, ordered list of findings and the total score.
    pub(crate) fn score(&self, mut signals: Vec<Signal>) -> (u8, Vec<Finding>) {
        let raw = |s: &Signal| self.weights.get(s.key) * u32::from(s.confidence);
        // Fixed order: group, then strongest first, then key and evidence as tie-breakers.
        signals.sort_by(|a, b| {
            (a.key.group(), std::cmp::Reverse(raw(a)), a.key, &a.evidence).cmp(&(
                b.key.group(),
                std::cmp::Reverse(raw(b)),
                b.key,
                &b.evidence,
            ))
        });
        let mut findings = Vec::with_capacity(signals.len());
        let mut total: u32 = 0;
        let mut group: Option<Group> = None;
        let mut left_in_group: u32 = 0;
        for signal in signals {
            let g = signal.key.group();
            if group != Some(g) {
                group = Some(g);
                left_in_group = self.caps.get(g) * 1000;
            }
            let contribution = raw(&signal).min(left_in_group);
            left_in_group -= contribution;
            total += contribution;
            findings.push(Finding {
                key: signal.key,
                group: g,
                weight: self.weights.get(signal.key),
                confidence: signal.confidence,
                contribution,
                evidence: signal.evidence,
                brand: signal.brand,
            });
        }
        let score = total.saturating_add(500) / 1000;
        (score.min(100) as u8, findings)
    }

    /// Level of `score`.
    pub(crate) fn level(&self, score: u8) -> Level {
        if score >= self.thresholds.red {
            Level::Red
        } else if score >= self.thresholds.yellow {
            Level::Yellow
        } else {
            Level::Green
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoring<'a>(weights: &'a Weights, caps: &'a Caps) -> Scoring<'a> {
        Scoring { weights, caps, thresholds: Thresholds::default() }
    }

    #[test]
    fn score_is_weight_times_confidence_summed() {
        let (w, c) = (Weights::default(), Caps::default());
        let (score, findings) = scoring(&w, &c).score(vec![
            Signal::new(Key::phishing_form_cross_domain, 900, "a"),
            Signal::new(Key::idn_homograph_high, 900, "b"),
        ]);
        // 30*0.9 + 60*0.9 = 81
        assert_eq!(score, 81);
        assert_eq!(findings[0].key, Key::idn_homograph_high);
        assert_eq!(findings[0].contribution, 54_000);
    }

    #[test]
    fn a_group_never_exceeds_its_cap() {
        let (w, c) = (Weights::default(), Caps::default());
        let signals = (0..5).map(|i| Signal::new(Key::cross_domain_hotlink, 1000, format!("r{i}"))).collect();
        let (score, findings) = scoring(&w, &c).score(signals);
        assert_eq!(u32::from(score), c.hotlink);
        assert_eq!(findings.iter().map(|f| f.contribution).sum::<u32>(), c.hotlink * 1000);
        assert_eq!(findings.last().unwrap().contribution, 0);
    }

    #[test]
    fn score_is_clamped_to_100_and_levels_follow_thresholds() {
        let (w, c) = (Weights::default(), Caps::default());
        let s = scoring(&w, &c);
        let signals = vec![
            Signal::new(Key::reputation_hit, 1000, "a"),
            Signal::new(Key::yara_phishing_high, 1000, "b"),
            Signal::new(Key::idn_homograph_high, 1000, "c"),
        ];
        assert_eq!(s.score(signals).0, 100);
        assert_eq!(
            (s.level(39), s.level(40), s.level(69), s.level(70)),
            (Level::Green, Level::Yellow, Level::Yellow, Level::Red)
        );
    }

    #[test]
    fn rounding_is_half_up_on_milli_points() {
        let (w, c) = (Weights::default(), Caps::default());
        // 15 * 0.7 = 10.5 -> 11
        assert_eq!(scoring(&w, &c).score(vec![Signal::new(Key::obfuscated_script, 700, "x")]).0, 11);
    }

    #[test]
    fn confidences_serialise_as_short_decimals() {
        let (w, c) = (Weights::default(), Caps::default());
        let (_, findings) = scoring(&w, &c).score(vec![Signal::new(Key::raw_ip_host, 900, "x")]);
        let json = serde_json::to_string(&findings[0]).unwrap();
        assert!(json.contains(r#""confidence":0.9"#), "{json}");
        assert!(json.contains(r#""contribution":9.0"#), "{json}");
    }
}
