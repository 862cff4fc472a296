-- Relay-wide values, such as the sealed index key.
CREATE TABLE relay_meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- One row per consent record. Personal data is sealed; recipient_hash finds rows by address.
CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    recipient_hash BLOB NOT NULL,
    recipient_sealed BLOB NOT NULL,
    channel TEXT NOT NULL,
    recipient_type TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    consented_at_ms BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    consent_date TEXT NOT NULL,
    consent_date_origin TEXT NOT NULL,
    consent_at_ms BIGINT NOT NULL,
    details_sealed BLOB NOT NULL,
    key_id BIGINT NOT NULL,
    ledger_seq BIGINT NOT NULL,
    ledger_hash TEXT NOT NULL,
    iys_state TEXT NOT NULL DEFAULT 'pending',
    iys_transaction_id TEXT,
    iys_creation_date TEXT,
    iys_error TEXT,
    iys_updated_at_ms BIGINT
);

CREATE INDEX consents_by_recipient ON consents (recipient_hash, channel, recipient_type, consent_at_ms);
CREATE INDEX consents_by_consent_time ON consents (consent_at_ms);

-- The hash chain: every stored record and every later change, in order.
CREATE TABLE ledger (
    seq BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE INDEX ledger_by_record ON ledger (record_id);

-- The chain's newest entry; updating it serialises appends across relay instances.
CREATE TABLE ledger_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);

INSERT INTO ledger_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
