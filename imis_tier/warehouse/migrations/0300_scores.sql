-- Member scores: one row per member and scoring run, read by `imis-tier writeback scores`.
-- Times are UTC (naive TIMESTAMP); as_of is the association-local scoring date.

CREATE TABLE score_runs (
    run_id          VARCHAR PRIMARY KEY,
    model_ref       VARCHAR NOT NULL,     -- name@version in the model registry
    as_of           DATE NOT NULL,
    scored_at       TIMESTAMP NOT NULL,   -- UTC
    members         INTEGER NOT NULL,     -- scored
    unscorable      INTEGER NOT NULL,     -- listed in score_unscorable with a reason
    tier_filter     VARCHAR,
    warnings        VARCHAR NOT NULL      -- JSON list of imputations that touched every member
);

CREATE TABLE scores (
    run_id                 VARCHAR NOT NULL,
    model_ref              VARCHAR NOT NULL,
    as_of                  DATE NOT NULL,
    party_id               VARCHAR NOT NULL,
    tier                   VARCHAR NOT NULL,
    engagement             DOUBLE NOT NULL,  -- 0-100
    engagement_pct_tier    DOUBLE,           -- percentile within the tier
    engagement_pct_segment DOUBLE,           -- percentile within tier x segment (career stage)
    p_renew                DOUBLE NOT NULL,
    p_upgrade              DOUBLE NOT NULL,
    p_downgrade            DOUBLE NOT NULL,
    p_lapse                DOUBLE NOT NULL,
    churn_risk             DOUBLE NOT NULL,  -- P(lapse) from the tier's own lapse model
    driver_outcome         VARCHAR,          -- the outcome driver_1..3 explain
    driver_1               VARCHAR,
    driver_2               VARCHAR,
    driver_3               VARCHAR,
    scored_at              TIMESTAMP NOT NULL,  -- UTC, same for the whole run
    PRIMARY KEY (run_id, party_id)
);
CREATE INDEX scores_by_party ON scores (party_id, as_of);

CREATE TABLE score_unscorable (
    run_id          VARCHAR NOT NULL,
    as_of           DATE NOT NULL,
    party_id        VARCHAR NOT NULL,
    tier            VARCHAR,
    reason          VARCHAR NOT NULL,
    PRIMARY KEY (run_id, party_id)
);
