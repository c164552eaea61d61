//! The resources list, a resource's page with its schedule grid, and booking from the grid,
//! through the web app as a browser uses it; bookings are checked through the API.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{Backend, ScratchDatabase, Server, PASSWORD};
use crate::support::{csrf_of, Browser};

/// A server with an admin, and a browser logged in as `user` (registered through the API).
async fn start(backend: Backend) -> (ScratchDatabase, Server, String) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let admin = server.setup_admin().await;
    (db, server, admin)
}

async fn browser_for(server: &Server, name: &str, language: &str) -> Browser {
    let browser = Browser::with_language(server, language);
    let r = browser.login(name, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "login of {name}");
    browser
}

async fn create(server: &Server, admin: &str, body: Value) -> String {
    let r = server.post(admin, "/api/v1/resources", body).send().await.expect("create");
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.expect("json");
    body["id"].as_str().expect("id").to_string()
}

/// Undoes HTML escaping of an attribute value (named and numeric character references).
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').unwrap_or(0);
        let entity = &rest[1..end.max(1)];
        let decoded = match entity {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16).ok().and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) if end > 0 => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `href` of the link whose text starts with `text` (the schedule's hidden "Book …" label).
fn href_of(html: &str, text: &str) -> String {
    let at = html.find(text).unwrap_or_else(|| panic!("no {text:?} in {html}"));
    let start = html[..at].rfind("href=\"").expect("a link") + "href=\"".len();
    unescape(html[start..].split('"').next().unwrap_or_default())
}

/// `value` of the field `name` in `html`, from the first occurrence after `from`.
fn field(html: &str, from: usize, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html[from..].find(&marker).map(|i| from + i + marker.len()).expect("field");
    unescape(html[start..].split('"').next().unwrap_or_default())
}

/// The text of the element with `id` (up to the next closing tag of its kind).
fn element(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {html}"));
    html[at..].chars().take(900).collect()
}

/// The reader's reservations through the API, once the read models have caught up with the log.
async fn my_bookings(server: &Server, token: &str) -> Vec<Value> {
    let ready = server.client.get(server.url("/ready")).send().await.expect("ready");
    let head = ready.json::<Value>().await.expect("json")["log_position"].as_u64().expect("position");
    let r = server.get(token, "/api/v1/reservations/my").header("X-Min-Position", head).send().await.expect("my");
    let body: Value = r.json().await.expect("json");
    body["data"].as_array().cloned().unwrap_or_default()
}

fn at_local(zone: Tz, date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    zone.from_local_datetime(&date.and_hms_opt(hour, minute, 0).expect("time"))
        .single()
        .expect("an unambiguous time")
        .with_timezone(&Utc)
}

fn nth_sunday(year: i32, month: u32, n: u32) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Sun, n as u8).expect("a Sunday")
}

pub async fn list_search_filters_and_pages(backend: Backend) {
    let (_db, server, admin) = start(backend).await;
    create(
        &server,
        &admin,
        json!({ "name": "Alpha Room", "tags": ["video"], "capacity": 4, "description": "Big screen", "location": "Floor 2" }),
    )
    .await;
    create(&server, &admin, json!({ "name": "Beta Desk", "kind": "desk" })).await;
    create(&server, &admin, json!({ "name": "Gamma Lab", "kind": "lab", "available": false })).await;
    server.user("alice").await;
    let alice = browser_for(&server, "alice", "en").await;

    let (status, html) = alice.get("/resources").await;
    assert_eq!(status, StatusCode::OK);
    for name in ["Alpha Room", "Beta Desk", "Gamma Lab"] {
        assert!(html.contains(name), "{name} listed: {html}");
    }
    assert!(html.contains("class=\"responsive resources\"") && html.contains("<th scope=\"col\">"), "{html}");
    assert!(html.contains("hx-get=\"/resources\"") && html.contains("hx-push-url=\"true\""), "{html}");
    assert_eq!(html.matches("Free now").count(), 2, "the lab under maintenance is not free: {html}");
    assert!(html.contains("status-maintenance\">Under maintenance"), "{html}");

    // Text search, a tag, a status and a minimum capacity, each narrowing the list.
    let names = |html: &str| -> Vec<String> {
        ["Alpha Room", "Beta Desk", "Gamma Lab"].iter().filter(|n| html.contains(*n)).map(|n| n.to_string()).collect()
    };
    let only = |name: &str| vec![name.to_string()];
    assert_eq!(names(&alice.get("/resources?q=screen").await.1), only("Alpha Room"));
    assert_eq!(names(&alice.get("/resources?tags=VIDEO").await.1), only("Alpha Room"));
    assert_eq!(names(&alice.get("/resources?status=maintenance").await.1), only("Gamma Lab"));
    assert_eq!(names(&alice.get("/resources?min_capacity=3").await.1), only("Alpha Room"));
    assert_eq!(names(&alice.get("/resources?kind=desk").await.1), only("Beta Desk"));
    let (_, html) = alice.get("/resources?q=nothing-like-this").await;
    assert!(html.contains("No resource matches these filters"), "{html}");
    let (status, html) = alice.get("/resources?min_capacity=lots").await;
    assert_eq!(status, StatusCode::OK);
    assert!(element(&html, "min_capacity-error").contains("Enter a whole number"), "{html}");

    // Pages of two: Next, then Previous and First page lead back.
    let (_, first) = alice.get("/resources?limit=2").await;
    assert_eq!(names(&first), vec!["Alpha Room".to_string(), "Beta Desk".to_string()]);
    assert!(!first.contains("rel=\"prev\""));
    let next = href_of(&first, ">Next page<");
    assert!(next.contains("cursor="), "{next}");
    let (status, second) = alice.get(&next).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&second), only("Gamma Lab"));
    assert!(!second.contains("rel=\"next\""), "the last page has no next: {second}");
    let previous = href_of(&second, ">Previous<");
    assert_eq!(names(&alice.get(&previous).await.1), names(&first));
    // Descending by name reverses the order.
    let (_, html) = alice.get("/resources?order=desc").await;
    assert!(html.find("Gamma Lab") < html.find("Alpha Room"), "{html}");
    // A tampered cursor is refused, not ignored.
    assert_eq!(alice.get("/resources?cursor=garbage").await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // htmx asks for the results only.
    let r = alice.client.get(server.url("/resources?q=desk")).header("HX-Request", "true").send().await.expect("GET");
    assert_eq!(r.status(), StatusCode::OK);
    let fragment = r.text().await.unwrap_or_default();
    assert!(fragment.trim_start().starts_with("<section id=\"resource-results\""), "{fragment}");
    assert!(!fragment.contains("<html") && !fragment.contains("name=\"q\""), "{fragment}");
    assert_eq!(names(&fragment), only("Beta Desk"));

    // Not signed in: to the login page.
    let r = Browser::new(&server).client.get(server.url("/resources")).send().await.expect("GET");
    assert_eq!((r.status(), Browser::location(&r)), (StatusCode::SEE_OTHER, "/login?next=/resources".to_string()));
}

pub async fn schedule_in_the_resource_zone(backend: Backend) {
    let (_db, server, admin) = start(backend).await;
    let zone: Tz = "America/New_York".parse().expect("zone");
    let room = create(
        &server,
        &admin,
        json!({ "name": "Harbor Room", "capacity": 2, "time_zone": "America/New_York", "tags": ["quiet"] }),
    )
    .await;
    let token = server.user("alice").await;
    server.user("bob").await;
    let alice = browser_for(&server, "alice", "en").await;
    let bob = browser_for(&server, "bob", "en").await;

    // DST days: 23 rows when the clocks go forward, 25 when they go back, 24 otherwise.
    let year = Utc::now().year() + 1;
    let spring = nth_sunday(year, 3, 2);
    let fall = nth_sunday(year, 11, 1);
    let rows = |html: &str| html.matches("class=\"grid-row\"").count();
    let (status, html) = alice.get(&format!("/resources/{room}?view=day&date={spring}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("America/New_York"), "the zone is named: {html}");
    assert_eq!(rows(&html), 23, "spring forward");
    assert!(html.contains("<th scope=\"row\">1:00 AM EST</th>") && html.contains("<th scope=\"row\">3:00 AM EDT</th>"));
    let (_, html) = alice.get(&format!("/resources/{room}?view=day&date={fall}")).await;
    assert_eq!(rows(&html), 25, "fall back");
    assert!(html.contains("1:00 AM EDT") && html.contains("1:00 AM EST"), "the repeated hour is told apart");
    let (_, html) = alice.get(&format!("/resources/{room}?view=day&date={}", spring + Duration::days(1))).await;
    assert_eq!(rows(&html), 24);
    // The week of the spring change: 24 hour rows, the skipped hour shown as such.
    let (_, html) = alice.get(&format!("/resources/{room}?view=week&date={spring}")).await;
    assert_eq!(rows(&html), 24);
    assert!(html.contains("Week of") && html.contains("Not on this day (clocks change)"), "{html}");

    // Free/busy by capacity: alice holds one of two units from 10:00 to 11:00 New York time.
    let day = (Utc::now() + Duration::days(7)).with_timezone(&zone).date_naive();
    let (start, end) = (at_local(zone, day, 10, 0), at_local(zone, day, 11, 0));
    let r = server
        .post(
            &token,
            "/api/v1/reservations",
            json!({ "resource_id": room, "start_time": start.to_rfc3339(), "end_time": end.to_rfc3339() }),
        )
        .send()
        .await
        .expect("book");
    assert_eq!(r.status(), 201);
    let position = r.headers()["x-log-position"].to_str().unwrap_or_default().to_string();
    let page = format!("/resources/{room}?date={day}&min_position={position}");
    let (_, mine) = alice.get(&page).await;
    assert_eq!(mine.matches("1 of 2 free").count(), 2, "{mine}");
    assert_eq!(mine.matches("2 of 2 free").count(), 46, "the rest of the day is free");
    assert_eq!(mine.matches("Your booking").count(), 2, "the reader's own booking is marked in words");
    assert!(mine.contains("Book 10:00 AM–10:30 AM: </span>1 of 2 free"), "a half-full slot can still be booked");
    // Someone else sees the units taken, not whose they are.
    let (_, theirs) = bob.get(&page).await;
    assert_eq!(theirs.matches("1 of 2 free").count(), 2);
    assert!(!theirs.contains("Your booking"));
    // An accessible grid that refreshes live.
    assert!(mine.contains("<caption>") && mine.contains("<th scope=\"col\">Time</th>"));
    assert!(mine.contains(&format!("data-live=\"/resources/{room}/schedule?view=day&#38;date={day}\"")), "{mine}");
    assert!(mine.contains(&format!("data-live-resource=\"{room}\"")));
    assert!(mine.contains(&format!("href=\"/resources/{room}/recurring\"")), "{mine}");
    let (status, fragment) = alice.get(&format!("/resources/{room}/schedule?view=day&date={day}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(fragment.trim_start().starts_with("<section id=\"schedule\"") && !fragment.contains("<html"), "{fragment}");
    assert_eq!(fragment.matches("Your booking").count(), 2);

    // htmx moving between days gets the grid alone; a date out of range is today.
    let r = alice
        .client
        .get(server.url(&format!("/resources/{room}?view=week&date={day}")))
        .header("HX-Request", "true")
        .send()
        .await
        .expect("GET");
    let fragment = r.text().await.unwrap_or_default();
    assert!(fragment.trim_start().starts_with("<section id=\"schedule\"") && fragment.contains("Week of"));
    assert_eq!(rows(&fragment), 24);
    assert!(fragment.contains("Book 10:00 AM–11:00 AM: </span>1 of 2 free"), "hour slots in the week: {fragment}");
    let (status, html) = alice.get(&format!("/resources/{room}?date=99999-01-01")).await;
    assert_eq!((status, rows(&html) >= 23), (StatusCode::OK, true));

    // Unknown resources are a 404 page.
    let (status, html) = alice.get(&format!("/resources/{}", uuid_like())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("We could not find that"), "{html}");
    assert_eq!(alice.get("/resources/not-an-id").await.0, StatusCode::NOT_FOUND);
    assert_eq!(alice.get(&format!("/resources/{}/book", uuid_like())).await.0, StatusCode::NOT_FOUND);
}

fn uuid_like() -> &'static str {
    "00000000-0000-4000-8000-000000000000"
}

pub async fn book_from_the_grid_with_alternatives(backend: Backend) {
    let (_db, server, admin) = start(backend).await;
    let zone: Tz = "Europe/Paris".parse().expect("zone");
    let room = create(&server, &admin, json!({ "name": "Salon", "time_zone": "Europe/Paris" })).await;
    let alice_token = server.user("alice").await;
    let bob_token = server.user("bob").await;
    let alice = browser_for(&server, "alice", "en").await;
    let bob = browser_for(&server, "bob", "en").await;
    let day = (Utc::now() + Duration::days(7)).with_timezone(&zone).date_naive();

    // From the slot's link to the pre-filled form.
    let page = format!("/resources/{room}?date={day}");
    let (_, html) = alice.get(&page).await;
    let link = href_of(&html, "Book 10:00 AM–10:30 AM");
    assert!(link.starts_with(&format!("/resources/{room}/book?start=")), "{link}");
    let (status, form) = alice.get(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains(&format!("value=\"{day}T10:00\"")) && form.contains(&format!("value=\"{day}T10:30\"")));
    assert!(form.contains("type=\"datetime-local\"") && form.contains("Europe/Paris"), "{form}");
    let fields = [
        ("start_time", field(&form, 0, "start_time")),
        ("end_time", field(&form, 0, "end_time")),
        ("start_offset", field(&form, 0, "start_offset")),
        ("end_offset", field(&form, 0, "end_offset")),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // Without the CSRF token nothing is booked.
    let r = alice.post_raw(&format!("/resources/{room}/book"), &fields).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Nor by a visitor who is not signed in.
    let r = Browser::new(&server).post_raw(&format!("/resources/{room}/book"), &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(my_bookings(&server, &alice_token).await.is_empty());

    let r = alice.submit(&link, &format!("/resources/{room}/book"), &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    let location = Browser::location(&r);
    assert!(location.starts_with(&format!("/resources/{room}?date={day}&booked=")), "{location}");
    let booked = my_bookings(&server, &alice_token).await;
    assert_eq!(booked.len(), 1, "{booked:?}");
    let start = at_local(zone, day, 10, 0);
    let got: DateTime<Utc> = booked[0]["start_time"].as_str().and_then(|t| t.parse().ok()).expect("start");
    assert_eq!(got, start, "10:00 is read in the resource's zone");
    let (_, html) = alice.get(&location).await;
    assert!(element(&html, "booked-notice").contains("Booked: "), "{html}");
    assert!(element(&html, "booked-notice").contains("10:00 AM – 10:30 AM (Europe/Paris)"), "{html}");

    // The same slot for bob: 409, the taken time next to the start field, and alternatives.
    let r = bob.submit(&link, &format!("/resources/{room}/book"), &fields).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let html = r.text().await.unwrap_or_default();
    let error = element(&html, "start_time-error");
    assert!(error.contains("That time is already booked."), "{error}");
    assert!(error.contains("10:00 AM – 10:30 AM"), "the conflicting time in the zone: {error}");
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"start_time-error\""));
    assert!(html.contains(&format!("value=\"{day}T10:00\"")), "what was typed is kept");
    let waitlist = href_of(&html, ">Join the waitlist for this time<");
    assert!(waitlist.starts_with(&format!("/waitlist/join?resource_id={room}&start=")), "{waitlist}");
    let alternative = html.find("class=\"inline alternative\"").expect("an alternative");
    assert!(html[alternative..].contains("Book "), "{html}");
    let choice = [
        ("start_time", field(&html, alternative, "start_time")),
        ("end_time", field(&html, alternative, "end_time")),
        ("start_offset", field(&html, alternative, "start_offset")),
        ("end_offset", field(&html, alternative, "end_offset")),
    ];
    assert_eq!(choice[0].1, format!("{day}T10:30"), "the next free half hour");
    let token = csrf_of(&html[alternative..]);
    let mut posted: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
    posted.extend(choice.iter().map(|(k, v)| (*k, v.as_str())));
    let r = bob.post_raw(&format!("/resources/{room}/book"), &posted).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "one click books the alternative");
    let bobs = my_bookings(&server, &bob_token).await;
    assert_eq!(bobs.len(), 1);
    let got: DateTime<Utc> = bobs[0]["start_time"].as_str().and_then(|t| t.parse().ok()).expect("start");
    assert_eq!(got, at_local(zone, day, 10, 30));
    // The API still sees exactly these two.
    assert_eq!(my_bookings(&server, &alice_token).await.len(), 1);
}

pub async fn booking_errors_next_to_their_fields(backend: Backend) {
    let (_db, server, admin) = start(backend).await;
    let zone: Tz = "America/New_York".parse().expect("zone");
    let day_hours = json!([{ "start": "09:00:00", "end": "17:00:00" }]);
    let room = create(&server, &admin, json!({ "name": "Office", "time_zone": "America/New_York" })).await;
    let r = server
        .client
        .put(server.url(&format!("/api/v1/resources/{room}/business-hours")))
        .bearer_auth(&admin)
        .json(&json!({ "business_hours": { "days": [day_hours, day_hours, day_hours, day_hours, day_hours, day_hours, day_hours] } }))
        .send()
        .await
        .expect("hours");
    assert_eq!(r.status(), 200);
    let token = server.user("claire").await;
    let claire = browser_for(&server, "claire", "fr-FR, fr;q=0.9").await;
    let day = (Utc::now() + Duration::days(7)).with_timezone(&zone).date_naive();
    let form = format!("/resources/{room}/book");
    let evening = [("start_time", format!("{day}T20:00")), ("end_time", format!("{day}T21:00"))];
    let evening: Vec<(&str, &str)> = evening.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // Outside the opening hours: said in French next to the start, with the values kept.
    let (_, page) = claire.get(&format!("/resources/{room}?date={day}")).await;
    assert!(page.contains("Fermé") && page.contains("Heures d’ouverture"), "closed hours are visible: {page}");
    let r = claire.submit(&form, &form, &evening).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("<html lang=\"fr\""));
    assert!(element(&html, "start_time-error").contains("en dehors des heures d’ouverture de la ressource"), "{html}");
    assert!(html.contains(&format!("value=\"{day}T20:00\"")) && html.contains(&format!("value=\"{day}T21:00\"")));

    // A closure is visible on the grid and refuses bookings, next to the start.
    let (noon, one) = (at_local(zone, day, 12, 0), at_local(zone, day, 13, 0));
    let r = server
        .post(
            &admin,
            &format!("/api/v1/resources/{room}/blackout-dates"),
            json!({ "start_time": noon.to_rfc3339(), "end_time": one.to_rfc3339(), "reason": "Nettoyage" }),
        )
        .send()
        .await
        .expect("blackout");
    assert_eq!(r.status(), 201);
    let position = r.headers()["x-log-position"].to_str().unwrap_or_default().to_string();
    let (_, page) = claire.get(&format!("/resources/{room}?date={day}&min_position={position}")).await;
    assert_eq!(page.matches("Fermeture · Nettoyage").count(), 2, "{page}");
    let r = claire
        .submit(&form, &form, &[("start_time", &format!("{day}T12:00")), ("end_time", &format!("{day}T12:30"))])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(element(&r.text().await.unwrap_or_default(), "start_time-error").contains("fermée à ce moment-là"));
    // Beyond the booking horizon (90 days by default).
    let far = day + Duration::days(200);
    let r = claire
        .submit(&form, &form, &[("start_time", &format!("{far}T10:00")), ("end_time", &format!("{far}T11:00"))])
        .await;
    assert!(r.status().is_client_error());
    assert!(element(&r.text().await.unwrap_or_default(), "start_time-error").contains("trop loin pour réserver"));

    // The end before the start: next to the end.
    let r = claire
        .submit(&form, &form, &[("start_time", &format!("{day}T11:00")), ("end_time", &format!("{day}T10:00"))])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(element(&r.text().await.unwrap_or_default(), "end_time-error").contains("La fin doit être après le début"));

    // A time the clocks skip, and one they repeat, are field errors, not guesses.
    let spring = nth_sunday(Utc::now().year() + 1, 3, 2);
    let r = claire
        .submit(&form, &form, &[("start_time", &format!("{spring}T02:30")), ("end_time", &format!("{spring}T04:00"))])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(element(&r.text().await.unwrap_or_default(), "start_time-error").contains("02:30 n’existe pas ce jour-là"));
    let fall = nth_sunday(Utc::now().year() + 1, 11, 1);
    let r = claire
        .submit(&form, &form, &[("start_time", &format!("{fall}T01:30")), ("end_time", &format!("{fall}T03:00"))])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(element(&r.text().await.unwrap_or_default(), "start_time-error").contains("01:30 existe deux fois"));
    let r = claire.submit(&form, &form, &[("start_time", "demain"), ("end_time", "")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(my_bookings(&server, &token).await.is_empty(), "nothing was booked");
}
