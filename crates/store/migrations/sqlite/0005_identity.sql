-- The database's identity: one row, a random id chosen when the database was created.
-- Backups record it, and verification and restore compare it, so a backup of another
-- database is never taken for this one's (docs/backups.md).

CREATE TABLE store_identity (
    id         TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

INSERT INTO store_identity (id, created_at)
VALUES (lower(hex(randomblob(32))), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
