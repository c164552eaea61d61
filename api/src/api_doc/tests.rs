//! Checks of the generated document: complete, consistent and self-contained. (That every
//! documented operation is served is checked against the running server in `tests/api.rs`.)

use std::collections::BTreeSet;

use serde_json::Value;

pub(super) fn document() -> Value {
    serde_json::from_str(super::json()).expect("the document is JSON")
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// (method, path, operation) of every operation.
fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut out = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method, path.as_str(), op));
            }
        }
    }
    out
}

/// The component a `$ref` names.
pub(super) fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("not a local reference: {reference}"));
    doc.pointer(pointer).unwrap_or_else(|| panic!("dangling reference {reference}"))
}

/// The property names of a schema, following references and `allOf` (flattened structs).
pub(super) fn properties(doc: &Value, schema: &Value) -> BTreeSet<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        return properties(doc, resolve(doc, reference));
    }
    let mut names: BTreeSet<String> =
        schema["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        names.extend(properties(doc, part));
    }
    names
}

#[test]
fn every_operation_is_described() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let tags: BTreeSet<&str> =
        doc["tags"].as_array().expect("tags").iter().filter_map(|t| t["name"].as_str()).collect();
    let mut ids = BTreeSet::new();
    let ops = operations(&doc);
    assert!(ops.len() >= 87, "only {} operations", ops.len());
    for (method, path, op) in ops {
        let name = format!("{method} {path}");
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{name}: no operationId"));
        assert!(ids.insert(id.to_string()), "{name}: operationId {id} is used twice");
        let op_tags = op["tags"].as_array().unwrap_or_else(|| panic!("{name}: no tags"));
        assert_eq!(op_tags.len(), 1, "{name}: one tag");
        assert!(op_tags[0].as_str().is_some_and(|t| tags.contains(t)), "{name}: undeclared tag {}", op_tags[0]);
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{name}: no summary");
        let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{name}: no responses"));
        assert!(
            responses.keys().any(|status| status.starts_with('2') || status == "101"),
            "{name}: no success response"
        );
        for param in path.split('/').filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.split_once('}'))) {
            let declared = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "path" && p["name"] == param.0));
            assert!(declared, "{name}: path parameter {} is not declared", param.0);
        }
        let secured = op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        if secured {
            assert!(responses.contains_key("401"), "{name}: needs a token but documents no 401");
        }
        if path.starts_with("/api/") {
            assert!(responses.contains_key("429"), "{name}: rate-limited but documents no 429");
        }
    }
}

#[test]
fn every_reference_resolves() {
    fn walk<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    found.push(r);
                }
                map.values().for_each(|v| walk(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let doc = document();
    let mut references = Vec::new();
    walk(&doc, &mut references);
    assert!(references.len() > 100);
    for reference in references {
        resolve(&doc, reference);
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

/// The request body schema of an operation, with its content type.
fn request_fields(doc: &Value, method: &str, path: &str, content_type: &str) -> BTreeSet<String> {
    let schema = &doc["paths"][path][method]["requestBody"]["content"][content_type]["schema"];
    assert!(schema.is_object(), "{method} {path}: no {content_type} request body");
    properties(doc, schema)
}

fn response_fields(doc: &Value, method: &str, path: &str, status: &str) -> BTreeSet<String> {
    let schema = &doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{method} {path}: no JSON {status} response");
    properties(doc, schema)
}

fn has_all(fields: &BTreeSet<String>, expected: &[&str], what: &str) {
    for name in expected {
        assert!(fields.contains(*name), "{what}: no `{name}` in {fields:?}");
    }
}

#[test]
fn main_commands_document_their_bodies() {
    let doc = document();
    let json = "application/json";
    let requests: &[(&str, &str, &[&str])] = &[
        ("post", "/api/v1/register", &["username", "password"]),
        ("post", "/api/v1/token/refresh", &["refresh_token"]),
        ("post", "/api/v1/resources", &["name", "tags", "capacity", "time_zone", "policy", "business_hours"]),
        ("patch", "/api/v1/resources/{id}", &["name", "group_id", "policy"]),
        ("post", "/api/v1/reservations", &["resource_id", "start_time", "end_time"]),
        ("post", "/api/v1/reservations/recurring", &["resource_id", "rrule", "start_local", "duration_minutes"]),
        ("post", "/api/v1/reservations/{id}/cancel", &["reason"]),
        ("post", "/api/v1/waitlist", &["resource_id", "desired_start", "desired_end", "flexible_minutes"]),
        ("post", "/api/v1/approvals/{id}/respond", &["approved", "comment"]),
        ("post", "/api/v1/webhooks", &["url", "event_types", "description"]),
        ("patch", "/api/v1/webhooks/{id}", &["url", "event_types", "active"]),
        ("post", "/api/v1/resource-groups", &["name", "parent_id", "description"]),
        ("patch", "/api/v1/resource-groups/{id}", &["name", "parent_id"]),
        ("post", "/api/v1/resources/{id}/blackout-dates", &["start_time", "end_time", "reason"]),
        ("put", "/api/v1/resources/{id}/business-hours", &["business_hours"]),
        ("patch", "/api/v1/users/me/preferences", &["email", "reminder_minutes"]),
    ];
    for (method, path, expected) in requests {
        has_all(&request_fields(&doc, method, path, json), expected, &format!("{method} {path} request"));
    }
    let login = request_fields(&doc, "post", "/api/v1/token", "application/x-www-form-urlencoded");
    has_all(&login, &["username", "password"], "login form");

    let page = ["data", "next_cursor", "has_more"];
    let responses: &[(&str, &str, &str, &[&str])] = &[
        ("post", "/api/v1/token", "200", &["access_token", "refresh_token", "token_type", "expires_in"]),
        ("get", "/api/v1/users/me", "200", &["id", "username", "role", "preferences"]),
        ("get", "/api/v1/resources", "200", &page),
        ("get", "/api/v1/reservations/my", "200", &page),
        ("get", "/api/v1/notifications", "200", &["data", "next_cursor", "has_more", "unread_count"]),
        ("post", "/api/v1/resources", "201", &["id", "name", "status", "policy", "business_hours"]),
        ("get", "/api/v1/resources/{id}", "200", &["id", "name", "capacity", "time_zone"]),
        ("post", "/api/v1/reservations", "201", &["id", "resource_id", "start_time", "end_time", "status"]),
        ("post", "/api/v1/reservations/recurring", "201", &["series_id", "occurrences"]),
        ("post", "/api/v1/reservations/{id}/cancel", "200", &["id", "result"]),
        ("get", "/api/v1/resources/{id}/blackout-dates", "200", &[]),
        ("post", "/api/v1/webhooks", "201", &["id", "url", "secret", "active"]),
        ("get", "/api/v1/resource-groups/tree", "200", &[]),
    ];
    for (method, path, status, expected) in responses {
        has_all(&response_fields(&doc, method, path, status), expected, &format!("{method} {path} {status}"));
    }
    let items = |path: &str| {
        let schema = &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        properties(&doc, &schema["items"])
    };
    has_all(&items("/api/v1/resources/{id}/blackout-dates"), &["id", "range", "reason"], "blackouts");
    has_all(&items("/api/v1/resource-groups/tree"), &["group_id", "name", "children"], "group tree");

    let conflict = &doc["components"]["responses"]["BookingConflict"]["content"]["application/problem+json"];
    let shapes: Vec<BTreeSet<String>> =
        conflict["schema"]["oneOf"].as_array().expect("oneOf").iter().map(|s| properties(&doc, s)).collect();
    assert!(shapes.iter().any(|s| s.contains("conflicts") && s.contains("next_free_slots")));
    let booking = &doc["paths"]["/api/v1/reservations"]["post"]["responses"]["409"]["$ref"];
    assert_eq!(booking, "#/components/responses/BookingConflict");
}
