-- Forwarding to İYS: when to try a record next, and which relay instance holds it now.
ALTER TABLE consents ADD COLUMN iys_next_at_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE consents ADD COLUMN iys_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE consents ADD COLUMN iys_lease_owner TEXT;
ALTER TABLE consents ADD COLUMN iys_lease_until_ms BIGINT NOT NULL DEFAULT 0;

CREATE INDEX consents_pending ON consents (iys_state, consent_at_ms);

-- What İYS holds for each (address, channel, recipient type), as far as the relay knows.
CREATE TABLE iys_held (
    recipient_hash BLOB NOT NULL,
    channel TEXT NOT NULL,
    recipient_type TEXT NOT NULL,
    status TEXT NOT NULL,
    consent_date TEXT NOT NULL,
    consent_at_ms BIGINT NOT NULL,
    last_sent_ms BIGINT NOT NULL,
    PRIMARY KEY (recipient_hash, channel, recipient_type)
);

-- Movements made in İYS itself (a citizen's refusal by SMS to 3338, the app, the web site).
CREATE TABLE iys_movements (
    transaction_id TEXT PRIMARY KEY,
    recipient_hash BLOB NOT NULL,
    recipient_sealed BLOB NOT NULL,
    channel TEXT NOT NULL,
    recipient_type TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    consent_date TEXT NOT NULL,
    consent_at_ms BIGINT NOT NULL,
    creation_date TEXT NOT NULL,
    pulled_at_ms BIGINT NOT NULL
);

CREATE INDEX iys_movements_by_recipient ON iys_movements (recipient_hash, channel, recipient_type, consent_at_ms);

-- The request budget shared by every relay instance on this database, per second.
CREATE TABLE iys_rate (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    second BIGINT NOT NULL,
    used BIGINT NOT NULL
);

INSERT INTO iys_rate (id, second, used) VALUES (1, 0, 0);

-- Where the pull of İYS's changes resumes.
CREATE TABLE iys_pull (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    after TEXT
);

INSERT INTO iys_pull (id, after) VALUES (1, NULL);
