//! Resource administration: business hours, blackouts, CSV upload, update, status and retiring.

use serde_json::{json, Value};

use crate::common::*;
use crate::support::*;

fn nine_to_five() -> Value {
    let day = json!([{ "start": "09:00:00", "end": "17:00:00" }]);
    json!({ "business_hours": { "days": [day, day, day, day, day, day, day] } })
}

pub async fn business_hours(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let room = resource(&s, &admin, json!({ "name": "Room" })).await;
    let hours_path = format!("/api/v1/resources/{room}/business-hours");

    let none = get(&s, &alice, &hours_path).await;
    assert_eq!(
        (none.status, &none.body["time_zone"], &none.body["business_hours"]),
        (200, &json!("UTC"), &Value::Null)
    );
    let denied = put(&s, &alice, &hours_path, nine_to_five()).await;
    assert_eq!((denied.status, denied.problem_type()), (403, "forbidden"), "{}", denied.body);

    let set = put(&s, &admin, &hours_path, nine_to_five()).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body, nine_to_five());
    let got = get_at(&s, &alice, &hours_path, set.position).await;
    assert_eq!(got.body["business_hours"], nine_to_five()["business_hours"]);

    // Outside the hours: refused with the rule's stable type; inside: booked.
    let before = log_head(&s).await;
    let late = book(&s, &alice, &room, &day_at(1, 18), &day_at(1, 19)).await;
    assert_eq!((late.status, late.problem_type()), (422, "outside-business-hours"), "{}", late.body);
    assert_eq!(late.body["code"], "outside_business_hours");
    let straddling = book(&s, &alice, &room, &day_at(1, 16), &day_at(1, 18)).await;
    assert_eq!(straddling.problem_type(), "outside-business-hours");
    assert_eq!(log_head(&s).await, before, "refused bookings append nothing");
    let inside = book(&s, &alice, &room, &day_at(1, 10), &day_at(1, 11)).await;
    assert_eq!((inside.status, inside.body["status"].as_str()), (201, Some("confirmed")), "{}", inside.body);

    // Free slots keep to the hours too.
    let slots = get_at(
        &s,
        &alice,
        &format!(
            "/api/v1/resources/{room}/available-slots?start={}&end={}&duration_minutes=60&limit=500",
            enc(&day_at(1, 0)),
            enc(&day_at(2, 0))
        ),
        inside.position,
    )
    .await;
    let slots = slots.body["slots"].as_array().expect("slots").clone();
    let starts: Vec<_> = slots.iter().map(|s| ts(&s["start_time"])).collect();
    let expected: Vec<_> = [9, 11, 12, 13, 14, 15, 16].iter().map(|h| instant(&day_at(1, *h))).collect();
    assert_eq!(starts, expected);

    // Malformed hours name the field and change nothing.
    let before = log_head(&s).await;
    for bad in [
        json!({ "business_hours": { "days": [[{ "start": "25:00:00", "end": "17:00:00" }], [], [], [], [], [], []] } }),
        json!({ "business_hours": { "days": [[], [], []] } }),
        json!({ "business_hours": "nine to five" }),
        // PUT replaces: a body without the field is refused rather than read as "no hours".
        json!({}),
    ] {
        let refused = put(&s, &admin, &hours_path, bad.clone()).await;
        assert_eq!((refused.status, refused.field()), (422, "business_hours"), "{bad}: {}", refused.body);
    }
    assert_eq!(log_head(&s).await, before);
    let still = get(&s, &alice, &hours_path).await;
    assert_eq!(still.body["business_hours"], nine_to_five()["business_hours"]);

    // Clearing the hours opens the resource around the clock again.
    let cleared = put(&s, &admin, &hours_path, json!({ "business_hours": null })).await;
    assert_eq!(cleared.status, 200);
    assert_eq!(get_at(&s, &alice, &hours_path, cleared.position).await.body["business_hours"], Value::Null);
    assert_eq!(book(&s, &alice, &room, &day_at(1, 18), &day_at(1, 19)).await.status, 201);

    let missing =
        put(&s, &admin, "/api/v1/resources/00000000-0000-0000-0000-000000000009/business-hours", nine_to_five()).await;
    assert_eq!(missing.status, 404);
}

pub async fn blackout_dates(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let room = resource(&s, &admin, json!({ "name": "Hall" })).await;
    let path = format!("/api/v1/resources/{room}/blackout-dates");
    let window = json!({ "start_time": day_at(2, 0), "end_time": day_at(3, 0), "reason": "floor polish" });

    assert_eq!(post(&s, &alice, &path, window.clone()).await.status, 403);
    let inverted = post(&s, &admin, &path, json!({ "start_time": day_at(3, 0), "end_time": day_at(2, 0) })).await;
    assert_eq!((inverted.status, inverted.field()), (422, "end_time"));
    let no_offset =
        post(&s, &admin, &path, json!({ "start_time": "2030-01-01T00:00:00", "end_time": day_at(2, 0) })).await;
    assert_eq!((no_offset.status, no_offset.field()), (422, "start_time"));

    let added = post(&s, &admin, &path, window).await;
    assert_eq!(added.status, 201, "{}", added.body);
    let blackout = added.id();
    assert_eq!(added.body["reason"], "floor polish");
    let listed = get_at(&s, &alice, &path, added.position).await;
    let listed = listed.body.as_array().expect("blackouts").clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0]["id"].as_str(), listed[0]["reason"].as_str()),
        (Some(blackout.as_str()), Some("floor polish"))
    );

    let blocked = book(&s, &alice, &room, &day_at(2, 10), &day_at(2, 11)).await;
    assert_eq!((blocked.status, blocked.problem_type()), (422, "blackout"), "{}", blocked.body);
    assert_eq!(blocked.body["rule"]["blackout_id"], blackout.as_str());
    assert_eq!(blocked.body["rule"]["reason"], "floor polish");
    // Half-open: ending as the blackout starts is fine.
    assert_eq!(book(&s, &alice, &room, &day_at(1, 23), &day_at(2, 0)).await.status, 201);

    assert_eq!(delete(&s, &alice, &format!("{path}/{blackout}")).await.status, 403);
    let removed = delete(&s, &admin, &format!("{path}/{blackout}")).await;
    assert_eq!((removed.status, removed.body["deleted"].as_str()), (200, Some(blackout.as_str())));
    assert_eq!(get_at(&s, &alice, &path, removed.position).await.body, json!([]));
    assert_eq!(book(&s, &alice, &room, &day_at(2, 10), &day_at(2, 11)).await.status, 201);
    let again = delete(&s, &admin, &format!("{path}/{blackout}")).await;
    assert_eq!((again.status, again.problem_type()), (404, "not-found"));
}

async fn upload(s: &Server, token: &str, csv: &str) -> Answer {
    send(
        s.client
            .post(s.url("/api/v1/resources/upload"))
            .bearer_auth(token)
            .header("Content-Type", "text/csv")
            .body(csv.to_string()),
    )
    .await
}

fn names(page: &Answer) -> Vec<String> {
    let data = page.body["data"].as_array().unwrap_or_else(|| panic!("no page: {}", page.body));
    let mut names: Vec<_> = data.iter().map(|r| r["name"].as_str().unwrap_or_default().to_string()).collect();
    names.sort();
    names
}

pub async fn csv_upload(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let csv = "name,tags,available\nDesk North,desk;window,true\n\"Desk, South\",desk|quiet,false\n\nScope 3,lab,\n";

    assert_eq!(upload(&s, &alice, csv).await.status, 403);
    let created = upload(&s, &admin, csv).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["created_count"], 3);
    assert_eq!(created.body["errors"], json!([]));
    let south = &created.body["created"][1];
    assert_eq!((south["name"].as_str(), south["available"].as_bool()), (Some("Desk, South"), Some(false)));
    assert_eq!((south["status"].as_str(), &south["tags"]), (Some("maintenance"), &json!(["desk", "quiet"])));
    assert_eq!(created.body["created"][2]["available"], true, "an empty available means true");
    assert!(created.position > 0, "the upload answers X-Log-Position");

    let at_position = |q: &str| format!("/api/v1/resources?{q}&min_position={}", created.position);
    assert_eq!(names(&get(&s, &alice, &at_position("q=desk")).await), ["Desk North", "Desk, South"]);
    assert_eq!(names(&get(&s, &alice, &at_position("tags=desk,quiet")).await), ["Desk, South"]);
    assert_eq!(names(&get(&s, &alice, &at_position("tags=lab")).await), ["Scope 3"]);
    assert_eq!(names(&get(&s, &alice, &at_position("status=maintenance")).await), ["Desk, South"]);
    let searched =
        get(&s, &alice, &format!("/api/v1/resources/search?query=scope&min_position={}", created.position)).await;
    assert_eq!(names(&searched), ["Scope 3"]);

    // Bad rows are reported by line and column and nothing is created, not even the good rows.
    let before = log_head(&s).await;
    let row_errors = |a: &Answer| -> Vec<(u64, String)> {
        a.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| (e["line"].as_u64().unwrap_or(0), e["column"].as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let bad = upload(&s, &admin, "name,tags,available\nGood Row,,true\n,x,true\nBad Row,,maybe\n").await;
    assert_eq!((bad.status, bad.field()), (422, "file"), "{}", bad.body);
    assert_eq!(row_errors(&bad), [(3, "name".to_string()), (4, "available".to_string())], "{}", bad.body);
    let long_name = "x".repeat(201);
    let too_long = upload(&s, &admin, &format!("name,tags,available\nFine Row,,true\n{long_name},,true\n")).await;
    assert_eq!(row_errors(&too_long), [(3, "name".to_string())], "{}", too_long.body);
    let long_tag = "t".repeat(65);
    let bad_tag = upload(&s, &admin, &format!("name,tags,available\nTagged Row,{long_tag},true\n")).await;
    assert_eq!(row_errors(&bad_tag), [(2, "tags".to_string())], "{}", bad_tag.body);
    assert_eq!(log_head(&s).await, before, "a refused upload creates nothing");
    for q in ["good", "fine", "tagged"] {
        assert_eq!(names(&get(&s, &alice, &format!("/api/v1/resources?q={q}")).await), Vec::<String>::new());
    }

    let headless = upload(&s, &admin, "title,tags\nX,y\n").await;
    assert_eq!((headless.status, headless.field()), (422, "file"));
    let empty = upload(&s, &admin, "").await;
    assert_eq!((empty.status, empty.field()), (422, "file"));
}

pub async fn update_status_and_retire(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let room = resource(&s, &admin, json!({ "name": "Board room", "capacity": 2 })).await;
    let path = format!("/api/v1/resources/{room}");

    // Updates: each answer carries the new ETag, which the next update may use.
    let first = get(&s, &admin, &path).await;
    let etag = first.etag.clone().expect("ETag");
    let renamed = send(
        request(&s, reqwest::Method::PATCH, &admin, &path)
            .header("If-Match", &etag)
            .json(&json!({ "name": "Boardroom", "tags": ["meeting"], "location": "3rd floor" })),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(
        (renamed.body["name"].as_str(), renamed.body["location"].as_str()),
        (Some("Boardroom"), Some("3rd floor"))
    );
    assert_eq!(renamed.body["capacity"], 2, "fields not in the patch are kept");
    let next = renamed.etag.clone().expect("ETag on update");
    assert_ne!(next, etag);
    let stale = send(
        request(&s, reqwest::Method::PATCH, &admin, &path).header("If-Match", &etag).json(&json!({ "capacity": 3 })),
    )
    .await;
    assert_eq!((stale.status, stale.problem_type()), (412, "precondition-failed"));
    assert_eq!(stale.body["current_etag"].as_str(), Some(next.as_str()));
    let fresh = send(
        request(&s, reqwest::Method::PATCH, &admin, &path).header("If-Match", &next).json(&json!({ "capacity": 3 })),
    )
    .await;
    assert_eq!((fresh.status, fresh.body["capacity"].as_u64()), (200, Some(3)));
    assert_eq!(get_at(&s, &alice, &path, fresh.position).await.body["name"], "Boardroom");
    assert_eq!(patch(&s, &alice, &path, json!({ "name": "Mine" })).await.status, 403);
    let invalid = patch(&s, &admin, &path, json!({ "capacity": 0 })).await;
    assert_eq!((invalid.status, invalid.field()), (422, "capacity"));
    let zone = patch(&s, &admin, &path, json!({ "time_zone": "Mars/Olympus" })).await;
    assert_eq!((zone.status, zone.field()), (422, "time_zone"));

    // A resource can be put into a group and taken out again.
    let group = post(&s, &admin, "/api/v1/resource-groups", json!({ "name": "Wing" })).await.id();
    let grouped = patch(&s, &admin, &path, json!({ "group_id": group })).await;
    assert_eq!(grouped.body["group_id"].as_str(), Some(group.as_str()), "{}", grouped.body);
    let ungrouped = patch(&s, &admin, &path, json!({ "group_id": null })).await;
    assert_eq!((ungrouped.status, &ungrouped.body["group_id"]), (200, &Value::Null), "{}", ungrouped.body);

    // Maintenance blocks bookings until the resource is available again.
    let status = format!("{path}/status");
    assert_eq!(put(&s, &alice, &status, json!({ "status": "maintenance" })).await.status, 403);
    let off = put(&s, &admin, &status, json!({ "status": "maintenance" })).await;
    assert_eq!((off.status, off.body["status"].as_str()), (200, Some("maintenance")));
    let refused = book(&s, &alice, &room, &at(24), &at(25)).await;
    assert_eq!((refused.status, refused.problem_type()), (409, "resource-in-maintenance"));
    assert_eq!(get_at(&s, &alice, &path, off.position).await.body["available"], false);
    let on = put(&s, &admin, &status, json!({ "available": true })).await;
    assert_eq!((on.status, on.body["status"].as_str()), (200, Some("available")));
    assert_eq!(book(&s, &alice, &room, &at(24), &at(25)).await.status, 201);
    assert_eq!(put(&s, &admin, &status, json!({})).await.field(), "status");

    // Retiring: a stale If-Match is refused; afterwards nothing can be booked or changed.
    let current = get(&s, &admin, &path).await.etag.expect("ETag");
    let stale = send(request(&s, reqwest::Method::DELETE, &admin, &path).header("If-Match", "\"1\"")).await;
    assert_eq!((stale.status, stale.body["current_etag"].as_str()), (412, Some(current.as_str())));
    assert_eq!(delete(&s, &alice, &path).await.status, 403);
    let retired = send(request(&s, reqwest::Method::DELETE, &admin, &path).header("If-Match", &current)).await;
    assert_eq!((retired.status, &retired.body), (200, &json!({ "retired": true })));
    let view = get_at(&s, &alice, &path, retired.position).await;
    assert_eq!((view.body["retired"].as_bool(), view.body["status"].as_str()), (Some(true), Some("retired")));
    let after = book(&s, &alice, &room, &at(30), &at(31)).await;
    assert_eq!((after.status, after.problem_type()), (409, "resource-retired"), "{}", after.body);
    assert_eq!(patch(&s, &admin, &path, json!({ "name": "Back" })).await.status, 409);
    assert_eq!(delete(&s, &admin, &path).await.status, 409);
    let listed = get(&s, &alice, &format!("/api/v1/resources?status=retired&min_position={}", retired.position)).await;
    assert_eq!(names(&listed), ["Boardroom"]);
}

/// The CSV rules every upload follows: a byte-order mark, quoted separators and line breaks,
/// tags inside one field, browser (multipart) uploads, misspelt columns, and a dry run.
pub async fn csv_upload_rules(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;

    // The old product's own format, with a byte-order mark and Windows line endings.
    let seed = "\u{feff}name,tags,available,description\r\n\"Room B\",\"meeting,projector\",true,\r\n\
                Hall,lab,false,\"Line one,\r\nline two\"\r\n";
    let created = upload(&s, &admin, seed).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["created_count"], 2, "a quoted line break does not split a row");
    assert_eq!(created.body["created"][0]["tags"], json!(["meeting", "projector"]));
    assert_eq!(created.body["created"][1]["description"], "Line one,\nline two");

    // Misspelt or unknown columns are named, never ignored.
    let before = log_head(&s).await;
    let misspelt = upload(&s, &admin, "name,tgas\nX,y\n").await;
    assert_eq!((misspelt.status, misspelt.field()), (422, "file"), "{}", misspelt.body);
    assert!(misspelt.body["detail"].as_str().unwrap_or_default().contains("tgas"), "{}", misspelt.body);

    // A dry run reports every row's errors and writes nothing.
    let dry = send(
        s.client
            .post(s.url("/api/v1/resources/upload?dry_run=true"))
            .bearer_auth(&admin)
            .header("Content-Type", "text/csv")
            .body("name,capacity\nFine,4\n,2\nToo Many,zero\n"),
    )
    .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!((dry.body["dry_run"].as_bool(), dry.body["created_count"].as_u64()), (Some(true), Some(1)));
    let lines: Vec<u64> = dry.body["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["line"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(lines, [3, 4], "{}", dry.body);
    assert_eq!(log_head(&s).await, before, "neither refusal nor dry run wrote anything");

    // What a browser form sends: multipart/form-data with a `file` part.
    let boundary = "XyZ-boundary";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"resources.csv\"\r\n\
         Content-Type: text/csv\r\n\r\nname,tags\nDesk 9,desk\r\n--{boundary}--\r\n"
    );
    let multipart = send(
        s.client
            .post(s.url("/api/v1/resources/upload"))
            .bearer_auth(&admin)
            .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
            .body(form),
    )
    .await;
    assert_eq!(multipart.status, 201, "{}", multipart.body);
    assert_eq!(multipart.body["created"][0]["name"], "Desk 9");
}

/// One `Idempotency-Key` on a request that sends several commands (the rows of an upload, a
/// create followed by "in maintenance") covers each of them, and a retry replays them all.
pub async fn one_key_covers_every_command_of_a_request(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let keyed_upload = |key: &'static str, csv: &'static str| {
        send(
            s.client
                .post(s.url("/api/v1/resources/upload"))
                .bearer_auth(&admin)
                .header("Content-Type", "text/csv")
                .header("Idempotency-Key", key)
                .body(csv),
        )
    };
    let csv = "name,available\nRow One,true\nRow Two,false\nRow Three,true\n";
    let first = keyed_upload("upload-1", csv).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let ids = |a: &Answer| -> Vec<String> {
        a.body["created"]
            .as_array()
            .map(|v| v.iter().map(|r| r["id"].as_str().unwrap_or_default().to_string()).collect())
            .unwrap_or_default()
    };
    let created = ids(&first);
    assert_eq!(created.len(), 3);
    assert_eq!(created.iter().collect::<std::collections::HashSet<_>>().len(), 3, "three resources, not one thrice");
    assert_eq!(first.body["created"][1]["status"], "maintenance");
    let again = keyed_upload("upload-1", csv).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(ids(&again), created, "a retry replays every row");
    let other = keyed_upload("upload-1", "name\nSomething Else\n").await;
    assert_eq!(other.status, 422, "the key answers for its own file only: {}", other.body);
    let listed = get(&s, &admin, &format!("/api/v1/resources?limit=50&min_position={}", log_head(&s).await)).await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(3), "nothing created twice");

    let keyed_create = || {
        send(
            s.client
                .post(s.url("/api/v1/resources"))
                .bearer_auth(&admin)
                .header("Idempotency-Key", "create-1")
                .json(&json!({ "name": "Closed Lab", "available": false })),
        )
    };
    let made = keyed_create().await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.body["status"], "maintenance");
    let retried = keyed_create().await;
    assert_eq!(retried.status, 201, "{}", retried.body);
    assert_eq!(
        (retried.body["id"].clone(), retried.body["status"].clone()),
        (made.body["id"].clone(), json!("maintenance"))
    );
}
