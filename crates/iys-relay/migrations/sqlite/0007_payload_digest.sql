-- A keyed digest of what the client sent for a record, so that its id sent again with another
-- payload is refused as a conflicting duplicate instead of answered as a duplicate. Records
-- stored before have none and are answered as duplicates, as they were.
ALTER TABLE consents ADD COLUMN payload_digest TEXT;
