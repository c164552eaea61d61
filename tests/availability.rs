//! Availability answered from the in-memory index: the free-slot search across resources agrees
//! with each resource's `available-slots`, its filters and its refusals, and read-your-writes
//! (`X-Min-Position` waits for the index) for the search and the per-resource questions; the
//! resource list, answered from the index's catalogue, is current at once (no answer cache) and
//! keeps its filters, sorts and cursors. The real `reserver serve` binary, a fresh database per
//! scenario, both backends.

#[macro_use]
mod common;

#[allow(dead_code)] // shared with the route scenarios; not every helper is used here
#[path = "routes/support.rs"]
mod support;

use common::*;
use serde_json::{json, Value};
use support::*;

on_both_backends!(
    search_agrees_with_available_slots,
    search_filters,
    search_refuses_bad_input_naming_the_field,
    answers_include_a_booking_made_just_before,
    resource_list_shows_each_write_at_once,
    resource_list_filters_sorts_and_pages,
);

/// The catalogue of every scenario: Alpha (projector, quiet; 4 units; group Building),
/// Beta (projector; 1 unit; group Floor under Building), Gamma (quiet; 2 units; no group).
struct Catalogue {
    alice: String,
    admin: String,
    building: String,
    floor: String,
    alpha: String,
    beta: String,
    gamma: String,
    position: u64,
}

async fn catalogue(s: &Server) -> Catalogue {
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let building = post(s, &admin, "/api/v1/resource-groups", json!({ "name": "Building" })).await.id();
    let floor =
        post(s, &admin, "/api/v1/resource-groups", json!({ "name": "Floor", "parent_id": building })).await.id();
    let create = |body: Value| {
        let admin = admin.clone();
        async move {
            let a = post(s, &admin, "/api/v1/resources", body).await;
            assert_eq!(a.status, 201, "{}", a.body);
            (a.id(), a.position)
        }
    };
    let (alpha, _) =
        create(json!({ "name": "Alpha", "tags": ["projector", "quiet"], "capacity": 4, "group_id": building })).await;
    let (beta, _) = create(json!({ "name": "Beta", "tags": ["projector"], "capacity": 1, "group_id": floor })).await;
    let (gamma, position) = create(json!({ "name": "Gamma", "tags": ["quiet"], "capacity": 2 })).await;
    Catalogue { alice, admin, building, floor, alpha, beta, gamma, position }
}

fn search_path(query: &str) -> String {
    format!("/api/v1/availability/search?{query}")
}

/// `start`/`end` of a window `from`..`to` hours from the current hour.
fn window(from: i64, to: i64) -> String {
    format!("start={}&end={}", enc(&at(from)), enc(&at(to)))
}

fn names(body: &Value) -> Vec<String> {
    body["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no resources in {body}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn slot_starts(slots: &Value) -> Vec<chrono::DateTime<chrono::Utc>> {
    slots.as_array().unwrap_or_else(|| panic!("no slots: {slots}")).iter().map(|s| ts(&s["start_time"])).collect()
}

async fn search_agrees_with_available_slots(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let c = catalogue(&s).await;
    // Beta (one unit) is taken 24–26 h from now; Alpha (four units) once, still free.
    assert_eq!(book(&s, &c.alice, &c.beta, &at(24), &at(26)).await.status, 201);
    let last = book(&s, &c.alice, &c.alpha, &at(24), &at(26)).await;
    assert_eq!(last.status, 201, "{}", last.body);

    let w = window(23, 29);
    let found =
        get_at(&s, &c.alice, &search_path(&format!("{w}&duration_minutes=60&slots_per_resource=100")), last.position)
            .await;
    assert_eq!(found.status, 200, "{}", found.body);
    // All three are free at the window's start: ordered by first slot, then name.
    assert_eq!(names(&found.body), ["Alpha", "Beta", "Gamma"]);
    assert_eq!(found.body["duration_minutes"], 60);
    assert_eq!(ts(&found.body["window"]["start_time"]), instant(&at(23)));
    assert_eq!(ts(&found.body["window"]["end_time"]), instant(&at(29)));
    for hit in found.body["resources"].as_array().expect("resources") {
        let id = hit["resource_id"].as_str().expect("id");
        let own = get_at(
            &s,
            &c.alice,
            &format!("/api/v1/resources/{id}/available-slots?{w}&duration_minutes=60&limit=100"),
            last.position,
        )
        .await;
        assert_eq!(own.status, 200, "{}", own.body);
        assert_eq!(hit["slots"], own.body["slots"], "search and available-slots differ for {}", hit["name"]);
        assert_eq!(hit["time_zone"], "UTC");
    }
    let beta = &found.body["resources"][1];
    assert_eq!(beta["capacity"], 1);
    assert_eq!(slot_starts(&beta["slots"]), [instant(&at(23)), instant(&at(26)), instant(&at(27)), instant(&at(28))]);
    let alpha = &found.body["resources"][0];
    assert_eq!(slot_starts(&alpha["slots"]).len(), 6, "Alpha has three units left at 24–26: {alpha}");

    // slots_per_resource and limit cut the answer.
    let cut = get_at(&s, &c.alice, &search_path(&format!("{w}&slots_per_resource=2&limit=2")), last.position).await;
    assert_eq!(names(&cut.body), ["Alpha", "Beta"]);
    assert!(cut.body["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .all(|r| r["slots"].as_array().map(Vec::len) == Some(2)));
}

async fn search_filters(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let c = catalogue(&s).await;
    let w = window(23, 29);
    let search = |query: String| {
        let (s, alice, position) = (&s, c.alice.clone(), c.position);
        async move {
            let a = get_at(s, &alice, &search_path(&query), position).await;
            assert_eq!(a.status, 200, "{query}: {}", a.body);
            names(&a.body)
        }
    };
    assert_eq!(search(w.clone()).await, ["Alpha", "Beta", "Gamma"]);
    assert_eq!(search(format!("{w}&tags=projector")).await, ["Alpha", "Beta"]);
    assert_eq!(search(format!("{w}&tags=projector,quiet")).await, ["Alpha"]);
    assert_eq!(search(format!("{w}&tags=QUIET")).await, ["Alpha", "Gamma"], "tags are case-insensitive");
    assert_eq!(search(format!("{w}&tags=whiteboard")).await, Vec::<String>::new());
    assert_eq!(search(format!("{w}&min_capacity=2")).await, ["Alpha", "Gamma"]);
    assert_eq!(search(format!("{w}&min_capacity=5")).await, Vec::<String>::new());
    assert_eq!(search(format!("{w}&group_id={}", c.building)).await, ["Alpha"]);
    assert_eq!(search(format!("{w}&group_id={}&include_subgroups=true", c.building)).await, ["Alpha", "Beta"]);
    assert_eq!(search(format!("{w}&group_id={}", c.floor)).await, ["Beta"]);
    assert_eq!(search(format!("{w}&group_id={}&tags=quiet", c.building)).await, ["Alpha"]);

    // A resource in maintenance is never offered.
    let paused =
        put(&s, &c.admin, &format!("/api/v1/resources/{}/status", c.gamma), json!({ "status": "maintenance" })).await;
    assert!(paused.status < 300, "{}", paused.body);
    let after = get_at(&s, &c.alice, &search_path(&format!("{w}&tags=quiet")), paused.position).await;
    assert_eq!(names(&after.body), ["Alpha"]);
    let _ = &c.beta;
}

async fn search_refuses_bad_input_naming_the_field(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let c = catalogue(&s).await;
    let w = window(23, 29);
    for (query, field) in [
        (format!("start={}&end={}", enc(&at(1)), enc(&at(1 + 24 * 32))), "end"),
        (format!("start={}&end={}", enc(&at(5)), enc(&at(2))), "end"),
        (format!("{w}&duration_minutes=0"), "duration_minutes"),
        (format!("{w}&duration_minutes=-30"), "duration_minutes"),
        (format!("{w}&duration_minutes=10081"), "duration_minutes"),
        (format!("{w}&group_id=00000000-0000-0000-0000-000000000009"), "group_id"),
        (format!("{w}&min_capacity=0"), "min_capacity"),
        (format!("{w}&limit=0"), "limit"),
        (format!("{w}&slots_per_resource=1000"), "slots_per_resource"),
        (format!("{w}&include_subgroups=true"), "include_subgroups"),
        ("start=tomorrow".to_string(), "start"),
    ] {
        let a = get_at(&s, &c.alice, &search_path(&query), c.position).await;
        assert_eq!((a.status, a.field()), (422, field), "{query}: {}", a.body);
        assert_eq!(a.problem_type(), "validation-error", "{query}: {}", a.body);
    }
    let anonymous = s.client.get(s.url(&search_path(&w))).send().await.expect("request");
    assert_eq!(anonymous.status().as_u16(), 401);
}

async fn answers_include_a_booking_made_just_before(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let c = catalogue(&s).await;
    // Beta has one unit: once booked, it has nothing free in that window, at once.
    let booked = book(&s, &c.alice, &c.beta, &at(30), &at(32)).await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let p = booked.position;
    let w = window(30, 32);
    let found = get_at(&s, &c.alice, &search_path(&format!("{w}&tags=projector")), p).await;
    assert_eq!(names(&found.body), ["Alpha"], "{}", found.body);
    let slots = get_at(&s, &c.alice, &format!("/api/v1/resources/{}/available-slots?{w}", c.beta), p).await;
    assert_eq!(slots.body["slots"], json!([]), "{}", slots.body);
    let next = get_at(
        &s,
        &c.alice,
        &format!("/api/v1/resources/{}/next-available?start={}&duration_minutes=60", c.beta, enc(&at(30))),
        p,
    )
    .await;
    assert_eq!(ts(&next.body["next_available"]["start_time"]), instant(&at(32)), "{}", next.body);
    let summary = get_at(&s, &c.alice, &format!("/api/v1/resources/{}/availability?days_ahead=3", c.beta), p).await;
    assert_eq!(summary.status, 200, "{}", summary.body);
    let free: u64 =
        summary.body["days"].as_array().expect("days").iter().map(|d| d["free_slots"].as_u64().unwrap_or(0)).sum();
    // Three days of 24 one-hour slots from today's midnight, minus the past hours of today and the two booked.
    assert!(free < 72, "{}", summary.body);
    assert_eq!(summary.body["resource"]["name"], "Beta");
    assert_eq!(summary.body["resource"]["capacity"], 1);
    // The description matches the catalogue's, dates included.
    let described = get_at(&s, &c.alice, &format!("/api/v1/resources/{}", c.beta), p).await;
    assert_eq!(summary.body["resource"], described.body);

    // Cancelling frees it again, as soon as the cancellation is recorded.
    let cancelled = post(&s, &c.alice, &format!("/api/v1/reservations/{}/cancel", booked.id()), json!({})).await;
    assert!(cancelled.status < 300, "{}", cancelled.body);
    let again = get_at(&s, &c.alice, &search_path(&format!("{w}&tags=projector")), cancelled.position).await;
    assert_eq!(names(&again.body), ["Alpha", "Beta"], "{}", again.body);
}

fn list_names(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {body}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn resource_list_shows_each_write_at_once(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let c = catalogue(&s).await;
    let quiet = "/api/v1/resources?tags=quiet";
    let listed = get_at(&s, &c.alice, quiet, c.position).await;
    assert_eq!(list_names(&listed.body), ["Alpha", "Gamma"], "{}", listed.body);
    // Renamed and re-tagged: the next list that asks for the write's position shows it …
    let renamed = patch(&s, &c.admin, &format!("/api/v1/resources/{}", c.gamma), json!({ "name": "Aardvark" })).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let listed = get_at(&s, &c.alice, quiet, renamed.position).await;
    assert_eq!(list_names(&listed.body), ["Aardvark", "Alpha"], "{}", listed.body);
    // … and so does every list after it, without a position: no answer is served again.
    let listed = get(&s, &c.alice, quiet).await;
    assert_eq!(list_names(&listed.body), ["Aardvark", "Alpha"], "{}", listed.body);
    let status = "/api/v1/resources?status=maintenance";
    assert_eq!(list_names(&get(&s, &c.alice, status).await.body), Vec::<String>::new());
    let down =
        put(&s, &c.admin, &format!("/api/v1/resources/{}/status", c.beta), json!({ "status": "maintenance" })).await;
    assert_eq!(down.status, 200, "{}", down.body);
    assert_eq!(list_names(&get_at(&s, &c.alice, status, down.position).await.body), ["Beta"]);
    assert_eq!(list_names(&get(&s, &c.alice, status).await.body), ["Beta"]);
    let retired = delete(&s, &c.admin, &format!("/api/v1/resources/{}", c.alpha)).await;
    assert_eq!(retired.status, 200, "{}", retired.body);
    let listed = get_at(&s, &c.alice, "/api/v1/resources?status=retired", retired.position).await;
    assert_eq!(list_names(&listed.body), ["Alpha"], "{}", listed.body);
    assert_eq!(listed.body["data"][0]["retired"], json!(true), "{}", listed.body);
    // A resource created now is listed at once for whoever asks with its position.
    let created = post(&s, &c.admin, "/api/v1/resources", json!({ "name": "Delta", "tags": ["Quiet"] })).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let listed = get_at(&s, &c.alice, quiet, created.position).await;
    assert_eq!(list_names(&listed.body), ["Aardvark", "Alpha", "Delta"], "{}", listed.body);
    // A position the index cannot reach in time is a 503 naming it, not a stale list.
    let ahead = get_at(&s, &c.alice, quiet, created.position + 1_000_000).await;
    assert_eq!(ahead.status, 503, "{}", ahead.body);
}

async fn resource_list_filters_sorts_and_pages(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let c = catalogue(&s).await;
    let list = |query: &str| {
        let (s, token, position) = (&s, c.alice.clone(), c.position);
        let path = format!("/api/v1/resources?{query}");
        async move {
            let answer = get_at(s, &token, &path, position).await;
            assert_eq!(answer.status, 200, "{path}: {}", answer.body);
            answer.body
        }
    };
    assert_eq!(list_names(&list("").await), ["Alpha", "Beta", "Gamma"]);
    assert_eq!(list_names(&list("order=desc").await), ["Gamma", "Beta", "Alpha"]);
    assert_eq!(list_names(&list("tags=PROJECTOR,quiet").await), ["Alpha"]);
    assert_eq!(list_names(&list(&format!("group_id={}", c.building)).await), ["Alpha"]);
    assert_eq!(list_names(&list(&format!("group_id={}&include_subgroups=true", c.building)).await), ["Alpha", "Beta"]);
    assert_eq!(list_names(&list(&format!("group_id={}", c.floor)).await), ["Beta"]);
    assert_eq!(list_names(&list("q=GAM").await), ["Gamma"]);
    assert_eq!(list_names(&list("query=alpha&type=other").await), ["Alpha"]);
    assert_eq!(list_names(&list("query=alpha&type=room").await), Vec::<String>::new());
    assert_eq!(list_names(&list("kind=desk").await), Vec::<String>::new());
    assert_eq!(list_names(&list("sort=created&order=desc").await), ["Gamma", "Beta", "Alpha"]);
    // Equal statuses are ordered by id (random here), so only the members are certain.
    let mut by_status = list_names(&list("status=available&sort=status").await);
    by_status.sort();
    assert_eq!(by_status, ["Alpha", "Beta", "Gamma"]);
    // Cursor pagination, one at a time, through the same list.
    let mut names = Vec::new();
    let mut query = "limit=1".to_string();
    loop {
        let page = list(&query).await;
        names.extend(list_names(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                assert_eq!(page["has_more"], json!(true));
                query = format!("limit=1&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(names, ["Alpha", "Beta", "Gamma"]);
    // The old name of the route answers the same.
    let search = get_at(&s, &c.alice, "/api/v1/resources/search?tags=quiet", c.position).await;
    assert_eq!(list_names(&search.body), ["Alpha", "Gamma"]);
    // Bad input is refused naming the parameter, as before.
    for (query, field) in [("status=gone", "status"), ("order=up", "order"), ("cursor=garbage", "cursor")] {
        let answer = get(&s, &c.alice, &format!("/api/v1/resources?{query}")).await;
        assert_eq!(answer.status, 422, "{query}: {}", answer.body);
        assert!(answer.body.to_string().contains(field), "{query}: {}", answer.body);
    }
    let cursor = list("limit=1").await["next_cursor"].as_str().expect("a cursor").to_string();
    let other = get(&s, &c.alice, &format!("/api/v1/resources?limit=1&order=desc&cursor={cursor}")).await;
    assert_eq!(other.status, 422, "{}", other.body);
}
