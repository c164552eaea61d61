-- Secondary (non-unique) indexes of read-model tables dropped for the duration of a rebuild:
-- filling an empty table and indexing it once afterwards is several times faster than keeping
-- every index current row by row. A row is written in the transaction that drops the index and
-- deleted in the one that recreates it, so an index a crashed rebuild left dropped is recreated
-- at the next start (reserver_projections::secondary_indexes::restore).
CREATE TABLE projection_set_aside_indexes (
    name       TEXT PRIMARY KEY,
    definition TEXT NOT NULL
);
