//! Signed webhooks end to end, on both backends: a real server, real receivers that verify
//! every signature, a server killed mid-run, failing endpoints, pings, redelivery, rotation,
//! auto-disable and the private-address guard.

mod common;
mod webhook_receiver;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};
use common::*;
use reserver_webhooks::signing::{verify, Secret};
use serde_json::{json, Value};
use webhook_receiver::{Received, Receiver};

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

both_backends!(
    every_event_arrives_once_across_a_restart,
    failing_endpoints_are_retried_then_recover_or_are_disabled,
    ping_redelivery_and_rotation,
    admin_only_validation_and_the_private_address_guard,
);

/// Short retries so failures play out in seconds.
const FAST: &[(&str, &str)] = &[
    ("WEBHOOKS_ALLOW_PRIVATE", "true"),
    ("WEBHOOKS_TIMEOUT", "2s"),
    ("WEBHOOKS_RETRY_BASE_DELAY", "200ms"),
    ("WEBHOOKS_RETRY_MAX_DELAY", "5s"),
    ("WEBHOOKS_MAX_AGE", "60s"),
];
const WAIT: Duration = Duration::from_secs(40);

fn at(hours: i64) -> String {
    let base = Utc::now().duration_trunc(chrono::Duration::hours(1)).unwrap_or_else(|_| Utc::now());
    (base + chrono::Duration::hours(hours)).to_rfc3339()
}

async fn body(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn problem_type(problem: &Value) -> &str {
    problem["type"].as_str().and_then(|t| t.rsplit('/').next()).unwrap_or_default()
}

/// Creates a webhook and tells the receiver its secret; returns (id, secret).
async fn subscribe(s: &Server, admin: &str, receiver: &Receiver, types: &[&str]) -> (String, String) {
    let (status, created) = body(
        s.post(admin, "/api/v1/webhooks", json!({ "url": receiver.url, "event_types": types }))
            .send()
            .await
            .expect("create"),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().expect("secret shown once").to_string();
    assert!(secret.starts_with("whsec_"));
    receiver.trust(&secret);
    (created["id"].as_str().expect("id").to_string(), secret)
}

async fn create_resource(s: &Server, admin: &str, name: &str) -> String {
    let (status, created) =
        body(s.post(admin, "/api/v1/resources", json!({ "name": name })).send().await.expect("resource")).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().expect("id").to_string()
}

async fn book(s: &Server, token: &str, resource: &str, hour: i64) -> String {
    let (status, booked) = body(
        s.post(
            token,
            "/api/v1/reservations",
            json!({ "resource_id": resource, "start_time": at(hour), "end_time": at(hour + 1) }),
        )
        .send()
        .await
        .expect("book"),
    )
    .await;
    assert_eq!(status, 201, "{booked}");
    booked["id"].as_str().expect("id").to_string()
}

async fn cancel(s: &Server, token: &str, reservation: &str) {
    let r =
        s.post(token, &format!("/api/v1/reservations/{reservation}/cancel"), json!({})).send().await.expect("cancel");
    assert_eq!(r.status(), 200);
}

async fn set_status(s: &Server, admin: &str, resource: &str, status: &str) {
    let r = s
        .client
        .put(s.url(&format!("/api/v1/resources/{resource}/status")))
        .bearer_auth(admin)
        .json(&json!({ "status": status }))
        .send()
        .await
        .expect("status");
    assert_eq!(r.status(), 200);
}

async fn deliveries(s: &Server, admin: &str, webhook: &str) -> Vec<Value> {
    let (status, page) =
        body(s.get(admin, &format!("/api/v1/webhooks/{webhook}/deliveries?limit=200")).send().await.expect("history"))
            .await;
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().expect("data").clone()
}

/// Distinct messages (by webhook-id) that the receiver accepted, by event type.
fn accepted_by_type(received: &[Received]) -> BTreeMap<String, BTreeMap<String, Value>> {
    let mut out: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for r in received.iter().filter(|r| r.status == 200) {
        out.entry(r.event_type().to_string()).or_default().insert(r.id.clone(), r.body.clone());
    }
    out
}

fn ids_in(messages: Option<&BTreeMap<String, Value>>, field: &str) -> BTreeSet<String> {
    messages
        .map(|m| m.values().filter_map(|b| b["data"][field].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

async fn every_event_arrives_once_across_a_restart(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let receiver = Receiver::start().await;
    // Slow answers, so the kill below lands with deliveries queued and in flight.
    receiver.slow(Duration::from_millis(150));
    let mut s = Server::start_with(db.url(), FAST).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let (webhook, _) = subscribe(
        &s,
        &admin,
        &receiver,
        &["reservation.created", "reservation.cancelled", "resource.created", "resource.status_changed"],
    )
    .await;

    let mut resources = BTreeSet::new();
    let mut booked = BTreeSet::new();
    let mut cancelled = BTreeSet::new();
    let room = create_resource(&s, &admin, "Room A").await;
    resources.insert(room.clone());
    for hour in 0..4 {
        booked.insert(book(&s, &alice, &room, 24 + 2 * hour).await);
    }
    let first = booked.iter().next().cloned().expect("booking");
    cancel(&s, &alice, &first).await;
    cancelled.insert(first);

    // Killed (SIGKILL) mid-run, then restarted on the same database.
    drop(s);
    s = Server::start_with(db.url(), FAST).await;
    let admin = s.login("admin", PASSWORD).await;
    let alice = s.login("alice", PASSWORD).await;
    let desk = create_resource(&s, &admin, "Desk B").await;
    resources.insert(desk.clone());
    set_status(&s, &admin, &desk, "maintenance").await;
    set_status(&s, &admin, &desk, "available").await;
    for hour in 0..3 {
        booked.insert(book(&s, &alice, &desk, 30 + 2 * hour).await);
    }
    let last = booked.iter().last().cloned().expect("booking");
    cancel(&s, &alice, &last).await;
    cancelled.insert(last);

    let expected = |got: &BTreeMap<String, BTreeMap<String, Value>>| {
        ids_in(got.get("resource.created"), "resource_id") == resources
            && ids_in(got.get("reservation.created"), "reservation_id") == booked
            && ids_in(got.get("reservation.cancelled"), "reservation_id") == cancelled
            && got.get("resource.status_changed").map_or(0, BTreeMap::len) == 2
    };
    let received = receiver.wait_until(WAIT, "every event of the workload", |r| expected(&accepted_by_type(r))).await;
    let accepted = accepted_by_type(&received);
    // Exactly the subscribed types, each event once by webhook-id (a repeat is allowed by
    // at-least-once, but must carry the same id and body).
    assert_eq!(
        accepted.keys().cloned().collect::<Vec<_>>(),
        vec![
            "reservation.cancelled".to_string(),
            "reservation.created".to_string(),
            "resource.created".to_string(),
            "resource.status_changed".to_string()
        ]
    );
    assert_eq!(
        accepted.values().map(BTreeMap::len).sum::<usize>(),
        resources.len() + booked.len() + cancelled.len() + 2
    );
    for r in &received {
        assert!(r.verified, "every message is signed with the endpoint's secret: {r:?}");
        assert_eq!(r.body, accepted[r.event_type()][&r.id], "a repeat carries the same body");
        for field in ["type", "timestamp", "position", "data"] {
            assert!(r.body.get(field).is_some(), "envelope field {field}: {}", r.body);
        }
        assert!(DateTime::parse_from_rfc3339(r.body["timestamp"].as_str().unwrap_or_default()).is_ok());
    }

    // The history agrees: every delivery delivered, with its attempts.
    let history = deliveries(&s, &admin, &webhook).await;
    let total = accepted.values().map(BTreeMap::len).sum::<usize>();
    let deadline = std::time::Instant::now() + WAIT;
    let mut history = history;
    while history.iter().filter(|d| d["status"] == "delivered").count() < total {
        assert!(std::time::Instant::now() < deadline, "history: {history:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        history = deliveries(&s, &admin, &webhook).await;
    }
    assert_eq!(history.len(), total);
    for d in &history {
        let attempts = d["attempts"].as_array().expect("attempts");
        assert_eq!(attempts.last().and_then(|a| a["status_code"].as_u64()), Some(200), "{d}");
    }
}

fn attempt_times(delivery: &Value) -> Vec<DateTime<Utc>> {
    delivery["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["attempted_at"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).expect("time").to_utc())
        .collect()
}

async fn failing_endpoints_are_retried_then_recover_or_are_disabled(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let env = [
        ("WEBHOOKS_ALLOW_PRIVATE", "true"),
        ("WEBHOOKS_TIMEOUT", "2s"),
        ("WEBHOOKS_RETRY_BASE_DELAY", "150ms"),
        ("WEBHOOKS_RETRY_MAX_DELAY", "5s"),
        ("WEBHOOKS_MAX_AGE", "3s"),
        ("WEBHOOKS_DISABLE_AFTER_FAILURES", "2"),
    ];
    let s = Server::start_with(db.url(), &env).await;
    let admin = s.setup_admin().await;
    let flaky = Receiver::start().await;
    let dead = Receiver::start().await;
    flaky.fail_next(3);
    dead.always_fail();
    let (flaky_id, _) = subscribe(&s, &admin, &flaky, &["resource.created"]).await;
    let (dead_id, _) = subscribe(&s, &admin, &dead, &["resource.*"]).await;

    create_resource(&s, &admin, "Room A").await;
    // Three 500s, then accepted: one delivery, four attempts, one webhook-id.
    let received = flaky.wait_until(WAIT, "the flaky endpoint to accept", |r| r.iter().any(|m| m.status == 200)).await;
    assert_eq!(received.iter().map(|r| r.status).collect::<Vec<_>>(), vec![500, 500, 500, 200]);
    assert_eq!(received.iter().map(|r| r.id.as_str()).collect::<BTreeSet<_>>().len(), 1);
    let mut history = deliveries(&s, &admin, &flaky_id).await;
    while history.first().map(|d| d["status"] != "delivered").unwrap_or(true) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        history = deliveries(&s, &admin, &flaky_id).await;
    }
    let delivery = &history[0];
    let codes: Vec<u64> =
        delivery["attempts"].as_array().expect("attempts").iter().filter_map(|a| a["status_code"].as_u64()).collect();
    assert_eq!(codes, vec![500, 500, 500, 200]);
    // Exponential back-off with jitter: each delay in [base·2^(n-1)/2, base·2^(n-1)], so they grow.
    let times = attempt_times(delivery);
    let gaps: Vec<i64> = times.windows(2).map(|w| (w[1] - w[0]).num_milliseconds()).collect();
    assert_eq!(gaps.len(), 3);
    assert!(gaps[0] >= 70, "first retry waits about 75–150 ms: {gaps:?}");
    assert!(gaps[2] > gaps[0], "delays grow: {gaps:?}");
    assert!(gaps[1] + 40 >= gaps[0] && gaps[2] + 40 >= gaps[1], "delays do not shrink: {gaps:?}");
    for attempt in delivery["attempts"].as_array().expect("attempts") {
        assert!(attempt["latency_ms"].as_u64().is_some());
    }
    assert_eq!(delivery["attempts"][0]["response_body"], "not now");

    // The dead endpoint: two deliveries fail for good (3 s of retries each), then it is disabled.
    create_resource(&s, &admin, "Room B").await;
    let deadline = std::time::Instant::now() + WAIT;
    let disabled = loop {
        let (_, webhook) = body(s.get(&admin, &format!("/api/v1/webhooks/{dead_id}")).send().await.expect("get")).await;
        if webhook["active"] == false {
            break webhook;
        }
        assert!(std::time::Instant::now() < deadline, "not disabled: {webhook}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(disabled["disabled_reason"].as_str().unwrap_or_default().contains("2 consecutive"), "{disabled}");
    let failed = deliveries(&s, &admin, &dead_id).await;
    assert!(failed.iter().filter(|d| d["status"] == "failed").count() >= 2, "{failed:#?}");
    assert!(failed.iter().all(|d| d["attempts"].as_array().is_some_and(|a| a.len() >= 2)));
    // Its owner is told.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, notes) = body(s.get(&admin, "/api/v1/notifications").send().await.expect("notifications")).await;
        let found = notes["data"].as_array().is_some_and(|n| {
            n.iter().any(|n| n["kind"] == "webhook_disabled" && n["webhook_id"].as_str() == Some(dead_id.as_str()))
        });
        if found {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no notification: {notes}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // While disabled, nothing new is planned; a ping is refused until it is enabled again.
    let before = dead.received().len();
    let (status, _) =
        body(s.post(&admin, &format!("/api/v1/webhooks/{dead_id}/test"), json!({})).send().await.expect("ping")).await;
    assert_eq!(status, 409);
    let (status, enabled) = body(
        s.client
            .patch(s.url(&format!("/api/v1/webhooks/{dead_id}")))
            .bearer_auth(&admin)
            .json(&json!({ "active": true }))
            .send()
            .await
            .expect("enable"),
    )
    .await;
    assert_eq!((status, enabled["active"].as_bool()), (200, Some(true)), "{enabled}");
    assert!(enabled["disabled_reason"].is_null());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(dead.received().len() >= before);
}

async fn ping_redelivery_and_rotation(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start_with(db.url(), FAST).await;
    let admin = s.setup_admin().await;
    let receiver = Receiver::start().await;
    let (webhook, old_secret) = subscribe(&s, &admin, &receiver, &["*"]).await;

    // Ping: a webhook.test message through the same worker path.
    let (status, ping) =
        body(s.post(&admin, &format!("/api/v1/webhooks/{webhook}/test"), json!({})).send().await.expect("ping")).await;
    assert_eq!(status, 202, "{ping}");
    let ping_id = ping["delivery_id"].as_str().expect("delivery id").to_string();
    let got = receiver.wait_until(WAIT, "the ping", |r| r.iter().any(|m| m.id == ping_id && m.status == 200)).await;
    let message = got.iter().find(|m| m.id == ping_id).expect("ping");
    assert_eq!(message.event_type(), "webhook.test");
    assert_eq!(message.body["data"]["webhook_id"], webhook.as_str());
    assert_eq!(message.signatures.split(' ').count(), 1);

    // Redelivery: the same webhook-id and body again, recorded as another attempt.
    let mut history = deliveries(&s, &admin, &webhook).await;
    while history.iter().all(|d| d["status"] != "delivered") {
        tokio::time::sleep(Duration::from_millis(50)).await;
        history = deliveries(&s, &admin, &webhook).await;
    }
    let (status, _) = body(
        s.post(&admin, &format!("/api/v1/webhooks/{webhook}/deliveries/{ping_id}/redeliver"), json!({}))
            .send()
            .await
            .expect("redeliver"),
    )
    .await;
    assert_eq!(status, 202);
    let got = receiver.wait_until(WAIT, "the redelivery", |r| r.iter().filter(|m| m.id == ping_id).count() == 2).await;
    let copies: Vec<&Received> = got.iter().filter(|m| m.id == ping_id).collect();
    assert_eq!(copies[0].raw, copies[1].raw);
    let unknown = uuid::Uuid::new_v4();
    let r = s
        .post(&admin, &format!("/api/v1/webhooks/{webhook}/deliveries/{unknown}/redeliver"), json!({}))
        .send()
        .await
        .expect("redeliver");
    assert_eq!(r.status(), 404);

    // Rotation: the new secret is returned once; messages then carry two signatures, the new
    // one verifying with the new secret and the old one with the old secret.
    let (status, rotated) = body(
        s.post(&admin, &format!("/api/v1/webhooks/{webhook}/rotate-secret"), json!({})).send().await.expect("rotate"),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().expect("new secret").to_string();
    assert_ne!(new_secret, old_secret);
    let (_, again) =
        body(s.post(&admin, &format!("/api/v1/webhooks/{webhook}/test"), json!({})).send().await.expect("ping")).await;
    let again_id = again["delivery_id"].as_str().expect("id").to_string();
    let got = receiver.wait_until(WAIT, "the ping after rotation", |r| r.iter().any(|m| m.id == again_id)).await;
    let message = got.iter().find(|m| m.id == again_id).expect("ping");
    let signatures: Vec<&str> = message.signatures.split(' ').collect();
    assert_eq!(signatures.len(), 2, "{}", message.signatures);
    let now = Utc::now().timestamp();
    let check = |secret: &str, signature: &str| {
        verify(
            &Secret::parse(secret).expect("secret"),
            &message.id,
            &message.timestamp,
            signature,
            &message.raw,
            now,
            300,
        )
    };
    assert_eq!(check(&new_secret, signatures[0]), Ok(()));
    assert_eq!(check(&old_secret, signatures[1]), Ok(()));
    assert!(check(&new_secret, signatures[1]).is_err() && check(&old_secret, signatures[0]).is_err());
    // Neither secret is in the log or the API's views.
    let (_, view) = body(s.get(&admin, &format!("/api/v1/webhooks/{webhook}")).send().await.expect("get")).await;
    assert!(view.get("secret").is_none() && view["secret_rotated_at"].is_string(), "{view}");
    let log = s.get(&admin, "/api/v1/events").send().await.expect("events").text().await.unwrap_or_default();
    assert!(log.contains("webhook_secret_rotated"));
    for secret in [&old_secret, &new_secret] {
        assert!(!log.contains(secret.trim_start_matches("whsec_")), "a secret leaked into the log");
    }
}

async fn admin_only_validation_and_the_private_address_guard(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    // No WEBHOOKS_ALLOW_PRIVATE: the guard is on.
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let create = |token: &str, input: Value| s.post(token, "/api/v1/webhooks", input).send();

    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/",
        "http://169.254.169.254/latest",
        "http://10.0.0.5/",
    ] {
        let (status, problem) =
            body(create(&admin, json!({ "url": url, "event_types": ["*"] })).await.expect("create")).await;
        assert_eq!((status, problem_type(&problem)), (422, "webhook-target-forbidden"), "{url}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "url");
    }
    for (input, field) in [
        (json!({ "url": "ftp://example.com/", "event_types": ["*"] }), "url"),
        (json!({ "url": "not a url", "event_types": ["*"] }), "url"),
        (json!({ "url": "https://example.com/", "event_types": [] }), "event_types"),
        (json!({ "url": "https://example.com/", "event_types": ["reservation.exploded"] }), "event_types"),
        (json!({ "url": "https://example.com/" }), "event_types"),
    ] {
        let (status, problem) = body(create(&admin, input.clone()).await.expect("create")).await;
        assert_eq!((status, problem_type(&problem)), (422, "validation-error"), "{input}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }

    // Admins only.
    let (status, _) =
        body(create(&alice, json!({ "url": "https://example.com/", "event_types": ["*"] })).await.expect("create"))
            .await;
    assert_eq!(status, 403);
    for path in ["/api/v1/webhooks", "/api/v1/webhooks/events"] {
        assert_eq!(s.get(&alice, path).send().await.expect("get").status(), 403, "{path}");
    }
    let unknown = uuid::Uuid::new_v4();
    assert_eq!(s.get(&admin, &format!("/api/v1/webhooks/{unknown}")).send().await.expect("get").status(), 404);
    assert_eq!(
        s.get(&admin, &format!("/api/v1/webhooks/{unknown}/deliveries")).send().await.expect("get").status(),
        404
    );

    // The catalog lists every public event type.
    let (status, catalog) = body(s.get(&admin, "/api/v1/webhooks/events").send().await.expect("catalog")).await;
    assert_eq!(status, 200);
    let names: Vec<&str> =
        catalog["data"].as_array().expect("data").iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(names.contains(&"reservation.created") && names.contains(&"resource.status_changed"), "{catalog}");

    // A public target (a literal public address: no DNS needed, and nothing is sent to it
    // unless an event occurs) is accepted; then If-Match guards updates.
    let (status, created) = body(
        create(
            &admin,
            json!({ "url": "http://192.0.32.10/hook", "event_types": ["reservation.*"], "description": "ops" }),
        )
        .await
        .expect("create"),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    let patch = |etag: &str, input: Value| {
        s.client
            .patch(s.url(&format!("/api/v1/webhooks/{id}")))
            .bearer_auth(&admin)
            .header("If-Match", etag)
            .json(&input)
            .send()
    };
    let (status, _) = body(patch("\"7\"", json!({ "description": "stale" })).await.expect("patch")).await;
    assert_eq!(status, 412);
    let (status, problem) = body(patch("\"1\"", json!({ "url": "http://192.168.0.1/" })).await.expect("patch")).await;
    assert_eq!((status, problem_type(&problem)), (422, "webhook-target-forbidden"));
    let (status, updated) =
        body(patch("\"1\"", json!({ "event_types": ["*"], "active": false })).await.expect("patch")).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!((updated["event_types"][0].as_str(), updated["active"].as_bool()), (Some("*"), Some(false)));
    let listed = s.get(&admin, "/api/v1/webhooks").header("X-Min-Position", "1000000").send().await.expect("list");
    assert_eq!(listed.status(), 503, "waiting for a position the log never reaches gives up");
    let r = s.client.delete(s.url(&format!("/api/v1/webhooks/{id}"))).bearer_auth(&admin).send().await.expect("delete");
    assert_eq!(r.status(), 200);
    assert_eq!(s.get(&admin, &format!("/api/v1/webhooks/{id}")).send().await.expect("get").status(), 404);
}
