//! Booking from the command line: a refused booking exits 4 with the conflicts and the next
//! free slots, recurring series and their preview, reservations, and commands whose endpoints
//! a server may not offer yet.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::common::*;
use crate::support::*;

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text:?}: {e}")).with_timezone(&Utc)
}

pub async fn book_and_conflict_with_alternatives(backend: Backend) {
    let w = World::start(backend).await;
    w.admin();
    w.resource("Lab 3", &["--tags", "lab"]);

    let booked = w.run(&["book", "Lab 3", "tomorrow 10:00", "--for", "1h", "-o", "json"]);
    booked.ok();
    let reservation = booked.json();
    assert_eq!(reservation["status"], "confirmed");
    let end = instant(reservation["end_time"].as_str().expect("end"));
    assert_eq!(end - instant(reservation["start_time"].as_str().expect("start")), chrono::Duration::hours(1));

    // Taken: exit 4, the reason and the conflict on stderr, the next free slots on stdout.
    let refused = w.run(&["book", "Lab 3", "tomorrow 10:30", "tomorrow 11:30"]);
    assert_eq!(refused.code, 4, "{}\n{}", refused.stdout, refused.stderr);
    assert!(refused.stderr.contains("Booking conflict"), "{}", refused.stderr);
    assert!(refused.stderr.contains(reservation["id"].as_str().expect("id")), "{}", refused.stderr);
    let slots = refused.rows();
    assert!(!slots.is_empty(), "alternatives expected: {}", refused.stderr);
    for slot in &slots {
        let (start, stop) = (instant(&slot[0]), instant(&slot[1]));
        assert_eq!(stop - start, chrono::Duration::hours(1), "{slot:?}");
        assert!(start >= end || stop <= end - chrono::Duration::hours(1), "{slot:?} overlaps the booking");
    }
    // The same as JSON: the server's problem with its alternatives.
    let as_json = w.run(&["book", "Lab 3", "tomorrow 10:30", "--for", "1h", "-o", "json"]);
    assert_eq!(as_json.code, 4);
    let problem = as_json.json();
    assert_eq!(problem["status"], 409);
    assert!(problem["next_free_slots"].as_array().is_some_and(|s| !s.is_empty()), "{problem}");
    // The first alternative books.
    w.run(&["book", "Lab 3", &slots[0][0], &slots[0][1]]).ok();

    // Names that match nothing: exit 3; an end before the start: exit 2.
    let missing = w.run(&["book", "Nowhere", "tomorrow 10:00", "--for", "1h"]);
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    let backwards = w.run(&["book", "Lab 3", "tomorrow 10:00", "tomorrow 09:00"]);
    assert_eq!(backwards.code, 2, "{}", backwards.stderr);
    let nonsense = w.run(&["book", "Lab 3", "someday", "--for", "1h"]);
    assert_eq!(nonsense.code, 2);
    assert!(nonsense.stderr.contains("\"someday\""), "{}", nonsense.stderr);
}

pub async fn recurring_preview_and_series(backend: Backend) {
    let w = World::start(backend).await;
    w.admin();
    w.resource("Desk 9", &[]);
    let rule = "FREQ=DAILY;COUNT=3";

    // A preview (the server's dry run) shows every occurrence and books nothing.
    let preview =
        w.run(&["book", "Desk 9", "tomorrow 09:00", "--for", "30m", "--repeat", rule, "--preview", "-o", "json"]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    let occurrences = preview.json()["occurrences"].as_array().cloned().unwrap_or_default();
    assert_eq!(occurrences.len(), 3, "{}", preview.stdout);
    assert!(occurrences.iter().all(|o| o["outcome"]["outcome"] == "bookable"), "{}", preview.stdout);
    let none = w.run(&["reservations", "list", "-o", "json"]);
    assert_eq!(none.json(), Value::Array(vec![]), "a preview booked something");

    // The series: every occurrence booked, in one series.
    let series = w.run(&["book", "Desk 9", "tomorrow 09:00", "--for", "30m", "--repeat", rule, "-o", "json"]);
    series.ok();
    let occurrences = series.json()["occurrences"].as_array().cloned().unwrap_or_default();
    assert_eq!(occurrences.len(), 3, "{}", series.stdout);
    assert!(occurrences.iter().all(|o| o["outcome"]["outcome"] == "booked"), "{}", series.stdout);
    let mine = w.run(&["reservations", "list", "--upcoming", "-o", "json"]).json();
    let mine = mine.as_array().cloned().unwrap_or_default();
    assert_eq!(mine.len(), 3);
    let series_id = &mine[0]["series_id"];
    assert!(series_id.is_string() && mine.iter().all(|r| &r["series_id"] == series_id));

    // All or nothing: a series over a taken slot is refused whole, exit 4, each occurrence shown.
    let again = w.run(&["book", "Desk 9", "tomorrow 09:00", "--for", "30m", "--repeat", rule]);
    assert_eq!(again.code, 4, "{}", again.stderr);
    assert!(again.stdout.contains("conflict"), "{}", again.stdout);

    // This and following: the second and third go.
    let mut by_start = mine.clone();
    by_start.sort_by_key(|r| r["start_time"].as_str().unwrap_or_default().to_string());
    let second = by_start[1]["id"].as_str().expect("id");
    let cancelled = w.run(&["reservations", "cancel", second, "--this-and-following", "-o", "json"]);
    assert_eq!(cancelled.json()["cancelled"], 2, "{}", cancelled.stdout);
    let first = by_start[0]["id"].as_str().expect("id");
    let shown = w.run(&["reservations", "show", first, "-o", "json"]).json();
    assert_eq!(shown["status"], "confirmed");
    let history = w.run(&["reservations", "history", second]);
    assert!(
        history.stdout.contains("reservation_cancelled") || history.stdout.contains("cancel"),
        "{}",
        history.stdout
    );
    let ics = w.run(&["reservations", "ics", first]);
    assert!(ics.ok().starts_with("BEGIN:VCALENDAR"), "{}", ics.stdout);
}

pub async fn reservations_and_waiting_features(backend: Backend) {
    let w = World::start(backend).await;
    w.admin();
    w.resource("Room A", &["--tags", "room", "--capacity", "2"]);
    let booked = w.run(&["book", "Room A", "tomorrow 14:00", "--for", "1h", "-o", "json"]).json();
    let id = booked["id"].as_str().expect("id");
    let cancel = w.run(&["reservations", "cancel", id, "--reason", "moved"]);
    cancel.ok();
    assert_eq!(w.run(&["reservations", "show", id, "-o", "json"]).json()["status"], "cancelled");
    let past = w.run(&["reservations", "list", "--past", "-o", "json"]).json();
    assert_eq!(past, Value::Array(vec![]));

    // The roles and what each may do.
    let roles = w.run(&["roles", "list", "-o", "json"]).json();
    let names: Vec<_> = roles.as_array().cloned().unwrap_or_default().iter().map(|r| r["name"].clone()).collect();
    assert_eq!(names, ["admin", "approver", "auditor", "user", "guest"], "{roles}");

    // A free-slot search across resources.
    let found = w.run(&["find", "--tags", "room", "--duration", "1h", "-o", "json"]).json();
    let hits = found.as_array().cloned().unwrap_or_default();
    assert!(!hits.is_empty(), "{found}");
    assert!(hits.iter().all(|hit| hit.to_string().contains("Room A")), "{found}");

    // API usage: the caller's day, and an admin's override of an account's limit.
    let usage = w.run(&["quotas", "show", "-o", "json"]).json();
    assert_eq!(usage["tier"], "admin", "{usage}");
    assert!(usage["used_today"].is_u64() && usage["resets_at"].is_string(), "{usage}");
    let shown = w.run(&["quotas", "show", "-o", "table"]);
    shown.ok();
    for field in ["tier", "daily limit", "used today", "remaining", "resets at", "override"] {
        assert!(shown.stdout.contains(field), "{field}: {}", shown.stdout);
    }
    let set = w.run(&["quotas", "set", "admin", "--daily", "5000", "-o", "json"]);
    set.ok();
    assert_eq!(set.json()["override"], 5000, "{}", set.stdout);
    let back = w.run(&["quotas", "set", "admin", "--default", "-o", "json"]);
    back.ok();
    assert_eq!(back.json()["override"], Value::Null, "{}", back.stdout);
    let neither = w.run(&["quotas", "set", "admin"]);
    assert_eq!(neither.code, 2, "--daily or --default is required: {}", neither.stderr);

    // Endpoints a server may not have yet: one clear sentence and exit 3, never a crash.
    for args in [vec!["roles", "list"], vec!["oauth", "clients", "list"]] {
        let run = w.run(&args);
        match run.code {
            0 => {}
            3 => {
                let first = run.stderr.lines().next().unwrap_or_default();
                assert!(first.starts_with("error: Not found:"), "{args:?}: {}", run.stderr);
                assert!(run.stderr.contains("does not offer that yet"), "{args:?}: {}", run.stderr);
            }
            other => panic!("{args:?} exited {other}: {}", run.stderr),
        }
    }
}
