-- Where each record came from, as its sealed details say: `widget`, `refusal_link` or `import`.
-- Kept in clear so that what concerns only records from the widget (the same-day notice) can
-- pick them, and `verify` checks it against the details.
ALTER TABLE consents ADD COLUMN proof TEXT NOT NULL DEFAULT 'widget';
