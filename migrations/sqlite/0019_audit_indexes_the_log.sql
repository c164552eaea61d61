-- Audit rows keep only what the trail is filtered and ordered by (position, actor, event type,
-- resource, time); the event id, stream, client address and correlation ids are read from
-- `events` by position, the log being append-only. Every event wrote all of them a second time.
-- (SQLite has one serving process, so no older build shares the file during an upgrade.)
ALTER TABLE rm_audit DROP COLUMN event_id;
ALTER TABLE rm_audit DROP COLUMN target;
ALTER TABLE rm_audit DROP COLUMN client_ip;
ALTER TABLE rm_audit DROP COLUMN correlation_id;
ALTER TABLE rm_audit DROP COLUMN causation_id;
ALTER TABLE rm_audit DROP COLUMN command_id;
