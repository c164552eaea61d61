-- Commands address their aggregate through the write side: a reservation, series or waitlist
-- entry id leads to the resource stream that created it through these partial indexes on the
-- log itself, maintained in the same transaction as the append (no read model involved, so an
-- id a 201 just returned is actionable at once). Only the creating events are indexed.
CREATE INDEX events_reservation_address_idx ON events ((payload->>'reservation_id'))
    WHERE event_type IN ('reservation_confirmed', 'reservation_requested', 'waitlist_offer_made');
CREATE INDEX events_series_address_idx ON events ((payload->>'series_id'))
    WHERE event_type = 'series_booked';
CREATE INDEX events_waitlist_address_idx ON events ((payload->>'entry_id'))
    WHERE event_type = 'waitlist_joined';
