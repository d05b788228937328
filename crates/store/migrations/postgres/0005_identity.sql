-- The database's identity: one row, a random id chosen when the database was created.
-- Backups record it, and verification and restore compare it, so a backup of another
-- database is never taken for this one's (docs/backups.md).

CREATE TABLE store_identity (
    id         TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

INSERT INTO store_identity (id, created_at)
VALUES (md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text)
        || md5(random()::text || clock_timestamp()::text),
        (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);
