//! OAuth2 clients for integrations against the real `reserver serve` binary, both backends:
//! registering clients (admins only), the client-credentials grant with Basic and form
//! credentials, the scope each route needs, introspection, revocation, secret rotation,
//! disabling, and secrets that never leave the service.

#[macro_use]
mod common;
#[path = "routes/support.rs"]
#[allow(dead_code)]
mod support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use common::*;
use support::*;

on_both_backends!(
    clients_get_tokens_and_scopes_are_enforced,
    introspection_and_revocation,
    rotation_and_disabling_end_access,
    secrets_never_leave_the_service,
    keyed_creates_are_answered_once,
);

/// Registers a client (admin) and returns `(client_id, client_secret)`.
async fn register(s: &Server, admin: &str, name: &str, scopes: &[&str]) -> (String, String) {
    let a = post(s, admin, "/api/v1/oauth/clients", json!({ "name": name, "scopes": scopes })).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["client_id"], a.body["id"]);
    assert_eq!(a.body["scopes"], json!(scopes));
    assert_eq!(a.body["active"], true);
    let secret = a.body["client_secret"].as_str().expect("secret shown once").to_string();
    (a.id(), secret)
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// `POST /oauth/token` with Basic credentials and `fields`.
async fn token_basic(s: &Server, id: &str, secret: &str, fields: &[(&str, &str)]) -> (u16, Option<String>, Value) {
    let r = s
        .client
        .post(s.url("/api/v1/oauth/token"))
        .header("Authorization", basic(id, secret))
        .form(fields)
        .send()
        .await
        .expect("token");
    let status = r.status().as_u16();
    let challenge = r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_string);
    (status, challenge, r.json().await.unwrap_or(Value::Null))
}

/// A token for the client (all its scopes), by form credentials.
async fn client_token(s: &Server, id: &str, secret: &str) -> String {
    let r = s
        .client
        .post(s.url("/api/v1/oauth/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)])
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    body["access_token"].as_str().expect("access token").to_string()
}

async fn form(s: &Server, auth: Option<&str>, path: &str, fields: &[(&str, &str)]) -> Answer {
    let mut request = s.client.post(s.url(path)).form(fields);
    if let Some(auth) = auth {
        request = request.header("Authorization", auth);
    }
    send(request).await
}

pub async fn clients_get_tokens_and_scopes_are_enforced(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let room = resource(&s, &admin, json!({ "name": "Board room" })).await;

    // Only admins register clients; unknown scopes are named.
    let refused = post(&s, &alice, "/api/v1/oauth/clients", json!({ "name": "x", "scopes": ["resources:read"] })).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(get(&s, &alice, "/api/v1/oauth/clients").await.status, 403);
    let unknown =
        post(&s, &admin, "/api/v1/oauth/clients", json!({ "name": "x", "scopes": ["resources:read", "rooms:fly"] }))
            .await;
    assert_eq!((unknown.status, unknown.field()), (422, "scopes"), "{}", unknown.body);
    assert!(
        unknown.body["errors"][0]["message"].as_str().unwrap_or_default().contains("rooms:fly"),
        "{}",
        unknown.body
    );
    let empty = post(&s, &admin, "/api/v1/oauth/clients", json!({ "name": "x", "scopes": [] })).await;
    assert_eq!((empty.status, empty.field()), (422, "scopes"));

    let (reader, reader_secret) = register(&s, &admin, "door-display", &["resources:read"]).await;
    let (booker, booker_secret) =
        register(&s, &admin, "booking-bot", &["resources:read", "reservations:read", "reservations:write"]).await;

    // Basic credentials.
    let (status, _, body) = token_basic(&s, &reader, &reader_secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["token_type"].as_str(), body["scope"].as_str()), (Some("bearer"), Some("resources:read")));
    assert!(body["expires_in"].as_i64().is_some_and(|s| s > 0), "{body}");
    let reader_token = body["access_token"].as_str().expect("token").to_string();

    // Form credentials.
    let booker_token = client_token(&s, &booker, &booker_secret).await;

    // The spec's error bodies.
    let (status, challenge, body) =
        token_basic(&s, &reader, "rcs_wrong", &[("grant_type", "client_credentials")]).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    assert!(challenge.is_some_and(|c| c.starts_with("Basic")));
    let (status, _, body) = token_basic(&s, &reader, &reader_secret, &[("grant_type", "password")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")), "{body}");
    let (status, _, body) = token_basic(&s, &reader, &reader_secret, &[]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    let (status, _, body) = token_basic(
        &s,
        &reader,
        &reader_secret,
        &[("grant_type", "client_credentials"), ("scope", "reservations:write")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
    let anonymous = form(&s, None, "/api/v1/oauth/token", &[("grant_type", "client_credentials")]).await;
    assert_eq!((anonymous.status, anonymous.body["error"].as_str()), (401, Some("invalid_client")));

    // Narrowing a token's scope.
    let (status, _, body) =
        token_basic(&s, &booker, &booker_secret, &[("grant_type", "client_credentials"), ("scope", "resources:read")])
            .await;
    assert_eq!((status, body["scope"].as_str()), (200, Some("resources:read")), "{body}");
    let narrowed = body["access_token"].as_str().expect("token").to_string();

    // resources:read reads the catalog.
    let list = get(&s, &reader_token, "/api/v1/resources").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.to_string().contains(&room));
    assert_eq!(get(&s, &reader_token, &format!("/api/v1/resources/{room}")).await.status, 200);

    // A write with too few scopes is refused naming the missing scope, and appends nothing.
    let head = log_head(&s).await;
    for token in [&reader_token, &narrowed] {
        let refused = book(&s, token, &room, &day_at(7, 10), &day_at(7, 11)).await;
        assert_eq!((refused.status, refused.problem_type()), (403, "insufficient-scope"), "{}", refused.body);
        assert_eq!(refused.body["scope"], "reservations:write");
        assert!(refused.body["detail"].as_str().unwrap_or_default().contains("reservations:write"));
    }
    let refused = get(&s, &reader_token, "/api/v1/reservations/my").await;
    assert_eq!((refused.status, refused.body["scope"].as_str()), (403, Some("reservations:read")));
    assert_eq!(log_head(&s).await, head);

    // Account and admin routes are never a client's.
    for path in ["/api/v1/users/me", "/api/v1/users/me/sessions", "/api/v1/oauth/clients", "/api/v1/users"] {
        let refused = get(&s, &booker_token, path).await;
        assert_eq!((refused.status, refused.problem_type()), (403, "forbidden"), "{path}: {}", refused.body);
    }
    let refused = post(&s, &booker_token, "/api/v1/resources", json!({ "name": "Sneaky" })).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let refused = post(
        &s,
        &booker_token,
        "/api/v1/users/me/password",
        json!({ "current_password": "x", "new_password": "Another-Horse-7-Battery" }),
    )
    .await;
    assert_eq!(refused.status, 403);

    // With reservations:write the client books as itself, and the audit trail names it.
    let booked = book(&s, &booker_token, &room, &day_at(7, 10), &day_at(7, 11)).await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let reservation = booked.id();
    let mine = get_at(&s, &booker_token, "/api/v1/reservations/my", booked.position).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert!(mine.body.to_string().contains(&reservation), "{}", mine.body);
    let audit = get_at(&s, &admin, "/api/v1/audit/logs?limit=500", booked.position).await;
    let entry = audit.body["data"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["position"].as_u64() == Some(booked.position))
        .cloned()
        .unwrap_or_else(|| panic!("no audit entry at {}: {}", booked.position, audit.body));
    assert_eq!(entry["actor"].as_str(), Some(booker.as_str()), "{entry}");

    // The listing shows both clients, never a secret.
    let listed = get(&s, &admin, "/api/v1/oauth/clients").await;
    assert_eq!(listed.status, 200);
    let clients = listed.body["data"].as_array().expect("data");
    assert_eq!(clients.len(), 2);
    assert!(clients.iter().all(|c| c.get("client_secret").is_none()), "{}", listed.body);
    let text = listed.body.to_string();
    assert!(!text.contains(&reader_secret) && !text.contains(&booker_secret));
    assert!(!text.contains("secret_hash"));
}

pub async fn introspection_and_revocation(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let (id, secret) = register(&s, &admin, "sensor", &["resources:read", "reservations:read"]).await;
    let (other, other_secret) = register(&s, &admin, "other", &["resources:read"]).await;
    let token = client_token(&s, &id, &secret).await;
    let creds = basic(&id, &secret);

    // The client itself (Basic), and an admin (bearer).
    let own = form(&s, Some(&creds), "/api/v1/oauth/introspect", &[("token", &token)]).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body["active"], true);
    assert_eq!(own.body["client_id"].as_str(), Some(id.as_str()));
    assert_eq!(own.body["scope"], "resources:read reservations:read");
    assert_eq!(own.body["token_type"], "bearer");
    assert!(own.body["exp"].as_i64() > own.body["iat"].as_i64());
    let by_admin = form(&s, Some(&format!("Bearer {admin}")), "/api/v1/oauth/introspect", &[("token", &token)]).await;
    assert_eq!((by_admin.status, &by_admin.body["active"]), (200, &json!(true)), "{}", by_admin.body);
    // Another client learns nothing of it; garbage is inactive; a plain user may not ask.
    let foreign = form(&s, Some(&basic(&other, &other_secret)), "/api/v1/oauth/introspect", &[("token", &token)]).await;
    assert_eq!(foreign.body, json!({ "active": false }));
    let garbage = form(&s, Some(&creds), "/api/v1/oauth/introspect", &[("token", "not-a-token")]).await;
    assert_eq!(garbage.body, json!({ "active": false }));
    let user = form(&s, Some(&format!("Bearer {alice}")), "/api/v1/oauth/introspect", &[("token", &token)]).await;
    assert_eq!(user.status, 403);
    let unauthenticated = form(&s, None, "/api/v1/oauth/introspect", &[("token", &token)]).await;
    assert_eq!((unauthenticated.status, unauthenticated.body["error"].as_str()), (401, Some("invalid_client")));
    let no_token = form(&s, Some(&creds), "/api/v1/oauth/introspect", &[]).await;
    assert_eq!((no_token.status, no_token.body["error"].as_str()), (400, Some("invalid_request")));

    // Revocation: always 200; the token is refused at once.
    assert_eq!(get(&s, &token, "/api/v1/resources").await.status, 200);
    let second = client_token(&s, &id, &secret).await;
    let revoked = form(&s, Some(&creds), "/api/v1/oauth/revoke", &[("token", &token)]).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let refused = get(&s, &token, "/api/v1/resources").await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    let after = form(&s, Some(&creds), "/api/v1/oauth/introspect", &[("token", &token)]).await;
    assert_eq!(after.body, json!({ "active": false }));
    // Its other token still works; revoking again, or garbage, is still 200.
    assert_eq!(get(&s, &second, "/api/v1/resources").await.status, 200);
    assert_eq!(form(&s, Some(&creds), "/api/v1/oauth/revoke", &[("token", &token)]).await.status, 200);
    assert_eq!(form(&s, Some(&creds), "/api/v1/oauth/revoke", &[("token", "junk")]).await.status, 200);
    // Another client cannot revoke it; an admin can, by bearer, and its live connection closes.
    let foreign = form(&s, Some(&basic(&other, &other_secret)), "/api/v1/oauth/revoke", &[("token", &second)]).await;
    assert_eq!(foreign.status, 200);
    assert_eq!(get(&s, &second, "/api/v1/resources").await.status, 200);
    let url = format!("{}/ws?token={second}", s.base_url.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket handshake");
    let hello = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await.expect("hello");
    assert!(matches!(hello, Some(Ok(Message::Text(ref t))) if t.contains("connected")), "{hello:?}");
    let by_admin = form(&s, Some(&format!("Bearer {admin}")), "/api/v1/oauth/revoke", &[("token", &second)]).await;
    assert_eq!(by_admin.status, 200);
    assert_eq!(get(&s, &second, "/api/v1/resources").await.status, 401);
    let close = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(frame) = socket.next().await {
            if let Ok(Message::Close(close)) = frame {
                return close;
            }
        }
        None
    })
    .await
    .expect("closed within 5 s")
    .expect("a close frame");
    assert_eq!(u16::from(close.code), 4003, "{close:?}");

    // A revoked token stays refused after a restart (the log remembers).
    let third = client_token(&s, &id, &secret).await;
    assert_eq!(form(&s, Some(&creds), "/api/v1/oauth/revoke", &[("token", &third)]).await.status, 200);
    drop(s);
    let s = Server::start(db.url()).await;
    assert_eq!(get(&s, &third, "/api/v1/resources").await.status, 401);
    assert_eq!(get(&s, &client_token(&s, &id, &secret).await, "/api/v1/resources").await.status, 200);
}

pub async fn rotation_and_disabling_end_access(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let (id, old_secret) = register(&s, &admin, "kiosk", &["resources:read"]).await;
    let old_token = client_token(&s, &id, &old_secret).await;

    // Rotation: the new secret is shown once; the old one, and its tokens, stop working.
    let rotate = format!("/api/v1/oauth/clients/{id}/rotate-secret");
    assert_eq!(post(&s, &alice, &rotate, json!({})).await.status, 403);
    let rotated = send(request(&s, Method::POST, &admin, &rotate)).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_secret = rotated.body["client_secret"].as_str().expect("new secret").to_string();
    assert_ne!(new_secret, old_secret);
    assert!(rotated.body["secret_rotated_at"].is_string());
    let (status, _, body) = token_basic(&s, &id, &old_secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    assert_eq!(get(&s, &old_token, "/api/v1/resources").await.status, 401);
    let token = client_token(&s, &id, &new_secret).await;
    assert_eq!(get(&s, &token, "/api/v1/resources").await.status, 200);

    // Disabling: its token is refused at once, and it gets no new ones.
    let path = format!("/api/v1/oauth/clients/{id}");
    assert_eq!(delete(&s, &alice, &path).await.status, 403);
    assert_eq!(delete(&s, &admin, "/api/v1/oauth/clients/00000000-0000-4000-8000-000000000000").await.status, 404);
    let disabled = delete(&s, &admin, &path).await;
    assert_eq!(disabled.status, 204);
    assert_eq!(get(&s, &token, "/api/v1/resources").await.status, 401);
    let (status, _, body) = token_basic(&s, &id, &new_secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    assert_eq!(delete(&s, &admin, &path).await.status, 204, "disabling again changes nothing");
    let again = send(request(&s, Method::POST, &admin, &rotate)).await;
    assert_eq!((again.status, again.problem_type()), (409, "client-disabled"));
    let listed = get(&s, &admin, "/api/v1/oauth/clients").await;
    assert_eq!(listed.body["data"][0]["active"], false, "{}", listed.body);
    assert!(listed.body["data"][0]["disabled_at"].is_string());
}

pub async fn secrets_never_leave_the_service(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let (id, first) = register(&s, &admin, "auditor-bot", &["audit:read"]).await;
    let rotated = send(request(&s, Method::POST, &admin, &format!("/api/v1/oauth/clients/{id}/rotate-secret"))).await;
    let second = rotated.body["client_secret"].as_str().expect("secret").to_string();
    let token = client_token(&s, &id, &second).await;

    // The log holds only hashes, and every outward path redacts them.
    let events = s.get(&admin, "/api/v1/events?limit=100000").send().await.expect("events");
    let events = events.text().await.expect("text");
    assert!(events.contains("oauth_client_registered") && events.contains("oauth_client_secret_rotated"));
    assert!(events.lines().filter(|l| l.contains("oauth_client_")).all(|l| l.contains("[redacted]")), "{events}");
    let mut outward = vec![events];
    for path in ["/api/v1/audit/logs?limit=500", "/api/v1/audit/export/csv", "/api/v1/audit/export/json"] {
        let r = s.get(&admin, path).send().await.expect("audit");
        assert_eq!(r.status(), 200, "{path}");
        outward.push(r.text().await.expect("text"));
    }
    // audit:read lets the client read the trail too (as an auditor), and nothing of webhooks.
    let r = s.get(&token, "/api/v1/audit/logs").send().await.expect("audit");
    assert_eq!(r.status(), 200);
    outward.push(r.text().await.expect("text"));
    let refused = get(&s, &token, "/api/v1/webhooks").await;
    assert_eq!((refused.status, refused.body["scope"].as_str()), (403, Some("webhooks:manage")), "{}", refused.body);
    let (hooks, hooks_secret) = register(&s, &admin, "hook-admin", &["webhooks:manage"]).await;
    let hooks_token = client_token(&s, &hooks, &hooks_secret).await;
    let listed = get(&s, &hooks_token, "/api/v1/webhooks").await;
    assert_eq!((listed.status, &listed.body["data"]), (200, &json!([])), "{}", listed.body);
    let refused = get(&s, &hooks_token, "/api/v1/audit/logs").await;
    assert_eq!((refused.status, refused.body["scope"].as_str()), (403, Some("audit:read")));
    outward.push(get(&s, &admin, "/api/v1/oauth/clients").await.body.to_string());
    let hashes: Vec<String> = [&first, &second]
        .iter()
        .map(|secret| {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(secret.as_bytes()))
        })
        .collect();
    for text in &outward {
        for secret in [&first, &second].into_iter().chain(hashes.iter()) {
            assert!(!text.contains(secret.as_str()), "a secret or its hash left the service: {text}");
        }
        assert!(!text.contains(&token));
    }
}

/// `POST` with an `Idempotency-Key`.
async fn keyed(s: &Server, token: &str, path: &str, key: &str, body: Value) -> Answer {
    send(request(s, Method::POST, token, path).header("Idempotency-Key", key).json(&body)).await
}

/// Creates that do not go through a reservation honour `Idempotency-Key` as bookings do: the
/// same key and body answer again with what the first attempt created (nothing new), the same
/// key with another body is `422 idempotency-key-reused`.
async fn keyed_creates_are_answered_once(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start_with(db.url(), &[("WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let reused = |a: &Answer| {
        assert_eq!((a.status, a.problem_type()), (422, "idempotency-key-reused"), "{}", a.body);
    };

    // OAuth2 clients: one client, the same secret, and that secret works.
    let client = json!({ "name": "Door panel", "scopes": ["resources:read"] });
    let first = keyed(&s, &admin, "/api/v1/oauth/clients", "client-1", client.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = keyed(&s, &admin, "/api/v1/oauth/clients", "client-1", client).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!((again.id(), &again.body["client_secret"]), (first.id(), &first.body["client_secret"]));
    let other = json!({ "name": "Kiosk", "scopes": ["resources:read"] });
    reused(&keyed(&s, &admin, "/api/v1/oauth/clients", "client-1", other).await);
    let listed = get(&s, &admin, "/api/v1/oauth/clients").await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(1), "{}", listed.body);
    let secret = first.body["client_secret"].as_str().expect("secret");
    assert!(!client_token(&s, &first.id(), secret).await.is_empty());
    // Without a key, every registration is a new client.
    let unkeyed = post(&s, &admin, "/api/v1/oauth/clients", json!({ "name": "Kiosk", "scopes": ["audit:read"] })).await;
    assert_eq!(unkeyed.status, 201);
    assert_ne!(unkeyed.body["client_secret"], first.body["client_secret"]);

    // Webhook endpoints.
    let hook = json!({ "url": "http://127.0.0.1:9/hook", "event_types": ["reservation.created"] });
    let first = keyed(&s, &admin, "/api/v1/webhooks", "hook-1", hook.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = keyed(&s, &admin, "/api/v1/webhooks", "hook-1", hook).await;
    assert_eq!((again.status, again.id(), &again.body["secret"]), (201, first.id(), &first.body["secret"]));
    let other = json!({ "url": "http://127.0.0.1:9/other", "event_types": ["reservation.created"] });
    reused(&keyed(&s, &admin, "/api/v1/webhooks", "hook-1", other).await);
    let hooks = get(&s, &admin, &format!("/api/v1/webhooks?min_position={}", first.position)).await;
    assert_eq!(hooks.body["data"].as_array().map(Vec::len), Some(1), "{}", hooks.body);

    // Resource groups.
    let group = json!({ "name": "Annex" });
    let first = keyed(&s, &admin, "/api/v1/resource-groups", "group-1", group.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = keyed(&s, &admin, "/api/v1/resource-groups", "group-1", group).await;
    assert_eq!((again.status, again.id()), (201, first.id()));
    reused(&keyed(&s, &admin, "/api/v1/resource-groups", "group-1", json!({ "name": "Other" })).await);
    let groups = get(&s, &admin, &format!("/api/v1/resource-groups?min_position={}", again.position)).await;
    assert_eq!(groups.body.as_array().map(Vec::len), Some(1), "{}", groups.body);

    // Blackouts, and waitlist entries.
    let room = post(&s, &admin, "/api/v1/resources", json!({ "name": "Room" })).await.id();
    let blackout = json!({ "start_time": at(24), "end_time": at(26), "reason": "works" });
    let path = format!("/api/v1/resources/{room}/blackout-dates");
    let first = keyed(&s, &admin, &path, "blackout-1", blackout.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = keyed(&s, &admin, &path, "blackout-1", blackout).await;
    assert_eq!((again.status, again.id()), (201, first.id()));
    let booked = post(
        &s,
        &admin,
        "/api/v1/reservations",
        json!({ "resource_id": room, "start_time": at(30), "end_time": at(31) }),
    )
    .await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let wait = json!({ "resource_id": room, "desired_start": at(30), "desired_end": at(31) });
    let first = keyed(&s, &alice, "/api/v1/waitlist", "wait-1", wait.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = keyed(&s, &alice, "/api/v1/waitlist", "wait-1", wait).await;
    assert_eq!((again.status, again.id()), (201, first.id()));
    let mine = get(&s, &alice, &format!("/api/v1/waitlist?min_position={}", again.position)).await;
    assert_eq!(mine.body.as_array().map(Vec::len), Some(1), "{}", mine.body);
}
