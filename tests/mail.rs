//! Notifications, reminders and email against the real server and a real SMTP server (a sink
//! started by the test), on both backends: confirmations and reminders arrive by email and
//! in-app, per the user's preferences, and a restart sends nothing twice.

mod common;

use std::time::Duration;

use chrono::{DurationRound, Utc};
use common::smtp_sink::{ReceivedMail, SmtpSink};
use common::*;
use serde_json::{json, Value};

fn minutes_from_now(minutes: i64) -> String {
    let base = Utc::now().duration_trunc(chrono::Duration::minutes(1)).unwrap_or_else(|_| Utc::now());
    (base + chrono::Duration::minutes(minutes)).to_rfc3339()
}

async fn book(s: &Server, token: &str, resource: &str, from: i64, to: i64) -> String {
    let r = s
        .post(
            token,
            "/api/v1/reservations",
            json!({ "resource_id": resource, "start_time": minutes_from_now(from), "end_time": minutes_from_now(to) }),
        )
        .send()
        .await
        .expect("book");
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string()
}

fn to(mails: &[ReceivedMail], address: &str) -> Vec<String> {
    mails.iter().filter(|m| m.to.iter().any(|t| t == address)).map(ReceivedMail::subject).collect()
}

async fn preferences(s: &Server, token: &str, body: Value) -> reqwest::Response {
    s.client.patch(s.url("/api/v1/users/me/preferences")).bearer_auth(token).json(&body).send().await.expect("prefs")
}

async fn mail(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let sink = SmtpSink::start().await;
    let port = sink.port.to_string();
    let env = [
        ("EMAIL_ENABLED", "true"),
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", port.as_str()),
        ("SMTP_TLS", "false"),
        ("MAIL_POLL_MS", "100"),
        ("REMINDER_DEFAULT_MINUTES", "0"),
    ];
    let s = Server::start_with(db.url(), &env).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    let r = s.post(&admin, "/api/v1/resources", json!({ "name": "Room 7" })).send().await.expect("create");
    let room = r.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string();

    // Preferences are checked before they are kept.
    let bad = preferences(&s, &alice, json!({ "reminder_minutes": -5 })).await;
    assert_eq!(bad.status(), 422);
    assert_eq!(bad.json::<Value>().await.expect("problem")["errors"][0]["field"], "reminder_minutes");
    let bad = preferences(&s, &alice, json!({ "email": "not-an-address" })).await;
    assert_eq!(bad.status(), 422);
    let ok = preferences(&s, &alice, json!({ "email": "alice@example.test", "reminder_minutes": 30 })).await;
    assert_eq!(ok.status(), 200);

    // A booking 20 minutes ahead: confirmation now, and the 30-minute reminder is already due.
    let soon = book(&s, &alice, &room, 20, 50).await;
    let later = book(&s, &alice, &room, 300, 330).await;
    book(&s, &bob, &room, 400, 430).await; // bob has no address: no email
    let r = s.post(&alice, &format!("/api/v1/reservations/{later}/cancel"), json!({})).send().await.expect("cancel");
    assert_eq!(r.status(), 200);
    let mails =
        sink.wait_for("confirmations, a reminder and a cancellation", |m| to(m, "alice@example.test").len() >= 4).await;
    let mut subjects = to(&mails, "alice@example.test");
    subjects.sort();
    assert_eq!(subjects, ["Booked: Room 7", "Booked: Room 7", "Cancelled: Room 7", "Starting soon: Room 7"]);
    assert!(mails.iter().all(|m| m.to == ["alice@example.test"]), "only alice has an address");
    let reminder = mails.iter().find(|m| m.subject() == "Starting soon: Room 7").expect("reminder");
    assert!(reminder.data.contains(&soon), "the reminder names the reservation");
    assert!(reminder.from.contains("noreply@resource-reserver.local"));

    // The reminder is an in-app notification too.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let list: Value =
            s.get(&alice, "/api/v1/notifications").send().await.expect("list").json().await.expect("json");
        let kinds: Vec<_> = list["data"].as_array().into_iter().flatten().filter_map(|n| n["kind"].as_str()).collect();
        if kinds.contains(&"reminder") {
            assert!(kinds.contains(&"reservation_confirmed") && kinds.contains(&"reservation_cancelled"), "{kinds:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no in-app reminder: {kinds:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Email off: the next booking is not mailed; a restart sends nothing again.
    let ok = preferences(&s, &alice, json!({ "email_notifications": false })).await;
    assert_eq!(ok.status(), 200);
    book(&s, &alice, &room, 500, 530).await;
    drop(s);
    let s = Server::start_with(db.url(), &env).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = sink.received();
    assert_eq!(after.len(), mails.len(), "nothing sent twice or after opting out: {after:#?}");
    assert_eq!(s.get(&alice, "/api/v1/users/me").send().await.expect("me").status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_email_and_reminders() {
    mail(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_email_and_reminders() {
    mail(Backend::Postgres).await;
}
