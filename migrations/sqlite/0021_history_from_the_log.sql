-- A reservation's history is read from the log itself: every resource event about a
-- reservation (the types of `ResourceEvent::RESERVATION_EVENT_TYPES`) carries its id as
-- `reservation_id`, and this index finds them in log order. It is maintained in the same
-- transaction as the append, so a history is current the moment its event is recorded, and a
-- rebuild of the read models has nothing to rebuild for it (`rm_reservation_history` was a
-- million of a million-event rebuild's row writes).
-- The command side's lookup of the stream that created a reservation uses this index too, so
-- the narrower one of 0012 (creating events only) goes.
CREATE INDEX events_reservation_idx ON events (json_extract(payload, '$.reservation_id'), position)
    WHERE event_type IN ('reservation_confirmed', 'reservation_requested', 'reservation_cancelled',
    'reservation_approved', 'reservation_rejected', 'approval_expired', 'waitlist_offer_made',
    'waitlist_offer_accepted', 'waitlist_offer_declined', 'waitlist_offer_expired', 'checked_in',
    'no_show_released', 'reservation_completed');
DROP INDEX events_reservation_address_idx;
-- (SQLite has one serving process, so no older build shares the file during an upgrade.)
DROP TABLE rm_reservation_history;
