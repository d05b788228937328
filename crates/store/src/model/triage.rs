//! The triage inbox: reported URLs with their reports' figures, filtered for reviewers.

use ferretwatch_types::Timestamp;

use super::moderation::{ModerationEntry, ModerationSort, ModerationState};

/// Which entries the inbox shows: every filter is optional and they all apply.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    /// Only this state.
    pub state: Option<ModerationState>,
    /// Only URLs reported with this reason code at least once.
    pub reason: Option<String>,
    /// Only URLs whose highest score is at least this.
    pub min_score: Option<u8>,
    /// Only URLs reported since this time.
    pub since: Option<Timestamp>,
    /// Only URLs with reports of this kind.
    pub kind: Option<InboxKind>,
    /// Only URLs containing this text, ignoring ASCII case (`%` and `_` are literal).
    pub url_contains: Option<String>,
    /// The order.
    pub sort: ModerationSort,
}

/// Reports or false-positive reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxKind {
    /// URLs reported as phishing at least once.
    Report,
    /// URLs reported as false positives at least once.
    FalsePositive,
}

/// One URL in the inbox: its entry, and how its reports break down by reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxGroup {
    /// The moderation entry.
    pub entry: ModerationEntry,
    /// (reason code, reports), most first.
    pub reasons: Vec<(String, i64)>,
}
