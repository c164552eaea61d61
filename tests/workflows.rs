//! Approval, waitlist, groups, notifications, analytics and audit over HTTP, on both backends.

mod common;

use chrono::{Duration, DurationRound, Utc};
use common::*;
use serde_json::{json, Value};

fn at(hours: i64) -> String {
    let base = Utc::now().duration_trunc(Duration::hours(1)).unwrap_or_else(|_| Utc::now());
    (base + Duration::hours(hours)).to_rfc3339()
}

async fn body(r: reqwest::Response) -> (u16, Option<u64>, Value) {
    let status = r.status().as_u16();
    let position = r.headers().get("X-Log-Position").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    (status, position, r.json().await.unwrap_or(Value::Null))
}

async fn user_id(s: &Server, token: &str) -> String {
    let me = s.get(token, "/api/v1/users/me").send().await.expect("me");
    body(me).await.2["id"].as_str().expect("id").to_string()
}

async fn workflows(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    s.user("vera").await;

    // An approver, made by an admin; the role counts from the next login.
    let vera_token = s.login("vera", PASSWORD).await;
    let vera_id = user_id(&s, &vera_token).await;
    let (status, _, _) = body(
        s.client
            .put(s.url(&format!("/api/v1/users/{vera_id}/role")))
            .bearer_auth(&admin)
            .json(&json!({ "role": "approver" }))
            .send()
            .await
            .expect("grant"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        s.client
            .put(s.url(&format!("/api/v1/users/{vera_id}/role")))
            .bearer_auth(&alice)
            .json(&json!({ "role": "admin" }))
            .send()
            .await
            .expect("grant")
            .status(),
        403
    );
    let approver = s.login("vera", PASSWORD).await;

    // Approval: the request holds its slot until an approver answers.
    let (_, _, gated) = body(
        s.post(&admin, "/api/v1/resources", json!({ "name": "Clean room", "policy": { "requires_approval": true } }))
            .send()
            .await
            .expect("create"),
    )
    .await;
    let gated = gated["id"].as_str().expect("id").to_string();
    let (status, position, requested) = body(
        s.post(
            &alice,
            "/api/v1/reservations",
            json!({ "resource_id": gated, "start_time": at(30), "end_time": at(31) }),
        )
        .send()
        .await
        .expect("book"),
    )
    .await;
    assert_eq!((status, requested["status"].as_str()), (201, Some("pending_approval")));
    let rid = requested["id"].as_str().expect("id").to_string();
    let (status, _, _) = body(
        s.post(&bob, "/api/v1/reservations", json!({ "resource_id": gated, "start_time": at(30), "end_time": at(31) }))
            .send()
            .await
            .expect("book"),
    )
    .await;
    assert_eq!(status, 409, "a pending request holds its slot");
    assert_eq!(s.get(&alice, "/api/v1/approvals/pending").send().await.expect("pending").status(), 403);
    let (_, _, pending) = body(
        s.get(&approver, &format!("/api/v1/approvals/pending?min_position={}", position.unwrap_or(0)))
            .send()
            .await
            .expect("pending"),
    )
    .await;
    assert_eq!(pending["data"][0]["id"], rid.as_str());
    let (status, position, _) = body(
        s.post(&approver, &format!("/api/v1/approvals/{rid}/respond"), json!({ "approved": true, "comment": "ok" }))
            .send()
            .await
            .expect("respond"),
    )
    .await;
    assert_eq!(status, 200);
    let (_, _, approved) = body(
        s.get(&alice, &format!("/api/v1/reservations/{rid}?min_position={}", position.unwrap_or(0)))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(approved["status"], "confirmed");

    // Waitlist: bob waits for alice's slot, gets an offer when she cancels, and accepts it.
    let (_, _, room) =
        body(s.post(&admin, "/api/v1/resources", json!({ "name": "Studio" })).send().await.expect("create")).await;
    let room = room["id"].as_str().expect("id").to_string();
    let (_, _, taken) = body(
        s.post(
            &alice,
            "/api/v1/reservations",
            json!({ "resource_id": room, "start_time": at(40), "end_time": at(42) }),
        )
        .send()
        .await
        .expect("book"),
    )
    .await;
    let taken = taken["id"].as_str().expect("id").to_string();
    let (status, position, entry) = body(
        s.post(
            &bob,
            "/api/v1/waitlist",
            json!({ "resource_id": room, "desired_start": at(40), "desired_end": at(42) }),
        )
        .send()
        .await
        .expect("join"),
    )
    .await;
    assert_eq!((status, entry["offered"].as_bool()), (201, Some(false)));
    let entry_id = entry["id"].as_str().expect("id").to_string();
    let (_, _, mine) = body(
        s.get(&bob, &format!("/api/v1/waitlist?min_position={}", position.unwrap_or(0)))
            .send()
            .await
            .expect("waitlist"),
    )
    .await;
    assert_eq!(mine[0]["position"], 1);
    let (status, position, _) =
        body(s.post(&alice, &format!("/api/v1/reservations/{taken}/cancel"), json!({})).send().await.expect("cancel"))
            .await;
    assert_eq!(status, 200);
    let accept = s
        .post(&bob, &format!("/api/v1/waitlist/{entry_id}/accept?min_position={}", position.unwrap_or(0)), json!({}))
        .send()
        .await
        .expect("accept");
    let (status, position, accepted) = body(accept).await;
    assert_eq!((status, accepted["status"].as_str()), (200, Some("confirmed")), "{accepted}");
    let (_, _, bobs) = body(
        s.get(&bob, &format!("/api/v1/reservations/my?min_position={}", position.unwrap_or(0)))
            .send()
            .await
            .expect("my"),
    )
    .await;
    assert!(bobs["data"]
        .as_array()
        .expect("data")
        .iter()
        .any(|r| r["resource_id"] == room.as_str() && r["status"] == "confirmed"));

    // Notifications: the offer and the confirmation reached bob; all can be marked read.
    let (_, _, notes) = body(s.get(&bob, "/api/v1/notifications").send().await.expect("notifications")).await;
    assert!(notes["unread_count"].as_u64().unwrap_or(0) >= 1, "{notes}");
    assert!(notes["data"].as_array().expect("data").iter().any(|n| n["kind"] == "waitlist_offer"), "{notes}");
    s.post(&bob, "/api/v1/notifications/read-all", json!({})).send().await.expect("read all");
    let (_, _, notes) = body(s.get(&bob, "/api/v1/notifications").send().await.expect("notifications")).await;
    assert_eq!(notes["unread_count"], 0);

    // Groups form a tree; a cycle is refused.
    let (status, _, building) =
        body(s.post(&admin, "/api/v1/resource-groups", json!({ "name": "Building A" })).send().await.expect("group"))
            .await;
    assert_eq!(status, 201);
    let building = building["id"].as_str().expect("id").to_string();
    let (_, position, floor) = body(
        s.post(&admin, "/api/v1/resource-groups", json!({ "name": "Floor 1", "parent_id": building }))
            .send()
            .await
            .expect("group"),
    )
    .await;
    let floor = floor["id"].as_str().expect("id").to_string();
    let (_, _, tree) = body(
        s.get(&alice, &format!("/api/v1/resource-groups/tree?min_position={}", position.unwrap_or(0)))
            .send()
            .await
            .expect("tree"),
    )
    .await;
    assert_eq!(tree[0]["name"], "Building A");
    assert_eq!(tree[0]["children"][0]["name"], "Floor 1");
    let cycle = s
        .client
        .patch(s.url(&format!("/api/v1/resource-groups/{building}")))
        .bearer_auth(&admin)
        .json(&json!({ "name": "Building B", "parent_id": floor }))
        .send()
        .await
        .expect("move");
    assert_eq!(cycle.status(), 422);
    // Rename and move are one change: the refused move took the rename with it.
    let (_, _, unchanged) = body(
        s.get(&alice, &format!("/api/v1/resource-groups/{building}?min_position={}", position.unwrap_or(0)))
            .send()
            .await
            .expect("group"),
    )
    .await;
    assert_eq!(unchanged["name"], "Building A", "{unchanged}");
    let (status, moved_at, _) = body(
        s.client
            .patch(s.url(&format!("/api/v1/resource-groups/{floor}")))
            .bearer_auth(&admin)
            .json(&json!({ "name": "Ground floor", "parent_id": null }))
            .send()
            .await
            .expect("move"),
    )
    .await;
    assert_eq!(status, 200);
    let (_, _, floor_now) = body(
        s.get(&alice, &format!("/api/v1/resource-groups/{floor}?min_position={}", moved_at.unwrap_or(0)))
            .send()
            .await
            .expect("group"),
    )
    .await;
    assert_eq!((&floor_now["name"], &floor_now["parent_id"]), (&json!("Ground floor"), &Value::Null), "{floor_now}");

    // Analytics and audit for those allowed to see them.
    assert_eq!(s.get(&alice, "/api/v1/analytics/dashboard").send().await.expect("dashboard").status(), 403);
    let (status, _, dashboard) =
        body(s.get(&admin, "/api/v1/analytics/dashboard").send().await.expect("dashboard")).await;
    assert_eq!(status, 200);
    assert!(dashboard["popular_resources"].is_array());
    let csv = s.get(&admin, "/api/v1/analytics/export/utilization.csv").send().await.expect("csv");
    assert_eq!(csv.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/csv; charset=utf-8"));
    let (_, _, audit) = body(
        s.get(
            &admin,
            &format!("/api/v1/audit/logs?action=reservation_cancelled&min_position={}", position.unwrap_or(0)),
        )
        .send()
        .await
        .expect("audit"),
    )
    .await;
    let rows = audit["data"].as_array().expect("data");
    assert_eq!(rows.len(), 1, "{audit}");
    let audit_csv = s
        .get(&admin, "/api/v1/audit/export/csv?action=reservation_cancelled")
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    assert_eq!(audit_csv.lines().count(), 2, "header and one row: {audit_csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_workflows() {
    workflows(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_workflows() {
    workflows(Backend::Postgres).await;
}
