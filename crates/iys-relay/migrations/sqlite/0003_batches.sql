-- Records sent in one of İYS's asynchronous batches wait here for the batch's results.
ALTER TABLE consents ADD COLUMN iys_batch_id TEXT;
ALTER TABLE consents ADD COLUMN iys_batch_index BIGINT;
ALTER TABLE consents ADD COLUMN iys_batch_body TEXT;

CREATE INDEX consents_batched ON consents (iys_state, iys_batch_id);
