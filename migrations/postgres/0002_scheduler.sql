-- Deadlines the scheduler will send (hold, offer and approval expiry, check-in windows),
-- projected from the log so a restart loses none.
CREATE TABLE scheduled_deadlines (
    resource_id  UUID NOT NULL,
    command_key  TEXT NOT NULL,
    due_at       TIMESTAMPTZ NOT NULL,
    command      TEXT NOT NULL,
    PRIMARY KEY (resource_id, command_key)
);
CREATE INDEX scheduled_deadlines_due_idx ON scheduled_deadlines (due_at);

CREATE TABLE scheduler_checkpoint (
    id       SMALLINT PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL
);
INSERT INTO scheduler_checkpoint (id, position) VALUES (1, 0);
