-- FerretWatch store, PostgreSQL schema 6: the data lifecycle (docs/data-lifecycle.md).

-- Daily aggregates of the report log, added to by retention in the same transaction that
-- deletes the reports they count, and kept after them. `day` is the UTC midnight of the
-- reports' `received_at` (milliseconds); `level` the band of their score; `domain` the
-- registrable domain (eTLD+1) of their URL: counts only, no URL, token or network.
CREATE TABLE report_daily (
    day     BIGINT NOT NULL,
    kind    TEXT   NOT NULL CHECK (kind IN ('report', 'false_positive')),
    reason  TEXT   NOT NULL,
    level   TEXT   NOT NULL CHECK (level IN ('green', 'yellow', 'red')),
    domain  TEXT   NOT NULL,
    reports BIGINT NOT NULL CHECK (reports > 0),
    PRIMARY KEY (day, kind, reason, level, domain)
);

-- What was deleted on request, keyed so that the list reveals nothing: `keyed_hash` is
-- HMAC-SHA256 under the tombstone key of the subject (a URL's hash, or an install token
-- id). Applied again after a restore (`ferretwatch db tombstones reapply`).
CREATE TABLE tombstones (
    keyed_hash BYTEA  PRIMARY KEY CHECK (octet_length(keyed_hash) = 32),
    subject    TEXT   NOT NULL CHECK (subject IN ('url', 'install')),
    created_at BIGINT NOT NULL,
    reason     TEXT   NOT NULL
);

-- Forgetting an install finds its reports without a scan of the log.
CREATE INDEX reports_install_token_id ON reports (install_token_id) WHERE install_token_id IS NOT NULL;

-- A report of a forgotten URL is refused by the database itself (SQLSTATE FW410, the
-- store's `Gone`): `forget` marks the URL's moderation entry under a `FOR UPDATE` lock,
-- and this trigger reads the entry under `FOR KEY SHARE` (the lock the foreign key takes
-- anyway, taken before the row is written), which the two orders: either the append
-- waits for the `forget` to commit and sees the mark, or the `forget` waits for the
-- append to commit and deletes its report. Appends among themselves do not conflict on
-- it. The store also checks the keyed tombstones before appending, for a URL that has no
-- entry (or a restored database not yet reapplied).
CREATE FUNCTION ferretwatch_not_forgotten() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entry_url TEXT;
BEGIN
    SELECT url INTO entry_url FROM moderation WHERE url_hash = NEW.url_hash FOR KEY SHARE;
    IF entry_url = '(forgotten)' THEN
        RAISE EXCEPTION 'this URL was deleted on request' USING ERRCODE = 'FW410';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER reports_not_forgotten BEFORE INSERT ON reports
    FOR EACH ROW EXECUTE FUNCTION ferretwatch_not_forgotten();
