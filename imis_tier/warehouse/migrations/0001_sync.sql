-- Sync bookkeeping: where each entity's extraction stands, and every run.
CREATE TABLE sync_checkpoint (
    entity        VARCHAR PRIMARY KEY,
    watermark     TIMESTAMP,            -- greatest UpdatedOn fully extracted (iMIS local time)
    run_id        VARCHAR,
    rows_total    BIGINT NOT NULL DEFAULT 0,
    updated_at    TIMESTAMP NOT NULL  -- UTC
);

-- A run in progress keeps its position per entity, so a killed run resumes mid-entity.
CREATE TABLE sync_progress (
    run_id        VARCHAR NOT NULL,
    entity        VARCHAR NOT NULL,
    since         TIMESTAMP,            -- lower UpdatedOn bound of this run (exclusive)
    next_offset   BIGINT NOT NULL DEFAULT 0,
    done          BOOLEAN NOT NULL DEFAULT false,
    rows          BIGINT NOT NULL DEFAULT 0,
    max_updated   TIMESTAMP,
    PRIMARY KEY (run_id, entity)
);

CREATE TABLE sync_runs (
    run_id        VARCHAR PRIMARY KEY,
    mode          VARCHAR NOT NULL,     -- backfill | sync | file
    source        VARCHAR NOT NULL,     -- base URL (no credentials) or file path
    since         TIMESTAMP,
    started_at    TIMESTAMP NOT NULL,   -- UTC
    finished_at   TIMESTAMP,
    status        VARCHAR NOT NULL,     -- running | finished | failed
    rows          BIGINT NOT NULL DEFAULT 0,
    error         VARCHAR
);
