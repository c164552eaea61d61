-- Audit rows keep only what the trail is filtered and ordered by (position, actor, event type,
-- resource, time); the event id, stream, client address and correlation ids are read from
-- `events` by position, the log being append-only. Every event wrote all of them a second time.
-- Replicas of the previous build may still share this database during an upgrade and still
-- write them, so the columns stay for now, empty for new rows; a later migration drops them.
ALTER TABLE rm_audit ALTER COLUMN event_id DROP NOT NULL, ALTER COLUMN target DROP NOT NULL;
