-- A reservation's history rows no longer repeat the event's payload: the log holds it, and the
-- history query reads it from `events` by position. Writing each payload twice was the largest
-- part of what a booking and a rebuild of the reservations read model wrote. (SQLite has one
-- serving process, so no older build shares the file during an upgrade.)
ALTER TABLE rm_reservation_history DROP COLUMN doc;
