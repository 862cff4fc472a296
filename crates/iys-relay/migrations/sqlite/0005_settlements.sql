-- What a settlement adds to İYS's answer: the date a record went to İYS with when it is not the
-- record's own (a refusal sent after its window, or after a consent of the same second), whether
-- it went late, and İYS's answer to the status query made before a refusal is settled locally.
ALTER TABLE consents ADD COLUMN iys_sent_date TEXT;
ALTER TABLE consents ADD COLUMN iys_late BIGINT NOT NULL DEFAULT 0;
ALTER TABLE consents ADD COLUMN iys_evidence TEXT;
