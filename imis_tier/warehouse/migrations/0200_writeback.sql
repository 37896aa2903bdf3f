-- Write-back: staged change sets, the per-operation journal, and the hash-chained audit trail.
-- Times are UTC (TIMESTAMP without zone, so values round-trip exactly for hashing).

-- A change set as computed (dry run) and, once approved, as applied.
CREATE TABLE writeback_change_sets (
    change_set_hash VARCHAR PRIMARY KEY,  -- sha256 of target + operations
    target          VARCHAR NOT NULL,     -- iMIS source or task name
    target_kind     VARCHAR NOT NULL,     -- entity | task
    body            VARCHAR NOT NULL,     -- the change set as canonical JSON
    creates         INTEGER NOT NULL,
    updates         INTEGER NOT NULL,
    deletes         INTEGER NOT NULL,
    noops           INTEGER NOT NULL,
    computed_at     TIMESTAMP NOT NULL,   -- UTC
    status          VARCHAR NOT NULL,     -- staged | applying | applied | failed | superseded
    approved_by     VARCHAR,
    applied_at      TIMESTAMP,            -- UTC
    error           VARCHAR
);

-- One row per writing operation of an approved change set: planned -> pending -> done.
-- 'pending' is committed before the request goes out, 'done' after iMIS answered, so a killed run
-- knows exactly which operations may have reached iMIS and re-reads those before resending.
CREATE TABLE writeback_journal (
    change_set_hash VARCHAR NOT NULL,
    op_index        INTEGER NOT NULL,     -- position among the change set's writing operations
    kind            VARCHAR NOT NULL,     -- create | update | delete
    natural_key     VARCHAR NOT NULL,     -- '/'-joined natural key values
    status          VARCHAR NOT NULL,     -- planned | pending | done
    identity        VARCHAR,              -- the iMIS identity written ('40125', '40125|3', SEQN)
    resolution      VARCHAR,              -- sent | found (already in iMIS on resume) | gone
    attempts        INTEGER NOT NULL DEFAULT 0,
    updated_at      TIMESTAMP NOT NULL,   -- UTC
    PRIMARY KEY (change_set_hash, op_index)
);

-- Append-only audit trail; each record carries the hash of the one before (genesis: 64 zeros).
CREATE TABLE writeback_audit (
    seq             BIGINT PRIMARY KEY,
    recorded_at     TIMESTAMP NOT NULL,   -- UTC
    actor           VARCHAR NOT NULL,     -- who approved / ran it
    os_user         VARCHAR,
    action          VARCHAR NOT NULL,     -- apply | apply_failed
    change_set_hash VARCHAR,
    target          VARCHAR,
    counts          VARCHAR NOT NULL,     -- JSON
    inputs          VARCHAR NOT NULL,     -- JSON: data hash, as-of date, ... (secrets redacted)
    model_versions  VARCHAR NOT NULL,     -- JSON
    outputs         VARCHAR NOT NULL,     -- JSON: journal outcome, identities written
    prev_hash       VARCHAR NOT NULL,
    record_hash     VARCHAR NOT NULL
);
