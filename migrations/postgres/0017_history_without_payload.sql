-- A reservation's history rows no longer repeat the event's payload: the log holds it, and the
-- history query reads it from `events` by position. Writing each payload twice was the largest
-- part of what a booking and a rebuild of the reservations read model wrote.
-- Replicas of the previous build may still share this database during an upgrade and still
-- write `doc`, so the column stays for now, empty for new rows; a later migration drops it.
ALTER TABLE rm_reservation_history ALTER COLUMN doc SET DEFAULT '';
