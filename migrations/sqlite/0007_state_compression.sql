-- PostgreSQL switches the folded-state columns to lz4 compression in this step; SQLite does
-- not compress values, so there is nothing to change. Kept so both backends share one
-- migration history.
SELECT 1;
