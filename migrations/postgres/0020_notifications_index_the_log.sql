-- Notification rows keep only who a notification is for, its kind and the log position of the
-- event it is about; its message, reservation, time range and date are rendered from `events`
-- by position, the log being append-only. The stored JSON was most of what a booking's
-- notification wrote, and most of a rebuild's bytes.
-- Replicas of the previous build may still share this database during an upgrade and still
-- write `doc`, so the column stays for now, empty for new rows; a later migration drops it.
ALTER TABLE rm_notifications ALTER COLUMN doc SET DEFAULT '';
