-- The result of each day's reconciliation with İYS's daily change file, one row a day (the
-- newest run's). It holds counts only: the movements a reconciliation applies are in
-- iys_movements and the ledger, and the records it leaves for a person are named in its output.
CREATE TABLE iys_reconciliations (
    day TEXT PRIMARY KEY,
    ran_at_ms INTEGER NOT NULL,
    listed INTEGER NOT NULL,
    known INTEGER NOT NULL,
    applied INTEGER NOT NULL,
    waiting INTEGER NOT NULL,
    unlisted INTEGER NOT NULL
);

-- A reconciliation looks up every transaction of İYS's daily file among the relay's records.
CREATE INDEX consents_iys_transaction ON consents (iys_transaction_id);
