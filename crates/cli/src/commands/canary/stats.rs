//! The canary's decision (`docs/canaries.md`): are the canary's false-positive reports a
//! larger share of its reports than the control's, by more than the threshold?
//!
//! Each pack version's reports are Bernoulli trials: a report is a false positive with
//! probability `p`. With `x` false positives among `n` reports for the canary (`c`) and
//! the control (`0`), and the threshold `t` (the largest tolerated absolute increase of
//! the share, 0.02 = two percentage points):
//!
//! - **rollback** when the canary's share is significantly higher (one-sided pooled
//!   two-proportion z-test, `z = (p̂c − p̂0) / sqrt(p̄(1 − p̄)(1/nc + 1/n0))` above
//!   [`Z_95`], `p̄` the pooled share) and the observed excess `p̂c − p̂0` is above `t`;
//! - **promote** when the data rule an excess above `t` out: the upper one-sided 95%
//!   bound of `pc − p0` (Agresti–Caffo: one false positive and one other report added to
//!   each side, so it stays honest with few or no false positives) is below `t`;
//! - **inconclusive** otherwise, and always while either side has fewer than
//!   [`MIN_REPORTS`] reports.

use serde::Serialize;

/// The one-sided 95% quantile of the standard normal distribution.
pub const Z_95: f64 = 1.644_853_626_951_472_2;
/// No decision before each side has this many reports.
pub const MIN_REPORTS: u64 = 20;

/// One side's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// False-positive reports.
    pub false_positives: u64,
    /// All reports (false positives included).
    pub reports: u64,
}

impl Counts {
    /// The observed share of false positives (0 without reports).
    pub fn share(&self) -> f64 {
        if self.reports == 0 {
            0.0
        } else {
            self.false_positives as f64 / self.reports as f64
        }
    }
}

/// What the data say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The canary is no worse than the threshold allows: give it to everyone.
    Promote,
    /// The canary raises false positives beyond the threshold: take it back.
    Rollback,
    /// Not enough data either way.
    Inconclusive,
}

/// The test's figures and its decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// The canary's observed share.
    pub canary_share: f64,
    /// The control's observed share.
    pub control_share: f64,
    /// `canary_share − control_share`.
    pub excess: f64,
    /// The pooled z statistic (0 when it is undefined).
    pub z: f64,
    /// The upper one-sided 95% bound of the excess (Agresti–Caffo).
    pub upper_bound: f64,
}

/// Decides from the canary's and the control's counts with `threshold`, the largest
/// tolerated absolute increase of the false-positive share (0 to 1).
pub fn decide(canary: Counts, control: Counts, threshold: f64) -> Verdict {
    let (pc, p0) = (canary.share(), control.share());
    let excess = pc - p0;
    let (nc, n0) = (canary.reports as f64, control.reports as f64);
    let z = if canary.reports == 0 || control.reports == 0 {
        0.0
    } else {
        let pooled = (canary.false_positives + control.false_positives) as f64 / (nc + n0);
        let se = (pooled * (1.0 - pooled) * (1.0 / nc + 1.0 / n0)).sqrt();
        if se > 0.0 {
            excess / se
        } else {
            0.0
        }
    };
    let adjusted = |c: Counts| (c.false_positives as f64 + 1.0) / (c.reports as f64 + 2.0);
    let (ac, a0) = (adjusted(canary), adjusted(control));
    let se = (ac * (1.0 - ac) / (nc + 2.0) + a0 * (1.0 - a0) / (n0 + 2.0)).sqrt();
    let upper_bound = ac - a0 + Z_95 * se;
    let decision = if canary.reports < MIN_REPORTS || control.reports < MIN_REPORTS {
        Decision::Inconclusive
    } else if z > Z_95 && excess > threshold {
        Decision::Rollback
    } else if upper_bound < threshold {
        Decision::Promote
    } else {
        Decision::Inconclusive
    };
    Verdict { decision, canary_share: pc, control_share: p0, excess, z, upper_bound }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(false_positives: u64, reports: u64) -> Counts {
        Counts { false_positives, reports }
    }

    #[test]
    fn twice_the_control_share_is_rolled_back_with_enough_reports() {
        // 10% against 5%, 2,000 reports each: z ≈ 6, excess 0.05.
        let v = decide(c(200, 2000), c(100, 2000), 0.02);
        assert_eq!(v.decision, Decision::Rollback, "{v:?}");
        assert!((v.excess - 0.05).abs() < 1e-12);
        assert!(v.z > 5.0 && v.z < 7.0, "{v:?}");
    }

    #[test]
    fn an_equal_share_is_promoted_with_enough_reports() {
        let v = decide(c(100, 2000), c(1000, 20_000), 0.02);
        assert_eq!(v.decision, Decision::Promote, "{v:?}");
        assert!(v.upper_bound < 0.02 && v.upper_bound > 0.0, "{v:?}");
        // A lower canary share is promoted too.
        assert_eq!(decide(c(40, 2000), c(100, 2000), 0.02).decision, Decision::Promote);
    }

    #[test]
    fn few_reports_are_inconclusive_whatever_they_say() {
        assert_eq!(decide(c(19, 19), c(0, 1000), 0.02).decision, Decision::Inconclusive);
        assert_eq!(decide(c(0, 0), c(0, 0), 0.02).decision, Decision::Inconclusive);
        // Enough to count, too few to rule a 2-point excess out either way.
        assert_eq!(decide(c(3, 40), c(20, 400), 0.02).decision, Decision::Inconclusive);
    }

    #[test]
    fn a_significant_excess_below_the_threshold_is_not_rolled_back() {
        // 6% against 5% on 200,000 reports each: significant, but one point < two.
        let v = decide(c(12_000, 200_000), c(10_000, 200_000), 0.02);
        assert!(v.z > Z_95, "{v:?}");
        assert_eq!(v.decision, Decision::Promote, "{v:?}");
        // A large excess that is not significant (few reports) waits.
        assert_eq!(decide(c(4, 25), c(2, 25), 0.02).decision, Decision::Inconclusive);
    }

    #[test]
    fn the_z_statistic_and_the_bound_match_hand_computed_values() {
        // 30/100 against 20/100: pooled 0.25, se = sqrt(0.25·0.75·0.02) = 0.0612372…
        let v = decide(c(30, 100), c(20, 100), 0.02);
        assert!((v.z - 0.1 / 0.061_237_243_569_579_45).abs() < 1e-9, "{v:?}");
        // Agresti–Caffo: 31/102 − 21/102, se from the adjusted shares.
        let (a, b) = (31.0 / 102.0, 21.0 / 102.0);
        let se = f64::sqrt(a * (1.0 - a) / 102.0 + b * (1.0 - b) / 102.0);
        assert!((v.upper_bound - (a - b + Z_95 * se)).abs() < 1e-12, "{v:?}");
        assert_eq!(v.decision, Decision::Inconclusive);
        // No false positives anywhere: z undefined (0), the bound still positive.
        let v = decide(c(0, 500), c(0, 500), 0.02);
        assert_eq!(v.z, 0.0);
        assert!(v.upper_bound > 0.0 && v.upper_bound < 0.02, "{v:?}");
        assert_eq!(v.decision, Decision::Promote);
    }
}
