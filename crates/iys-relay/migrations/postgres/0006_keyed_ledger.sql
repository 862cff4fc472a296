-- The ledger is chained with a key kept outside the database (version 2). Each entry names the
-- key that chained it and carries its facts: everything that decides a person's state or the
-- proof, in readable form without personal data, so that `verify` can rebuild each record from
-- the ledger alone. Entries written before this migration stay version 1.
ALTER TABLE ledger ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE ledger ADD COLUMN key_id BIGINT;
ALTER TABLE ledger ADD COLUMN facts TEXT;

-- A ledger entry belongs to one record at most.
CREATE UNIQUE INDEX consents_by_ledger_seq ON consents (ledger_seq);
