//! Storage for incidents and their timelines, on both backends from one body of SQL in
//! `incident_sql.rs`. An alert group opens at most one open incident (a unique partial
//! index), so repeated and concurrent notifications of one group update one incident.
//! Escalation claims are compare-and-set, so two instances never escalate one incident
//! twice for the same breach.

use async_trait::async_trait;
use ferretwatch_types::Timestamp;

use crate::model::{AlertNotice, Incident, IncidentEvent, IncidentId, IncidentState, Priority};
use crate::Result;

/// A change an engineer makes to an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentChange {
    /// "I am on it": stops the escalation timer.
    Acknowledge,
    /// Gives it an owner.
    Assign(String),
    /// Changes its priority.
    Reprioritise(Priority),
    /// A line for the timeline (and the status page when public).
    Note(String),
    /// Over: with a summary; the post-mortem is due 48 hours later.
    Resolve(String),
}

/// Incident storage (see the module documentation).
#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Opens an incident for a firing alert group, or adds the notice to the open one of
    /// that group (raising its priority when the notice is more urgent). A resolved
    /// notice only adds to the timeline of the group's open incident, if any. Returns the
    /// incident and whether this notice opened it (`None` for a resolved notice without
    /// an open incident).
    async fn record_alert(&self, notice: &AlertNotice) -> Result<Option<(Incident, bool)>>;

    /// Opens an incident by hand.
    async fn open_incident(
        &self,
        title: &str,
        priority: Priority,
        service: Option<&str>,
        by: &str,
        at: Timestamp,
    ) -> Result<Incident>;

    /// One incident.
    async fn get_incident(&self, id: IncidentId) -> Result<Incident>;

    /// Its timeline, oldest first.
    async fn incident_events(&self, id: IncidentId) -> Result<Vec<IncidentEvent>>;

    /// Incidents in `states` (all when empty), newest first, at most `limit`.
    async fn list_incidents(&self, states: &[IncidentState], limit: u32) -> Result<Vec<Incident>>;

    /// Applies a change with its timeline line. Conflict when the incident is resolved
    /// (or, for an acknowledgement, already acknowledged).
    async fn change_incident(
        &self,
        id: IncidentId,
        change: &IncidentChange,
        by: &str,
        at: Timestamp,
    ) -> Result<Incident>;

    /// Claims the escalation of every open (unacknowledged) incident whose response is
    /// overdue at `now` (`response_secs`: the response times of P1–P4, see
    /// [`Priority::response_secs`]), recording it; returns them.
    async fn escalate_due(&self, now: Timestamp, response_secs: [u64; 4]) -> Result<Vec<Incident>>;
}
