-- History and notification rows are keyed by log position, so every insertion lands at the
-- right edge of the primary key instead of at a random place in a text key. Lookups by
-- reservation keep their own index, which is not unique, so a rebuild sets it aside and builds
-- it once over the filled table (with the random key it was inserted into row by row).
-- Each event gives at most one history row, and a notification's id is derived from its
-- event's id and its recipient, so the new keys are unique wherever the old ones were.
ALTER TABLE rm_reservation_history DROP CONSTRAINT rm_reservation_history_pkey;
ALTER TABLE rm_reservation_history ADD PRIMARY KEY (position);
CREATE INDEX rm_reservation_history_reservation_idx ON rm_reservation_history (reservation_id, position);
ALTER TABLE rm_notifications DROP CONSTRAINT rm_notifications_pkey;
ALTER TABLE rm_notifications ADD PRIMARY KEY (position, notification_id);
