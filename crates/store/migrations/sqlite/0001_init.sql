-- FerretWatch store, SQLite schema 1. See docs/formats/store.md.
-- Times are milliseconds since the Unix epoch (INTEGER); hashes are 32-byte BLOBs.

CREATE TABLE moderation (
    url_hash             BLOB    PRIMARY KEY CHECK (length(url_hash) = 32),
    url                  TEXT    NOT NULL,
    state                TEXT    NOT NULL DEFAULT 'queued'
                                 CHECK (state IN ('queued', 'verified', 'rejected', 'benign')),
    first_seen           INTEGER NOT NULL,
    last_seen            INTEGER NOT NULL,
    report_count         INTEGER NOT NULL CHECK (report_count > 0),
    false_positive_count INTEGER NOT NULL DEFAULT 0 CHECK (false_positive_count >= 0),
    max_score            INTEGER NOT NULL CHECK (max_score BETWEEN 0 AND 100),
    state_changed_at     INTEGER,
    state_changed_by     TEXT
) WITHOUT ROWID;

CREATE INDEX moderation_state_last_seen ON moderation (state, last_seen DESC);

-- The append-only report log. Rows are never updated (trigger below); they are deleted
-- only by retention, after 90 days.
CREATE TABLE reports (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at       INTEGER NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('report', 'false_positive')),
    url               TEXT    NOT NULL,
    url_hash          BLOB    NOT NULL REFERENCES moderation (url_hash),
    reason            TEXT    NOT NULL CHECK (reason IN ('phishing_login', 'payment_fraud', 'malware_download',
                                                         'brand_impersonation', 'data_exfiltration', 'other')),
    reason_text       TEXT    CHECK ((reason = 'other') = (reason_text IS NOT NULL)),
    client_timestamp  INTEGER NOT NULL,
    extension_version TEXT    NOT NULL,
    pack_version      TEXT    NOT NULL,
    score             INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
    findings          TEXT    NOT NULL CHECK (json_valid(findings)),
    screenshot_hash   BLOB    CHECK (screenshot_hash IS NULL OR length(screenshot_hash) = 32),
    install_token_id  TEXT,
    client_net        TEXT
);

CREATE INDEX reports_url_hash ON reports (url_hash, id);
CREATE INDEX reports_received_at ON reports (received_at);
CREATE INDEX reports_kind ON reports (kind);

CREATE TRIGGER reports_append_only BEFORE UPDATE ON reports
BEGIN
    SELECT RAISE(ABORT, 'reports are append-only');
END;

CREATE TABLE moderation_audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    url_hash   BLOB    NOT NULL REFERENCES moderation (url_hash),
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    note       TEXT,
    at         INTEGER NOT NULL
);

CREATE INDEX moderation_audit_url_hash ON moderation_audit (url_hash, id);

CREATE TRIGGER moderation_audit_append_only BEFORE UPDATE ON moderation_audit
BEGIN
    SELECT RAISE(ABORT, 'the moderation audit is append-only');
END;

CREATE TRIGGER moderation_audit_no_delete BEFORE DELETE ON moderation_audit
BEGIN
    SELECT RAISE(ABORT, 'the moderation audit is append-only');
END;

CREATE TABLE admin_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('viewer', 'reviewer', 'publisher', 'admin', 'auditor')),
    token_hash   BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

-- Names are unique among active tokens; a revoked token's name can be reused.
CREATE UNIQUE INDEX admin_tokens_active_name ON admin_tokens (name) WHERE revoked_at IS NULL;
