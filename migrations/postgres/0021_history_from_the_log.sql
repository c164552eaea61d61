-- A reservation's history is read from the log itself: every resource event about a
-- reservation (the types of `ResourceEvent::RESERVATION_EVENT_TYPES`) carries its id as
-- `reservation_id`, and this index finds them in log order. It is maintained in the same
-- transaction as the append, so a history is current the moment its event is recorded, and a
-- rebuild of the read models has nothing to rebuild for it (`rm_reservation_history` was a
-- million of a million-event rebuild's row writes).
-- The id is cut from the stored text, not read with `->>`: PostgreSQL's JSON functions refuse
-- a document holding an escaped NUL anywhere, and the log keeps whatever it was given. Every
-- event of these types has `"reservation_id":"<36-character UUID>"` at its top level, no other
-- `reservation_id` field, and a quote inside a string value is escaped, so the first match is
-- the event's own reservation. (`strpos` rather than a regular expression: a tenth of the cost
-- on each append.)
-- The command side's lookup of the stream that created a reservation uses this index too, so
-- the narrower one of 0012 (creating events only) goes.
CREATE INDEX events_reservation_idx
    ON events ((substr(payload::text, strpos(payload::text, '"reservation_id":"') + 18, 36)), position)
    WHERE event_type IN ('reservation_confirmed', 'reservation_requested', 'reservation_cancelled',
    'reservation_approved', 'reservation_rejected', 'approval_expired', 'waitlist_offer_made',
    'waitlist_offer_accepted', 'waitlist_offer_declined', 'waitlist_offer_expired', 'checked_in',
    'no_show_released', 'reservation_completed');
DROP INDEX events_reservation_address_idx;
-- `rm_reservation_history` is no longer written or read by this build. Replicas of the previous
-- build may share this database during an upgrade and still write and read it, so it stays
-- for now; a later migration drops it.
