-- Webhooks: subscriptions as the planner follows them from the log (`webhook-{uuid}` streams),
-- their signing secrets (never in the log), the deliveries the planner plans — one per
-- subscription and public event — and every attempt to send one. Columns are only BIGINT
-- (instants as microseconds since the Unix epoch; booleans as 0/1) and TEXT, so the same SQL
-- serves SQLite and PostgreSQL; text columns use the "C" collation so ORDER BY sorts by bytes,
-- as SQLite does. Keep this file in step with ../sqlite/0004_webhooks.sql.

-- Maintained by the `webhook_planner` projector, in the transaction that moves its checkpoint.
CREATE TABLE webhook_subscriptions (
    subscription_id TEXT COLLATE "C" PRIMARY KEY,
    active          BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    doc             TEXT COLLATE "C" NOT NULL
);

-- Operational: the current secret and, for a while after a rotation, the previous one.
CREATE TABLE webhook_secrets (
    subscription_id     TEXT COLLATE "C" PRIMARY KEY,
    current_secret      TEXT COLLATE "C" NOT NULL,
    previous_secret     TEXT COLLATE "C",
    previous_expires_at BIGINT,
    updated_at          BIGINT NOT NULL
);

-- One message to one endpoint. `delivery_id` is the `webhook-id` header: the same on every
-- attempt. `body` is fixed when planned, so every attempt sends the same bytes.
CREATE TABLE webhook_deliveries (
    delivery_id     TEXT COLLATE "C" PRIMARY KEY,
    subscription_id TEXT COLLATE "C" NOT NULL,
    event_id        TEXT COLLATE "C" NOT NULL,
    event_type      TEXT COLLATE "C" NOT NULL,
    position        BIGINT NOT NULL,
    body            TEXT COLLATE "C" NOT NULL,
    status          TEXT COLLATE "C" NOT NULL, -- pending | delivered | failed
    attempts        BIGINT NOT NULL DEFAULT 0, -- attempts started, ever
    retry_from      BIGINT NOT NULL DEFAULT 0, -- attempts before the last redelivery (back-off restarts)
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,           -- no retry is scheduled after this
    lease_until     BIGINT NOT NULL DEFAULT 0, -- claimed by a worker until then
    finished_at     BIGINT,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_history_idx ON webhook_deliveries (subscription_id, created_at, delivery_id);
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (subscription_id, finished_at);

-- Every attempt, successful or not.
CREATE TABLE webhook_attempts (
    delivery_id   TEXT COLLATE "C" NOT NULL,
    attempt       BIGINT NOT NULL,
    attempted_at  BIGINT NOT NULL,
    status_code   BIGINT,
    latency_ms    BIGINT NOT NULL,
    error         TEXT COLLATE "C",
    response_body TEXT COLLATE "C",
    PRIMARY KEY (delivery_id, attempt)
);
