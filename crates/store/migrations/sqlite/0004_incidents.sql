-- Incidents (docs/incidents.md): opened and updated by alerts, worked by the on-call
-- engineer, resolved into a post-mortem. An open incident is found again by its alert
-- group, so repeated notifications of one alert group update one incident.

CREATE TABLE incidents (
    id               INTEGER PRIMARY KEY,
    title            TEXT   NOT NULL,
    priority         TEXT   NOT NULL CHECK (priority IN ('P1', 'P2', 'P3', 'P4')),
    state            TEXT   NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    service          TEXT,
    group_key        TEXT,
    opened_at        BIGINT NOT NULL,
    detected_at      BIGINT NOT NULL,
    acknowledged_at  BIGINT,
    acknowledged_by  TEXT,
    assignee         TEXT,
    escalated_at     BIGINT,
    escalations      BIGINT NOT NULL DEFAULT 0,
    resolved_at      BIGINT,
    resolved_by      TEXT,
    summary          TEXT,
    postmortem_due   BIGINT
);

-- One open incident per alert group.
CREATE UNIQUE INDEX incidents_open_group ON incidents (group_key) WHERE state <> 'resolved';
CREATE INDEX incidents_by_state ON incidents (state, id);

CREATE TABLE incident_events (
    id          INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    at          BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    actor       TEXT   NOT NULL,
    text        TEXT   NOT NULL
);

CREATE INDEX incident_events_by_incident ON incident_events (incident_id, at, id);
