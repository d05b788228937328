//! What the review queries return: findings of coordinated reporting over a window of the
//! report log ([`AbuseFinding`]), and reports above a score with their URL's moderation
//! state, for exports ([`SuspiciousReport`]).

use std::fmt;

use super::moderation::ModerationState;
use super::report::{ReportId, ReportKind, Score, StoredReport, UrlHash};
use ferretwatch_types::Timestamp;

/// Which pattern of coordinated reporting a finding names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AbuseKind {
    /// One URL with at least the threshold of reports of kind `report`.
    UrlReports,
    /// One URL with at least the threshold of false-positive reports: an attempt to get
    /// a page allow-listed.
    UrlFalsePositives,
    /// One install token with at least the threshold of reports, across URLs.
    InstallToken,
    /// One client network with at least the threshold of reports, across URLs.
    Network,
    /// One URL reported by at least the threshold of distinct install tokens from at most
    /// [`AbuseKind::FARM_MAX_NETWORKS`] networks: many installs behind one network.
    InstallFarm,
}

impl AbuseKind {
    /// Every kind, in the order findings are listed.
    pub const ALL: [Self; 5] =
        [Self::UrlReports, Self::UrlFalsePositives, Self::InstallToken, Self::Network, Self::InstallFarm];

    /// The most distinct networks an install farm's reports may come from.
    pub const FARM_MAX_NETWORKS: i64 = 2;

    /// The stable code: `url_reports`, `url_false_positives`, `install_token`, `network`
    /// or `install_farm`.
    pub fn code(self) -> &'static str {
        match self {
            Self::UrlReports => "url_reports",
            Self::UrlFalsePositives => "url_false_positives",
            Self::InstallToken => "install_token",
            Self::Network => "network",
            Self::InstallFarm => "install_farm",
        }
    }

    /// The kind of a URL finding for reports of `kind`.
    pub fn for_url(kind: ReportKind) -> Self {
        match kind {
            ReportKind::Report => Self::UrlReports,
            ReportKind::FalsePositive => Self::UrlFalsePositives,
        }
    }
}

impl fmt::Display for AbuseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One finding of coordinated reporting within a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbuseFinding {
    /// The pattern.
    pub kind: AbuseKind,
    /// What the reports share: the normalised URL (URL kinds and the install farm), the
    /// install token id (in full: shorten it for display), or the client network as
    /// stored.
    pub key: String,
    /// The URL's moderation key, for the URL kinds and the install farm.
    pub url_hash: Option<UrlHash>,
    /// Reports the finding counts: of its kind for the URL kinds; of both kinds for an
    /// install token or a network; of both kinds with a token and a network for an
    /// install farm.
    pub reports: i64,
    /// Distinct install tokens among those reports.
    pub install_tokens: i64,
    /// Distinct client networks among those reports.
    pub networks: i64,
    /// The earliest of those reports.
    pub first: Timestamp,
    /// The latest.
    pub last: Timestamp,
}

impl AbuseFinding {
    /// The figure compared with the threshold: distinct install tokens for an install
    /// farm, reports for every other kind.
    pub fn count(&self) -> i64 {
        match self.kind {
            AbuseKind::InstallFarm => self.install_tokens,
            _ => self.reports,
        }
    }
}

/// Which reports an export of suspicious reports takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuspiciousFilter {
    /// Reports scored at least this.
    pub min_score: Score,
    /// Only reports received at or after this instant (`None`: all time).
    pub since: Option<Timestamp>,
}

/// A report for an export, with its URL's moderation state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuspiciousReport {
    /// The report as the log holds it.
    pub report: StoredReport,
    /// The moderation state of its URL now.
    pub state: ModerationState,
}

impl SuspiciousReport {
    /// The report's id: the cursor for the next, older page.
    pub fn id(&self) -> ReportId {
        self.report.id
    }
}
