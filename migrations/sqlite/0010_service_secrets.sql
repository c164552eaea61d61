-- Secrets every replica on this database shares, created once with a random value (the first
-- writer wins) — e.g. the token-signing key when SECRET_KEY is not configured. Operational
-- data, not history: never in the event log. created_at in microseconds since the epoch.
CREATE TABLE service_secrets (
    name       TEXT PRIMARY KEY,
    secret     BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
