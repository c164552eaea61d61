//! Recurring booking (form, preview, all or nothing, skipping conflicts, and the API's
//! `dry_run`) and my reservations (tabs, pages, cancel one / this and following / whole
//! series, history, `.ics`, the feed URL), through the web app's pages and forms.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{Backend, ScratchDatabase, Server, PASSWORD};
use crate::support::{csrf_of, Browser};

const ZONE: &str = "Europe/Paris";

fn paris() -> Tz {
    ZONE.parse().expect("zone")
}

/// The resource's local date `days` from today.
fn local_date(days: i64) -> NaiveDate {
    paris().from_utc_datetime(&Utc::now().naive_utc()).date_naive() + Duration::days(days)
}

fn local_at(days: i64, hour: u32) -> NaiveDateTime {
    local_date(days).and_time(NaiveTime::from_hms_opt(hour, 0, 0).expect("time"))
}

/// RFC 3339 of a local time of the resource.
fn instant(days: i64, hour: u32) -> String {
    paris()
        .from_local_datetime(&local_at(days, hour))
        .earliest()
        .expect("not in a gap")
        .with_timezone(&Utc)
        .to_rfc3339()
}

async fn json_of(r: reqwest::RequestBuilder) -> (u16, Value) {
    let r = r.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The log head, to check that nothing was appended.
async fn log_head(s: &Server) -> u64 {
    let r = s.client.get(s.url("/ready")).send().await.expect("ready");
    r.json::<Value>().await.expect("json")["log_position"].as_u64().expect("position")
}

struct World {
    server: Server,
    admin: String,
    alice: String,
    bob: String,
    room: String,
    _db: ScratchDatabase,
}

async fn world(backend: Backend) -> World {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let admin = server.setup_admin().await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let (status, body) =
        json_of(server.post(&admin, "/api/v1/resources", json!({ "name": "Studio", "time_zone": ZONE }))).await;
    assert_eq!(status, 201, "{body}");
    let room = body["id"].as_str().expect("id").to_string();
    World { server, admin, alice, bob, room, _db: db }
}

async fn browser_of(server: &Server, name: &str, lang: &str) -> Browser {
    let browser = Browser::with_language(server, lang);
    assert_eq!(browser.login(name, PASSWORD).await.status(), StatusCode::SEE_OTHER);
    browser
}

async fn mine(w: &World, token: &str) -> Vec<Value> {
    // Read after every write so far.
    let head = log_head(&w.server).await;
    let path = format!("/api/v1/reservations/my?scope=all&limit=500&min_position={head}");
    let (status, body) = json_of(w.server.get(token, &path)).await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().cloned().unwrap_or_default()
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

/// The fields of a daily series of `count` at 10:00 for an hour, from `days` ahead.
fn daily(days: i64, count: &str, exceptions: &str, action: &'static str) -> Vec<(&'static str, String)> {
    vec![
        ("start_date", local_date(days).to_string()),
        ("start_time", "10:00".into()),
        ("duration_minutes", "60".into()),
        ("freq", "DAILY".into()),
        ("interval", "1".into()),
        ("ends", "count".into()),
        ("count", count.into()),
        ("exceptions", exceptions.into()),
        ("action", action.into()),
    ]
}

async fn submit(browser: &Browser, page: &str, fields: &[(&'static str, String)]) -> (StatusCode, String) {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = browser.submit(page, page, &borrowed).await;
    let status = r.status();
    (status, r.text().await.unwrap_or_default())
}

pub async fn recurring_preview_then_book(backend: Backend) {
    let w = world(backend).await;
    let s = &w.server;
    // Bob holds the third day at 10:00.
    let (status, body) = json_of(s.post(
        &w.bob,
        "/api/v1/reservations",
        json!({ "resource_id": w.room, "start_time": instant(9, 10), "end_time": instant(9, 11) }),
    ))
    .await;
    assert_eq!(status, 201, "{body}");
    let alice = browser_of(s, "alice", "en").await;
    let page = format!("/resources/{}/recurring", w.room);
    let (status, html) = alice.get(&page).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Recurring booking") && html.contains("Studio"), "{html}");
    assert!(html.contains(ZONE), "the resource's zone is named: {html}");
    for field in ["name=\"start_date\"", "name=\"freq\"", "name=\"interval\"", "name=\"day_mo\"", "name=\"until\""] {
        assert!(html.contains(field), "{field}: {html}");
    }

    // The preview lists every occurrence with its outcome, the excluded day as skipped, and
    // books nothing.
    let before = log_head(s).await;
    let skip_day = local_date(10).to_string();
    let (status, html) = submit(&alice, &page, &daily(7, "5", &skip_day, "preview")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Preview: nothing is booked yet"), "{html}");
    assert_eq!(count(&html, "data-outcome=\"bookable\""), 3, "{html}");
    assert_eq!(count(&html, "data-outcome=\"conflict\""), 1, "{html}");
    assert_eq!(count(&html, "data-outcome=\"excluded\""), 1, "{html}");
    assert!(html.contains("Skipped (excluded)") && html.contains("3 of 5 occurrences can be booked"), "{html}");
    assert!(html.contains("value=\"book_all\"") && html.contains("value=\"book_skip\""), "{html}");
    assert!(html.contains(&format!("value=\"{skip_day}\"")) || html.contains(&skip_day), "kept: {html}");
    assert_eq!(log_head(s).await, before, "a preview appended something");
    assert!(mine(&w, &w.alice).await.is_empty());

    // All or nothing is refused over the conflict, nothing booked, each occurrence shown.
    let (status, html) = submit(&alice, &page, &daily(7, "5", &skip_day, "book_all")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("Some occurrences conflict; nothing was booked."), "{html}");
    assert_eq!(count(&html, "data-outcome=\"conflict\""), 1, "{html}");
    assert!(mine(&w, &w.alice).await.is_empty());

    // Skipping conflicts books the other three.
    let (status, html) = submit(&alice, &page, &daily(7, "5", &skip_day, "book_skip")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Booked 3 of 4 occurrences."), "{html}");
    assert_eq!(count(&html, "data-outcome=\"booked\""), 3, "{html}");
    let booked = mine(&w, &w.alice).await;
    assert_eq!(booked.len(), 3, "{booked:?}");
    let series = &booked[0]["series_id"];
    assert!(series.is_string() && booked.iter().all(|r| &r["series_id"] == series), "{booked:?}");

    // An error stands next to its field, in the reader's language, with what was typed kept.
    let spanish = browser_of(s, "alice", "es").await;
    let mut fields = daily(7, "5", "", "preview");
    fields[2].1 = "0".into();
    let (status, html) = submit(&spanish, &page, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("id=\"duration_minutes-error\""), "{html}");
    assert!(html.contains("Duración (minutos) no es válido."), "{html}");
    assert!(html.contains(&format!("value=\"{}\"", local_date(7))), "{html}");
    let mut fields = daily(7, "5", "someday", "preview");
    fields[0].1 = local_date(7).to_string();
    let (status, html) = submit(&alice, &page, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"exceptions-error\"") && html.contains(">someday</textarea>"), "{html}");

    // CSRF, and a resource that does not exist.
    let before = log_head(s).await;
    let raw: Vec<(&str, String)> = daily(20, "2", "", "book_skip");
    let raw: Vec<(&str, &str)> = raw.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(alice.post_raw(&page, &raw).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(log_head(s).await, before);
    let missing = format!("/resources/{}/recurring", uuid::Uuid::new_v4());
    assert_eq!(alice.get(&missing).await.0, StatusCode::NOT_FOUND);
    assert_eq!(alice.get("/resources/not-a-uuid/recurring").await.0, StatusCode::NOT_FOUND);
}

pub async fn recurring_dry_run_in_the_api(backend: Backend) {
    let w = world(backend).await;
    let s = &w.server;
    let body = |dry_run: bool| {
        json!({ "resource_id": w.room, "rrule": "FREQ=DAILY;COUNT=3", "start_local": local_at(7, 9),
                "duration_minutes": 30, "dry_run": dry_run })
    };
    let before = log_head(s).await;
    let (status, preview) = json_of(s.post(&w.alice, "/api/v1/reservations/recurring", body(true))).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!((preview["dry_run"].as_bool(), preview["bookable"].as_bool()), (Some(true), Some(true)));
    let outcomes: Vec<_> = preview["occurrences"]
        .as_array()
        .expect("occurrences")
        .iter()
        .map(|o| o["outcome"]["outcome"].clone())
        .collect();
    assert_eq!(outcomes, vec![json!("bookable"); 3], "{preview}");
    assert_eq!(log_head(s).await, before, "a dry run appended something");
    let (_, listed) = json_of(s.get(&w.admin, &format!("/api/v1/resources/{}/reservations", w.room))).await;
    assert_eq!(listed["data"], json!([]), "{listed}");

    // Over a conflict: still 200, not bookable as asked, the conflict reported.
    let (status, _) = json_of(s.post(
        &w.bob,
        "/api/v1/reservations",
        json!({ "resource_id": w.room, "start_time": instant(8, 9), "end_time": instant(8, 10) }),
    ))
    .await;
    assert_eq!(status, 201);
    let before = log_head(s).await;
    let (status, preview) = json_of(s.post(&w.alice, "/api/v1/reservations/recurring", body(true))).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["bookable"], json!(false));
    let outcomes: Vec<_> = preview["occurrences"]
        .as_array()
        .expect("occurrences")
        .iter()
        .map(|o| o["outcome"]["outcome"].clone())
        .collect();
    assert_eq!(outcomes, vec![json!("bookable"), json!("conflict"), json!("bookable")], "{preview}");
    assert_eq!(log_head(s).await, before);
    // Without it, the same request is refused as before.
    let (status, refused) = json_of(s.post(&w.alice, "/api/v1/reservations/recurring", body(false))).await;
    assert_eq!(status, 409, "{refused}");
    // The API document names it, which the command-line client checks before previewing.
    let doc: Value = s.client.get(s.url("/openapi.json")).send().await.expect("doc").json().await.expect("json");
    assert!(doc.pointer("/components/schemas/SeriesInput/properties/dry_run").is_some(), "dry_run undocumented");
}

/// Statuses of the caller's reservations by start.
async fn statuses(w: &World, token: &str) -> Vec<String> {
    let mut all = mine(w, token).await;
    all.sort_by_key(|r| r["start_time"].as_str().unwrap_or_default().to_string());
    all.iter().map(|r| r["status"].as_str().unwrap_or_default().to_string()).collect()
}

pub async fn my_reservations_and_cancelling(backend: Backend) {
    let w = world(backend).await;
    let s = &w.server;
    // One single booking, and a daily series of 22 (more than a page).
    let (status, single) = json_of(s.post(
        &w.alice,
        "/api/v1/reservations",
        json!({ "resource_id": w.room, "start_time": instant(5, 8), "end_time": instant(5, 9) }),
    ))
    .await;
    assert_eq!(status, 201, "{single}");
    let single_id = single["id"].as_str().expect("id").to_string();
    let (status, series) = json_of(s.post(
        &w.alice,
        "/api/v1/reservations/recurring",
        json!({ "resource_id": w.room, "rrule": "FREQ=DAILY;COUNT=22", "start_local": local_at(6, 14),
                "duration_minutes": 60 }),
    ))
    .await;
    assert_eq!(status, 201, "{series}");
    let occurrences: Vec<String> = series["occurrences"]
        .as_array()
        .expect("occurrences")
        .iter()
        .map(|o| o["outcome"]["reservation_id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(occurrences.len(), 22);

    let alice = browser_of(s, "alice", "en").await;
    let (status, html) = alice.get("/reservations").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"reservations-list\" data-live=\"/reservations?scope=upcoming\""), "{html}");
    assert!(html.contains(&format!("href=\"/resources/{}\"", w.room)) && html.contains("(Europe/Paris)"), "{html}");
    assert!(html.contains("status-confirmed\">Confirmed<"), "{html}");
    assert_eq!(count(&html, "data-reservation="), 20, "one page of 20");
    assert!(html.contains(&format!("href=\"/reservations/{single_id}/cancel?what=one\"")), "{html}");
    assert!(html.contains(&format!("/reservations/{}/cancel?what=following", occurrences[0])), "{html}");
    // The feed URL, as the API gives it.
    let (_, links) = json_of(s.get(&w.alice, "/api/v1/calendar/subscription-url")).await;
    let feed = links["url"].as_str().expect("url");
    assert!(feed.contains("/api/v1/calendar/feed/"), "{feed}");
    assert!(html.contains(&format!("id=\"feed-url\" type=\"text\" readonly value=\"{feed}\"")), "{html}");
    assert!(html.contains("data-copy=\"feed-url\""), "{html}");
    // The next page has the rest; the past tab has none of them.
    let next = html.split("href=\"/reservations?scope=upcoming&#38;cursor=").nth(1).expect("a next page link");
    let cursor = next.split('"').next().unwrap_or_default().to_string();
    let (status, rest) = alice.get(&format!("/reservations?scope=upcoming&cursor={cursor}")).await;
    assert_eq!(status, StatusCode::OK, "{rest}");
    assert_eq!(count(&rest, "data-reservation="), 3, "{rest}");
    assert!(rest.contains("First page"), "{rest}");
    let (_, past) = alice.get("/reservations?scope=past").await;
    assert_eq!(count(&past, "data-reservation="), 0);
    assert!(past.contains("You have no past reservations."), "{past}");
    let (_, all) = alice.get("/reservations?scope=all").await;
    assert_eq!(count(&all, "data-reservation="), 20);
    // The live fragment is the list alone.
    let fragment =
        alice.client.get(s.url("/reservations?scope=upcoming")).header("HX-Request", "true").send().await.expect("GET");
    let fragment = fragment.text().await.unwrap_or_default();
    assert!(fragment.starts_with("<div id=\"reservations-list\"") && !fragment.contains("<html"), "{fragment}");

    // One reservation's page, with its history; its .ics.
    let (status, detail) = alice.get(&format!("/reservations/{single_id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert!(detail.contains("History") && detail.contains("Booked and confirmed"), "{detail}");
    let ics = alice.client.get(s.url(&format!("/reservations/{single_id}.ics"))).send().await.expect("GET");
    assert_eq!(ics.status(), StatusCode::OK);
    assert!(ics.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/calendar"));
    let ics = ics.text().await.unwrap_or_default();
    let start = chrono::DateTime::parse_from_rfc3339(&instant(5, 8)).expect("instant").with_timezone(&Utc);
    assert!(ics.contains("BEGIN:VEVENT"), "{ics}");
    assert!(ics.contains(&format!("DTSTART:{}\r\n", start.format("%Y%m%dT%H%M%SZ"))), "{ics}");

    // Someone else's reservation is not found, to read, download or cancel.
    let bob = browser_of(s, "bob", "en").await;
    assert_eq!(bob.get(&format!("/reservations/{single_id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(bob.get(&format!("/reservations/{single_id}.ics")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(bob.get(&format!("/reservations/{single_id}/cancel?what=one")).await.0, StatusCode::NOT_FOUND);
    let r = bob.submit("/reservations", &format!("/reservations/{single_id}/cancel"), &[("what", "one")]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // A cancel without its CSRF token is refused.
    let r = alice.post_raw(&format!("/reservations/{single_id}/cancel"), &[("what", "one")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(statuses(&w, &w.alice).await[0], "confirmed");

    // Cancel one: a confirmation step, then the cancel, then the list says so.
    let confirm = format!("/reservations/{single_id}/cancel?what=one");
    let (status, html) = alice.get(&confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Cancel this reservation?") && html.contains("value=\"one\""), "{html}");
    let r = alice.submit(&confirm, &format!("/reservations/{single_id}/cancel"), &[("what", "one")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = Browser::location(&r);
    assert!(location.starts_with("/reservations?cancelled=1"), "{location}");
    let (_, after) = alice.get(&location).await;
    assert!(after.contains("One reservation was cancelled."), "{after}");
    let (_, one) = json_of(s.get(&w.alice, &format!("/api/v1/reservations/{single_id}"))).await;
    assert_eq!(one["status"], "cancelled");
    let (_, detail) = alice.get(&format!("/reservations/{single_id}")).await;
    assert!(detail.contains("Cancelled"), "{detail}");

    // This and following, from the 21st occurrence: two go.
    let from = &occurrences[20];
    let confirm = format!("/reservations/{from}/cancel?what=following");
    let (_, html) = alice.get(&confirm).await;
    assert!(html.contains("Cancel this occurrence and every later one of the series?"), "{html}");
    let r = alice.submit(&confirm, &format!("/reservations/{from}/cancel"), &[("what", "following")]).await;
    assert!(Browser::location(&r).starts_with("/reservations?cancelled=2"), "{}", Browser::location(&r));
    let after = statuses(&w, &w.alice).await;
    assert_eq!(after.iter().filter(|s| *s == "cancelled").count(), 3, "{after:?}");
    assert_eq!(&after[21..], ["cancelled", "cancelled"], "{after:?}");

    // The whole series: the other twenty.
    let first = &occurrences[0];
    let confirm = format!("/reservations/{first}/cancel?what=series");
    let r = alice.submit(&confirm, &format!("/reservations/{first}/cancel"), &[("what", "series")]).await;
    let location = Browser::location(&r);
    assert!(location.starts_with("/reservations?cancelled=20"), "{location}");
    let (_, after) = alice.get(&location).await;
    assert!(after.contains("20 reservations were cancelled."), "{after}");
    assert!(statuses(&w, &w.alice).await.iter().all(|s| s == "cancelled"));
    // A cancelled reservation has nothing left to confirm.
    let (status, html) = alice.get(&format!("/reservations/{single_id}/cancel?what=one")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("That cannot be done in its current state."), "{html}");
    // Nothing left to cancel: no cancel actions offered.
    let (_, html) = alice.get("/reservations").await;
    assert!(!html.contains("/cancel?what="), "{html}");
    let _ = csrf_of;
}
