-- Daily API request counts per caller (a user's or an OAuth2 client's id), shared by every
-- replica: each adds what it counted since its last flush and reads the total back. `day` is
-- the UTC date as YYYY-MM-DD. Operational data, not history: never in the event log.
CREATE TABLE api_usage (
    subject  TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    requests INTEGER NOT NULL,
    PRIMARY KEY (subject, day)
);
CREATE INDEX api_usage_day_idx ON api_usage (day);
