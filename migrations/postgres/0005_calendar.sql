-- Secret calendar-feed tokens, one per user: whoever holds a token reads that user's calendar
-- feed without logging in. Operational state, not a projection (a rebuild leaves it alone);
-- regenerating replaces the row, and the log records only that it happened
-- (`calendar_token_regenerated` in the user's stream). Keep in step with the other backend.
CREATE TABLE calendar_feed_tokens (
    user_id    TEXT PRIMARY KEY,
    token      TEXT NOT NULL UNIQUE,
    -- microseconds since the Unix epoch
    created_at BIGINT NOT NULL
);
