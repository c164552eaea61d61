-- The event log: append-only, gapless, hash-chained.
CREATE TABLE events (
    position        INTEGER PRIMARY KEY CHECK (position > 0),
    event_id        TEXT NOT NULL UNIQUE,
    stream_id       TEXT NOT NULL,
    stream_version  INTEGER NOT NULL CHECK (stream_version > 0),
    event_type      TEXT NOT NULL,
    schema_version  INTEGER NOT NULL,
    payload         TEXT NOT NULL CHECK (json_valid(payload)),
    metadata        TEXT NOT NULL CHECK (json_valid(metadata)),
    -- microseconds since the Unix epoch, exactly as hashed
    recorded_at     INTEGER NOT NULL,
    prev_hash       BLOB NOT NULL,
    hash            BLOB NOT NULL,
    UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_type_idx ON events (event_type, position);

-- The single row every append updates: it hands out positions and carries the chain's tip.
CREATE TABLE log_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL,
    hash     BLOB NOT NULL
);
INSERT INTO log_head (id, position, hash) VALUES (1, 0, zeroblob(32));

-- Saved aggregate state; a cache, not history, so it may be overwritten.
CREATE TABLE snapshots (
    stream_id      TEXT PRIMARY KEY,
    version        INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    state          BLOB NOT NULL,
    taken_at       INTEGER NOT NULL
);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: UPDATE on events is not allowed');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: DELETE on events is not allowed');
END;

CREATE TRIGGER log_head_no_delete BEFORE DELETE ON log_head
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: DELETE on log_head is not allowed');
END;
