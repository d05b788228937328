-- The admin console: accounts (argon2id password, encrypted TOTP seed), invitations,
-- sessions, the access log, settings and the hash-chained, signed audit log.

CREATE TABLE admin_accounts (
    id              INTEGER PRIMARY KEY,
    email           TEXT   NOT NULL UNIQUE,
    role            TEXT   NOT NULL CHECK (role IN ('viewer', 'reviewer', 'publisher', 'admin', 'auditor')),
    eligible_role   TEXT   CHECK (eligible_role IN ('viewer', 'reviewer', 'publisher', 'admin', 'auditor')),
    password_hash   TEXT,
    totp_secret     BLOB,
    totp_last_step  BIGINT NOT NULL DEFAULT 0,
    oidc_issuer     TEXT,
    oidc_subject    TEXT,
    created_at      BIGINT NOT NULL,
    created_by      TEXT   NOT NULL,
    last_login_at   BIGINT,
    disabled_at     BIGINT,
    failed_logins   BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    UNIQUE (oidc_issuer, oidc_subject)
);

CREATE TABLE admin_recovery_codes (
    account_id BIGINT NOT NULL REFERENCES admin_accounts (id),
    code_hash  BLOB   NOT NULL CHECK (length(code_hash) = 32),
    used_at    BIGINT,
    PRIMARY KEY (account_id, code_hash)
);

CREATE TABLE admin_invitations (
    id          INTEGER PRIMARY KEY,
    code_hash   BLOB   NOT NULL UNIQUE CHECK (length(code_hash) = 32),
    role        TEXT   NOT NULL CHECK (role IN ('viewer', 'reviewer', 'publisher', 'admin', 'auditor')),
    email       TEXT,
    totp_secret BLOB,
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    account_id  BIGINT REFERENCES admin_accounts (id)
);

CREATE TABLE admin_sessions (
    id_hash           BLOB   PRIMARY KEY CHECK (length(id_hash) = 32),
    account_id        BIGINT NOT NULL REFERENCES admin_accounts (id),
    stage             TEXT   NOT NULL CHECK (stage IN ('password', 'full')),
    created_at        BIGINT NOT NULL,
    last_seen_at      BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    client_net        TEXT,
    elevated_role     TEXT   CHECK (elevated_role IN ('viewer', 'reviewer', 'publisher', 'admin', 'auditor')),
    elevated_until    BIGINT,
    elevation_reason  TEXT
);

CREATE INDEX admin_sessions_account ON admin_sessions (account_id);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

-- Pending OpenID Connect sign-ins (state, nonce and PKCE verifier), keyed by the hash of
-- the browser's pre-login cookie; short-lived.
CREATE TABLE admin_oidc_pending (
    id_hash    BLOB   PRIMARY KEY CHECK (length(id_hash) = 32),
    payload    TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Named and typed as the runbook's access queries expect: one row per sign-in attempt.
CREATE TABLE admin_access_logs (
    id          INTEGER PRIMARY KEY,
    login_time  BIGINT NOT NULL,
    admin_email TEXT   NOT NULL,
    account_id  BIGINT,
    ip_address  TEXT   NOT NULL,
    method      TEXT   NOT NULL,
    outcome     TEXT   NOT NULL,
    user_agent  TEXT
);

CREATE INDEX admin_access_logs_time ON admin_access_logs (login_time);

CREATE TRIGGER admin_access_logs_append_only BEFORE UPDATE ON admin_access_logs
BEGIN
    SELECT RAISE(ABORT, 'admin_access_logs is append-only');
END;

CREATE TABLE console_settings (
    key        TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT   NOT NULL
);

CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY CHECK (seq > 0),
    at         BIGINT NOT NULL,
    actor      TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    target     TEXT   NOT NULL,
    details    TEXT   NOT NULL,
    prev_hash  BLOB   NOT NULL CHECK (length(prev_hash) = 32),
    hash       BLOB   NOT NULL CHECK (length(hash) = 32),
    key_id     TEXT   NOT NULL,
    signature  BLOB   NOT NULL
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);

CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- The dashboard counts reports by kind over recent windows from the index alone.
CREATE INDEX reports_received_kind ON reports (received_at, kind);

-- The triage inbox pages through the moderation table in each of its orders without
-- sorting it (`ORDER BY … , url_hash` as `rows::moderation_order` writes them).
CREATE INDEX moderation_last_seen ON moderation (last_seen DESC, url_hash);
CREATE INDEX moderation_report_count ON moderation (report_count DESC, url_hash);
CREATE INDEX moderation_max_score ON moderation (max_score DESC, last_seen DESC, url_hash);
CREATE INDEX moderation_state_report_count ON moderation (state, report_count DESC, url_hash);
