-- Who a resource's approval requests go to (notifications projector): for each resource its
-- group and named approvers, for each group its parent and named approvers (JSON array of
-- user ids). Only nodes with a parent or named approvers have a row.
CREATE TABLE rm_notify_routes (
    node_id   TEXT COLLATE "C" PRIMARY KEY,
    kind      TEXT COLLATE "C" NOT NULL,
    parent_id TEXT COLLATE "C",
    approvers TEXT NOT NULL
);
