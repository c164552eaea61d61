-- The reservations projector rewrites a resource's folded state (a JSON document of its live
-- reservations, often tens of kilobytes) in every batch that touches the resource. PostgreSQL's
-- default pglz compression of that column was a fifth of the database's CPU under booking load;
-- lz4 compresses it several times faster. lz4 needs PostgreSQL 14+ built with it: elsewhere the
-- default stays (EXECUTE defers parsing, so older servers fail inside the handler, not here).
DO $$
BEGIN
    EXECUTE 'ALTER TABLE rm_resource_states ALTER COLUMN state SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE snapshots ALTER COLUMN state SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'lz4 compression unavailable (%); keeping the default', SQLERRM;
END
$$;
