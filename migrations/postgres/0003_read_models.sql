-- Read models: disposable tables rebuilt from the event log by the projectors in
-- `projections/`. Columns are only BIGINT (integers; instants as microseconds since the Unix
-- epoch; booleans as 0/1) and TEXT (ids, names, JSON documents), so the same SQL and the same
-- results hold on SQLite and PostgreSQL. Keep this file in step with ../sqlite/0003_read_models.sql.
-- Text columns use the "C" collation so ORDER BY sorts by bytes, exactly as SQLite does.

-- The last log position each projector applied; moved in the same transaction as its rows.
CREATE TABLE projection_checkpoints (
    name     TEXT COLLATE "C" PRIMARY KEY,
    position BIGINT NOT NULL
);

-- catalog
CREATE TABLE rm_resources (
    resource_id TEXT COLLATE "C" PRIMARY KEY,
    name_key    TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    status      TEXT COLLATE "C" NOT NULL,
    group_id    TEXT COLLATE "C",
    search_text TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    doc         TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rm_resources_name_idx ON rm_resources (name_key, resource_id);
CREATE INDEX rm_resources_status_idx ON rm_resources (status, resource_id);
CREATE INDEX rm_resources_created_idx ON rm_resources (created_at, resource_id);
CREATE INDEX rm_resources_group_idx ON rm_resources (group_id);

CREATE TABLE rm_resource_tags (
    resource_id TEXT COLLATE "C" NOT NULL,
    tag         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (resource_id, tag)
);
CREATE INDEX rm_resource_tags_tag_idx ON rm_resource_tags (tag, resource_id);

CREATE TABLE rm_groups (
    group_id  TEXT COLLATE "C" PRIMARY KEY,
    parent_id TEXT COLLATE "C",
    name_key  TEXT COLLATE "C" NOT NULL,
    doc       TEXT COLLATE "C" NOT NULL
);

-- reservations
CREATE TABLE rm_reservations (
    reservation_id TEXT COLLATE "C" PRIMARY KEY,
    resource_id    TEXT COLLATE "C" NOT NULL,
    user_id        TEXT COLLATE "C" NOT NULL,
    series_id      TEXT COLLATE "C",
    status         TEXT COLLATE "C" NOT NULL,
    start_at       BIGINT NOT NULL,
    end_at         BIGINT NOT NULL,
    doc            TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rm_reservations_user_idx ON rm_reservations (user_id, start_at);
CREATE INDEX rm_reservations_resource_idx ON rm_reservations (resource_id, start_at);
CREATE INDEX rm_reservations_start_idx ON rm_reservations (start_at);
CREATE INDEX rm_reservations_status_idx ON rm_reservations (status, start_at);
CREATE INDEX rm_reservations_series_idx ON rm_reservations (series_id);

CREATE TABLE rm_reservation_history (
    reservation_id TEXT COLLATE "C" NOT NULL,
    position       BIGINT NOT NULL,
    event_type     TEXT COLLATE "C" NOT NULL,
    at             BIGINT NOT NULL,
    doc            TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (reservation_id, position)
);

CREATE TABLE rm_series (
    series_id   TEXT COLLATE "C" PRIMARY KEY,
    resource_id TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    doc         TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rm_series_user_idx ON rm_series (user_id, created_at);

-- The resource aggregate's own state (serde JSON), folded with the domain's `evolve`, so
-- availability asks the domain's rule functions rather than re-implementing them.
CREATE TABLE rm_resource_states (
    resource_id TEXT COLLATE "C" PRIMARY KEY,
    position    BIGINT NOT NULL,
    state       TEXT COLLATE "C" NOT NULL
);

CREATE TABLE rm_waitlist (
    entry_id    TEXT COLLATE "C" PRIMARY KEY,
    resource_id TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    doc         TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rm_waitlist_resource_idx ON rm_waitlist (resource_id, seq);
CREATE INDEX rm_waitlist_user_idx ON rm_waitlist (user_id);

-- users
CREATE TABLE rm_users (
    user_id      TEXT COLLATE "C" PRIMARY KEY,
    username_key TEXT COLLATE "C" NOT NULL,
    role         TEXT COLLATE "C" NOT NULL,
    doc          TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rm_users_username_idx ON rm_users (username_key);

-- notifications
CREATE TABLE rm_notify_approvers (
    user_id TEXT COLLATE "C" PRIMARY KEY
);
CREATE TABLE rm_notifications (
    notification_id TEXT COLLATE "C" PRIMARY KEY,
    user_id         TEXT COLLATE "C" NOT NULL,
    position        BIGINT NOT NULL,
    kind            TEXT COLLATE "C" NOT NULL,
    doc             TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rm_notifications_user_idx ON rm_notifications (user_id, position);
-- Which notifications a user has read: a preference of the user, not a fact of the log, so it
-- is not a projection table and survives rebuilds (notification ids are deterministic).
CREATE TABLE notification_reads (
    notification_id TEXT COLLATE "C" PRIMARY KEY,
    user_id         TEXT COLLATE "C" NOT NULL,
    read_at         BIGINT NOT NULL
);

-- audit: one row per event
CREATE TABLE rm_audit (
    position       BIGINT PRIMARY KEY,
    event_id       TEXT COLLATE "C" NOT NULL,
    actor          TEXT COLLATE "C",
    action         TEXT COLLATE "C" NOT NULL,
    target         TEXT COLLATE "C" NOT NULL,
    resource_id    TEXT COLLATE "C",
    recorded_at    BIGINT NOT NULL,
    client_ip      TEXT COLLATE "C",
    correlation_id TEXT COLLATE "C",
    causation_id   TEXT COLLATE "C",
    command_id     TEXT COLLATE "C"
);
CREATE INDEX rm_audit_actor_idx ON rm_audit (actor, position);
CREATE INDEX rm_audit_resource_idx ON rm_audit (resource_id, position);
CREATE INDEX rm_audit_action_idx ON rm_audit (action, position);
CREATE INDEX rm_audit_time_idx ON rm_audit (recorded_at, position);
