-- Rule and bulletin proposals of the admin console, and the publishers' signatures on
-- them (docs/formats/store.md, "Proposals"). A proposal moves
-- proposed -> approved (the first publisher's signature) -> deploying (the second's)
-- -> deployed | failed, or to rejected before it is deployed.

CREATE TABLE proposals (
    id              INTEGER PRIMARY KEY,
    kind            TEXT   NOT NULL CHECK (kind IN ('block_host', 'block_url', 'allow_domain', 'allow_url',
                                                    'yara', 'bulletin', 'rollback')),
    subject         TEXT   NOT NULL,
    body            TEXT   NOT NULL,
    note            TEXT   NOT NULL,
    url_hash        TEXT,
    state           TEXT   NOT NULL CHECK (state IN ('proposed', 'approved', 'deploying', 'deployed',
                                                     'failed', 'rejected')),
    proposed_by     TEXT   NOT NULL,
    proposed_at     BIGINT NOT NULL,
    base_version    TEXT,
    version         TEXT,
    test_passed     BOOLEAN,
    test_summary    TEXT   NOT NULL,
    request         TEXT   NOT NULL,
    approved_by     TEXT,
    approved_at     BIGINT,
    finished_by     TEXT,
    finished_at     BIGINT,
    outcome         TEXT
);

CREATE INDEX proposals_by_state ON proposals (state, id);

CREATE TABLE proposal_signatures (
    proposal_id BIGINT NOT NULL REFERENCES proposals (id),
    account_id  BIGINT NOT NULL REFERENCES admin_accounts (id),
    actor       TEXT   NOT NULL,
    keyid       TEXT   NOT NULL,
    signatures  TEXT   NOT NULL,
    signed_at   BIGINT NOT NULL,
    PRIMARY KEY (proposal_id, account_id),
    UNIQUE (proposal_id, keyid)
);

-- A publisher key belongs to the account that first signed with it: no other account
-- may sign with it, so two accounts cannot share one key to meet the two-person rule.
CREATE TABLE publisher_keys (
    keyid      TEXT   PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES admin_accounts (id),
    first_used BIGINT NOT NULL
);
