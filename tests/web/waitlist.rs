//! The waitlist page: joining from the form, places in line, offers answered before they
//! expire, and other people's entries and offers kept out of reach.

use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{Backend, ScratchDatabase, Server, PASSWORD};
use crate::support::Browser;

/// Whole hours from now, RFC 3339 in UTC.
pub fn hours(h: i64) -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::hours(1)).unwrap_or_else(|_| Utc::now()) + Duration::hours(h)
}

pub fn rfc(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub async fn api(r: reqwest::RequestBuilder) -> (u16, Value, u64) {
    let r = r.send().await.expect("request");
    let status = r.status().as_u16();
    let position =
        r.headers().get("x-log-position").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    (status, r.json().await.unwrap_or(Value::Null), position)
}

/// A browser logged in as a new user `name` (registered through the API).
pub async fn person(server: &Server, name: &str, language: &str) -> (Browser, String) {
    let token = server.user(name).await;
    let browser = Browser::with_language(server, language);
    assert_eq!(browser.login(name, PASSWORD).await.status(), StatusCode::SEE_OTHER);
    (browser, token)
}

pub async fn room(server: &Server, admin: &str, name: &str) -> String {
    let body = json!({ "name": name, "time_zone": "Europe/Paris" });
    let (status, body, _) = api(server.post(admin, "/api/v1/resources", body)).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_string()
}

pub async fn book(server: &Server, token: &str, room: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> (String, u64) {
    let body = json!({ "resource_id": room, "start_time": rfc(start), "end_time": rfc(end) });
    let (status, body, position) = api(server.post(token, "/api/v1/reservations", body)).await;
    assert_eq!(status, 201, "{body}");
    (body["id"].as_str().expect("id").to_string(), position)
}

pub async fn follow(browser: &Browser, r: reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    let (status, html) = browser.get(&Browser::location(&r)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    html
}

pub async fn join_wait_and_accept_an_offer(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let admin = server.setup_admin().await;
    let kiln = room(&server, &admin, "Kiln").await;
    let (start, end) = (hours(48), hours(50));
    let alice = server.user("alice").await;
    let (taken, _) = book(&server, &alice, &kiln, start, end).await;
    let (bob, bob_token) = person(&server, "bob", "en").await;
    let (carol, _) = person(&server, "carol", "en").await;

    // The join form, as a busy slot links to it: the times in the resource's zone, named.
    let join = format!("/waitlist/join?resource_id={kiln}&start={}&end={}", rfc(start), rfc(end));
    let (status, html) = bob.get(&join).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let paris: chrono_tz::Tz = "Europe/Paris".parse().expect("zone");
    let local = |at: DateTime<Utc>| at.with_timezone(&paris).format("%Y-%m-%dT%H:%M").to_string();
    assert!(html.contains(&format!("value=\"{}\"", local(start))), "{html}");
    assert!(html.contains(&format!("value=\"{}\"", local(end))), "{html}");
    assert!(html.contains("Europe/Paris") && html.contains("Kiln"), "{html}");
    assert!(html.contains("name=\"flexible_minutes\""), "{html}");

    // Without its CSRF token the form is refused and nobody joins.
    let (local_start, local_end) = (local(start), local(end));
    let fields = [
        ("resource_id", kiln.as_str()),
        ("desired_start", local_start.as_str()),
        ("desired_end", local_end.as_str()),
        ("flexible_minutes", "30"),
    ];
    let mut no_token = fields.to_vec();
    no_token.push(("csrf", "forged"));
    assert_eq!(bob.post_raw("/waitlist/join", &no_token).await.status(), StatusCode::FORBIDDEN);
    let (_, mine, _) = api(server.client.get(server.url("/api/v1/waitlist")).bearer_auth(&bob_token)).await;
    assert_eq!(mine, json!([]), "a refused form joins nothing");

    let r = bob.submit(&join, "/waitlist/join", &fields).await;
    let html = follow(&bob, r).await;
    assert!(html.contains("You are on the waitlist"), "{html}");
    assert!(html.contains("1st in line") && html.contains("Kiln") && html.contains("± 30 min"), "{html}");
    assert!(html.contains("data-live=\"/waitlist?fragment=lists\""), "{html}");
    let r = carol.submit(&join, "/waitlist/join", &fields[..3]).await;
    let html = follow(&carol, r).await;
    assert!(html.contains("2nd in line") && html.contains("Exact time only"), "{html}");
    let (status, fragment) = bob.get("/waitlist?fragment=lists").await;
    assert_eq!(status, StatusCode::OK);
    assert!(fragment.starts_with("<div id=\"waitlist-lists\"") && fragment.contains("1st in line"), "{fragment}");

    // Alice cancels: the slot is held for Bob, with a countdown and the expiry time.
    let (status, _, freed) = api(server.post(&alice, &format!("/api/v1/reservations/{taken}/cancel"), json!({}))).await;
    assert_eq!(status, 200);
    let (_, mine, _) = api(server
        .client
        .get(server.url(&format!("/api/v1/reservations/my?min_position={freed}")))
        .bearer_auth(&bob_token))
    .await;
    assert_eq!(mine["data"][0]["status"], "offered", "{mine}");
    let offer = mine["data"][0]["id"].as_str().expect("offer id").to_string();
    let (_, html) = bob.get(&format!("/waitlist?min_position={freed}")).await;
    assert!(html.contains(&format!("id=\"offer-{offer}\"")), "{html}");
    assert!(html.contains("<time data-countdown datetime=\""), "{html}");
    assert!(html.contains("expires ") && html.contains("(Europe/Paris)"), "{html}");
    assert!(html.contains(&format!("action=\"/waitlist/offers/{offer}/accept\"")), "{html}");
    let (_, dashboard) = bob.get("/").await;
    assert!(dashboard.contains("id=\"offers-waiting\"><span class=\"number\">1</span>"), "{dashboard}");

    // Carol may not answer Bob's offer; a forged form changes nothing.
    let accept = format!("/waitlist/offers/{offer}/accept");
    let r = carol.submit("/waitlist", &accept, &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.post_raw(&accept, &[("csrf", "nope")]).await.status(), StatusCode::FORBIDDEN);
    let (_, view, _) =
        api(server.client.get(server.url(&format!("/api/v1/reservations/{offer}"))).bearer_auth(&bob_token)).await;
    assert_eq!(view["status"], "offered");

    // Bob accepts: the reservation is his, confirmed.
    let r = bob.submit("/waitlist", &accept, &[]).await;
    let location = Browser::location(&r);
    let html = follow(&bob, r).await;
    assert!(html.contains("Offer accepted"), "{html}");
    assert!(!html.contains(&format!("id=\"offer-{offer}\"")), "{html}");
    let position = location.rsplit('=').next().unwrap_or("0");
    let (_, view, _) = api(server
        .client
        .get(server.url(&format!("/api/v1/reservations/{offer}?min_position={position}")))
        .bearer_auth(&bob_token))
    .await;
    assert_eq!(view["status"], "confirmed", "{view}");
    // Answering twice is refused plainly, on the waitlist page.
    let r = bob.submit("/waitlist", &accept, &[]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap_or_default().contains("class=\"alert\""));
}

pub async fn decline_leave_and_errors(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let admin = server.setup_admin().await;
    let kiln = room(&server, &admin, "Kiln").await;
    let (start, end) = (hours(30), hours(31));
    let alice = server.user("alice").await;
    let (taken, _) = book(&server, &alice, &kiln, start, end).await;
    let (bob, bob_token) = person(&server, "bob", "es").await;
    let (carol, _) = person(&server, "carol", "en").await;

    // Wrong values are named next to their fields, in Spanish, and kept.
    let join = format!("/waitlist/join?resource_id={kiln}");
    let r = bob
        .submit(
            &join,
            "/waitlist/join",
            &[
                ("resource_id", kiln.as_str()),
                ("desired_start", "2031-03-04T10:00"),
                ("desired_end", "2031-03-04T09:00"),
                ("flexible_minutes", "lots"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("id=\"flexible_minutes-error\"") && html.contains("Margen flexible (minutos)"), "{html}");
    assert!(html.contains("value=\"lots\"") && html.contains("value=\"2031-03-04T10:00\""), "{html}");
    let r = bob
        .submit(
            &join,
            "/waitlist/join",
            &[
                ("resource_id", kiln.as_str()),
                ("desired_start", "2031-03-04T10:00"),
                ("desired_end", "2031-03-04T09:00"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("id=\"desired_end-error\""), "{html}");
    // A time the clocks skip in the resource's zone.
    let r = bob
        .submit(
            &join,
            "/waitlist/join",
            &[
                ("resource_id", kiln.as_str()),
                ("desired_start", "2031-03-30T02:30"),
                ("desired_end", "2031-03-30T04:00"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("id=\"desired_start-error\"") && html.contains("no existe en Europe/Paris"), "{html}");
    assert_eq!(bob.get("/waitlist/join?resource_id=not-a-resource").await.0, StatusCode::NOT_FOUND);

    // Bob joins through the API; Carol cannot leave his entry, Bob can.
    let body = json!({ "resource_id": kiln, "desired_start": rfc(start), "desired_end": rfc(end) });
    let (status, joined, _) = api(server.post(&bob_token, "/api/v1/waitlist", body.clone())).await;
    assert_eq!(status, 201, "{joined}");
    let entry = joined["id"].as_str().expect("entry").to_string();
    let leave = format!("/waitlist/{entry}/leave");
    assert_eq!(carol.submit("/waitlist", &leave, &[]).await.status(), StatusCode::NOT_FOUND);
    let html = follow(&bob, bob.submit("/waitlist", &leave, &[]).await).await;
    assert!(html.contains("Has salido de la lista de espera") && !html.contains(&format!("entry-{entry}")), "{html}");

    // Joined again, an offer comes when Alice cancels; Bob declines it.
    let (status, _, _) = api(server.post(&bob_token, "/api/v1/waitlist", body)).await;
    assert_eq!(status, 201);
    let (_, _, freed) = api(server.post(&alice, &format!("/api/v1/reservations/{taken}/cancel"), json!({}))).await;
    let (_, html) = bob.get(&format!("/waitlist?min_position={freed}")).await;
    let marker = "action=\"/waitlist/offers/";
    let offer =
        html[html.find(marker).expect("an offer") + marker.len()..].split('/').next().unwrap_or_default().to_string();
    let html = follow(&bob, bob.submit("/waitlist", &format!("/waitlist/offers/{offer}/decline"), &[]).await).await;
    assert!(html.contains("Oferta rechazada"), "{html}");
    let (_, view, _) =
        api(server.client.get(server.url(&format!("/api/v1/reservations/{offer}"))).bearer_auth(&bob_token)).await;
    assert_eq!(view["status"], "offer_declined", "{view}");
}

pub async fn accept_where_approval_is_required(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let admin = server.setup_admin().await;
    let body = json!({ "name": "Studio", "time_zone": "Europe/Paris", "policy": { "requires_approval": true } });
    let (status, studio, _) = api(server.post(&admin, "/api/v1/resources", body)).await;
    assert_eq!(status, 201, "{studio}");
    let studio = studio["id"].as_str().expect("id").to_string();
    let (start, end) = (hours(50), hours(51));
    let alice = server.user("alice").await;
    let (requested, _) = book(&server, &alice, &studio, start, end).await;
    let (bob, bob_token) = person(&server, "bob", "fr").await;
    let body = json!({ "resource_id": studio, "desired_start": rfc(start), "desired_end": rfc(end) });
    assert_eq!(api(server.post(&bob_token, "/api/v1/waitlist", body)).await.0, 201);
    let (_, _, freed) = api(server.post(&alice, &format!("/api/v1/reservations/{requested}/cancel"), json!({}))).await;
    let (_, html) = bob.get(&format!("/waitlist?min_position={freed}")).await;
    let marker = "action=\"/waitlist/offers/";
    let offer =
        html[html.find(marker).expect("an offer") + marker.len()..].split('/').next().unwrap_or_default().to_string();
    assert!(html.contains("Accepter") && html.contains("Offres qui vous attendent"), "{html}");
    let r = bob.submit("/waitlist", &format!("/waitlist/offers/{offer}/accept"), &[]).await;
    let location = Browser::location(&r);
    let html = follow(&bob, r).await;
    assert!(html.contains("Offre acceptée : la réservation attend maintenant la réponse"), "{html}");
    let position = location.rsplit('=').next().unwrap_or("0");
    let (_, view, _) = api(server
        .client
        .get(server.url(&format!("/api/v1/reservations/{offer}?min_position={position}")))
        .bearer_auth(&bob_token))
    .await;
    // Where bookings need approval, a taken offer awaits an approver like any booking there.
    assert_eq!(view["status"], "pending_approval", "{view}");
    assert!(view["approval_deadline"].is_string(), "{view}");
    let (_, queue, _) = api(server
        .client
        .get(server.url(&format!("/api/v1/approvals/pending?min_position={position}")))
        .bearer_auth(&admin))
    .await;
    assert_eq!(queue["data"][0]["id"].as_str(), Some(offer.as_str()), "{queue}");
    let answer = json!({ "approved": true });
    let (status, _, approved) = api(server.post(&admin, &format!("/api/v1/approvals/{offer}/respond"), answer)).await;
    assert_eq!(status, 200, "{approved}");
    let (_, view, _) = api(server
        .client
        .get(server.url(&format!("/api/v1/reservations/{offer}?min_position={approved}")))
        .bearer_auth(&bob_token))
    .await;
    assert_eq!(view["status"], "confirmed", "{view}");
}
