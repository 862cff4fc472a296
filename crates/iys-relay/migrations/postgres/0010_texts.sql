-- The register of consent texts: every text the relay accepts records with, by its SHA-256,
-- for one channel and language, with the shop's version label, where it came from (built in, or
-- published by the shop), when it was registered and when the first record with it arrived.
-- Consent texts are public wording, not personal data, and are kept in clear.
CREATE TABLE consent_texts (
    sha256 TEXT NOT NULL,
    channel TEXT NOT NULL,
    locale TEXT NOT NULL,
    version TEXT NOT NULL,
    text TEXT NOT NULL,
    origin TEXT NOT NULL,
    registered_at_ms BIGINT NOT NULL,
    first_used_at_ms BIGINT,
    PRIMARY KEY (sha256, channel, locale)
);
