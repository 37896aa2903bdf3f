-- Simulation runs: everything needed to reproduce a forecast exactly, and what it said.
-- The audit trail (writeback_audit, action 'simulate') carries the run id and the hashes.
CREATE TABLE simulation_runs (
    run_id          VARCHAR PRIMARY KEY,   -- sha256 of the inputs below (same inputs, same id)
    recorded_at     TIMESTAMP NOT NULL,    -- UTC
    name            VARCHAR NOT NULL,
    scenario_hash   VARCHAR NOT NULL,      -- sha256 of the scenario's canonical JSON
    scenario        VARCHAR NOT NULL,      -- the scenario as canonical JSON
    status_quo      VARCHAR NOT NULL,      -- the status-quo structure as JSON
    as_of           DATE NOT NULL,         -- the panel date
    model_version   VARCHAR NOT NULL,
    model           BLOB NOT NULL,         -- the fitted TierChoiceModel (joblib)
    params          VARCHAR NOT NULL,      -- JSON: draws, horizon, seed, by, level, costs
    outputs         VARCHAR NOT NULL,      -- JSON: Forecast.to_json()
    audit_seq       BIGINT
);
