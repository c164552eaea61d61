-- Every booking writes a reservation row; each index on it is one more insertion. The status
-- index only ever served the approvers' queue (status = 'pending_approval') and the series
-- index only rows that belong to a series, so both now cover just those rows.
DROP INDEX rm_reservations_status_idx;
CREATE INDEX rm_reservations_pending_idx ON rm_reservations (start_at, reservation_id) WHERE status = 'pending_approval';
DROP INDEX rm_reservations_series_idx;
CREATE INDEX rm_reservations_series_idx ON rm_reservations (series_id) WHERE series_id IS NOT NULL;
