//! The command boundary: text with control characters is refused naming the field and never
//! reaches the log (a NUL byte once stopped the PostgreSQL catalog for good), leap-second
//! instants are stored normalised, an RRULE's UNTIL keeps its RFC 5545 meaning east and west
//! of UTC, and nobody answers their own approval request.

use chrono::{Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::common::*;
use crate::support::*;

/// The field a 422 names, whether as a validation error or as the domain's `invalid-field`.
fn named_field(a: &Answer) -> &str {
    a.body["errors"][0]["field"].as_str().or_else(|| a.body["rule"]["field"].as_str()).unwrap_or_default()
}

pub async fn control_characters_are_refused_naming_the_field(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let before = log_head(&s).await;
    for (body, field) in [
        (json!({ "name": "a\u{0}b" }), "name"),
        (json!({ "name": "Room", "description": "x\u{0}y" }), "description"),
        (json!({ "name": "Room", "location": "Floor\u{0}2" }), "location"),
        (json!({ "name": "Room", "tags": ["ok", "a\u{0}b"] }), "tags"),
        (json!({ "name": "Room", "tags": ["meeting,projector"] }), "tags"),
    ] {
        let refused = post(&s, &admin, "/api/v1/resources", body).await;
        assert_eq!((refused.status, named_field(&refused)), (422, field), "{}", refused.body);
    }
    let group = post(&s, &admin, "/api/v1/resource-groups", json!({ "name": "a\u{0}b" })).await;
    assert_eq!((group.status, named_field(&group)), (422, "name"), "{}", group.body);
    assert_eq!(log_head(&s).await, before, "nothing reached the log");

    // The catalog keeps applying writes, multi-line descriptions included.
    let created = post(
        &s,
        &admin,
        "/api/v1/resources",
        json!({ "name": " Room 1 ", "description": "Two screens.\r\nKey at reception." }),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let shown = get_at(&s, &admin, &format!("/api/v1/resources/{}", created.id()), created.position).await;
    assert_eq!(shown.body["name"], "Room 1");
    assert_eq!(shown.body["description"], "Two screens.\nKey at reception.");
    let group = post(&s, &admin, "/api/v1/resource-groups", json!({ "name": "Building A" })).await;
    assert_eq!(group.status, 201, "{}", group.body);
}

pub async fn leap_second_instants_are_normalised(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let room = resource(&s, &admin, json!({ "name": "Lab" })).await;
    let day = (Utc::now() + Duration::days(2)).date_naive();
    let leap = |hour: u32| format!("{day}T{hour:02}:59:60Z");
    let booked = book(&s, &alice, &room, &leap(21), &leap(22)).await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let start = Utc.from_utc_datetime(&day.and_time(NaiveTime::from_hms_opt(22, 0, 0).expect("time")));
    assert_eq!((ts(&booked.body["start_time"]), ts(&booked.body["end_time"])), (start, start + Duration::hours(1)));
    let shown = get_at(&s, &alice, &format!("/api/v1/reservations/{}", booked.id()), booked.position).await;
    assert!(!shown.body.to_string().contains(":59:60"), "{}", shown.body);
    let same = book(&s, &alice, &room, &start.to_rfc3339(), &(start + Duration::hours(1)).to_rfc3339()).await;
    assert_eq!(same.status, 409, "the normalised booking holds the real hour");
}

fn starts(report: &Value) -> Vec<chrono::DateTime<Utc>> {
    let occurrences = report["occurrences"].as_array().unwrap_or_else(|| panic!("no occurrences: {report}"));
    occurrences.iter().map(|o| ts(&o["range"]["start"])).collect()
}

/// Books a weekly series in `zone` from `days` days ahead at `hour` local, bounded by `until`.
async fn weekly_until(s: &Server, admin: &str, user: &str, zone: Tz, days: i64, hour: u32, until: &str) -> Value {
    let name = format!("Room {zone} {days} {until}");
    let room = resource(s, admin, json!({ "name": name, "time_zone": zone.name() })).await;
    let date = (Utc::now().with_timezone(&zone) + Duration::days(days)).date_naive();
    let body = json!({ "resource_id": room, "rrule": format!("FREQ=WEEKLY;UNTIL={until}"),
        "start_local": format!("{date}T{hour:02}:00:00"), "duration_minutes": 60 });
    let booked = post(s, user, "/api/v1/reservations/recurring", body).await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    booked.body
}

pub async fn recurrence_until_keeps_its_meaning_east_and_west_of_utc(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let utc_day = |zone: Tz, days: i64| (Utc::now().with_timezone(&zone) + Duration::days(days)).date_naive();

    // West: 21:00 in New York is 01:00 or 02:00 UTC the next day, so UNTIL at 00:00 UTC fifteen
    // days on excludes the third week.
    let ny = chrono_tz::America::New_York;
    let until = utc_day(ny, 3 + 15).format("%Y%m%dT000000Z").to_string();
    let report = weekly_until(&s, &admin, &alice, ny, 3, 21, &until).await;
    let got = starts(&report);
    assert_eq!(got.len(), 2, "{report}");
    // East: 09:00 in Tokyo is 00:00 UTC the same day, so UNTIL at that instant keeps the third.
    let tokyo = chrono_tz::Asia::Tokyo;
    let until_day = utc_day(tokyo, 3 + 14);
    let report = weekly_until(&s, &admin, &alice, tokyo, 3, 9, &until_day.format("%Y%m%dT000000Z").to_string()).await;
    let got = starts(&report);
    assert_eq!(got.len(), 3, "{report}");
    assert_eq!(got.last().copied(), Some(Utc.from_utc_datetime(&until_day.and_time(NaiveTime::MIN))));
    // A floating UNTIL is read on the resource's wall clock, a DATE through that local day.
    let sydney = chrono_tz::Australia::Sydney;
    let last = utc_day(sydney, 4 + 14);
    let report = weekly_until(&s, &admin, &alice, sydney, 4, 10, &last.format("%Y%m%dT100000").to_string()).await;
    assert_eq!(starts(&report).len(), 3, "{report}");
    let report = weekly_until(&s, &admin, &alice, ny, 5, 21, &utc_day(ny, 5 + 14).format("%Y%m%d").to_string()).await;
    assert_eq!(starts(&report).len(), 3, "{report}");
}

pub async fn nobody_answers_their_own_request(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let carl = s.user("carl").await;
    let carl_id = user_id(&s, &carl).await;
    let granted = put(&s, &admin, &format!("/api/v1/users/{carl_id}/role"), json!({ "role": "approver" })).await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    let carl = s.login("carl", PASSWORD).await;
    let vault = resource(&s, &admin, json!({ "name": "Vault", "policy": { "requires_approval": true } })).await;

    // An approver and an admin alike: each one's own request is answered by the other.
    for (hour, requester, approver) in [(24, &carl, &admin), (26, &admin, &carl)] {
        let requested = book(&s, requester, &vault, &at(hour), &at(hour + 1)).await;
        assert_eq!((requested.status, requested.body["status"].as_str()), (201, Some("pending_approval")));
        let respond = format!("/api/v1/approvals/{}/respond?min_position={}", requested.id(), requested.position);
        let own = post(&s, requester, &respond, json!({ "approved": true })).await;
        assert_eq!(own.status, 403, "{}", own.body);
        let other = post(&s, approver, &respond, json!({ "approved": true, "comment": "ok" })).await;
        assert_eq!((other.status, other.body["status"].as_str()), (200, Some("confirmed")), "{}", other.body);
    }
}
