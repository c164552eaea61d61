-- The reservations projector stores a resource's folded state without its reservations: those
-- are the resource's rm_reservations rows ending at or after `retain_from` (microseconds), the
-- domain's pruning cutoff. 0 on rows written before the split, which still carry their
-- reservations inline; the loader then takes every row and prunes as the domain does.
ALTER TABLE rm_resource_states ADD COLUMN retain_from BIGINT NOT NULL DEFAULT 0;
