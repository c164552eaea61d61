//! Recurring series, check-in, availability queries and the schedule as of an instant.

use chrono::{Duration, DurationRound, Utc};
use serde_json::{json, Value};

use crate::common::*;
use crate::support::*;

fn local(days: i64, hour: u32) -> String {
    day_at(days, hour).trim_end_matches("+00:00").to_string()
}

fn outcomes(report: &Value) -> Vec<String> {
    let occurrences = report["occurrences"].as_array().unwrap_or_else(|| panic!("no occurrences: {report}"));
    occurrences.iter().map(|o| o["outcome"]["outcome"].as_str().unwrap_or_default().to_string()).collect()
}

/// (reservation id, status) of a series' reservations, by start.
async fn members(s: &Server, token: &str, series: &str, position: u64) -> Vec<(String, String)> {
    let detail = get_at(s, token, &format!("/api/v1/reservations/series/{series}"), position).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let reservations = detail.body["reservations"].as_array().expect("reservations").clone();
    reservations
        .iter()
        .map(|r| {
            (
                r["reservation_id"].as_str().unwrap_or_default().to_string(),
                r["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn statuses(members: &[(String, String)]) -> Vec<&str> {
    members.iter().map(|(_, s)| s.as_str()).collect()
}

pub async fn recurring_series(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    let room = resource(&s, &admin, json!({ "name": "Studio" })).await;
    let weekly = |hour: u32, skip: bool| {
        json!({ "resource_id": room, "rrule": "FREQ=WEEKLY;COUNT=4", "start_local": local(2, hour),
                "duration_minutes": 60, "skip_conflicts": skip })
    };

    // Bob holds the third week: all or nothing refuses the lot, reporting each occurrence.
    assert_eq!(book(&s, &bob, &room, &day_at(16, 10), &day_at(16, 11)).await.status, 201);
    let before = log_head(&s).await;
    let refused = post(&s, &alice, "/api/v1/reservations/recurring", weekly(10, false)).await;
    assert_eq!((refused.status, refused.problem_type()), (409, "series-not-bookable"), "{}", refused.body);
    assert_eq!(outcomes(&refused.body), ["bookable", "bookable", "conflict", "bookable"]);
    assert_eq!(log_head(&s).await, before);

    // Skipping conflicts books the other three.
    let booked = post(&s, &alice, "/api/v1/reservations/recurring", weekly(10, true)).await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    assert_eq!(outcomes(&booked.body), ["booked", "booked", "conflict", "booked"]);
    let occurrence_starts: Vec<_> =
        booked.body["occurrences"].as_array().expect("occurrences").iter().map(|o| ts(&o["range"]["start"])).collect();
    let weeks: Vec<_> = [2, 9, 16, 23].iter().map(|d| instant(&day_at(*d, 10))).collect();
    assert_eq!(occurrence_starts, weeks);
    let series = booked.body["series_id"].as_str().expect("series_id").to_string();
    let detail = get_at(&s, &alice, &format!("/api/v1/reservations/series/{series}"), booked.position).await;
    assert_eq!(
        (detail.body["rrule"].as_str(), detail.body["policy"].as_str()),
        (Some("FREQ=WEEKLY;COUNT=4"), Some("skip_conflicts"))
    );
    let three = members(&s, &alice, &series, booked.position).await;
    assert_eq!(statuses(&three), ["confirmed", "confirmed", "confirmed"]);
    let mine = get_at(&s, &alice, "/api/v1/reservations/my", booked.position).await;
    let in_series =
        mine.body["data"].as_array().expect("data").iter().filter(|r| r["series_id"] == series.as_str()).count();
    assert_eq!(in_series, 3);
    assert_eq!(get(&s, &bob, &format!("/api/v1/reservations/series/{series}")).await.status, 404);
    assert_eq!(post(&s, &bob, &format!("/api/v1/reservations/series/{series}/cancel"), json!({})).await.status, 404);

    // One occurrence, then this-and-following, then nothing is left to cancel.
    let one =
        post(&s, &alice, &format!("/api/v1/reservations/{}/cancel", three[0].0), json!({ "reason": "holiday" })).await;
    assert_eq!((one.status, one.body["result"].as_str()), (200, Some("reservation_cancelled")));
    assert_eq!(statuses(&members(&s, &alice, &series, one.position).await), ["cancelled", "confirmed", "confirmed"]);
    let following = post(
        &s,
        &alice,
        &format!("/api/v1/reservations/series/{series}/cancel"),
        json!({ "from_reservation_id": three[1].0 }),
    )
    .await;
    assert_eq!((following.status, following.body["cancelled"].as_u64()), (200, Some(2)), "{}", following.body);
    assert_eq!(
        statuses(&members(&s, &alice, &series, following.position).await),
        ["cancelled", "cancelled", "cancelled"]
    );
    let nothing =
        send(s.client.post(s.url(&format!("/api/v1/reservations/series/{series}/cancel"))).bearer_auth(&alice)).await;
    assert_eq!((nothing.status, nothing.problem_type()), (409, "invalid-state"));
    // The freed third week of the series' slots is bookable again.
    assert_eq!(book(&s, &bob, &room, &day_at(9, 10), &day_at(9, 11)).await.status, 201);

    // A whole series cancelled without a body.
    let afternoon = post(&s, &alice, "/api/v1/reservations/recurring", weekly(14, false)).await;
    assert_eq!(outcomes(&afternoon.body), ["booked", "booked", "booked", "booked"]);
    let second = afternoon.body["series_id"].as_str().expect("series_id").to_string();
    let anchor = members(&s, &alice, &second, afternoon.position).await;
    let unknown = post(
        &s,
        &alice,
        &format!("/api/v1/reservations/series/{second}/cancel"),
        json!({ "from_reservation_id": three[0].0 }),
    )
    .await;
    assert_eq!((unknown.status, unknown.problem_type()), (404, "not-found"), "an occurrence of another series");
    let whole =
        send(s.client.post(s.url(&format!("/api/v1/reservations/series/{second}/cancel"))).bearer_auth(&alice)).await;
    assert_eq!((whole.status, whole.body["cancelled"].as_u64()), (200, Some(4)));
    let after = members(&s, &alice, &second, whole.position).await;
    assert_eq!(after.iter().map(|(id, _)| id).collect::<Vec<_>>(), anchor.iter().map(|(id, _)| id).collect::<Vec<_>>());
    assert_eq!(statuses(&after), ["cancelled"; 4]);

    // Malformed series.
    let mut bad = weekly(10, true);
    bad["rrule"] = json!("FREQ=SOMETIMES");
    let bad_rule = post(&s, &alice, "/api/v1/reservations/recurring", bad).await;
    assert_eq!((bad_rule.status, bad_rule.problem_type()), (422, "invalid-input"), "{}", bad_rule.body);
    let mut zero = weekly(10, true);
    zero["duration_minutes"] = json!(0);
    assert_eq!(post(&s, &alice, "/api/v1/reservations/recurring", zero).await.field(), "duration_minutes");
}

pub async fn check_in(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    let policy = json!({ "checkin_required": true, "checkin_window_minutes": 30 });
    let desk = resource(&s, &admin, json!({ "name": "Hot desk", "policy": policy })).await;

    // Starts in five minutes: check-in opens fifteen minutes before the start.
    let start = Utc::now().duration_trunc(Duration::minutes(1)).unwrap_or_else(|_| Utc::now()) + Duration::minutes(5);
    let soon = book(&s, &alice, &desk, &start.to_rfc3339(), &(start + Duration::hours(1)).to_rfc3339()).await;
    assert_eq!(soon.status, 201, "{}", soon.body);
    let id = soon.id();
    let later = book(&s, &alice, &desk, &at(48), &at(49)).await.id();

    let stranger = post(&s, &bob, &format!("/api/v1/reservations/{id}/check-in"), json!({})).await;
    assert_eq!((stranger.status, stranger.problem_type()), (404, "not-found"));
    let checked = post(&s, &alice, &format!("/api/v1/reservations/{id}/check-in"), json!({})).await;
    assert_eq!((checked.status, checked.body["result"].as_str()), (200, Some("checked_in")), "{}", checked.body);
    let view = get_at(&s, &alice, &format!("/api/v1/reservations/{id}"), checked.position).await;
    assert_eq!(view.body["status"], "confirmed");
    assert!(view.body["checked_in_at"].is_string(), "{}", view.body);
    let twice = post(&s, &alice, &format!("/api/v1/reservations/{id}/check-in"), json!({})).await;
    assert_eq!((twice.status, twice.problem_type()), (409, "invalid-state"));
    let early = post(&s, &alice, &format!("/api/v1/reservations/{later}/check-in"), json!({})).await;
    assert_eq!((early.status, early.problem_type()), (409, "invalid-state"), "{}", early.body);
    assert!(early.body["detail"].as_str().unwrap_or_default().contains("check-in is possible from"));

    let history = get_at(&s, &alice, &format!("/api/v1/reservations/{id}/history"), checked.position).await;
    let types: Vec<_> = history.body.as_array().expect("history").iter().map(|h| h["event_type"].clone()).collect();
    assert_eq!(types, [json!("reservation_confirmed"), json!("checked_in")]);
    assert_eq!(get(&s, &bob, &format!("/api/v1/reservations/{id}/history")).await.status, 404);
}

pub async fn availability_queries(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let room = resource(&s, &admin, json!({ "name": "Lab" })).await;
    let taken = book(&s, &alice, &room, &at(24), &at(26)).await;
    assert_eq!(taken.status, 201);
    let p = taken.position;

    let next = get_at(
        &s,
        &alice,
        &format!("/api/v1/resources/{room}/next-available?start={}&duration_minutes=60", enc(&at(24))),
        p,
    )
    .await;
    assert_eq!((next.status, next.body["available"].as_bool()), (200, Some(true)), "{}", next.body);
    assert_eq!(ts(&next.body["next_available"]["start_time"]), instant(&at(26)));
    assert_eq!(ts(&next.body["next_available"]["end_time"]), instant(&at(27)));
    let free_now = get_at(
        &s,
        &alice,
        &format!("/api/v1/resources/{room}/next-available?start={}&duration_minutes=60", enc(&at(20))),
        p,
    )
    .await;
    assert_eq!(ts(&free_now.body["next_available"]["start_time"]), instant(&at(20)));

    let slots = get_at(
        &s,
        &alice,
        &format!(
            "/api/v1/resources/{room}/available-slots?start={}&end={}&duration_minutes=60",
            enc(&at(23)),
            enc(&at(28))
        ),
        p,
    )
    .await;
    let starts: Vec<_> = slots.body["slots"].as_array().expect("slots").iter().map(|s| ts(&s["start_time"])).collect();
    assert_eq!(starts, [instant(&at(23)), instant(&at(26)), instant(&at(27))]);
    let bad = get(&s, &alice, &format!("/api/v1/resources/{room}/available-slots?duration_minutes=0")).await;
    assert_eq!((bad.status, bad.field()), (422, "duration_minutes"));
    let inverted = get(
        &s,
        &alice,
        &format!("/api/v1/resources/{room}/available-slots?start={}&end={}", enc(&at(28)), enc(&at(23))),
    )
    .await;
    assert_eq!((inverted.status, inverted.field()), (422, "end"));

    let summary =
        get_at(&s, &alice, &format!("/api/v1/resources/{room}/availability?days_ahead=3&duration_minutes=60"), p).await;
    assert_eq!((summary.status, summary.body["resource_id"].as_str()), (200, Some(room.as_str())), "{}", summary.body);
    let days = summary.body["days"].as_array().expect("days");
    assert_eq!(days.len(), 3);
    assert!(days.iter().all(|d| d["open_minutes"] == 1440), "{}", summary.body);
    let today = Utc::now().date_naive();
    let dates: Vec<_> = days.iter().map(|d| d["date"].as_str().unwrap_or_default().to_string()).collect();
    let expected: Vec<_> = (0..3).map(|i| (today + Duration::days(i)).to_string()).collect();
    assert_eq!(dates, expected);
    let bad_days = get(&s, &alice, &format!("/api/v1/resources/{room}/availability?days_ahead=0")).await;
    assert_eq!((bad_days.status, bad_days.field()), (422, "days_ahead"));

    let missing = get(&s, &alice, "/api/v1/resources/00000000-0000-0000-0000-000000000009/next-available").await;
    assert_eq!(missing.status, 404);
}

pub async fn schedule_as_of(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let room = resource(&s, &admin, json!({ "name": "Theatre" })).await;
    let path = |as_of: &str| format!("/api/v1/resources/{room}/schedule?as_of={}", enc(as_of));

    let before_booking = Utc::now().to_rfc3339();
    let booked = book(&s, &alice, &room, &at(30), &at(32)).await;
    let id = booked.id();
    let while_booked = Utc::now().to_rfc3339();
    let cancelled = post(&s, &alice, &format!("/api/v1/reservations/{id}/cancel"), json!({})).await;
    assert_eq!(cancelled.status, 200);

    let then = get(&s, &admin, &path(&while_booked)).await;
    assert_eq!(then.status, 200, "{}", then.body);
    assert_eq!(ts(&then.body["as_of"]), instant(&while_booked));
    let reservations = then.body["reservations"].as_array().expect("reservations");
    assert_eq!(reservations.len(), 1);
    assert_eq!(
        (reservations[0]["id"].as_str(), reservations[0]["status"].as_str()),
        (Some(id.as_str()), Some("confirmed"))
    );
    assert_eq!(get(&s, &admin, &path(&before_booking)).await.body["reservations"], json!([]));
    let now = get(&s, &admin, &format!("/api/v1/resources/{room}/schedule")).await;
    assert_eq!(now.body["reservations"][0]["status"], "cancelled");

    assert_eq!(get(&s, &alice, &path(&while_booked)).await.status, 403);
    let bad = get(&s, &admin, &format!("/api/v1/resources/{room}/schedule?as_of=yesterday")).await;
    assert_eq!((bad.status, bad.field()), (422, "as_of"));
}
