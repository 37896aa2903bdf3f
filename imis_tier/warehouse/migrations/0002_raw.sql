-- Raw tables, one per extracted iMIS entity, keyed by the iMIS identity; money DECIMAL(12,2),
-- dates as iMIS sends them (zone-less local time); updated_on is iMIS's UpdatedOn.
CREATE TABLE raw_parties (
    party_id VARCHAR PRIMARY KEY, first_name VARCHAR, last_name VARCHAR, email VARCHAR,
    organization_name VARCHAR, industry VARCHAR, org_size VARCHAR, region VARCHAR,
    career_stage VARCHAR, birth_year INTEGER, join_date DATE, customer_type_code VARCHAR,
    paid_thru_date DATE, status VARCHAR, autopay BOOLEAN, updated_on TIMESTAMP
);
CREATE TABLE raw_member_type_history (
    party_id VARCHAR NOT NULL, change_date TIMESTAMP NOT NULL, original_value VARCHAR,
    new_value VARCHAR NOT NULL, PRIMARY KEY (party_id, change_date, new_value)
);
CREATE TABLE raw_customer_types (
    code VARCHAR PRIMARY KEY, description VARCHAR, is_member BOOLEAN, rank INTEGER
);
CREATE TABLE raw_billing_items (
    item_code VARCHAR PRIMARY KEY, tier_code VARCHAR NOT NULL, price DECIMAL(12, 2) NOT NULL,
    billing_cycle VARCHAR, updated_on TIMESTAMP
);
-- Every price ever observed for a billing item (a sync sees only the current one).
CREATE TABLE raw_billing_item_history (
    item_code VARCHAR NOT NULL, tier_code VARCHAR NOT NULL, price DECIMAL(12, 2) NOT NULL,
    effective_from DATE NOT NULL, PRIMARY KEY (item_code, effective_from)
);
CREATE TABLE raw_tier_benefits (
    tier_code VARCHAR NOT NULL, benefit VARCHAR NOT NULL, effective_from DATE NOT NULL,
    effective_to DATE, PRIMARY KEY (tier_code, benefit, effective_from)
);
CREATE TABLE raw_benefits (
    benefit VARCHAR PRIMARY KEY, name VARCHAR, activity_types VARCHAR,
    cost_to_serve DECIMAL(12, 2)
);
CREATE TABLE raw_invoices (
    invoice_id VARCHAR PRIMARY KEY, party_id VARCHAR NOT NULL, invoice_date DATE, due_date DATE,
    kind VARCHAR, tier_code VARCHAR, amount DECIMAL(12, 2), balance DECIMAL(12, 2), status VARCHAR,
    updated_on TIMESTAMP
);
CREATE TABLE raw_payments (
    payment_id VARCHAR PRIMARY KEY, invoice_id VARCHAR, party_id VARCHAR NOT NULL,
    payment_date DATE, amount DECIMAL(12, 2), method VARCHAR, status VARCHAR, updated_on TIMESTAMP
);
CREATE TABLE raw_events (
    event_id VARCHAR PRIMARY KEY, name VARCHAR, kind VARCHAR, start_date DATE,
    price DECIMAL(12, 2), updated_on TIMESTAMP
);
CREATE TABLE raw_event_registrations (
    registration_id VARCHAR PRIMARY KEY, event_id VARCHAR NOT NULL, party_id VARCHAR NOT NULL,
    registered_on DATE, status INTEGER, attended BOOLEAN, updated_on TIMESTAMP
);
CREATE TABLE raw_activities (
    seqn BIGINT PRIMARY KEY, party_id VARCHAR NOT NULL, activity_type VARCHAR NOT NULL,
    transaction_date DATE, units DOUBLE, description VARCHAR, updated_on TIMESTAMP
);
CREATE TABLE raw_communications (
    log_id VARCHAR PRIMARY KEY, party_id VARCHAR NOT NULL, sent_on DATE, channel VARCHAR,
    subject VARCHAR, opened BOOLEAN, clicked BOOLEAN, updated_on TIMESTAMP
);
CREATE TABLE raw_group_members (
    group_id VARCHAR NOT NULL, party_id VARCHAR NOT NULL, effective_date DATE NOT NULL,
    group_name VARCHAR, group_class VARCHAR, role VARCHAR, end_date DATE, updated_on TIMESTAMP,
    PRIMARY KEY (group_id, party_id, effective_date)
);
CREATE TABLE raw_certifications (
    registration_id VARCHAR PRIMARY KEY, party_id VARCHAR NOT NULL, program_code VARCHAR,
    registered_on DATE, status VARCHAR, progress_pct DOUBLE, completed_on DATE,
    updated_on TIMESTAMP
);
