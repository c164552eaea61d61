//! The notifications center: listed newest first with unread ones marked in words, marked read
//! one at a time or all at once (plain forms and htmx), checked through the API's count.

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{Backend, ScratchDatabase, Server};
use crate::support::{csrf_of, Browser};
use crate::waitlist::{api, book, hours, person, room};

async fn unread(server: &Server, token: &str) -> (u64, Vec<String>) {
    let (status, body, _) = api(server.client.get(server.url("/api/v1/notifications")).bearer_auth(token)).await;
    assert_eq!(status, 200, "{body}");
    let ids = body["data"]
        .as_array()
        .map(|a| a.iter().map(|n| n["notification_id"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default();
    (body["unread_count"].as_u64().unwrap_or(u64::MAX), ids)
}

pub async fn list_and_mark_read(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let admin = server.setup_admin().await;
    let booth = room(&server, &admin, "Booth").await;
    let (alice, alice_token) = person(&server, "alice", "en").await;
    let (bob, _) = person(&server, "bob", "en").await;
    book(&server, &alice_token, &booth, hours(24), hours(25)).await;
    let (_, position) = book(&server, &alice_token, &booth, hours(26), hours(27)).await;

    let (status, html) = alice.get(&format!("/notifications?min_position={position}")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(html.matches("<strong>Reservation confirmed</strong>").count(), 2, "{html}");
    assert_eq!(html.matches(">Unread</span>").count(), 2, "unread ones say so in words: {html}");
    assert!(html.contains("2 unread") && html.contains("Booth") && html.contains("(Europe/Paris)"), "{html}");
    assert!(html.contains("data-live=\"/notifications?fragment=list\""), "{html}");
    let (count, ids) = unread(&server, &alice_token).await;
    assert_eq!((count, ids.len()), (2, 2));
    // Newest first, as the API lists them.
    let first = html.find(&format!("notification-{}", ids[0])).expect("first listed");
    let second = html.find(&format!("notification-{}", ids[1])).expect("second listed");
    assert!(first < second);

    // Someone else's notification is not theirs to mark.
    let r = bob.submit("/notifications", &format!("/notifications/{}/read", ids[0]), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(unread(&server, &alice_token).await.0, 2);
    // Forms need their token.
    let r = alice.post_raw("/notifications/read-all", &[("csrf", "forged")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(unread(&server, &alice_token).await.0, 2, "a refused form changes nothing");

    // One, with the plain form.
    let r = alice.submit("/notifications", &format!("/notifications/{}/read", ids[0]), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(Browser::location(&r), "/notifications");
    assert_eq!(unread(&server, &alice_token).await.0, 1);
    let (_, html) = alice.get("/notifications").await;
    assert!(html.contains("1 unread") && html.matches(">Unread</span>").count() == 1, "{html}");

    // All, as htmx posts it: the fresh list comes back with the bell's count.
    let token = csrf_of(&html);
    let r = alice
        .client
        .post(server.url("/notifications/read-all"))
        .header("HX-Request", "true")
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::OK);
    let fragment = r.text().await.unwrap_or_default();
    assert!(fragment.starts_with("<section id=\"notification-list\""), "{fragment}");
    assert!(fragment.contains("Nothing unread") && !fragment.contains(">Unread</span>"), "{fragment}");
    assert!(fragment.contains("id=\"unread-count\" hx-swap-oob=\"true\" data-count=\"0\""), "{fragment}");
    assert_eq!(unread(&server, &alice_token).await.0, 0);
    let (_, bell) = alice.get("/notifications/unread").await;
    assert_eq!(serde_json::from_str::<Value>(&bell).ok().map(|b| b["unread"].clone()), Some(Value::from(0)));
}

pub async fn notifications_page_in_pages(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let admin = server.setup_admin().await;
    let booth = room(&server, &admin, "Booth").await;
    let (alice, alice_token) = person(&server, "alice", "fr").await;
    let mut position = 0;
    for i in 0..22 {
        position = book(&server, &alice_token, &booth, hours(24 + 2 * i), hours(25 + 2 * i)).await.1;
    }
    let (_, html) = alice.get(&format!("/notifications?min_position={position}")).await;
    assert!(html.contains("22 non lues") && html.contains("Réservation confirmée"), "{html}");
    assert_eq!(html.matches("class=\"unread\"").count(), 20, "{html}");
    let marker = "href=\"/notifications?cursor=";
    let older = html[html.find(marker).expect("an older page") + 6..].split('"').next().unwrap_or_default().to_string();
    let (status, page) = alice.get(&older).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.matches("class=\"unread\"").count(), 2, "{page}");
    assert!(page.contains("Plus récentes"), "{page}");
}
