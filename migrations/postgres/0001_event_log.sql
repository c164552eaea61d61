-- The event log: append-only, gapless, hash-chained.
CREATE TABLE events (
    position        BIGINT PRIMARY KEY CHECK (position > 0),
    event_id        UUID NOT NULL UNIQUE,
    stream_id       TEXT NOT NULL,
    stream_version  BIGINT NOT NULL CHECK (stream_version > 0),
    event_type      TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    -- json, not jsonb: the bytes are kept exactly as hashed.
    payload         JSON NOT NULL,
    metadata        JSON NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    prev_hash       BYTEA NOT NULL,
    hash            BYTEA NOT NULL,
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_type_idx ON events (event_type, position);

-- The single row every append locks first: it hands out positions and carries the chain's tip.
CREATE TABLE log_head (
    id       SMALLINT PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL,
    hash     BYTEA NOT NULL
);
INSERT INTO log_head (id, position, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- Saved aggregate state; a cache, not history, so it may be overwritten.
CREATE TABLE snapshots (
    stream_id      TEXT PRIMARY KEY,
    version        BIGINT NOT NULL,
    schema_version INTEGER NOT NULL,
    state          BYTEA NOT NULL,
    taken_at       TIMESTAMPTZ NOT NULL
);

CREATE FUNCTION reserver_reject_log_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION reserver_reject_log_mutation();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION reserver_reject_log_mutation();
CREATE TRIGGER log_head_no_delete BEFORE DELETE ON log_head
    FOR EACH ROW EXECUTE FUNCTION reserver_reject_log_mutation();
