//! The moderation table: one entry per URL hash, its triage state, and the audit of every
//! state change.

use std::fmt;

use super::report::UrlHash;
use crate::error::ValidationError;
use ferretwatch_types::Timestamp;

/// Where a reported URL stands in triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModerationState {
    /// Waiting for a reviewer. Every new URL starts here.
    Queued,
    /// Confirmed malicious.
    Verified,
    /// The report was wrong or abusive (not a judgement on the page).
    Rejected,
    /// The page is fine (typically a confirmed false positive).
    Benign,
}

impl ModerationState {
    /// Every state, in triage order.
    pub const ALL: [Self; 4] = [Self::Queued, Self::Verified, Self::Rejected, Self::Benign];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Verified => "verified",
            Self::Rejected => "rejected",
            Self::Benign => "benign",
        }
    }

    /// The state with this code.
    pub fn parse(code: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or_else(|| ValidationError::new("state", "must be queued, verified, rejected or benign"))
    }

    /// Whether a reviewer may move an entry from `self` to `to`.
    ///
    /// A queued entry is decided (verified, rejected or benign); a decided entry can only
    /// be reopened (back to queued), never switched straight to another decision, so every
    /// change of verdict shows in the audit as reopen plus decide, and two reviewers
    /// deciding the same entry at once cannot both win. Staying in the same state is not a
    /// transition.
    pub fn can_transition_to(self, to: Self) -> bool {
        match (self, to) {
            (Self::Queued, Self::Queued) => false,
            (Self::Queued, _) => true,
            (_, Self::Queued) => true,
            _ => false,
        }
    }

    /// The states from which `to` can be reached.
    pub fn sources_of(to: Self) -> Vec<Self> {
        Self::ALL.into_iter().filter(|from| from.can_transition_to(to)).collect()
    }
}

impl fmt::Display for ModerationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One reported URL in the moderation table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModerationEntry {
    /// SHA-256 of the normalised URL (the key).
    pub url_hash: UrlHash,
    /// The normalised URL.
    pub url: String,
    /// Triage state.
    pub state: ModerationState,
    /// `received_at` of the earliest report.
    pub first_seen: Timestamp,
    /// `received_at` of the latest report.
    pub last_seen: Timestamp,
    /// Reports of this URL, false positives included.
    pub report_count: i64,
    /// Of those, how many were false-positive reports.
    pub false_positive_count: i64,
    /// The highest score any report gave it.
    pub max_score: u8,
    /// When the state last changed, if it ever did.
    pub state_changed_at: Option<Timestamp>,
    /// Who last changed the state, if anyone did.
    pub state_changed_by: Option<String>,
}

/// How to order the moderation inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModerationSort {
    /// Most recently reported first.
    #[default]
    LastSeen,
    /// Most reported first.
    ReportCount,
    /// Highest score first.
    MaxScore,
}

/// Which entries `list_moderation` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModerationFilter {
    /// Only entries in this state.
    pub state: Option<ModerationState>,
    /// Only entries whose highest score is at least this.
    pub min_score: Option<u8>,
    /// The order (ties broken by URL hash, so pages are stable).
    pub sort: ModerationSort,
}

/// Who did something: an admin token's name or a console user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor(String);

impl Actor {
    /// Accepts 1 to 128 characters, without control characters.
    pub fn new(name: &str) -> Result<Self, ValidationError> {
        if name.trim().is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
            return Err(ValidationError::new("actor", "must be 1 to 128 printable characters"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A reviewer's decision, for `set_moderation_state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// The entry.
    pub url_hash: UrlHash,
    /// The new state; must be reachable from the current one.
    pub to: ModerationState,
    /// Who decides.
    pub actor: Actor,
    /// An optional note for the audit (at most [`StateChange::MAX_NOTE_CHARS`] characters;
    /// checked by the store).
    pub note: Option<String>,
    /// When.
    pub at: Timestamp,
}

impl StateChange {
    /// The longest note accepted, in characters.
    pub const MAX_NOTE_CHARS: usize = 1000;

    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        match &self.note {
            Some(note) if note.chars().count() > Self::MAX_NOTE_CHARS => {
                Err(ValidationError::new("note", format!("at most {} characters", Self::MAX_NOTE_CHARS)))
            }
            _ => Ok(()),
        }
    }
}

/// One row of the moderation audit: an applied state change. Append-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModerationAudit {
    /// Audit row id, increasing.
    pub id: i64,
    /// The entry.
    pub url_hash: UrlHash,
    /// State before.
    pub from: ModerationState,
    /// State after.
    pub to: ModerationState,
    /// Who.
    pub actor: String,
    /// The note, if any.
    pub note: Option<String>,
    /// When.
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::ModerationState::*;
    use super::*;

    #[test]
    fn queued_entries_are_decided_and_decided_entries_only_reopen() {
        for to in [Verified, Rejected, Benign] {
            assert!(Queued.can_transition_to(to));
            assert!(to.can_transition_to(Queued));
            for other in [Verified, Rejected, Benign] {
                assert!(!to.can_transition_to(other), "{to} -> {other}");
            }
        }
        assert!(!Queued.can_transition_to(Queued));
        assert_eq!(ModerationState::sources_of(Queued), vec![Verified, Rejected, Benign]);
        assert_eq!(ModerationState::sources_of(Benign), vec![Queued]);
    }

    #[test]
    fn states_round_trip_through_their_codes() {
        for state in ModerationState::ALL {
            assert_eq!(ModerationState::parse(state.code()).unwrap(), state);
        }
        assert!(ModerationState::parse("deleted").is_err());
    }
}
