-- Login sessions per account, for "your sessions" and admins: when and from where each started,
-- when its refresh token was last exchanged, and whether it has ended. The doc is JSON.
CREATE TABLE rm_sessions (
    session_id TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL,
    doc        TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rm_sessions_user_idx ON rm_sessions (user_id);
