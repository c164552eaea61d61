//! Per-resource approvers over HTTP, on both backends: a resource or a group names who answers
//! its approval requests; only they (and admins) are notified, see them pending and may answer.

#[macro_use]
mod common;

use chrono::{Duration, DurationRound, Utc};
use common::*;
use serde_json::{json, Value};

fn at(hours: i64) -> String {
    let base = Utc::now().duration_trunc(Duration::hours(1)).unwrap_or_else(|_| Utc::now());
    (base + Duration::hours(hours)).to_rfc3339()
}

async fn body(r: reqwest::RequestBuilder) -> (u16, u64, Value) {
    let r = r.send().await.expect("request");
    let status = r.status().as_u16();
    let position = r.headers().get("X-Log-Position").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    (status, position.unwrap_or(0), r.json().await.unwrap_or(Value::Null))
}

async fn user_id(s: &Server, token: &str) -> String {
    body(s.get(token, "/api/v1/users/me")).await.2["id"].as_str().expect("id").to_string()
}

/// Registers `name`, makes it an approver and returns (token, id).
async fn approver(s: &Server, admin: &str, name: &str) -> (String, String) {
    let token = s.user(name).await;
    let id = user_id(s, &token).await;
    let grant = s.client.put(s.url(&format!("/api/v1/users/{id}/role"))).bearer_auth(admin);
    assert_eq!(body(grant.json(&json!({ "role": "approver" }))).await.0, 200);
    (s.login(name, PASSWORD).await, id)
}

fn ids(page: &Value, key: &str) -> Vec<String> {
    page["data"].as_array().expect("data").iter().filter_map(|r| r[key].as_str().map(str::to_string)).collect()
}

/// The reservations `token` was asked to approve (`approval_needed`), sorted.
async fn notified(s: &Server, token: &str, position: u64) -> Vec<String> {
    let (_, _, notes) = body(s.get(token, &format!("/api/v1/notifications?min_position={position}"))).await;
    let mut about: Vec<String> = notes["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|n| n["kind"] == "approval_needed")
        .filter_map(|n| n["reservation_id"].as_str().map(str::to_string))
        .collect();
    about.sort();
    about
}

async fn named_approvers_answer_and_are_notified(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let (vera, vera_id) = approver(&s, &admin, "vera").await;
    let (walt, walt_id) = approver(&s, &admin, "walt").await;
    let alice = s.user("alice").await;
    let carl = s.user("carl").await;
    let carl_id = user_id(&s, &carl).await;

    // Labs > Wet labs; the bench is in Wet labs, the kiln in Labs, the hall in no group.
    let (status, _, labs) = body(s.post(&admin, "/api/v1/resource-groups", json!({ "name": "Labs" }))).await;
    assert_eq!(status, 201, "{labs}");
    let labs = labs["id"].as_str().expect("id").to_string();
    let wet = json!({ "name": "Wet labs", "parent_id": labs });
    let (_, _, wet) = body(s.post(&admin, "/api/v1/resource-groups", wet)).await;
    let wet = wet["id"].as_str().expect("id").to_string();
    let gated = |name: &str, group: Option<&str>| json!({ "name": name, "group_id": group, "policy": { "requires_approval": true } });
    let mut resources = Vec::new();
    for (name, group) in [("Bench", Some(wet.as_str())), ("Kiln", Some(labs.as_str())), ("Hall", None)] {
        let (status, _, created) = body(s.post(&admin, "/api/v1/resources", gated(name, group))).await;
        assert_eq!(status, 201, "{created}");
        resources.push(created["id"].as_str().expect("id").to_string());
    }
    let (bench, kiln, hall) = (&resources[0], &resources[1], &resources[2]);

    // Named approvers must be accounts holding the approver or admin role; nothing changes otherwise.
    let group_approvers = format!("/api/v1/resource-groups/{labs}/approvers");
    for refused in [json!([carl_id]), json!([uuid::Uuid::new_v4()])] {
        let (status, _, problem) =
            body(s.client.put(s.url(&group_approvers)).bearer_auth(&admin).json(&json!({ "approvers": refused })))
                .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["type"], "https://reserver.dev/problems/validation-error", "{problem}");
        assert_eq!(problem["errors"][0]["field"], "approvers", "{problem}");
    }
    let set = json!({ "approvers": [vera_id] });
    let (status, _, _) = body(s.client.put(s.url(&group_approvers)).bearer_auth(&vera).json(&set)).await;
    assert_eq!(status, 403, "only admins name approvers");
    let (status, _, named) = body(s.client.put(s.url(&group_approvers)).bearer_auth(&admin).json(&set)).await;
    assert_eq!((status, &named), (200, &json!({ "approvers": [vera_id] })));
    assert_eq!(body(s.get(&walt, &group_approvers)).await.2, json!({ "approvers": [vera_id] }));

    // The kiln names its own approver; the bench inherits Labs' through Wet labs.
    let kiln_settings = format!("/api/v1/approvals/resources/{kiln}/settings");
    let bad = json!({ "requires_approval": true, "approvers": [carl_id] });
    let (status, _, problem) = body(s.client.put(s.url(&kiln_settings)).bearer_auth(&admin).json(&bad)).await;
    assert_eq!((status, &problem["errors"][0]["field"]), (422, &json!("approvers")), "{problem}");
    let own = json!({ "requires_approval": true, "approvers": [walt_id, walt_id] });
    let (status, _, settings) = body(s.client.put(s.url(&kiln_settings)).bearer_auth(&admin).json(&own)).await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["approvers"], json!([walt_id]), "{settings}");
    assert_eq!(settings["inherited_approvers"], json!([vera_id]), "{settings}");
    let (_, _, settings) = body(s.get(&walt, &format!("/api/v1/approvals/resources/{bench}/settings"))).await;
    assert_eq!((&settings["approvers"], &settings["inherited_approvers"]), (&json!([]), &json!([vera_id])));

    // Alice asks for all three.
    let mut requests = Vec::new();
    let mut position = 0;
    for resource in [bench, kiln, hall] {
        let booking = json!({ "resource_id": resource, "start_time": at(30), "end_time": at(31) });
        let (status, p, requested) = body(s.post(&alice, "/api/v1/reservations", booking)).await;
        assert_eq!((status, requested["status"].as_str()), (201, Some("pending_approval")), "{requested}");
        requests.push(requested["id"].as_str().expect("id").to_string());
        position = position.max(p);
    }
    let (on_bench, on_kiln, on_hall) = (&requests[0], &requests[1], &requests[2]);

    // Each approver is told about, and sees pending, only what they may answer; admins see all.
    let pending = |token: &str| body(s.get(token, &format!("/api/v1/approvals/pending?min_position={position}")));
    let mut mine = ids(&pending(&vera).await.2, "id");
    mine.sort();
    let mut expected = vec![on_bench.clone(), on_hall.clone()];
    expected.sort();
    assert_eq!(mine, expected);
    let mut mine = ids(&pending(&walt).await.2, "id");
    mine.sort();
    let mut expected = vec![on_kiln.clone(), on_hall.clone()];
    expected.sort();
    assert_eq!(mine, expected);
    assert_eq!(ids(&pending(&admin).await.2, "id").len(), 3);
    let mut expected = vec![on_bench.clone(), on_hall.clone()];
    expected.sort();
    assert_eq!(notified(&s, &vera, position).await, expected);
    let mut expected = vec![on_kiln.clone(), on_hall.clone()];
    expected.sort();
    assert_eq!(notified(&s, &walt, position).await, expected);
    assert_eq!(
        notified(&s, &admin, position).await,
        vec![on_hall.clone()],
        "named approvers are told, not every approver"
    );

    // Only a named approver (or an admin) answers; the others get a 403 problem and change nothing.
    let respond = |token: &str, id: &str| {
        body(s.post(token, &format!("/api/v1/approvals/{id}/respond"), json!({ "approved": true })))
    };
    let (status, _, problem) = respond(&vera, on_kiln).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["type"], "https://reserver.dev/problems/forbidden", "{problem}");
    let (status, _, problem) = respond(&walt, on_bench).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(respond(&walt, on_kiln).await.0, 200);
    assert_eq!(respond(&vera, on_bench).await.0, 200);
    let (status, p, _) = respond(&walt, on_hall).await;
    assert_eq!(status, 200, "a resource naming nobody is answered by any approver");
    let (_, _, view) = body(s.get(&alice, &format!("/api/v1/reservations/{on_bench}?min_position={p}"))).await;
    assert_eq!(view["status"], "confirmed");

    // Naming nobody on the kiln itself hands it to Labs' approver.
    let clear = json!({ "requires_approval": true, "approvers": [] });
    let (status, _, settings) = body(s.client.put(s.url(&kiln_settings)).bearer_auth(&admin).json(&clear)).await;
    assert_eq!((status, &settings["approvers"]), (200, &json!([])));
    let booking = json!({ "resource_id": kiln, "start_time": at(40), "end_time": at(41) });
    let (_, _, again) = body(s.post(&alice, "/api/v1/reservations", booking)).await;
    let again = again["id"].as_str().expect("id").to_string();
    assert_eq!(respond(&walt, &again).await.0, 403, "the kiln now inherits Labs' approver");
    assert_eq!(respond(&vera, &again).await.0, 200);
}

on_both_backends!(named_approvers_answer_and_are_notified);
