//! Calendars end to end: iCalendar exports and token feeds from the real `reserver serve`
//! binary, parsed with a real iCalendar parser (the `icalendar` crate) and, for series,
//! expanded again with the `rrule` crate, on SQLite and on PostgreSQL.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, DurationRound, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use common::*;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// iCalendar helpers

/// A parsed property, owned; TEXT values come unescaped from the parser.
#[derive(Debug, Clone)]
struct Property {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

/// A parsed component, owned (the parser borrows the unfolded text).
#[derive(Debug, Clone)]
struct Component {
    name: String,
    /// In document order.
    properties: Vec<Property>,
    children: Vec<Component>,
}

impl Component {
    fn from_parsed(c: &icalendar::parser::Component<'_>) -> Self {
        Component {
            name: c.name.as_str().to_string(),
            properties: c
                .properties
                .iter()
                .map(|p| {
                    let params = p
                        .params
                        .iter()
                        .map(|q| {
                            (
                                q.key.as_str().to_string(),
                                q.val.as_ref().map(|v| v.as_str().to_string()).unwrap_or_default(),
                            )
                        })
                        .collect();
                    Property { name: p.name.as_str().to_string(), params, value: p.val.as_str().to_string() }
                })
                .collect(),
            children: c.components.iter().map(Component::from_parsed).collect(),
        }
    }

    fn prop(&self, name: &str) -> Option<&str> {
        self.properties.iter().find(|p| p.name == name).map(|p| p.value.as_str())
    }

    fn get(&self, name: &str) -> String {
        self.prop(name).unwrap_or_else(|| panic!("{} has no {name}", self.name)).to_string()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.properties.iter().filter(|p| p.name == name).map(|p| p.value.clone()).collect()
    }

    fn param(&self, name: &str, param: &str) -> Option<String> {
        let property = self.properties.iter().find(|p| p.name == name)?;
        property.params.iter().find(|(k, _)| k == param).map(|(_, v)| v.clone())
    }
}

/// Checks the wire form (CRLF only, no physical line over 75 octets), unfolds, parses.
fn parse_calendar(text: &str) -> Component {
    assert!(text.ends_with("\r\n"), "must end with CRLF");
    for line in text.strip_suffix("\r\n").unwrap_or(text).split("\r\n") {
        assert!(!line.contains('\n') && !line.contains('\r'), "bare line break in {line:?}");
        assert!(line.len() <= 75, "line of {} octets: {line:?}", line.len());
    }
    let unfolded = icalendar::parser::unfold(text);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("a valid iCalendar document");
    let root = Component {
        name: "VCALENDAR".into(),
        properties: calendar
            .properties
            .iter()
            .map(|p| Property {
                name: p.name.as_str().to_string(),
                params: Vec::new(),
                value: p.val.as_str().to_string(),
            })
            .collect(),
        children: calendar.components.iter().map(Component::from_parsed).collect(),
    };
    assert_eq!(root.prop("VERSION"), Some("2.0"));
    assert!(root.prop("PRODID").is_some_and(|p| p.contains("Resource Reserver")));
    assert_eq!(root.prop("CALSCALE"), Some("GREGORIAN"));
    assert_eq!(root.prop("METHOD"), Some("PUBLISH"));
    root
}

fn events(calendar: &Component) -> Vec<&Component> {
    calendar.children.iter().filter(|c| c.name == "VEVENT").collect()
}

fn event_with_uid<'a>(calendar: &'a Component, uid: &str) -> &'a Component {
    events(calendar).into_iter().find(|e| e.prop("UID") == Some(uid)).unwrap_or_else(|| panic!("no VEVENT {uid}"))
}

fn ics_utc(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

fn hours_from_now(h: i64) -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::hours(1)).unwrap_or_else(|_| Utc::now()) + Duration::hours(h)
}

async fn json_of(r: reqwest::Response) -> (u16, Option<u64>, Value) {
    let status = r.status().as_u16();
    let position = r.headers().get("X-Log-Position").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    (status, position, r.json().await.unwrap_or(Value::Null))
}

/// (status, content type, body) of a calendar request.
async fn ics_of(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let content_type = r.headers().get("Content-Type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, content_type, r.text().await.unwrap_or_default())
}

fn assert_problem(status: u16, content_type: &str, body: &str, expected: u16, kind: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(content_type, "application/problem+json");
    let problem: Value = serde_json::from_str(body).expect("problem json");
    assert_eq!(problem["type"], format!("https://reserver.dev/problems/{kind}"), "{problem}");
}

async fn create_resource(s: &Server, admin: &str, body: Value) -> String {
    let (status, _, resource) = json_of(s.post(admin, "/api/v1/resources", body).send().await.expect("create")).await;
    assert_eq!(status, 201, "{resource}");
    resource["id"].as_str().expect("id").to_string()
}

async fn book(s: &Server, token: &str, resource: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> (String, u64) {
    let body = json!({ "resource_id": resource, "start_time": start.to_rfc3339(), "end_time": end.to_rfc3339() });
    let (status, position, booked) =
        json_of(s.post(token, "/api/v1/reservations", body).send().await.expect("book")).await;
    assert_eq!(status, 201, "{booked}");
    (booked["id"].as_str().expect("id").to_string(), position.expect("position"))
}

async fn cancel(s: &Server, token: &str, reservation: &str, reason: &str) -> u64 {
    let path = format!("/api/v1/reservations/{reservation}/cancel");
    let (status, position, body) =
        json_of(s.post(token, &path, json!({ "reason": reason })).send().await.expect("cancel")).await;
    assert_eq!(status, 200, "{body}");
    position.expect("position")
}

async fn export(s: &Server, token: &str, reservation: &str, position: u64) -> (u16, String, String) {
    let path = format!("/api/v1/calendar/export/{reservation}.ics?min_position={position}");
    ics_of(s.get(token, &path).send().await.expect("export")).await
}

async fn subscription(s: &Server, token: &str) -> Value {
    let (status, _, body) =
        json_of(s.get(token, "/api/v1/calendar/subscription-url").send().await.expect("subscription")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A feed read the way calendar clients read it: no Authorization header.
async fn feed(s: &Server, url: &str) -> (u16, String, String) {
    ics_of(s.client.get(url).send().await.expect("feed")).await
}

/// Reads a feed until `check` holds (the read model follows the log within moments).
async fn feed_until(s: &Server, url: &str, check: impl Fn(&str) -> bool) -> String {
    for _ in 0..100 {
        let (status, _, body) = feed(s, url).await;
        assert_eq!(status, 200, "{body}");
        if check(&body) {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("feed {url} never showed the expected change");
}

// ---------------------------------------------------------------------------------------------
// Checks

/// A reservation exports as one VEVENT; cancelling it bumps SEQUENCE and cancels the event;
/// other people's reservations are not found, admins may export any.
async fn export_follows_the_reservation(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    // Links handed out use the configured public URL (with or without the API prefix).
    let s = Server::start_with(db.url(), &[("API_URL", "https://calendar.example.com/api/v1/")]).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    let links = subscription(&s, &alice).await;
    let token = links["token"].as_str().expect("token");
    assert_eq!(links["url"], format!("https://calendar.example.com/api/v1/calendar/feed/{token}.ics"));
    assert_eq!(links["webcal_url"], format!("webcal://calendar.example.com/api/v1/calendar/feed/{token}.ics"));
    let room = create_resource(
        &s,
        &admin,
        json!({ "name": "Lab 3, east wing", "location": "Building A; floor 2", "description": "GPU lab\nbring a badge" }),
    )
    .await;
    let (start, end) = (hours_from_now(30), hours_from_now(31));
    let (rid, position) = book(&s, &alice, &room, start, end).await;

    let (status, content_type, text) = export(&s, &alice, &rid, position).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/calendar; charset=utf-8");
    let calendar = parse_calendar(&text);
    let event = event_with_uid(&calendar, &format!("{rid}@resource-reserver"));
    assert_eq!(events(&calendar).len(), 1);
    assert_eq!(event.get("DTSTART"), ics_utc(start));
    assert_eq!(event.get("DTEND"), ics_utc(end));
    assert_eq!(event.get("SUMMARY"), "Lab 3, east wing");
    assert_eq!(event.get("LOCATION"), "Building A; floor 2");
    assert_eq!(event.get("DESCRIPTION"), "GPU lab\nbring a badge");
    assert_eq!(event.get("STATUS"), "CONFIRMED");
    assert_eq!(event.get("SEQUENCE"), "0");
    assert!(event.prop("DTSTAMP").is_some() && event.prop("LAST-MODIFIED").is_some());

    let disposition = s
        .get(&alice, &format!("/api/v1/calendar/export/{rid}.ics"))
        .send()
        .await
        .expect("export")
        .headers()
        .get("Content-Disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(disposition, format!("attachment; filename=\"reservation-{rid}.ics\""));

    // Someone else's reservation does not exist for bob; admins see any.
    let (status, content_type, body) = export(&s, &bob, &rid, position).await;
    assert_problem(status, &content_type, &body, 404, "not-found");
    let (status, _, _) = export(&s, &admin, &rid, position).await;
    assert_eq!(status, 200);
    let anonymous =
        ics_of(s.client.get(s.url(&format!("/api/v1/calendar/export/{rid}.ics"))).send().await.expect("x")).await;
    assert_problem(anonymous.0, &anonymous.1, &anonymous.2, 401, "unauthorized");
    let malformed = ics_of(s.get(&alice, "/api/v1/calendar/export/not-a-uuid.ics").send().await.expect("x")).await;
    assert_problem(malformed.0, &malformed.1, &malformed.2, 422, "validation-error");

    // Cancelling is a change: SEQUENCE goes up and the event is cancelled.
    let position = cancel(&s, &alice, &rid, "moved; sorry, team").await;
    let (status, _, text) = export(&s, &alice, &rid, position).await;
    assert_eq!(status, 200);
    let calendar = parse_calendar(&text);
    let event = event_with_uid(&calendar, &format!("{rid}@resource-reserver"));
    assert_eq!(event.get("STATUS"), "CANCELLED");
    assert_eq!(event.get("SEQUENCE"), "1");
    assert_eq!(event.get("DESCRIPTION"), "GPU lab\nbring a badge\nNote: moved; sorry, team");
}

/// The feed works with its token alone, shows cancellations, and dies when the token is
/// replaced; resource feeds show other people's bookings only as "Booked".
async fn feeds_follow_their_token(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    let room = create_resource(&s, &admin, json!({ "name": "Studio" })).await;
    let (mine, _) = book(&s, &alice, &room, hours_from_now(30), hours_from_now(31)).await;
    let (theirs, _) = book(&s, &bob, &room, hours_from_now(40), hours_from_now(41)).await;

    let links = subscription(&s, &alice).await;
    let token = links["token"].as_str().expect("token").to_string();
    assert_eq!(token.len(), 43, "256 bits, base64url");
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    let url = links["url"].as_str().expect("url").to_string();
    assert_eq!(url, s.url(&format!("/api/v1/calendar/feed/{token}.ics")), "defaults to the request's host");
    assert_eq!(subscription(&s, &alice).await["token"], token.as_str(), "made once, then kept");

    let mine_uid = format!("{mine}@resource-reserver");
    let body = feed_until(&s, &url, |b| b.contains(&mine_uid)).await;
    let (status, content_type, _) = feed(&s, &url).await;
    assert_eq!((status, content_type.as_str()), (200, "text/calendar; charset=utf-8"));
    let calendar = parse_calendar(&body);
    assert_eq!(event_with_uid(&calendar, &mine_uid).get("STATUS"), "CONFIRMED");
    assert!(!body.contains(&theirs), "only the token owner's reservations");

    // A cancellation stays in the feed, cancelled, so clients remove it.
    cancel(&s, &alice, &mine, "not needed").await;
    let body = feed_until(&s, &url, |b| b.contains("STATUS:CANCELLED")).await;
    let event = event_with_uid(&parse_calendar(&body), &mine_uid).clone();
    assert_eq!((event.get("STATUS").as_str(), event.get("SEQUENCE").as_str()), ("CANCELLED", "1"));

    // The resource feed: alice's own booking in full, bob's as a neutral "Booked".
    cancel(&s, &bob, &theirs, "private reason").await;
    let resource_url = links["resource_feed_template"].as_str().expect("template").replace("{resource_id}", &room);
    let theirs_uid = format!("{theirs}@resource-reserver");
    let body =
        feed_until(&s, &resource_url, |b| b.contains(&theirs_uid) && b.matches("STATUS:CANCELLED").count() == 2).await;
    let calendar = parse_calendar(&body);
    assert_eq!(calendar.prop("X-WR-CALNAME"), Some("Studio"));
    assert_eq!(event_with_uid(&calendar, &mine_uid).get("SUMMARY"), "Studio");
    assert_eq!(event_with_uid(&calendar, &theirs_uid).get("SUMMARY"), "Booked");
    assert!(!body.contains("private reason") && !body.contains("bob"), "no personal data of others");
    let unknown = s.url(&format!("/api/v1/calendar/feed/{token}/resources/00000000-0000-0000-0000-000000000009.ics"));
    let (status, content_type, body) = feed(&s, &unknown).await;
    assert_problem(status, &content_type, &body, 404, "not-found");

    // A new token; the old URL is gone at once, the new one works, the log records it.
    let (status, position, fresh) =
        json_of(s.post(&alice, "/api/v1/calendar/regenerate-token", json!({})).send().await.expect("regenerate")).await;
    assert_eq!(status, 200, "{fresh}");
    let fresh_token = fresh["token"].as_str().expect("token").to_string();
    assert_ne!(fresh_token, token);
    let (status, content_type, body) = feed(&s, &url).await;
    assert_problem(status, &content_type, &body, 404, "not-found");
    let (status, content_type, body) = feed(&s, &resource_url).await;
    assert_problem(status, &content_type, &body, 404, "not-found");
    let (status, _, body) = feed(&s, fresh["url"].as_str().expect("url")).await;
    assert_eq!(status, 200);
    assert!(body.contains(&mine_uid));
    assert_eq!(subscription(&s, &alice).await["token"], fresh_token.as_str());
    let audit = format!(
        "/api/v1/audit/logs?action=calendar_token_regenerated&min_position={}",
        position.expect("X-Log-Position")
    );
    let (_, _, entries) = json_of(s.get(&admin, &audit).send().await.expect("audit")).await;
    assert_eq!(entries["data"].as_array().map(Vec::len), Some(1), "{entries}");
    assert!(!entries.to_string().contains(&fresh_token), "the token never enters the log");

    // Tokens nobody issued.
    for bogus in ["nope", &"A".repeat(43), &format!("{}x", &fresh_token[1..])] {
        let (status, content_type, body) = feed(&s, &s.url(&format!("/api/v1/calendar/feed/{bogus}.ics"))).await;
        assert_problem(status, &content_type, &body, 404, "not-found");
    }
}

/// The Monday on or after 15 March of the next March that is still ahead.
fn mid_march_monday() -> NaiveDate {
    let today = Utc::now().date_naive();
    let this_year = NaiveDate::from_ymd_opt(today.year(), 3, 1).expect("date");
    let year = if today < this_year { today.year() } else { today.year() + 1 };
    let mut day = NaiveDate::from_ymd_opt(year, 3, 15).expect("date");
    while day.weekday() != Weekday::Mon {
        day = day.succ_opt().expect("date");
    }
    day
}

/// A weekly 09:00 Europe/Berlin series across the spring DST change exports as one VEVENT
/// whose RRULE, DTSTART;TZID and EXDATE expand (with the `rrule` crate) to exactly the
/// occurrences the API lists as booked, at 09:00 local before and after the change.
async fn dst_series_round_trips(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let room = create_resource(
        &s,
        &admin,
        json!({ "name": "Board room", "time_zone": "Europe/Berlin", "policy": { "horizon_days": 800 } }),
    )
    .await;
    let berlin: Tz = "Europe/Berlin".parse().expect("zone");
    let first = mid_march_monday();
    let skipped = first + Duration::weeks(1);
    let body = json!({
        "resource_id": room,
        "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=6",
        "start_local": first.and_hms_opt(9, 0, 0).expect("time"),
        "duration_minutes": 60,
        "exdates": [skipped.and_hms_opt(9, 0, 0).expect("time")],
    });
    let (status, _, series) =
        json_of(s.post(&alice, "/api/v1/reservations/recurring", body).send().await.expect("series")).await;
    assert_eq!(status, 201, "{series}");
    let series_id = series["series_id"].as_str().expect("series id").to_string();
    let occurrences = series["occurrences"].as_array().expect("occurrences").clone();
    assert_eq!(occurrences.len(), 5, "six Mondays minus the excluded one");
    // Cancel the third booked occurrence.
    let third = occurrences[2]["outcome"]["reservation_id"].as_str().expect("reservation").to_string();
    let position = cancel(&s, &alice, &third, "holiday").await;

    let path = format!("/api/v1/reservations/series/{series_id}?min_position={position}");
    let (_, _, detail) = json_of(s.get(&alice, &path).send().await.expect("series detail")).await;
    let listed: BTreeSet<DateTime<Utc>> = detail["reservations"]
        .as_array()
        .expect("reservations")
        .iter()
        .filter(|r| r["status"] == "confirmed")
        .map(|r| r["range"]["start"].as_str().expect("start").parse().expect("instant"))
        .collect();
    assert_eq!(listed.len(), 4);

    let any_occurrence = occurrences[0]["outcome"]["reservation_id"].as_str().expect("reservation");
    let (status, _, text) = export(&s, &alice, any_occurrence, position).await;
    assert_eq!(status, 200, "{text}");
    let calendar = parse_calendar(&text);
    let zone = calendar.children.iter().find(|c| c.name == "VTIMEZONE").expect("VTIMEZONE");
    assert_eq!(zone.get("TZID"), "Europe/Berlin");
    let observances: BTreeSet<&str> = zone.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(observances, BTreeSet::from(["DAYLIGHT", "STANDARD"]));
    assert_eq!(events(&calendar).len(), 1, "one VEVENT for the series");
    let event = event_with_uid(&calendar, &format!("{series_id}@resource-reserver"));
    assert_eq!(event.param("DTSTART", "TZID").as_deref(), Some("Europe/Berlin"));
    assert_eq!(event.get("SEQUENCE"), "1", "one occurrence changed");
    assert_eq!(event.get("STATUS"), "CONFIRMED");

    // Rebuild the recurrence set from the exported properties and expand it independently.
    let mut rules =
        vec![format!("DTSTART;TZID=Europe/Berlin:{}", event.get("DTSTART")), format!("RRULE:{}", event.get("RRULE"))];
    for exdate in event.all("EXDATE") {
        assert_eq!(event.param("EXDATE", "TZID").as_deref(), Some("Europe/Berlin"));
        rules.push(format!("EXDATE;TZID=Europe/Berlin:{exdate}"));
    }
    let set: rrule::RRuleSet = rules.join("\n").parse().expect("RRULE set parses");
    let expanded: BTreeSet<DateTime<Utc>> = set.all(100).dates.iter().map(|d| d.with_timezone(&Utc)).collect();
    assert_eq!(expanded, listed, "the exported rule yields exactly the booked occurrences");
    assert_eq!(event.all("EXDATE").len(), 2, "the excluded Monday and the cancelled one");

    // 09:00 on the Berlin wall clock throughout, on both sides of the change.
    let offsets: BTreeSet<i32> = expanded
        .iter()
        .map(|at| {
            let local = at.with_timezone(&berlin);
            assert_eq!(local.format("%H:%M").to_string(), "09:00", "{at}");
            chrono::Offset::fix(local.offset()).local_minus_utc()
        })
        .collect();
    assert_eq!(offsets, BTreeSet::from([3600, 7200]), "before and after the DST change");
    let dtend = chrono::NaiveDateTime::parse_from_str(&event.get("DTEND"), "%Y%m%dT%H%M%S").expect("DTEND");
    assert_eq!(event.param("DTEND", "TZID").as_deref(), Some("Europe/Berlin"));
    assert_eq!(dtend.format("%H:%M").to_string(), "10:00");

    // The subscribed feed carries the series once, as the same VEVENT.
    let url = subscription(&s, &alice).await["url"].as_str().expect("url").to_string();
    let body = feed_until(&s, &url, |b| b.contains(&series_id)).await;
    let feed_calendar = parse_calendar(&body);
    assert_eq!(events(&feed_calendar).len(), 1);
    assert_eq!(
        event_with_uid(&feed_calendar, &format!("{series_id}@resource-reserver")).get("RRULE"),
        event.get("RRULE")
    );
}

on_both_backends!(export_follows_the_reservation, feeds_follow_their_token, dst_series_round_trips);
