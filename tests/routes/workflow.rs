//! Waitlist leave and decline, notifications, analytics exports, groups and approval settings.

use serde_json::{json, Value};

use crate::common::*;
use crate::support::*;

fn ids(list: &Value, field: &str) -> Vec<String> {
    let items = list.as_array().unwrap_or_else(|| panic!("not a list: {list}"));
    items.iter().map(|i| i[field].as_str().unwrap_or_default().to_string()).collect()
}

async fn join(s: &Server, token: &str, room: &str) -> Answer {
    let body = json!({ "resource_id": room, "desired_start": at(40), "desired_end": at(42) });
    let joined = post(s, token, "/api/v1/waitlist", body).await;
    assert_eq!((joined.status, joined.body["offered"].as_bool()), (201, Some(false)), "{}", joined.body);
    joined
}

pub async fn waitlist_leave_and_decline(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    let carol = s.user("carol").await;
    let room = resource(&s, &admin, json!({ "name": "Kiln" })).await;
    let taken = book(&s, &alice, &room, &at(40), &at(42)).await.id();

    // Leaving.
    let first = join(&s, &bob, &room).await;
    let entry = first.id();
    let mine = get_at(&s, &bob, "/api/v1/waitlist", first.position).await;
    assert_eq!(mine.body.as_array().map(Vec::len), Some(1));
    assert_eq!(
        (mine.body[0]["entry"]["entry_id"].as_str(), mine.body[0]["position"].as_u64()),
        (Some(entry.as_str()), Some(1))
    );
    assert_eq!(delete(&s, &carol, &format!("/api/v1/waitlist/{entry}")).await.status, 404);
    let left = delete(&s, &bob, &format!("/api/v1/waitlist/{entry}")).await;
    assert_eq!((left.status, left.body["left"].as_bool()), (200, Some(true)));
    assert_eq!(get_at(&s, &bob, "/api/v1/waitlist", left.position).await.body, json!([]));
    assert_eq!(delete(&s, &bob, &format!("/api/v1/waitlist/{entry}")).await.status, 404);

    // Declining passes the offer on to the next in line.
    let bob_entry = join(&s, &bob, &room).await.id();
    let carol_joined = join(&s, &carol, &room).await;
    let carol_entry = carol_joined.id();
    let queue = get_at(&s, &admin, &format!("/api/v1/resources/{room}/waitlist"), carol_joined.position).await;
    assert_eq!(ids(&queue.body, "entry_id"), [bob_entry.clone(), carol_entry.clone()]);
    assert_eq!(get(&s, &alice, &format!("/api/v1/resources/{room}/waitlist")).await.status, 403);
    let freed = post(&s, &alice, &format!("/api/v1/reservations/{taken}/cancel"), json!({})).await;
    assert_eq!(freed.status, 200);
    let offers = get_at(&s, &bob, "/api/v1/reservations/my", freed.position).await;
    assert_eq!(offers.body["data"][0]["status"], "offered", "{}", offers.body);
    assert_eq!(
        post(&s, &carol, &format!("/api/v1/waitlist/{bob_entry}/decline?min_position={}", freed.position), json!({}))
            .await
            .status,
        404,
        "only the one offered may answer"
    );
    let declined =
        post(&s, &bob, &format!("/api/v1/waitlist/{bob_entry}/decline?min_position={}", freed.position), json!({}))
            .await;
    assert_eq!((declined.status, declined.body["status"].as_str()), (200, Some("declined")), "{}", declined.body);
    let bobs = get_at(&s, &bob, "/api/v1/reservations/my", declined.position).await;
    assert_eq!(bobs.body["data"][0]["status"], "offer_declined");
    let again = post(&s, &bob, &format!("/api/v1/waitlist/{bob_entry}/decline"), json!({})).await;
    assert_eq!((again.status, again.problem_type()), (409, "invalid-state"));
    let accepted = post(
        &s,
        &carol,
        &format!("/api/v1/waitlist/{carol_entry}/accept?min_position={}", declined.position),
        json!({}),
    )
    .await;
    assert_eq!((accepted.status, accepted.body["status"].as_str()), (200, Some("confirmed")), "{}", accepted.body);
    let carols = get_at(&s, &carol, "/api/v1/reservations/my", accepted.position).await;
    assert_eq!(carols.body["data"][0]["status"], "confirmed");
    assert_eq!(ts(&carols.body["data"][0]["start_time"]), instant(&at(40)));
}

pub async fn notifications_read(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    let room = resource(&s, &admin, json!({ "name": "Booth" })).await;
    book(&s, &alice, &room, &at(24), &at(25)).await;
    let second = book(&s, &alice, &room, &at(26), &at(27)).await;

    let list = get_at(&s, &alice, "/api/v1/notifications", second.position).await;
    assert_eq!(list.body["unread_count"], 2, "{}", list.body);
    let kinds: Vec<_> = list.body["data"].as_array().expect("data").iter().map(|n| n["kind"].clone()).collect();
    assert_eq!(kinds, [json!("reservation_confirmed"), json!("reservation_confirmed")]);
    let first_id = list.body["data"][0]["notification_id"].as_str().expect("id").to_string();
    let other_id = list.body["data"][1]["notification_id"].as_str().expect("id").to_string();

    let foreign = post(&s, &bob, &format!("/api/v1/notifications/{first_id}/read"), json!({})).await;
    assert_eq!((foreign.status, &foreign.body), (200, &json!({ "marked_read": 0 })), "not bob's to mark");
    let read = post(&s, &alice, &format!("/api/v1/notifications/{first_id}/read"), json!({})).await;
    assert_eq!((read.status, &read.body), (200, &json!({ "marked_read": 1 })));
    assert_eq!(
        post(&s, &alice, &format!("/api/v1/notifications/{first_id}/read"), json!({})).await.body["marked_read"],
        0
    );
    let unread = get(&s, &alice, "/api/v1/notifications?unread_only=true").await;
    assert_eq!(unread.body["unread_count"], 1);
    assert_eq!(ids(&unread.body["data"], "notification_id"), [other_id]);
    let all = get(&s, &alice, "/api/v1/notifications").await;
    let flags: Vec<_> = all.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|n| (n["notification_id"].clone(), n["read"].clone()))
        .collect();
    assert!(flags.contains(&(json!(first_id), json!(true))), "{flags:?}");

    let rest = post(&s, &alice, "/api/v1/notifications/read-all", json!({})).await;
    assert_eq!(rest.body, json!({ "marked_read": 1 }));
    assert_eq!(get(&s, &alice, "/api/v1/notifications").await.body["unread_count"], 0);
    assert_eq!(get(&s, &bob, "/api/v1/notifications").await.body["data"], json!([]));
}

pub async fn analytics_exports(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let room = resource(&s, &admin, json!({ "name": "Press" })).await;
    let other = resource(&s, &admin, json!({ "name": "Lathe" })).await;
    let booked = book(&s, &alice, &room, &at(24), &at(26)).await;
    book(&s, &alice, &other, &at(30), &at(31)).await;
    let last = book(&s, &alice, &other, &at(32), &at(33)).await;
    let window = format!("start={}&end={}", enc(&at(0)), enc(&at(72)));

    let path = format!("/api/v1/analytics/utilization?{window}&resource_id={room}");
    assert_eq!(get(&s, &alice, &path).await.status, 403);
    let utilization = get_at(&s, &admin, &path, last.position).await;
    assert_eq!(utilization.status, 200, "{}", utilization.body);
    let minutes = |rows: &Value| {
        rows.as_array().expect("rows").iter().map(|r| r["booked_minutes"].as_i64().unwrap_or(0)).sum::<i64>()
    };
    assert_eq!(minutes(&utilization.body["by_day"]), 120, "{}", utilization.body);
    assert_eq!(minutes(&utilization.body["by_hour_of_week"]), 120, "{}", utilization.body);
    assert!(utilization.body["by_day"].as_array().expect("rows").iter().all(|r| r["resource_id"] == room.as_str()));
    let everything = get(&s, &admin, &format!("/api/v1/analytics/utilization?{window}")).await;
    assert_eq!(minutes(&everything.body["by_day"]), 240);
    let bad =
        get(&s, &admin, &format!("/api/v1/analytics/utilization?start={}&end={}", enc(&at(72)), enc(&at(0)))).await;
    assert_eq!((bad.status, bad.field()), (422, "end"));

    let csv = s
        .get(&admin, &format!("/api/v1/analytics/export/reservations.csv?{window}"))
        .header("X-Min-Position", last.position.to_string())
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/csv; charset=utf-8"));
    let text = csv.text().await.expect("text");
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines[0], "id,resource_id,user_id,start_time,end_time,status,created_at");
    assert_eq!(lines.len(), 4, "{text}");
    let row = lines.iter().find(|l| l.starts_with(&booked.id())).expect("the booking's row");
    assert!(row.contains(&room) && row.contains(",confirmed,"), "{row}");
    assert_eq!(s.get(&alice, "/api/v1/analytics/export/reservations.csv").send().await.expect("csv").status(), 403);
}

pub async fn groups_manage(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let building = post(&s, &admin, "/api/v1/resource-groups", json!({ "name": "Building" })).await.id();
    let floor =
        post(&s, &admin, "/api/v1/resource-groups", json!({ "name": "Floor 1", "parent_id": building })).await.id();
    let path = format!("/api/v1/resource-groups/{floor}");
    let desk = resource(&s, &admin, json!({ "name": "Desk 7", "group_id": floor })).await;

    let renamed = patch(&s, &admin, &path, json!({ "name": "First floor" })).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let got = get_at(&s, &alice, &path, renamed.position).await;
    assert_eq!(
        (got.body["name"].as_str(), got.body["parent_id"].as_str()),
        (Some("First floor"), Some(building.as_str()))
    );
    assert_eq!(patch(&s, &alice, &path, json!({ "name": "Mine" })).await.status, 403);
    assert_eq!(patch(&s, &admin, &path, json!({ "name": "  " })).await.field(), "name");
    let nowhere = patch(&s, &admin, &path, json!({ "parent_id": "00000000-0000-0000-0000-000000000009" })).await;
    assert_eq!((nowhere.status, nowhere.field()), (422, "parent_id"));

    // The group's resources are found through its ancestors.
    let under =
        get_at(&s, &alice, &format!("/api/v1/resources?group_id={building}&include_subgroups=true"), renamed.position)
            .await;
    assert_eq!(ids(&under.body["data"], "id"), [desk]);

    // Moving to the top level and back.
    let top = patch(&s, &admin, &path, json!({ "parent_id": null })).await;
    assert_eq!(top.status, 200);
    let moved = get_at(&s, &alice, &path, top.position).await;
    assert_eq!(moved.body["parent_id"], Value::Null, "{}", moved.body);
    let tree = get_at(&s, &alice, "/api/v1/resource-groups/tree", top.position).await;
    assert_eq!(tree.body.as_array().map(Vec::len), Some(2), "two roots: {}", tree.body);
    let back = patch(&s, &admin, &path, json!({ "parent_id": building })).await;
    let tree = get_at(&s, &alice, "/api/v1/resource-groups/tree", back.position).await;
    assert_eq!(tree.body[0]["children"][0]["name"], "First floor", "{}", tree.body);

    // Deleting.
    assert_eq!(delete(&s, &alice, &path).await.status, 403);
    let deleted = delete(&s, &admin, &path).await;
    assert_eq!((deleted.status, deleted.body["deleted"].as_bool()), (200, Some(true)));
    assert_eq!(get_at(&s, &alice, &path, deleted.position).await.status, 404);
    let flat = get(&s, &alice, "/api/v1/resource-groups").await;
    assert_eq!(ids(&flat.body, "name"), ["Building"]);
    assert_eq!(delete(&s, &admin, &path).await.status, 404);
}

pub async fn approval_settings(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let room = resource(&s, &admin, json!({ "name": "Vault" })).await;
    let path = format!("/api/v1/approvals/resources/{room}/settings");

    let initial = get(&s, &admin, &path).await;
    let unnamed = json!({ "approvers": [], "inherited_approvers": [] });
    let settings = |requires_approval: bool, minutes: u32| {
        let mut body = json!({ "requires_approval": requires_approval, "approval_timeout_minutes": minutes });
        body.as_object_mut().expect("object").extend(unnamed.as_object().expect("object").clone());
        body
    };
    assert_eq!(initial.body, settings(false, 1440));
    assert_eq!(get(&s, &alice, &path).await.status, 403);
    assert_eq!(put(&s, &alice, &path, json!({ "requires_approval": true })).await.status, 403);
    let zero = put(&s, &admin, &path, json!({ "requires_approval": true, "approval_timeout_minutes": 0 })).await;
    assert_eq!((zero.status, zero.field()), (422, "approval_timeout_minutes"));

    let set = put(&s, &admin, &path, json!({ "requires_approval": true, "approval_timeout_minutes": 60 })).await;
    assert_eq!((set.status, &set.body), (200, &settings(true, 60)));
    let shown = get_at(&s, &admin, &path, set.position).await;
    assert_eq!(shown.body, set.body);
    let requested = book(&s, &alice, &room, &at(24), &at(25)).await;
    assert_eq!((requested.status, requested.body["status"].as_str()), (201, Some("pending_approval")));
    let deadline = ts(&requested.body["approval_deadline"]);
    let created = ts(&requested.body["created_at"]);
    assert_eq!(deadline - created, chrono::Duration::minutes(60));
}
