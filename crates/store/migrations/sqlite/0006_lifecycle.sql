-- FerretWatch store, SQLite schema 6: the data lifecycle (docs/data-lifecycle.md).

-- Daily aggregates of the report log, added to by retention in the same transaction that
-- deletes the reports they count, and kept after them. `day` is the UTC midnight of the
-- reports' `received_at` (milliseconds); `level` the band of their score; `domain` the
-- registrable domain (eTLD+1) of their URL: counts only, no URL, token or network.
CREATE TABLE report_daily (
    day     INTEGER NOT NULL,
    kind    TEXT    NOT NULL CHECK (kind IN ('report', 'false_positive')),
    reason  TEXT    NOT NULL,
    level   TEXT    NOT NULL CHECK (level IN ('green', 'yellow', 'red')),
    domain  TEXT    NOT NULL,
    reports INTEGER NOT NULL CHECK (reports > 0),
    PRIMARY KEY (day, kind, reason, level, domain)
) WITHOUT ROWID;

-- What was deleted on request, keyed so that the list reveals nothing: `keyed_hash` is
-- HMAC-SHA256 under the tombstone key of the subject (a URL's hash, or an install token
-- id). Applied again after a restore (`ferretwatch db tombstones reapply`).
CREATE TABLE tombstones (
    keyed_hash BLOB    PRIMARY KEY CHECK (length(keyed_hash) = 32),
    subject    TEXT    NOT NULL CHECK (subject IN ('url', 'install')),
    created_at INTEGER NOT NULL,
    reason     TEXT    NOT NULL
) WITHOUT ROWID;

-- Forgetting an install finds its reports without a scan of the log.
CREATE INDEX reports_install_token_id ON reports (install_token_id) WHERE install_token_id IS NOT NULL;

-- A report of a forgotten URL is refused by the database itself (the store's `Gone`):
-- `forget` marks the URL's moderation entry. The store also checks the keyed tombstones
-- before appending, for a URL that has no entry (or a restored database not yet
-- reapplied).
CREATE TRIGGER reports_not_forgotten BEFORE INSERT ON reports
WHEN EXISTS (SELECT 1 FROM moderation WHERE url_hash = NEW.url_hash AND url = '(forgotten)')
BEGIN
    SELECT RAISE(ABORT, 'ferretwatch: this URL was deleted on request');
END;
