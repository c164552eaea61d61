//! What leaves the service, against the real server on both backends: no secret of the log
//! (password hashes, refresh-token hashes, idempotency records repeating them) nor any secret
//! handed to a client (refresh tokens, webhook signing secrets, calendar-feed tokens) appears
//! on any outward path — the raw event log, the audit trail and its exports, WebSocket frames,
//! webhook bodies, reservation histories, time travel; and every paged list takes back only
//! its own cursors, answering anything else with `422 …/invalid-cursor`.

mod common;
mod webhook_receiver;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DurationRound, Utc};
use common::*;
use futures::StreamExt;
use reserver_store::StoreConfig;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio_tungstenite::tungstenite::Message;
use webhook_receiver::Receiver;

macro_rules! both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::$check(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::$check(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

both_backends!(no_secret_leaves_by_any_outward_path, every_list_takes_back_only_its_own_cursors);

const WEBHOOKS: &[(&str, &str)] = &[("WEBHOOKS_ALLOW_PRIVATE", "true"), ("WEBHOOKS_RETRY_BASE_DELAY", "200ms")];

/// Fields of the log's payloads that hold secret material (written by the account and session
/// aggregates, repeated by idempotency records).
const SECRET_FIELDS: &[&str] = &["password_hash", "token_hash", "previous_hash", "new_hash", "presented_hash"];

fn at(hours: i64) -> String {
    let base = Utc::now().duration_trunc(chrono::Duration::hours(1)).unwrap_or_else(|_| Utc::now());
    (base + chrono::Duration::hours(hours)).to_rfc3339()
}

async fn json_of(r: reqwest::RequestBuilder) -> (u16, Value) {
    let r = r.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn text_of(r: reqwest::RequestBuilder) -> String {
    let r = r.send().await.expect("request");
    assert!(r.status().is_success(), "{}", r.status());
    r.text().await.expect("body")
}

async fn created_id(r: reqwest::RequestBuilder) -> String {
    let (status, body) = json_of(r).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_string()
}

/// Every string under a secret field, at any depth.
fn secret_values(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, field) in map {
                match field {
                    Value::String(s) if SECRET_FIELDS.contains(&key.as_str()) => {
                        out.insert(s.clone());
                    }
                    other => secret_values(other, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| secret_values(item, out)),
        _ => {}
    }
}

/// Lower-case hex SHA-256 of a refresh token's secret part: what its session event stores.
fn stored_hash(refresh_token: &str) -> String {
    let secret = refresh_token.split_once('.').expect("session.secret").1;
    hex::encode(Sha256::digest(secret.as_bytes()))
}

async fn no_secret_leaves_by_any_outward_path(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start_with(db.url(), WEBHOOKS).await;
    let receiver = Receiver::start().await;
    let admin = s.setup_admin().await;
    let (status, hook) =
        json_of(s.post(&admin, "/api/v1/webhooks", json!({ "url": receiver.url, "event_types": ["*"] }))).await;
    assert_eq!(status, 201, "{hook}");
    let webhook_secret = hook["secret"].as_str().expect("secret").to_string();
    receiver.trust(&webhook_secret);
    let mut socket = {
        let url = format!("{}/ws?token={admin}&from_position=0", s.base_url.replace("http://", "ws://"));
        tokio_tungstenite::connect_async(url).await.expect("websocket").0
    };

    // Every kind of secret-bearing event: registrations (one with an idempotency key, whose
    // record repeats the event), a login, a refresh, a reused refresh token.
    let registered = s
        .client
        .post(s.url("/api/v1/register"))
        .header("Idempotency-Key", "register-ann-once")
        .json(&json!({ "username": "ann", "password": PASSWORD }))
        .send()
        .await
        .expect("register");
    assert_eq!(registered.status(), 201);
    let (status, login) =
        json_of(s.client.post(s.url("/api/v1/token")).form(&[("username", "ann"), ("password", PASSWORD)])).await;
    assert_eq!(status, 200, "{login}");
    let first_refresh = login["refresh_token"].as_str().expect("refresh").to_string();
    let refresh = |token: &str| s.client.post(s.url("/api/v1/token/refresh")).json(&json!({ "refresh_token": token }));
    let (status, rotated) = json_of(refresh(&first_refresh)).await;
    assert_eq!(status, 200, "{rotated}");
    let second_refresh = rotated["refresh_token"].as_str().expect("refresh").to_string();
    let (status, _) = json_of(refresh(&first_refresh)).await;
    assert_eq!(status, 401, "a reused refresh token revokes the session");
    // The reuse ended that session and its access token: a new login for what follows.
    let ann = s.login("ann", PASSWORD).await;
    let (status, feed) = json_of(s.post(&ann, "/api/v1/calendar/regenerate-token", json!({}))).await;
    assert_eq!(status, 200, "{feed}");
    let feed_token = feed["token"].as_str().expect("feed token").to_string();

    // Ordinary business, so histories and time travel have something to show; the marker
    // resource comes last.
    let room = created_id(s.post(&admin, "/api/v1/resources", json!({ "name": "Room" }))).await;
    let booking = created_id(s.post(
        &ann,
        "/api/v1/reservations",
        json!({ "resource_id": room, "start_time": at(30), "end_time": at(31) }),
    ))
    .await;
    let marker = created_id(s.post(&admin, "/api/v1/resources", json!({ "name": "Marker" }))).await;

    // The raw log holds the secrets: that is what must not leave.
    let mut config = StoreConfig::new(db.url());
    config.migrate = false;
    let store = reserver_store::open(&config).await.expect("open the log");
    let raw = store.read_all_from_database(0, 100_000).await.expect("read the log");
    let mut secrets = BTreeSet::new();
    for event in &raw {
        secret_values(&serde_json::from_str(&event.payload).expect("payload"), &mut secrets);
    }
    assert!(secrets.iter().any(|s| s.starts_with("$argon2")), "password hashes are in the log: {secrets:?}");
    for token in [&first_refresh, &second_refresh] {
        assert!(secrets.contains(&stored_hash(token)), "refresh-token hashes are in the log");
    }
    assert!(raw.iter().any(|e| e.stream_id.starts_with("idempotency-") && e.payload.contains("$argon2")));
    secrets.extend([first_refresh.clone(), second_refresh.clone(), webhook_secret.clone(), feed_token.clone()]);
    secrets.insert("$argon2".into());

    // Every outward path.
    let mut outward: Vec<(String, String)> = Vec::new();
    let events = text_of(s.get(&admin, "/api/v1/events?limit=100000")).await;
    assert_eq!(events.lines().count(), raw.len(), "the whole log is listed");
    assert!(events.lines().any(|l| l.contains("\"registered\"") && l.contains("[redacted]")), "{events}");
    outward.push(("GET /events".into(), events));
    for path in ["/api/v1/audit/logs?limit=500", "/api/v1/audit/export/csv", "/api/v1/audit/export/json"] {
        outward.push((path.into(), text_of(s.get(&admin, path)).await));
    }
    outward.push((
        "reservation history".into(),
        text_of(s.get(&admin, &format!("/api/v1/reservations/{booking}/history"))).await,
    ));
    let now = Utc::now().to_rfc3339().replace('+', "%2B");
    outward.push((
        "time travel".into(),
        text_of(s.get(&admin, &format!("/api/v1/resources/{room}/schedule?as_of={now}"))).await,
    ));
    let mut frames = String::new();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a frame within 20 s")
            .expect("socket open")
            .expect("frame");
        if let Message::Text(text) = frame {
            frames.push_str(&text);
            frames.push('\n');
            let frame: Value = serde_json::from_str(&text).expect("json frame");
            if frame["type"] == "resource_created" && frame["data"]["resource_id"] == marker.as_str() {
                break;
            }
        }
    }
    assert!(frames.contains("user_created"), "the admin's socket saw the registrations: {frames}");
    outward.push(("WebSocket".into(), frames));
    let received = receiver
        .wait_until(Duration::from_secs(40), "the marker's delivery", |got| {
            got.iter().any(|r| r.event_type() == "resource.created" && r.body["data"]["resource_id"] == marker.as_str())
        })
        .await;
    assert!(received.iter().all(|r| r.verified), "every delivery is signed");
    assert!(received.iter().any(|r| r.event_type() == "user.created"));
    let bodies: Vec<String> = received.iter().map(|r| String::from_utf8_lossy(&r.raw).into_owned()).collect();
    outward.push(("webhook bodies".into(), bodies.join("\n")));

    for (path, text) in &outward {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{path} hands out the secret {secret:?}");
        }
    }
}

/// A path's page: status, `next_cursor`, problem type.
async fn page(s: &Server, token: &str, path: &str, cursor: Option<&str>) -> (u16, Option<String>, String) {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut url = format!("{path}{separator}limit=1");
    if let Some(cursor) = cursor {
        url.push_str(&format!("&cursor={}", cursor.replace('%', "%25").replace('&', "%26").replace('+', "%2B")));
    }
    let (status, body) = json_of(s.get(token, &url)).await;
    let next = body["next_cursor"].as_str().map(str::to_string);
    let problem = body["type"].as_str().and_then(|t| t.rsplit('/').next()).unwrap_or_default().to_string();
    (status, next, problem)
}

async fn every_list_takes_back_only_its_own_cursors(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start_with(db.url(), WEBHOOKS).await;
    let admin = s.setup_admin().await;
    let ann = s.user("ann").await;
    let hook = created_id(s.post(
        &admin,
        "/api/v1/webhooks",
        json!({ "url": "http://127.0.0.1:9/hook", "event_types": ["*"] }),
    ))
    .await;
    let room = created_id(s.post(&admin, "/api/v1/resources", json!({ "name": "Room" }))).await;
    let lab = created_id(s.post(&admin, "/api/v1/resources", json!({ "name": "Lab" }))).await;
    let (status, body) = json_of(
        s.client
            .put(s.url(&format!("/api/v1/approvals/resources/{lab}/settings")))
            .bearer_auth(&admin)
            .json(&json!({ "requires_approval": true, "approval_timeout_minutes": 600 })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for (resource, hour) in [(&room, 30), (&room, 32), (&lab, 30), (&lab, 32)] {
        let (status, body) = json_of(s.post(
            &ann,
            "/api/v1/reservations",
            json!({ "resource_id": resource, "start_time": at(hour), "end_time": at(hour + 1) }),
        ))
        .await;
        assert!(status == 201 || status == 202, "{status} {body}");
    }
    let head = text_of(s.get(&admin, "/api/v1/events?limit=100000")).await.lines().count();
    let lists: Vec<(String, String)> = vec![
        (admin.clone(), format!("/api/v1/resources?min_position={head}")),
        (admin.clone(), "/api/v1/resources?sort=created&order=desc".into()),
        (ann.clone(), "/api/v1/reservations/my".into()),
        (admin.clone(), format!("/api/v1/resources/{room}/reservations")),
        (admin.clone(), "/api/v1/approvals/pending".into()),
        (ann.clone(), "/api/v1/notifications".into()),
        (admin.clone(), "/api/v1/audit/logs".into()),
        (admin.clone(), format!("/api/v1/webhooks/{hook}/deliveries")),
    ];
    // The first page of each, with the cursor to its second (webhook deliveries are planned
    // in the background: wait for two).
    let mut issued = Vec::new();
    for (token, path) in &lists {
        let mut cursor = None;
        for _ in 0..200 {
            let (status, next, problem) = page(&s, token, path, None).await;
            assert_eq!(status, 200, "{path}: {problem}");
            cursor = next;
            if cursor.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let cursor = cursor.unwrap_or_else(|| panic!("{path} has a second page"));
        let (status, _, problem) = page(&s, token, path, Some(&cursor)).await;
        assert_eq!(status, 200, "{path} takes its own cursor: {problem}");
        issued.push(cursor);
    }
    for (i, (token, path)) in lists.iter().enumerate() {
        let own = &issued[i];
        let mut tampered = own.clone().into_bytes();
        tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
        let mut bad = vec![
            "garbage".to_string(),
            "%00".into(),
            own[..own.len() / 2].to_string(),
            String::from_utf8(tampered).expect("ascii"),
        ];
        bad.extend(issued.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| c.clone()));
        for cursor in bad {
            let (status, _, problem) = page(&s, token, path, Some(&cursor)).await;
            assert_eq!((status, problem.as_str()), (422, "invalid-cursor"), "{path} with cursor {cursor:?}");
        }
    }
}
