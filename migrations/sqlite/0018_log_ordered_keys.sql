-- History and notification rows are keyed by log position, so every insertion lands at the
-- right edge of the primary key instead of at a random place in a text key. Lookups by
-- reservation keep their own index, which is not unique, so a rebuild sets it aside and builds
-- it once over the filled table. SQLite cannot change a primary key in place: the tables are
-- copied. Each event gives at most one history row, and a notification's id is derived from
-- its event's id and its recipient, so the new keys are unique wherever the old ones were.
CREATE TABLE rm_reservation_history_by_position (
    position       INTEGER PRIMARY KEY,
    reservation_id TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    at             BIGINT NOT NULL
);
INSERT INTO rm_reservation_history_by_position (position, reservation_id, event_type, at)
    SELECT position, reservation_id, event_type, at FROM rm_reservation_history;
DROP TABLE rm_reservation_history;
ALTER TABLE rm_reservation_history_by_position RENAME TO rm_reservation_history;
CREATE INDEX rm_reservation_history_reservation_idx ON rm_reservation_history (reservation_id, position);

CREATE TABLE rm_notifications_by_position (
    notification_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    position        BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    doc             TEXT NOT NULL,
    PRIMARY KEY (position, notification_id)
);
INSERT INTO rm_notifications_by_position (notification_id, user_id, position, kind, doc)
    SELECT notification_id, user_id, position, kind, doc FROM rm_notifications;
DROP TABLE rm_notifications;
ALTER TABLE rm_notifications_by_position RENAME TO rm_notifications;
CREATE INDEX rm_notifications_user_idx ON rm_notifications (user_id, position);
