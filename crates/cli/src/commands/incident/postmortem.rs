//! The post-mortem skeleton written when an incident is resolved.

use std::fmt::Write;

use ferretwatch_store::{Incident, IncidentEvent};
use ferretwatch_types::Timestamp;

use super::reference;

/// The post-mortem skeleton: the incident's facts and timeline, and the sections to fill.
pub fn postmortem(incident: &Incident, events: &[IncidentEvent]) -> String {
    let due = incident.postmortem_due.map(|t| t.to_string()).unwrap_or_default();
    let minutes = |from: Timestamp, to: Timestamp| to.secs_since(from) / 60;
    let mut out = String::new();
    let _ = writeln!(out, "# Post-mortem: {} (incident {}) — {}", reference(incident), incident.id, incident.title);
    let _ = writeln!(out);
    let _ =
        writeln!(out, "Due: {due} (48 hours after resolution). Blameless: describe systems and decisions, not people.");
    let _ = writeln!(out);
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Priority | {} |", incident.priority);
    let _ = writeln!(out, "| Service | {} |", incident.service.as_deref().unwrap_or("all"));
    let _ = writeln!(out, "| Started (first alert) | {} |", incident.detected_at);
    let _ = writeln!(
        out,
        "| Opened | {} ({} min to detect) |",
        incident.opened_at,
        minutes(incident.detected_at, incident.opened_at)
    );
    if let Some((at, by)) = &incident.acknowledged {
        let _ = writeln!(out, "| Acknowledged | {at} by {by} ({} min) |", minutes(incident.opened_at, *at));
    }
    if let Some((at, by)) = &incident.resolved {
        let _ = writeln!(out, "| Resolved | {at} by {by} ({} min to resolve) |", minutes(incident.opened_at, *at));
    }
    let _ = writeln!(out, "| Escalations | {} |", incident.escalations);
    let _ = writeln!(out, "| Owner | {} |", incident.assignee.as_deref().unwrap_or("—"));
    let _ = writeln!(out);
    let _ = writeln!(out, "## Summary\n\n{}\n", incident.summary.as_deref().unwrap_or(""));
    let _ = writeln!(out, "## Timeline\n");
    for e in events {
        let _ = writeln!(out, "- {} — {} ({}): {}", e.at, e.kind, e.actor, e.text);
    }
    let _ = writeln!(out);
    for section in [
        "Impact",
        "Root cause",
        "Detection: how we found out, and how to find out sooner",
        "What went well",
        "What went badly",
        "Action items (owner, due date)",
    ] {
        let _ = writeln!(out, "## {section}\n\nTODO\n");
    }
    out
}
