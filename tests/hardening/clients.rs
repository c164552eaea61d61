//! Who the client is, and what leaves the service about it: forwarding headers are believed
//! only from trusted proxies; links never follow a host a client chose; logs hold no secrets.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use crate::common::*;
use crate::support::*;

/// The audit trail's client addresses of the events after `after`.
async fn audited_ips(s: &Server, admin: &str, position: u64) -> Vec<String> {
    let audit = get_at(s, admin, "/api/v1/audit/logs?limit=500", position).await;
    audit.body["data"]
        .as_array()
        .map(|entries| entries.iter().filter_map(|e| e["client_ip"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

pub async fn forwarded_headers_from_strangers_change_nothing(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start_with(db.url(), &[("RATE_LIMIT_ENABLED", "true"), ("RATE_LIMIT_AUTH", "5/minute")]).await;
    let admin = s.setup_admin().await;

    // A different X-Forwarded-For (or Forwarded) per attempt does not reset the login limit.
    let mut limited = 0;
    for i in 0..12 {
        let mut request =
            s.client.post(s.url("/api/v1/token")).form(&[("username", "admin"), ("password", "wrong-password")]);
        request = if i % 2 == 0 {
            request.header("X-Forwarded-For", format!("198.51.100.{i}"))
        } else {
            request.header("Forwarded", format!("for=203.0.113.{i}"))
        };
        if request.send().await.expect("login").status() == 429 {
            limited += 1;
        }
    }
    assert!(limited >= 5, "forged addresses bypassed the login limit: only {limited} of 12 refused");

    // The audit trail records the peer, not what the client claims.
    let room = resource(&s, &admin, json!({ "name": "Room" })).await;
    let booked = send(
        s.post(
            &admin,
            "/api/v1/reservations",
            json!({ "resource_id": room, "start_time": at(24), "end_time": at(25) }),
        )
        .header("X-Forwarded-For", "6.6.6.6"),
    )
    .await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let ips = audited_ips(&s, &admin, booked.position).await;
    assert!(!ips.is_empty(), "the audit trail records client addresses");
    assert!(ips.iter().all(|ip| ip != "6.6.6.6"), "a forged address reached the audit trail: {ips:?}");
    assert!(ips.iter().any(|ip| ip == "127.0.0.1"), "{ips:?}");

    // Links handed out do not follow a host header a client chose.
    let link = send(
        s.get(&admin, "/api/v1/calendar/subscription-url")
            .header("X-Forwarded-Host", "evil.example")
            .header("X-Forwarded-Proto", "https")
            .header("Host", "evil.example"),
    )
    .await;
    assert_eq!(link.status, 200, "{}", link.body);
    let url = link.body["url"].as_str().unwrap_or_default();
    assert!(url.starts_with(&s.base_url), "{url} should start with {}", s.base_url);
}

pub async fn a_trusted_proxy_names_the_client(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start_with(db.url(), &[("TRUSTED_PROXIES", "127.0.0.0/8, ::1")]).await;
    let admin = s.setup_admin().await;
    let room = resource(&s, &admin, json!({ "name": "Room" })).await;
    let booked = send(
        s.post(
            &admin,
            "/api/v1/reservations",
            json!({ "resource_id": room, "start_time": at(24), "end_time": at(25) }),
        )
        .header("X-Forwarded-For", "6.6.6.6, 198.51.100.7"),
    )
    .await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let ips = audited_ips(&s, &admin, booked.position).await;
    assert!(ips.iter().any(|ip| ip == "198.51.100.7"), "the proxy's client is recorded: {ips:?}");
    assert!(ips.iter().all(|ip| ip != "6.6.6.6"), "only the hop the proxy saw is believed: {ips:?}");

    let link = send(
        s.get(&admin, "/api/v1/calendar/subscription-url")
            .header("X-Forwarded-Host", "reserver.example.com")
            .header("X-Forwarded-Proto", "https"),
    )
    .await;
    let url = link.body["url"].as_str().unwrap_or_default();
    assert!(url.starts_with("https://reserver.example.com/api/v1/calendar/feed/"), "{url}");
}

pub async fn secrets_stay_out_of_the_log(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("server.log");
    let env = [("RUST_LOG", "debug,sqlx=warn,hyper=info,h2=info"), ("WEBHOOKS_ALLOW_PRIVATE", "true")];
    let s = Server::start_logging_to(db.url(), &env, &log).await;
    s.setup_admin().await;

    let login = s.login_response("admin", PASSWORD).await;
    let pair: serde_json::Value = login.json().await.expect("token pair");
    let refresh = pair["refresh_token"].as_str().expect("refresh token").to_string();
    let refreshed =
        send(s.client.post(s.url("/api/v1/token/refresh")).json(&json!({ "refresh_token": refresh }))).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let access = refreshed.body["access_token"].as_str().expect("access").to_string();

    // A WebSocket client that can only put its token in the URL.
    let ws_url = format!("{}/ws?token={access}", s.base_url.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await.expect("ws");
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.next()).await;
    drop(socket);

    // A calendar feed, whose token is in the path.
    let link = get(&s, &access, "/api/v1/calendar/subscription-url").await;
    let feed_token = link.body["token"].as_str().expect("feed token").to_string();
    let feed =
        s.client.get(format!("{}/api/v1/calendar/feed/{feed_token}.ics", s.base_url)).send().await.expect("feed");
    assert_eq!(feed.status(), 200);

    // A webhook with its signing secret.
    let hook = send(s.post(
        &access,
        "/api/v1/webhooks",
        json!({ "url": "http://127.0.0.1:9/hook", "event_types": ["reservation.*"] }),
    ))
    .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let secret = hook.body["secret"].as_str().unwrap_or_default().to_string();

    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = std::fs::read_to_string(&log).expect("read log");
    assert!(text.contains("/ws?token=[redacted]"), "the access log records the request, redacted");
    for (what, secret) in [
        ("password", PASSWORD.to_string()),
        ("access token", access.clone()),
        ("access token signature", access.rsplit('.').next().unwrap_or_default().to_string()),
        ("refresh token", refresh),
        ("feed token", feed_token),
        ("webhook secret", secret),
    ] {
        if secret.len() > 8 {
            assert!(!text.contains(&secret), "the {what} appears in the log");
        }
    }
}
