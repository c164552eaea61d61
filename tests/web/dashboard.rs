//! The dashboard: what is available now, the next booking and its one-click check-in, shown
//! only while the check-in window is open.

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{Backend, ScratchDatabase, Server};
use crate::support::Browser;
use crate::waitlist::{api, book, hours, person, room};

pub async fn available_now_and_check_in(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let admin = server.setup_admin().await;
    let desk = room(&server, &admin, "Desk").await;
    let booth = room(&server, &admin, "Booth").await;
    let kiln = room(&server, &admin, "Kiln").await;
    let (status, _, _) =
        api(server.post(&admin, &format!("/api/v1/resources/{kiln}/status"), json!({ "status": "maintenance" }))).await;
    assert_eq!(status, 200);
    let (alice, alice_token) = person(&server, "alice", "en").await;
    let (bob, bob_token) = person(&server, "bob", "en").await;

    // Bob holds the desk from a moment from now: once it starts the desk is busy.
    let soon = Utc::now() + Duration::seconds(2);
    let body = json!({
        "resource_id": desk,
        "start_time": soon.to_rfc3339_opts(SecondsFormat::Secs, true),
        "end_time": (soon + Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    let (status, booked, _) = api(server.post(&bob_token, "/api/v1/reservations", body)).await;
    assert_eq!(status, 201, "{booked}");

    // Alice's next booking is tomorrow: no check-in yet.
    let (later, _) = book(&server, &alice_token, &booth, hours(26), hours(27)).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (status, html) = alice.get("/").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"dashboard-live\" data-live=\"/?fragment=cards\""), "{html}");
    assert!(html.contains("id=\"available-now\"><span class=\"number\">1</span>"), "only the booth: {html}");
    assert!(html.contains("Your next booking") && html.contains("Booth"), "{html}");
    assert!(!html.contains("/check-in/"), "the window is not open: {html}");
    assert_eq!(alice.get("/?fragment=cards").await.1.matches("id=\"dashboard-live\"").count(), 1);

    // A booking starting in five minutes: its window is open, the button shows.
    let start = Utc::now() + Duration::minutes(5);
    let body = json!({
        "resource_id": booth,
        "start_time": start.to_rfc3339_opts(SecondsFormat::Secs, true),
        "end_time": (start + Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    let (status, now_booked, position) = api(server.post(&alice_token, "/api/v1/reservations", body)).await;
    assert_eq!(status, 201, "{now_booked}");
    let id = now_booked["id"].as_str().expect("id").to_string();
    let (_, html) = alice.get(&format!("/?min_position={position}")).await;
    let action = format!("action=\"/check-in/{id}\"");
    assert!(html.contains(&action) && html.contains("Check in now"), "{html}");
    assert!(!html.contains(&format!("/check-in/{later}")), "{html}");

    // Someone else's reservation is not found; a forged form is refused.
    assert_eq!(bob.submit("/", &format!("/check-in/{id}"), &[]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(alice.post_raw(&format!("/check-in/{id}"), &[("csrf", "x")]).await.status(), StatusCode::FORBIDDEN);

    // One click checks in.
    let r = alice.submit("/", &format!("/check-in/{id}"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    let location = Browser::location(&r);
    let (_, html) = alice.get(&location).await;
    assert!(html.contains("You are checked in") && html.contains(">Checked in</span>"), "{html}");
    assert!(!html.contains(&action), "{html}");
    let position = location.rsplit('=').next().unwrap_or("0");
    let (_, view, _) = api(server
        .client
        .get(server.url(&format!("/api/v1/reservations/{id}?min_position={position}")))
        .bearer_auth(&alice_token))
    .await;
    assert!(view["checked_in_at"].is_string(), "{view}");
}
