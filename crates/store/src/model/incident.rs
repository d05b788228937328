//! Incidents: priority (the runbook's P1–P4), state, who acknowledged and owns it, its
//! escalations and its timeline (`docs/incidents.md`).

use std::fmt;

use ferretwatch_types::Timestamp;

/// An incident's identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncidentId(pub i64);

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The runbook's incident classes, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Critical: respond within 15 minutes.
    P1,
    /// High: within 1 hour.
    P2,
    /// Medium: within 4 hours.
    P3,
    /// Low: within 24 hours.
    P4,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 4] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];

    /// `P1` … `P4`.
    pub fn code(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }

    /// The priority a code names (`P1`, `p1`).
    pub fn parse(code: &str) -> Option<Self> {
        Priority::ALL.into_iter().find(|p| p.code().eq_ignore_ascii_case(code.trim()))
    }

    /// The runbook's response times of P1–P4 in seconds: 15 minutes, 1 hour, 4 hours, 24 hours.
    pub const RESPONSE_SECS: [u64; 4] = [15 * 60, 3600, 4 * 3600, 24 * 3600];

    /// The runbook's response time: 15 minutes, 1 hour, 4 hours, 24 hours, in seconds.
    pub fn response_secs(self) -> u64 {
        match self {
            Priority::P1 => 15 * 60,
            Priority::P2 => 3600,
            Priority::P3 => 4 * 3600,
            Priority::P4 => 24 * 3600,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Where an incident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentState {
    /// Opened; nobody has acknowledged it.
    Open,
    /// Someone is on it.
    Acknowledged,
    /// Over; a post-mortem is due.
    Resolved,
}

impl IncidentState {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Resolved => "resolved",
        }
    }

    /// The state a stored code names.
    pub fn parse(code: &str) -> Option<Self> {
        [IncidentState::Open, IncidentState::Acknowledged, IncidentState::Resolved]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

impl fmt::Display for IncidentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An alert as it opens or updates an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertNotice {
    /// The alert group (Alertmanager's `groupKey`): one open incident per group.
    pub group_key: String,
    /// Its title (the alert's name and service).
    pub title: String,
    /// The most urgent priority among its alerts.
    pub priority: Priority,
    /// The service it concerns, if one.
    pub service: Option<String>,
    /// Whether the group is firing (false: resolved).
    pub firing: bool,
    /// One line per alert, for the timeline.
    pub lines: Vec<String>,
    /// When the earliest alert started (the detection time).
    pub started_at: Timestamp,
    /// When the notice arrived.
    pub at: Timestamp,
}

/// A stored incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Its id.
    pub id: IncidentId,
    /// What it is.
    pub title: String,
    /// How urgent.
    pub priority: Priority,
    /// Where it is.
    pub state: IncidentState,
    /// The service it concerns, if one.
    pub service: Option<String>,
    /// The alert group that opened it, if an alert did.
    pub group_key: Option<String>,
    /// When it was opened.
    pub opened_at: Timestamp,
    /// When the trouble started (the first alert's start): opened minus detected is the
    /// time to detect.
    pub detected_at: Timestamp,
    /// When it was acknowledged, and by whom.
    pub acknowledged: Option<(Timestamp, String)>,
    /// Who owns it.
    pub assignee: Option<String>,
    /// Escalations so far, and the last one.
    pub escalations: i64,
    /// The last escalation.
    pub escalated_at: Option<Timestamp>,
    /// When it was resolved, and by whom.
    pub resolved: Option<(Timestamp, String)>,
    /// The resolution summary.
    pub summary: Option<String>,
    /// When its post-mortem is due (48 hours after resolution).
    pub postmortem_due: Option<Timestamp>,
}

impl Incident {
    /// How the runbook names it: `INC-YEAR-NUMBER` (`INC-2026-007`), the year it opened.
    pub fn reference(&self) -> String {
        format!("INC-{}-{:03}", self.opened_at.to_civil().0, self.id.0)
    }

    /// When its response is due: its priority's response time (from `response_secs`, P1
    /// first) after it opened, or after its last escalation.
    pub fn response_due(&self, response_secs: [u64; 4]) -> Timestamp {
        let index = Priority::ALL.iter().position(|p| *p == self.priority).unwrap_or(3);
        self.escalated_at.unwrap_or(self.opened_at).plus_secs(response_secs[index])
    }
}

/// One line of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentEvent {
    /// When.
    pub at: Timestamp,
    /// `opened`, `alert_firing`, `alert_resolved`, `acknowledged`, `assigned`, `note`,
    /// `escalated`, `resolved`.
    pub kind: String,
    /// Who (`alertmanager`, `escalation`, an engineer).
    pub actor: String,
    /// What.
    pub text: String,
}
