-- A follower of the log (projector or planner) that cannot apply an event: which, where and
-- why. Written outside the failed batch's transaction (which rolled back), removed once the
-- follower gets past the event. A row whose position is at or below the follower's checkpoint
-- is stale and not reported. since: microseconds since the epoch.
CREATE TABLE projection_faults (
    name       TEXT PRIMARY KEY,
    position   BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    error      TEXT NOT NULL,
    since      BIGINT NOT NULL,
    attempts   BIGINT NOT NULL
);
