-- Secrets every replica on this database shares, created once with a random value (the first
-- writer wins) — e.g. the token-signing key when SECRET_KEY is not configured. Operational
-- data, not history: never in the event log.
CREATE TABLE service_secrets (
    name       TEXT PRIMARY KEY,
    secret     BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
