-- Notification rows keep only who a notification is for, its kind and the log position of the
-- event it is about; its message, reservation, time range and date are rendered from `events`
-- by position, the log being append-only. The stored JSON was most of what a booking's
-- notification wrote, and most of a rebuild's bytes.
-- (SQLite has one serving process, so no older build shares the file during an upgrade.)
ALTER TABLE rm_notifications DROP COLUMN doc;
