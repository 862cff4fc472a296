-- A batched record's exact İYS body held its address in clear, and nothing read it back.
UPDATE consents SET iys_batch_body = NULL WHERE iys_batch_body IS NOT NULL;
ALTER TABLE consents DROP COLUMN iys_batch_body;
