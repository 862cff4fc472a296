-- Same-day notices: one per consent (consents for SMS and calls to one number in one submit share
-- one), kept with the consents they tell of. The address and the text sent are sealed; where a
-- notice stands is in its state columns and, once settled, in the ledger.
CREATE TABLE notices (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    recipient_hash BLOB NOT NULL,
    recipient_sealed BLOB NOT NULL,
    recipient_type TEXT NOT NULL,
    channels TEXT NOT NULL,
    locale TEXT NOT NULL,
    consent_at_ms INTEGER NOT NULL,
    deadline_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at_ms INTEGER NOT NULL,
    claimed_until_ms INTEGER NOT NULL DEFAULT 0,
    claim_token TEXT,
    last_error TEXT,
    settled_at_ms INTEGER,
    content_sha256 TEXT,
    content_sealed BLOB,
    key_id INTEGER NOT NULL
);

CREATE INDEX notices_due ON notices (state, next_at_ms);

-- The notice that tells of each consent: a consent is listed once, so it gets one notice.
CREATE TABLE notice_consents (
    record_id TEXT PRIMARY KEY,
    notice_id TEXT NOT NULL
);

CREATE INDEX notice_consents_by_notice ON notice_consents (notice_id);
