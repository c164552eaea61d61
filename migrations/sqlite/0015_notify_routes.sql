-- Who a resource's approval requests go to (notifications projector): for each resource its
-- group and named approvers, for each group its parent and named approvers (JSON array of
-- user ids). Only nodes with a parent or named approvers have a row.
CREATE TABLE rm_notify_routes (
    node_id   TEXT PRIMARY KEY,
    kind      TEXT NOT NULL,
    parent_id TEXT,
    approvers TEXT NOT NULL
);
