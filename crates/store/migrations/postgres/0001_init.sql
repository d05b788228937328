-- FerretWatch store, PostgreSQL schema 1. See docs/formats/store.md.
-- Times are milliseconds since the Unix epoch (BIGINT, as in SQLite); hashes are 32-byte BYTEA.

CREATE TABLE moderation (
    url_hash             BYTEA    PRIMARY KEY CHECK (octet_length(url_hash) = 32),
    url                  TEXT     NOT NULL,
    state                TEXT     NOT NULL DEFAULT 'queued'
                                  CHECK (state IN ('queued', 'verified', 'rejected', 'benign')),
    first_seen           BIGINT   NOT NULL,
    last_seen            BIGINT   NOT NULL,
    report_count         BIGINT   NOT NULL CHECK (report_count > 0),
    false_positive_count BIGINT   NOT NULL DEFAULT 0 CHECK (false_positive_count >= 0),
    max_score            SMALLINT NOT NULL CHECK (max_score BETWEEN 0 AND 100),
    state_changed_at     BIGINT,
    state_changed_by     TEXT
);

CREATE INDEX moderation_state_last_seen ON moderation (state, last_seen DESC);

-- The append-only report log. Rows are never updated (trigger below); they are deleted
-- only by retention, after 90 days.
CREATE TABLE reports (
    id                BIGINT   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at       BIGINT   NOT NULL,
    kind              TEXT     NOT NULL CHECK (kind IN ('report', 'false_positive')),
    url               TEXT     NOT NULL,
    url_hash          BYTEA    NOT NULL REFERENCES moderation (url_hash),
    reason            TEXT     NOT NULL CHECK (reason IN ('phishing_login', 'payment_fraud', 'malware_download',
                                                          'brand_impersonation', 'data_exfiltration', 'other')),
    reason_text       TEXT     CHECK ((reason = 'other') = (reason_text IS NOT NULL)),
    client_timestamp  BIGINT   NOT NULL,
    extension_version TEXT     NOT NULL,
    pack_version      TEXT     NOT NULL,
    score             SMALLINT NOT NULL CHECK (score BETWEEN 0 AND 100),
    findings          JSONB    NOT NULL,
    screenshot_hash   BYTEA    CHECK (screenshot_hash IS NULL OR octet_length(screenshot_hash) = 32),
    install_token_id  TEXT,
    client_net        TEXT
);

CREATE INDEX reports_url_hash ON reports (url_hash, id);
CREATE INDEX reports_received_at ON reports (received_at);
CREATE INDEX reports_kind ON reports (kind);

CREATE FUNCTION ferretwatch_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER reports_append_only BEFORE UPDATE ON reports
    FOR EACH ROW EXECUTE FUNCTION ferretwatch_append_only();

CREATE TABLE moderation_audit (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url_hash   BYTEA  NOT NULL REFERENCES moderation (url_hash),
    from_state TEXT   NOT NULL,
    to_state   TEXT   NOT NULL,
    actor      TEXT   NOT NULL,
    note       TEXT,
    at         BIGINT NOT NULL
);

CREATE INDEX moderation_audit_url_hash ON moderation_audit (url_hash, id);

CREATE TRIGGER moderation_audit_append_only BEFORE UPDATE OR DELETE ON moderation_audit
    FOR EACH ROW EXECUTE FUNCTION ferretwatch_append_only();

CREATE TABLE admin_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT   NOT NULL,
    role         TEXT   NOT NULL CHECK (role IN ('viewer', 'reviewer', 'publisher', 'admin', 'auditor')),
    token_hash   BYTEA  NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

-- Names are unique among active tokens; a revoked token's name can be reused.
CREATE UNIQUE INDEX admin_tokens_active_name ON admin_tokens (name) WHERE revoked_at IS NULL;
