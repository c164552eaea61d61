//! The OpenAPI 3 document. Built from [`ROUTES`], the list of every endpoint; a test requests
//! each listed route and fails if the server does not know it, so the list and the route table
//! cannot drift apart silently.

use serde_json::{json, Map, Value};

/// (method, path, tag, summary, needs a bearer token)
pub const ROUTES: &[(&str, &str, &str, &str, bool)] = &[
    ("get", "/health", "operations", "Summary of version, backend and database state", false),
    ("get", "/live", "operations", "Liveness: the process runs", false),
    ("get", "/ready", "operations", "Readiness: the database answers", false),
    ("get", "/metrics", "operations", "Prometheus metrics", false),
    (
        "get",
        "/ws",
        "live",
        "WebSocket of live events (?token=, from_position=, types=, resource_id=); see docs/api.md",
        false,
    ),
    ("get", "/api/v1/setup/status", "setup", "Whether the first admin exists", false),
    ("post", "/api/v1/setup/initialize", "setup", "Create the first admin (once)", false),
    ("post", "/api/v1/setup/unlock", "setup", "Reopen setup with X-Setup-Token", false),
    ("post", "/api/v1/register", "auth", "Register an account", false),
    ("post", "/api/v1/token", "auth", "Log in (OAuth2 password form) for access and refresh tokens", false),
    ("post", "/api/v1/token/refresh", "auth", "Rotate a refresh token (reuse revokes the session)", false),
    ("post", "/api/v1/logout", "auth", "Revoke the current session", true),
    ("get", "/api/v1/users/me", "auth", "The caller's account and preferences", true),
    ("patch", "/api/v1/users/me/preferences", "auth", "Merge preferences", true),
    ("get", "/api/v1/users", "auth", "All accounts (admin)", true),
    ("put", "/api/v1/users/{id}/role", "auth", "Change an account's role (admin)", true),
    ("get", "/api/v1/resources", "resources", "List resources: filters, text search, cursor pagination", true),
    ("post", "/api/v1/resources", "resources", "Create a resource (admin)", true),
    ("get", "/api/v1/resources/search", "resources", "Search resources", true),
    ("post", "/api/v1/resources/upload", "resources", "Create resources from CSV name,tags,available (admin)", true),
    ("get", "/api/v1/resources/{id}", "resources", "One resource, with its ETag", true),
    ("patch", "/api/v1/resources/{id}", "resources", "Update a resource (admin; If-Match)", true),
    ("delete", "/api/v1/resources/{id}", "resources", "Retire a resource (admin)", true),
    ("put", "/api/v1/resources/{id}/status", "resources", "Maintenance on/off (admin)", true),
    ("get", "/api/v1/resources/{id}/business-hours", "availability", "Weekly business hours", true),
    ("put", "/api/v1/resources/{id}/business-hours", "availability", "Replace business hours (admin)", true),
    ("get", "/api/v1/resources/{id}/blackout-dates", "availability", "Blackout periods", true),
    ("post", "/api/v1/resources/{id}/blackout-dates", "availability", "Add a blackout (admin)", true),
    (
        "delete",
        "/api/v1/resources/{id}/blackout-dates/{blackout_id}",
        "availability",
        "Remove a blackout (admin)",
        true,
    ),
    ("get", "/api/v1/resources/{id}/availability", "availability", "Per-day availability for days_ahead days", true),
    ("get", "/api/v1/resources/{id}/available-slots", "availability", "Free slots of a length in a window", true),
    ("get", "/api/v1/resources/{id}/next-available", "availability", "The next free slot", true),
    ("get", "/api/v1/resources/{id}/schedule", "availability", "The schedule as of an instant (time travel)", true),
    (
        "get",
        "/api/v1/resources/{id}/reservations",
        "reservations",
        "A resource's reservations (admin, approver, auditor)",
        true,
    ),
    ("get", "/api/v1/resources/{id}/waitlist", "waitlist", "A resource's waitlist in FIFO order", true),
    (
        "post",
        "/api/v1/reservations",
        "reservations",
        "Book a slot: 201, or 409 with conflicts and next free slots",
        true,
    ),
    ("post", "/api/v1/reservations/recurring", "reservations", "Book an RRULE series, reported per occurrence", true),
    ("get", "/api/v1/reservations/my", "reservations", "The caller's reservations", true),
    ("get", "/api/v1/reservations/{id}", "reservations", "One reservation", true),
    ("post", "/api/v1/reservations/{id}/cancel", "reservations", "Cancel a reservation", true),
    ("post", "/api/v1/reservations/{id}/check-in", "reservations", "Check in", true),
    ("get", "/api/v1/reservations/{id}/history", "reservations", "Every event of a reservation", true),
    ("get", "/api/v1/reservations/series/{id}", "reservations", "A series with its occurrences", true),
    (
        "post",
        "/api/v1/reservations/series/{id}/cancel",
        "reservations",
        "Cancel a whole series or this-and-following",
        true,
    ),
    ("get", "/api/v1/waitlist", "waitlist", "The caller's waitlist entries with positions", true),
    ("post", "/api/v1/waitlist", "waitlist", "Join a waitlist", true),
    ("delete", "/api/v1/waitlist/{id}", "waitlist", "Leave a waitlist", true),
    ("post", "/api/v1/waitlist/{id}/accept", "waitlist", "Accept an offer", true),
    ("post", "/api/v1/waitlist/{id}/decline", "waitlist", "Decline an offer", true),
    ("get", "/api/v1/approvals/pending", "approvals", "Pending approval requests (approver)", true),
    ("post", "/api/v1/approvals/{id}/respond", "approvals", "Approve or reject (approver)", true),
    ("get", "/api/v1/approvals/resources/{id}/settings", "approvals", "A resource's approval settings", true),
    ("put", "/api/v1/approvals/resources/{id}/settings", "approvals", "Change approval settings (admin)", true),
    ("get", "/api/v1/resource-groups", "groups", "All resource groups", true),
    ("post", "/api/v1/resource-groups", "groups", "Create a group (admin)", true),
    ("get", "/api/v1/resource-groups/tree", "groups", "Groups as a tree", true),
    ("get", "/api/v1/resource-groups/{id}", "groups", "One group", true),
    ("patch", "/api/v1/resource-groups/{id}", "groups", "Rename or move a group (admin)", true),
    ("delete", "/api/v1/resource-groups/{id}", "groups", "Delete a group (admin)", true),
    ("get", "/api/v1/notifications", "notifications", "The caller's notifications", true),
    ("post", "/api/v1/notifications/{id}/read", "notifications", "Mark one read", true),
    ("post", "/api/v1/notifications/read-all", "notifications", "Mark all read", true),
    ("get", "/api/v1/analytics/dashboard", "analytics", "Popular resources, peak times, no-shows", true),
    ("get", "/api/v1/analytics/utilization", "analytics", "Utilization by day and by hour of week", true),
    ("get", "/api/v1/analytics/export/utilization.csv", "analytics", "Utilization as CSV", true),
    ("get", "/api/v1/analytics/export/reservations.csv", "analytics", "Reservations as CSV", true),
    ("get", "/api/v1/audit/logs", "audit", "Audit trail, filterable (auditor)", true),
    ("get", "/api/v1/audit/export/csv", "audit", "Audit trail as CSV (auditor)", true),
    ("get", "/api/v1/audit/export/json", "audit", "Audit trail as JSON (auditor)", true),
    ("get", "/api/v1/events", "audit", "The event log as NDJSON from a position (auditor)", true),
    ("get", "/api/v1/events/verify", "audit", "Verify the hash chain (auditor)", true),
    ("get", "/api/v1/webhooks/events", "webhooks", "Event types a webhook can subscribe to (admin)", true),
    ("get", "/api/v1/webhooks", "webhooks", "All webhook endpoints (admin)", true),
    ("post", "/api/v1/webhooks", "webhooks", "Create a webhook endpoint; the secret is shown once (admin)", true),
    ("get", "/api/v1/webhooks/{id}", "webhooks", "One webhook endpoint, with its ETag (admin)", true),
    ("patch", "/api/v1/webhooks/{id}", "webhooks", "Update, disable or re-enable an endpoint (admin; If-Match)", true),
    ("put", "/api/v1/webhooks/{id}", "webhooks", "Update, disable or re-enable an endpoint (admin; If-Match)", true),
    ("delete", "/api/v1/webhooks/{id}", "webhooks", "Delete an endpoint (admin)", true),
    (
        "post",
        "/api/v1/webhooks/{id}/rotate-secret",
        "webhooks",
        "New secret; the previous one signs a while longer (admin)",
        true,
    ),
    (
        "get",
        "/api/v1/webhooks/{id}/deliveries",
        "webhooks",
        "Delivery history with every attempt, newest first (admin)",
        true,
    ),
    ("post", "/api/v1/webhooks/{id}/test", "webhooks", "Send a webhook.test ping (admin)", true),
    (
        "post",
        "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        "webhooks",
        "Send a delivery again, same webhook-id (admin)",
        true,
    ),
    ("get", "/api/v1/calendar/export/{id}.ics", "calendar", "A reservation (or its series) as iCalendar", true),
    ("get", "/api/v1/calendar/subscription-url", "calendar", "The caller's feed URL (token made on first use)", true),
    (
        "post",
        "/api/v1/calendar/regenerate-token",
        "calendar",
        "Replace the feed token; the old URL stops working",
        true,
    ),
    ("get", "/api/v1/calendar/feed/{token}.ics", "calendar", "The token owner's reservations as iCalendar", false),
    (
        "get",
        "/api/v1/calendar/feed/{token}/resources/{id}.ics",
        "calendar",
        "A resource's bookings as iCalendar (others' as \"Booked\")",
        false,
    ),
];

pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, tag, summary, secured) in ROUTES {
        let parameters: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.split_once('}')).map(|(name, _)| name))
            .map(|name| {
                // Every path parameter is an id, except the calendar feed's secret token.
                let schema = if name == "token" {
                    json!({ "type": "string" })
                } else {
                    json!({ "type": "string", "format": "uuid" })
                };
                json!({ "name": name, "in": "path", "required": true, "schema": schema })
            })
            .collect();
        let mut operation = json!({
            "tags": [tag],
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": { "description": "OK" },
                "default": { "description": "Error", "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }
            }
        });
        if *secured {
            operation["security"] = json!([{ "bearer": [] }]);
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Resource Reserver", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Book rooms, desks, equipment and labs without double-booking. Commands answer X-Log-Position; pass it as X-Min-Position to read your own writes." },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } },
            "schemas": { "Problem": { "type": "object", "properties": {
                "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" }, "detail": { "type": "string" } } } }
        }
    })
}
