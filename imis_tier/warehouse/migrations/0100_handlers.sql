-- Automation-step handlers: run journal, crash-safe locks, schedule positions, change
-- notifications (de-duplicated by event id), dead letters and monitor findings.
-- Every timestamp here is UTC (naive TIMESTAMP; the library converts at its surface).
CREATE TABLE handler_runs (
    run_id        VARCHAR PRIMARY KEY,
    handler       VARCHAR NOT NULL,
    trigger       VARCHAR NOT NULL,     -- schedule | event | manual | recovery
    slot          TIMESTAMP,            -- the schedule slot this run serves
    event_id      VARCHAR,
    dry_run       BOOLEAN NOT NULL DEFAULT false,
    owner         VARCHAR NOT NULL,     -- host:pid:token of the process that ran it
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    status        VARCHAR NOT NULL,     -- running | finished | failed | interrupted
    attempts      INTEGER NOT NULL DEFAULT 0,
    rows_read     BIGINT NOT NULL DEFAULT 0,
    rows_written  BIGINT NOT NULL DEFAULT 0,
    error         VARCHAR,
    resumes       VARCHAR,              -- run_id of the interrupted run this one completes
    details       VARCHAR               -- JSON figures returned by the handler
);
CREATE INDEX handler_runs_by_handler ON handler_runs (handler, started_at);

-- One row per handler while a run holds it; a row whose owner died is taken over.
CREATE TABLE handler_locks (
    handler       VARCHAR PRIMARY KEY,
    owner         VARCHAR NOT NULL,
    host          VARCHAR NOT NULL,
    pid           INTEGER NOT NULL,
    run_id        VARCHAR NOT NULL,
    acquired_at   TIMESTAMP NOT NULL,
    heartbeat_at  TIMESTAMP NOT NULL
);

-- The last schedule slot served per handler: missed slots are caught up once from here.
CREATE TABLE handler_schedule (
    handler       VARCHAR PRIMARY KEY,
    last_slot     TIMESTAMP NOT NULL,
    last_run_id   VARCHAR,
    updated_at    TIMESTAMP NOT NULL
);

-- Change notifications received (the primary key de-duplicates iMIS's repeated deliveries).
CREATE TABLE handler_events (
    event_id      VARCHAR PRIMARY KEY,
    event_type    VARCHAR NOT NULL,
    subject       VARCHAR,
    event_time    VARCHAR,
    received_at   TIMESTAMP NOT NULL,
    payload       VARCHAR NOT NULL,     -- the event as delivered (JSON)
    status        VARCHAR NOT NULL,     -- pending | done | dead | ignored
    finished_at   TIMESTAMP
);

-- Each handler an event triggers, with its own attempts, so a retry re-runs only what failed.
CREATE TABLE handler_event_deliveries (
    event_id        VARCHAR NOT NULL,
    handler         VARCHAR NOT NULL,
    status          VARCHAR NOT NULL,   -- pending | done | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      VARCHAR,
    run_id          VARCHAR,
    PRIMARY KEY (event_id, handler)
);

CREATE TABLE handler_dead_letters (
    event_id      VARCHAR NOT NULL,
    handler       VARCHAR NOT NULL,
    dead_at       TIMESTAMP NOT NULL,
    attempts      INTEGER NOT NULL,
    error         VARCHAR,
    payload       VARCHAR NOT NULL,
    PRIMARY KEY (event_id, handler)
);

-- What the monitor handler's checks found on each run.
CREATE TABLE handler_monitor_findings (
    run_id        VARCHAR NOT NULL,
    check_name    VARCHAR NOT NULL,
    severity      VARCHAR NOT NULL,     -- info | warning | alert
    subject       VARCHAR NOT NULL,
    message       VARCHAR NOT NULL,
    metric        DOUBLE,
    threshold     DOUBLE,
    observed_at   TIMESTAMP NOT NULL
);

-- Review-queue work promised but not yet confirmed done (a task to run after rows moved).
CREATE TABLE handler_pending_tasks (
    handler       VARCHAR NOT NULL,
    task          VARCHAR NOT NULL,
    run_id        VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (handler, task)
);
