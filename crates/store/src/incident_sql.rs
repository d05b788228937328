//! [`crate::IncidentStore`] for both backends from one body of SQL (the approach of
//! `console_sql.rs`; [`incident_store!`] is instantiated in its backend modules).

use ferretwatch_types::Timestamp;

use crate::model::{Incident, IncidentEvent, IncidentId, IncidentState, Priority};
use crate::StoreError;

pub(crate) const INCIDENT_COLUMNS: &str = "id, title, priority, state, service, group_key, opened_at, detected_at, \
     acknowledged_at, acknowledged_by, assignee, escalated_at, escalations, resolved_at, resolved_by, summary, \
     postmortem_due";

/// How long after resolution a post-mortem is due: 48 hours.
pub(crate) const POSTMORTEM_SECS: u64 = 48 * 3600;

#[derive(sqlx::FromRow)]
pub(crate) struct IncidentRow {
    id: i64,
    title: String,
    priority: String,
    state: String,
    service: Option<String>,
    group_key: Option<String>,
    opened_at: i64,
    detected_at: i64,
    acknowledged_at: Option<i64>,
    acknowledged_by: Option<String>,
    assignee: Option<String>,
    escalated_at: Option<i64>,
    escalations: i64,
    resolved_at: Option<i64>,
    resolved_by: Option<String>,
    summary: Option<String>,
    postmortem_due: Option<i64>,
}

impl TryFrom<IncidentRow> for Incident {
    type Error = StoreError;
    fn try_from(row: IncidentRow) -> Result<Self, StoreError> {
        let at = Timestamp::from_millis;
        Ok(Incident {
            id: IncidentId(row.id),
            title: row.title,
            priority: Priority::parse(&row.priority).ok_or_else(|| StoreError::corrupt("unknown priority"))?,
            state: IncidentState::parse(&row.state).ok_or_else(|| StoreError::corrupt("unknown incident state"))?,
            service: row.service,
            group_key: row.group_key,
            opened_at: at(row.opened_at),
            detected_at: at(row.detected_at),
            acknowledged: row.acknowledged_at.map(at).zip(row.acknowledged_by),
            assignee: row.assignee,
            escalations: row.escalations,
            escalated_at: row.escalated_at.map(at),
            resolved: row.resolved_at.map(at).zip(row.resolved_by),
            summary: row.summary,
            postmortem_due: row.postmortem_due.map(at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    at: i64,
    kind: String,
    actor: String,
    text: String,
}

impl From<EventRow> for IncidentEvent {
    fn from(row: EventRow) -> Self {
        IncidentEvent { at: Timestamp::from_millis(row.at), kind: row.kind, actor: row.actor, text: row.text }
    }
}

/// `state IN (…)` for incident states.
pub(crate) fn incident_states_in(states: &[IncidentState]) -> String {
    crate::rows::state_in(states.iter().map(|s| s.code()))
}

macro_rules! incident_store {
    ($store:ty, $db:ty) => {
        use $crate::incident_sql::{incident_states_in, EventRow, IncidentRow, INCIDENT_COLUMNS, POSTMORTEM_SECS};
        use $crate::incidents::{IncidentChange, IncidentStore};
        use $crate::model::{AlertNotice, Incident, IncidentEvent, IncidentId, IncidentState, Priority};

        async fn incident_in(tx: &mut sqlx::Transaction<'_, $db>, id: IncidentId) -> $crate::Result<Incident> {
            let row: Option<IncidentRow> =
                sqlx::query_as(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1"))
                    .bind(id.0)
                    .fetch_optional(&mut **tx)
                    .await?;
            row.ok_or_else(|| $crate::StoreError::not_found("incident"))?.try_into()
        }

        async fn event_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            id: IncidentId,
            at: ferretwatch_types::Timestamp,
            kind: &str,
            actor: &str,
            text: &str,
        ) -> $crate::Result<()> {
            sqlx::query("INSERT INTO incident_events (incident_id, at, kind, actor, text) VALUES ($1, $2, $3, $4, $5)")
                .bind(id.0)
                .bind(at.as_millis())
                .bind(kind)
                .bind(actor)
                .bind(text)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        impl $store {
            async fn record_alert_once(&self, n: &AlertNotice) -> $crate::Result<Option<(Incident, bool)>> {
                let mut tx = self.console_begin().await?;
                let open: Option<IncidentRow> = sqlx::query_as(&format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE group_key = $1 AND state <> 'resolved'"
                ))
                .bind(&n.group_key)
                .fetch_optional(&mut *tx)
                .await?;
                let kind = if n.firing { "alert_firing" } else { "alert_resolved" };
                let (incident, opened) = match (open, n.firing) {
                    (None, false) => return Ok(None),
                    (None, true) => {
                        let row: IncidentRow = sqlx::query_as(&format!(
                            "INSERT INTO incidents (title, priority, state, service, group_key, opened_at, detected_at) \
                             VALUES ($1, $2, 'open', $3, $4, $5, $6) RETURNING {INCIDENT_COLUMNS}"
                        ))
                        .bind(&n.title)
                        .bind(n.priority.code())
                        .bind(&n.service)
                        .bind(&n.group_key)
                        .bind(n.at.as_millis())
                        .bind(n.started_at.min(n.at).as_millis())
                        .fetch_one(&mut *tx)
                        .await?;
                        let incident = Incident::try_from(row)?;
                        let text = format!("opened by an alert: {} ({})", n.title, n.priority);
                        event_in(&mut tx, incident.id, n.at, "opened", "alertmanager", &text).await?;
                        (incident, true)
                    }
                    (Some(row), _) => {
                        let mut incident = Incident::try_from(row)?;
                        if n.firing && n.priority < incident.priority {
                            sqlx::query("UPDATE incidents SET priority = $1 WHERE id = $2")
                                .bind(n.priority.code())
                                .bind(incident.id.0)
                                .execute(&mut *tx)
                                .await?;
                            let text = format!("priority raised from {} to {} by an alert", incident.priority, n.priority);
                            event_in(&mut tx, incident.id, n.at, "priority", "alertmanager", &text).await?;
                            incident.priority = n.priority;
                        }
                        (incident, false)
                    }
                };
                for line in &n.lines {
                    event_in(&mut tx, incident.id, n.at, kind, "alertmanager", line).await?;
                }
                tx.commit().await?;
                Ok(Some((incident, opened)))
            }
        }

        #[async_trait::async_trait]
        impl IncidentStore for $store {
            async fn record_alert(&self, notice: &AlertNotice) -> $crate::Result<Option<(Incident, bool)>> {
                match self.record_alert_once(notice).await {
                    // Another notice of the group opened it meanwhile: add to that one.
                    Err(e) if e.kind() == $crate::ErrorKind::Conflict => self.record_alert_once(notice).await,
                    other => other,
                }
            }

            async fn open_incident(
                &self,
                title: &str,
                priority: Priority,
                service: Option<&str>,
                by: &str,
                at: ferretwatch_types::Timestamp,
            ) -> $crate::Result<Incident> {
                let mut tx = self.console_begin().await?;
                let row: IncidentRow = sqlx::query_as(&format!(
                    "INSERT INTO incidents (title, priority, state, service, opened_at, detected_at) \
                     VALUES ($1, $2, 'open', $3, $4, $4) RETURNING {INCIDENT_COLUMNS}"
                ))
                .bind(title)
                .bind(priority.code())
                .bind(service)
                .bind(at.as_millis())
                .fetch_one(&mut *tx)
                .await?;
                let incident = Incident::try_from(row)?;
                event_in(&mut tx, incident.id, at, "opened", by, &format!("opened by hand: {title} ({priority})")).await?;
                tx.commit().await?;
                Ok(incident)
            }

            async fn get_incident(&self, id: IncidentId) -> $crate::Result<Incident> {
                let row: Option<IncidentRow> =
                    sqlx::query_as(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1"))
                        .bind(id.0)
                        .fetch_optional(self.console_read())
                        .await?;
                row.ok_or_else(|| $crate::StoreError::not_found("incident"))?.try_into()
            }

            async fn incident_events(&self, id: IncidentId) -> $crate::Result<Vec<IncidentEvent>> {
                let rows: Vec<EventRow> = sqlx::query_as(
                    "SELECT at, kind, actor, text FROM incident_events WHERE incident_id = $1 ORDER BY at, id",
                )
                .bind(id.0)
                .fetch_all(self.console_read())
                .await?;
                Ok(rows.into_iter().map(IncidentEvent::from).collect())
            }

            async fn list_incidents(&self, states: &[IncidentState], limit: u32) -> $crate::Result<Vec<Incident>> {
                let filter =
                    if states.is_empty() { String::new() } else { format!("WHERE {}", incident_states_in(states)) };
                let rows: Vec<IncidentRow> = sqlx::query_as(&format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents {filter} ORDER BY id DESC LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(self.console_read())
                .await?;
                rows.into_iter().map(Incident::try_from).collect()
            }

            async fn change_incident(
                &self,
                id: IncidentId,
                change: &IncidentChange,
                by: &str,
                at: ferretwatch_types::Timestamp,
            ) -> $crate::Result<Incident> {
                let mut tx = self.console_begin().await?;
                let current = incident_in(&mut tx, id).await?;
                if current.state == IncidentState::Resolved {
                    return Err($crate::StoreError::conflict("the incident is resolved"));
                }
                let (kind, text) = match change {
                    IncidentChange::Acknowledge => {
                        if current.state == IncidentState::Acknowledged {
                            return Err($crate::StoreError::conflict("the incident is already acknowledged"));
                        }
                        sqlx::query(
                            "UPDATE incidents SET state = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2 \
                             WHERE id = $3",
                        )
                        .bind(at.as_millis())
                        .bind(by)
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await?;
                        ("acknowledged", format!("acknowledged by {by}"))
                    }
                    IncidentChange::Assign(who) => {
                        sqlx::query("UPDATE incidents SET assignee = $1 WHERE id = $2")
                            .bind(who)
                            .bind(id.0)
                            .execute(&mut *tx)
                            .await?;
                        ("assigned", format!("assigned to {who}"))
                    }
                    IncidentChange::Reprioritise(priority) => {
                        sqlx::query("UPDATE incidents SET priority = $1 WHERE id = $2")
                            .bind(priority.code())
                            .bind(id.0)
                            .execute(&mut *tx)
                            .await?;
                        ("priority", format!("priority changed from {} to {priority}", current.priority))
                    }
                    IncidentChange::Note(text) => ("note", text.clone()),
                    IncidentChange::Resolve(summary) => {
                        sqlx::query(
                            "UPDATE incidents SET state = 'resolved', resolved_at = $1, resolved_by = $2, summary = $3, \
                             postmortem_due = $4 WHERE id = $5",
                        )
                        .bind(at.as_millis())
                        .bind(by)
                        .bind(summary)
                        .bind(at.plus_secs(POSTMORTEM_SECS).as_millis())
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await?;
                        ("resolved", format!("resolved: {summary}"))
                    }
                };
                event_in(&mut tx, id, at, kind, by, &text).await?;
                let incident = incident_in(&mut tx, id).await?;
                tx.commit().await?;
                Ok(incident)
            }

            async fn escalate_due(
                &self,
                now: ferretwatch_types::Timestamp,
                response_secs: [u64; 4],
            ) -> $crate::Result<Vec<Incident>> {
                let open = self.list_incidents(&[IncidentState::Open], 10_000).await?;
                let mut escalated = Vec::new();
                for incident in open.into_iter().filter(|i| i.response_due(response_secs) <= now) {
                    let mut tx = self.console_begin().await?;
                    let claimed = sqlx::query(
                        "UPDATE incidents SET escalations = escalations + 1, escalated_at = $1 \
                         WHERE id = $2 AND state = 'open' AND escalations = $3",
                    )
                    .bind(now.as_millis())
                    .bind(incident.id.0)
                    .bind(incident.escalations)
                    .execute(&mut *tx)
                    .await?;
                    if claimed.rows_affected() != 1 {
                        continue; // acknowledged or escalated by another instance meanwhile
                    }
                    let index = Priority::ALL.iter().position(|p| *p == incident.priority).unwrap_or(3);
                    let text = format!(
                        "not acknowledged within the {} response time ({} s): escalation {}",
                        incident.priority,
                        response_secs[index],
                        incident.escalations + 1
                    );
                    event_in(&mut tx, incident.id, now, "escalated", "escalation", &text).await?;
                    let updated = incident_in(&mut tx, incident.id).await?;
                    tx.commit().await?;
                    escalated.push(updated);
                }
                Ok(escalated)
            }
        }
    };
}

pub(crate) use incident_store;
