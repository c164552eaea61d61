//! The HTTP API end to end: the real `reserver serve` binary on a random port, a fresh database
//! per test, on SQLite and on PostgreSQL.

#[macro_use]
mod common;

use std::collections::HashMap;

use chrono::{Duration, DurationRound, Utc};
use common::*;
use futures::future::join_all;
use serde_json::{json, Value};

fn hours_from_now(h: i64) -> String {
    let base = Utc::now().duration_trunc(Duration::hours(1)).unwrap_or_else(|_| Utc::now());
    (base + Duration::hours(h)).to_rfc3339()
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.expect("json body")
}

async fn create_resource(s: &Server, admin: &str, name: &str, capacity: u32) -> String {
    let r = s
        .post(
            admin,
            "/api/v1/resources",
            json!({ "name": name, "tags": ["lab"], "available": true, "capacity": capacity }),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), 201);
    json_of(r).await["id"].as_str().expect("id").to_string()
}

async fn log_head(s: &Server, admin: &str) -> u64 {
    let r = s.get(admin, "/ready").send().await.expect("ready");
    json_of(r).await["log_position"].as_u64().expect("position")
}

async fn booking_flow(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let status = json_of(s.client.get(s.url("/api/v1/setup/status")).send().await.expect("status")).await;
    assert_eq!(status["setup_complete"], false);
    let admin = s.setup_admin().await;
    let again = s
        .client
        .post(s.url("/api/v1/setup/initialize"))
        .json(&json!({ "username": "root2", "password": PASSWORD }))
        .send()
        .await
        .expect("setup");
    assert_eq!(again.status(), 409);
    assert_eq!(
        json_of(s.client.get(s.url("/api/v1/setup/status")).send().await.expect("status")).await["setup_complete"],
        true
    );

    let room = create_resource(&s, &admin, "Room 1", 1).await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;

    let booked = s
        .post(
            &alice,
            "/api/v1/reservations",
            json!({ "resource_id": room, "start_time": hours_from_now(24), "end_time": hours_from_now(26) }),
        )
        .send()
        .await
        .expect("book");
    assert_eq!(booked.status(), 201);
    let position = booked
        .headers()
        .get("X-Log-Position")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .expect("X-Log-Position");
    let reservation = json_of(booked).await;
    let reservation_id = reservation["id"].as_str().expect("id").to_string();
    assert_eq!(reservation["status"], "confirmed");

    let clash = s
        .post(
            &bob,
            "/api/v1/reservations",
            json!({ "resource_id": room, "start_time": hours_from_now(25), "end_time": hours_from_now(27) }),
        )
        .send()
        .await
        .expect("book");
    assert_eq!(clash.status(), 409);
    assert_eq!(clash.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/problem+json"));
    let problem = json_of(clash).await;
    assert!(problem["type"].as_str().expect("type").ends_with("/conflict"), "{problem}");
    assert_eq!(problem["conflicts"][0]["reservation_id"], reservation_id.as_str());
    assert!(!problem["next_free_slots"].as_array().expect("slots").is_empty());

    // Half-open: back to back is fine.
    let adjacent = s
        .post(
            &bob,
            "/api/v1/reservations",
            json!({ "resource_id": room, "start_time": hours_from_now(26), "end_time": hours_from_now(27) }),
        )
        .send()
        .await
        .expect("book");
    assert_eq!(adjacent.status(), 201);

    // Read your writes.
    let mine =
        json_of(s.get(&alice, &format!("/api/v1/reservations/my?min_position={position}")).send().await.expect("my"))
            .await;
    assert_eq!(mine["data"].as_array().expect("data").len(), 1);
    assert_eq!(mine["has_more"], false);

    // Someone else's reservation does not exist for you.
    assert_eq!(
        s.get(&bob, &format!("/api/v1/reservations/{reservation_id}?min_position={position}"))
            .send()
            .await
            .expect("get")
            .status(),
        404
    );
    assert_eq!(
        s.post(&bob, &format!("/api/v1/reservations/{reservation_id}/cancel"), json!({}))
            .send()
            .await
            .expect("cancel")
            .status(),
        404
    );
    let cancelled = s
        .post(&alice, &format!("/api/v1/reservations/{reservation_id}/cancel"), json!({ "reason": "moved" }))
        .send()
        .await
        .expect("cancel");
    assert_eq!(cancelled.status(), 200);
    let history_position =
        cancelled.headers().get("X-Log-Position").and_then(|v| v.to_str().ok()).unwrap_or("0").to_string();
    let history = json_of(
        s.get(&alice, &format!("/api/v1/reservations/{reservation_id}/history?min_position={history_position}"))
            .send()
            .await
            .expect("history"),
    )
    .await;
    let types: Vec<_> = history
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["event_type"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(types, ["reservation_confirmed", "reservation_cancelled"]);

    // Roles, tokens, validation.
    assert_eq!(
        s.post(&alice, "/api/v1/resources", json!({ "name": "Mine" })).send().await.expect("create").status(),
        403
    );
    assert_eq!(s.client.get(s.url("/api/v1/resources")).send().await.expect("list").status(), 401);
    assert_eq!(s.get("not.a.token", "/api/v1/resources").send().await.expect("list").status(), 401);
    let forged = format!("{}x", &alice[..alice.len() - 1]);
    assert_eq!(s.get(&forged, "/api/v1/resources").send().await.expect("list").status(), 401);
    let before = log_head(&s, &admin).await;
    let bad = s
        .post(
            &alice,
            "/api/v1/reservations",
            json!({ "resource_id": room, "start_time": "2030-01-01T10:00:00", "end_time": hours_from_now(30) }),
        )
        .send()
        .await
        .expect("book");
    assert_eq!(bad.status(), 422);
    let problem = json_of(bad).await;
    assert_eq!(problem["errors"][0]["field"], "start_time");
    let unknown_field =
        s.post(&admin, "/api/v1/resources", json!({ "name": "", "capacity": 1 })).send().await.expect("create");
    assert_eq!(unknown_field.status(), 422);
    assert_eq!(json_of(unknown_field).await["errors"][0]["field"], "name");
    assert_eq!(log_head(&s, &admin).await, before, "bad input changed nothing");

    // Optimistic concurrency on resource updates.
    let got = s.get(&admin, &format!("/api/v1/resources/{room}")).send().await.expect("get");
    let etag = got.headers().get("ETag").and_then(|v| v.to_str().ok()).expect("ETag").to_string();
    let stale = s
        .client
        .patch(s.url(&format!("/api/v1/resources/{room}")))
        .bearer_auth(&admin)
        .header("If-Match", "\"1\"")
        .json(&json!({ "name": "Room One" }))
        .send()
        .await
        .expect("patch");
    assert_eq!(stale.status(), 412);
    let fresh = s
        .client
        .patch(s.url(&format!("/api/v1/resources/{room}")))
        .bearer_auth(&admin)
        .header("If-Match", &etag)
        .json(&json!({ "name": "Room One" }))
        .send()
        .await
        .expect("patch");
    assert_eq!(fresh.status(), 200);
    assert_eq!(json_of(fresh).await["name"], "Room One");

    // The catalog: search and pagination.
    for i in 0..3 {
        create_resource(&s, &admin, &format!("Desk {i}"), 1).await;
    }
    let page = json_of(s.get(&alice, "/api/v1/resources?limit=2&q=desk").send().await.expect("list")).await;
    assert_eq!(page["data"].as_array().expect("data").len(), 2);
    assert_eq!(page["has_more"], true);
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let rest = json_of(
        s.get(&alice, &format!("/api/v1/resources?limit=2&q=desk&cursor={cursor}")).send().await.expect("list"),
    )
    .await;
    assert_eq!(rest["data"].as_array().expect("data").len(), 1);

    // Availability from the read model agrees with the booking just made.
    let slots = json_of(
        s.get(
            &alice,
            &format!(
                "/api/v1/resources/{room}/available-slots?start={}&end={}&duration_minutes=60",
                urlencode(&hours_from_now(26)),
                urlencode(&hours_from_now(28))
            ),
        )
        .send()
        .await
        .expect("slots"),
    )
    .await;
    let starts: Vec<_> = slots["slots"].as_array().expect("slots").iter().map(|s| s["start_time"].clone()).collect();
    assert!(!starts.is_empty());
    assert!(starts.iter().all(|s| s.as_str().unwrap_or_default() >= "0"), "{slots}");

    // Auditors' view of the log.
    let ndjson = s.get(&admin, "/api/v1/events?from_position=0&limit=5").send().await.expect("events");
    assert_eq!(ndjson.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/x-ndjson"));
    assert_eq!(ndjson.text().await.expect("text").lines().count(), 5);
    assert_eq!(s.get(&alice, "/api/v1/events").send().await.expect("events").status(), 403);
    let verified = json_of(s.get(&admin, "/api/v1/events/verify").send().await.expect("verify")).await;
    assert_eq!(verified["intact"], true);
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

async fn sessions_and_login_throttling(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    s.setup_admin().await;
    s.user("carol").await;

    // Refresh rotation with reuse detection.
    let first = json_of(s.login_response("carol", PASSWORD).await).await;
    let old_refresh = first["refresh_token"].as_str().expect("refresh").to_string();
    let rotated = s
        .client
        .post(s.url("/api/v1/token/refresh"))
        .json(&json!({ "refresh_token": old_refresh }))
        .send()
        .await
        .expect("refresh");
    assert_eq!(rotated.status(), 200);
    let new_refresh = json_of(rotated).await["refresh_token"].as_str().expect("refresh").to_string();
    let reused = s
        .client
        .post(s.url("/api/v1/token/refresh"))
        .json(&json!({ "refresh_token": old_refresh }))
        .send()
        .await
        .expect("refresh");
    assert_eq!(reused.status(), 401, "a used refresh token is refused");
    let after = s
        .client
        .post(s.url("/api/v1/token/refresh"))
        .json(&json!({ "refresh_token": new_refresh }))
        .send()
        .await
        .expect("refresh");
    assert_eq!(after.status(), 401, "reuse revoked the whole family");
    // ... and the access token of that family stops working too.
    let access = first["access_token"].as_str().expect("access").to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while s.get(&access, "/api/v1/users/me").send().await.expect("me").status() != 401 {
        assert!(std::time::Instant::now() < deadline, "access token of a revoked family still accepted");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Logout ends the session: its access token is refused at once, a new login works.
    let token = s.login("carol", PASSWORD).await;
    assert_eq!(s.get(&token, "/api/v1/users/me").send().await.expect("me").status(), 200);
    let out = s.client.post(s.url("/api/v1/logout")).bearer_auth(&token).send().await.expect("logout");
    assert_eq!(out.status(), 200);
    let refused = s.get(&token, "/api/v1/users/me").send().await.expect("me");
    assert_eq!(refused.status(), 401, "logged-out access token refused");
    let again = s.login("carol", PASSWORD).await;
    assert_eq!(s.get(&again, "/api/v1/users/me").send().await.expect("me").status(), 200);

    // Weak passwords are refused with every failed rule named.
    let weak = s
        .client
        .post(s.url("/api/v1/register"))
        .json(&json!({ "username": "dave", "password": "short" }))
        .send()
        .await
        .expect("register");
    assert_eq!(weak.status(), 422);
    let detail = json_of(weak).await["detail"].as_str().unwrap_or_default().to_string();
    for rule in ["min_length", "uppercase", "digit", "special"] {
        assert!(detail.contains(rule), "{detail}");
    }
    // Username taken.
    let taken = s
        .client
        .post(s.url("/api/v1/register"))
        .json(&json!({ "username": "CAROL", "password": PASSWORD }))
        .send()
        .await
        .expect("register");
    assert_eq!(taken.status(), 409);

    // No lockout: guessing is slowed by growing delays (429 with Retry-After), answered exactly
    // alike for a name that does not exist, and the real user gets in once the wait is over.
    let mut answers = Vec::new();
    for name in ["carol", "nobody-at-all"] {
        let mut seen = Vec::new();
        for _ in 0..4 {
            let r = s.login_response(name, "Wrong-password-1").await;
            let status = r.status().as_u16();
            let retry_after = r.headers().get("Retry-After").and_then(|v| v.to_str().ok()).map(str::to_string);
            let problem = json_of(r).await;
            seen.push((status, retry_after, problem["type"].clone(), problem["detail"].clone()));
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1], "known and unknown names are answered identically");
    let statuses: Vec<u16> = answers[0].iter().map(|a| a.0).collect();
    assert_eq!(statuses, [401, 401, 401, 429], "{answers:?}");
    let (_, retry_after, problem_type, _) = &answers[0][3];
    assert!(problem_type.as_str().unwrap_or_default().ends_with("/login-throttled"), "{problem_type}");
    let wait: u64 = retry_after.as_deref().and_then(|v| v.parse().ok()).expect("Retry-After seconds");
    assert!((1..=2).contains(&wait), "the first delay is short: {wait}");
    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 100)).await;
    assert_eq!(s.login_response("carol", PASSWORD).await.status(), 200, "never locked out");
}

async fn rate_limits_answer_429(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start_with(db.url(), &[("RATE_LIMIT_ENABLED", "true"), ("RATE_LIMIT_AUTH", "3/minute")]).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = s.login_response("nobody", "Nope-nope-1!").await;
        statuses.push((r.status().as_u16(), r.headers().get("Retry-After").is_some()));
    }
    assert_eq!(statuses[..3].iter().map(|s| s.0).collect::<Vec<_>>(), [401, 401, 401]);
    assert_eq!(statuses[3], (429, true));
}

/// 200 concurrent overlapping booking requests from 10 users: every 201 is a confirmed booking
/// in the read model, and no two confirmed bookings on a resource overlap.
async fn concurrent_http_bookings(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let rooms = [create_resource(&s, &admin, "A", 1).await, create_resource(&s, &admin, "B", 1).await];
    let mut users = Vec::new();
    for i in 0..10 {
        users.push(s.user(&format!("user{i}")).await);
    }
    let requests = (0..200).map(|i| {
        let room = rooms[i % 2].clone();
        let token = users[i % 10].clone();
        let start = 24 + (i % 7) as i64;
        let body = json!({ "resource_id": room, "start_time": hours_from_now(start), "end_time": hours_from_now(start + 1 + (i % 3) as i64) });
        let request = s.post(&token, "/api/v1/reservations", body);
        async move {
            let r = request.send().await.expect("book");
            let status = r.status().as_u16();
            let position = r.headers().get("X-Log-Position").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            (status, position)
        }
    });
    let answers = join_all(requests).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    assert!(answers.iter().all(|(s, _)| *s == 201 || *s == 409), "{answers:?}");
    assert!(created >= 2);
    let max_position = answers.iter().map(|(_, p)| *p).max().unwrap_or(0);

    let mut confirmed = 0;
    for room in &rooms {
        let path = format!("/api/v1/resources/{room}/reservations?limit=500&min_position={max_position}");
        let page = json_of(s.get(&admin, &path).send().await.expect("reservations")).await;
        assert_eq!(page["has_more"], false);
        let mut spans: Vec<(String, String)> = page["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter(|r| r["status"] == "confirmed")
            .map(|r| {
                (
                    r["start_time"].as_str().unwrap_or_default().to_string(),
                    r["end_time"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        spans.sort();
        for pair in spans.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "overlap on {room}: {pair:?}");
        }
        confirmed += spans.len();
    }
    assert_eq!(confirmed, created, "every 201 is one confirmed booking");
}

async fn idempotency_key_replays(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let room = create_resource(&s, &admin, "Lab", 1).await;
    let body = json!({ "resource_id": room, "start_time": hours_from_now(30), "end_time": hours_from_now(31) });
    let send = |body: Value| s.post(&admin, "/api/v1/reservations", body).header("Idempotency-Key", "abc-123").send();
    let first = send(body.clone()).await.expect("first");
    assert_eq!(first.status(), 201);
    let first = json_of(first).await;
    let second = send(body.clone()).await.expect("second");
    assert_eq!(second.status(), 201);
    assert_eq!(json_of(second).await["id"], first["id"]);
    let other = send(json!({ "resource_id": room, "start_time": hours_from_now(40), "end_time": hours_from_now(41) }))
        .await
        .expect("other");
    assert_eq!(other.status(), 422);
}

/// Every operation in the OpenAPI document (generated from the handlers' annotations) is
/// served: none falls through to "route not found" or "method not allowed", so the document
/// cannot list what the router does not know. The main commands' bodies have schemas.
async fn documented_routes_exist(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let doc = json_of(s.client.get(s.url("/openapi.json")).send().await.expect("openapi")).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Resource Reserver");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() > 50);
    let mut unknown = HashMap::new();
    let mut operations = 0;
    for (path, methods) in paths {
        // Every path parameter is an id or a token; a syntactically valid one reaches the handler.
        let concrete = path
            .split('/')
            .map(|segment| match segment.strip_prefix('{').and_then(|rest| rest.split_once('}')) {
                Some((_, suffix)) => format!("00000000-0000-0000-0000-000000000001{suffix}"),
                None => segment.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in methods.as_object().expect("methods").keys() {
            let Ok(m) = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()) else { continue };
            if !matches!(m.as_str(), "GET" | "POST" | "PUT" | "PATCH" | "DELETE") {
                continue;
            }
            operations += 1;
            let r = s
                .client
                .request(m, s.url(&concrete))
                .bearer_auth(&admin)
                .json(&json!({}))
                .send()
                .await
                .expect("request");
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            // No handler answers 405: only the router does, for a path without that method.
            if (status == 404 && text.contains("route ")) || status == 405 {
                unknown.insert(format!("{method} {path}"), format!("{status} {text}"));
            }
        }
    }
    assert!(operations >= 87, "only {operations} operations documented");
    assert!(unknown.is_empty(), "documented but not served: {unknown:?}");

    // A command's request body is described by a schema with the fields it reads.
    let body = &doc["paths"]["/api/v1/reservations"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    let reference = body["$ref"].as_str().expect("the booking body refers to a schema");
    let name = reference.rsplit('/').next().expect("a schema name");
    let fields = doc["components"]["schemas"][name]["properties"].as_object().expect("properties");
    for field in ["resource_id", "start_time", "end_time"] {
        assert!(fields.contains_key(field), "{name} lacks {field}");
    }
}

on_both_backends!(
    booking_flow,
    sessions_and_login_throttling,
    rate_limits_answer_429,
    concurrent_http_bookings,
    idempotency_key_replays,
    documented_routes_exist,
);
