//! WebSocket `/ws` against the real server with a real WebSocket client, on both backends:
//! filtering by audience, resume from a position with nothing missed, heartbeats, refusing
//! bad tokens, and closing a subscriber that does not keep up.

mod common;

use std::time::Duration;

use chrono::{DurationRound, Utc};
use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn at(hours: i64) -> String {
    let base = Utc::now().duration_trunc(chrono::Duration::hours(1)).unwrap_or_else(|_| Utc::now());
    (base + chrono::Duration::hours(hours)).to_rfc3339()
}

async fn connect(s: &Server, query: &str) -> Socket {
    let url = format!("{}/ws?{query}", s.base_url.replace("http://", "ws://"));
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket handshake");
    socket
}

/// The next JSON text frame (answering nothing; tungstenite answers pings itself).
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("socket open")
            .expect("frame");
        match frame {
            Message::Text(text) => return serde_json::from_str(&text).expect("json frame"),
            Message::Close(close) => panic!("closed: {close:?}"),
            _ => {}
        }
    }
}

/// Frames until one of type `kind` arrives; returns all event frames seen, in order.
async fn until(socket: &mut Socket, kind: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let frame = next_json(socket).await;
        let done = frame["type"] == kind;
        seen.push(frame);
        if done {
            return seen;
        }
    }
}

async fn create_resource(s: &Server, admin: &str, name: &str) -> String {
    let r = s.post(admin, "/api/v1/resources", json!({ "name": name })).send().await.expect("create");
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string()
}

async fn book(s: &Server, token: &str, resource: &str, hour: i64) -> String {
    let r = s
        .post(
            token,
            "/api/v1/reservations",
            json!({ "resource_id": resource, "start_time": at(hour), "end_time": at(hour + 1) }),
        )
        .send()
        .await
        .expect("book");
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string()
}

async fn live(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start_with(db.url(), &[("WS_HEARTBEAT_MS", "300")]).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    let room = create_resource(&s, &admin, "Room").await;
    // Stays available while `room` goes into maintenance.
    let desk = create_resource(&s, &admin, "Desk").await;

    // A bad token never gets a socket.
    let refused =
        tokio_tungstenite::connect_async(format!("{}/ws?token=forged", s.base_url.replace("http://", "ws://")))
            .await
            .expect_err("refused");
    assert!(refused.to_string().contains("401"), "{refused}");

    let mut alice_socket = connect(&s, &format!("token={alice}")).await;
    let mut admin_socket = connect(&s, &format!("token={admin}")).await;
    let hello = next_json(&mut alice_socket).await;
    assert_eq!(hello["type"], "connected");
    next_json(&mut admin_socket).await;

    // Alice sees her own booking and the resource change, not Bob's booking; the admin sees all.
    let bobs = book(&s, &bob, &room, 10).await;
    let alices = book(&s, &alice, &room, 12).await;
    let r = s
        .client
        .put(s.url(&format!("/api/v1/resources/{room}/status")))
        .bearer_auth(&admin)
        .json(&json!({ "status": "maintenance" }))
        .send()
        .await
        .expect("status");
    assert_eq!(r.status(), 200);
    let seen = until(&mut alice_socket, "resource_status_changed").await;
    let kinds: Vec<_> = seen.iter().map(|f| f["type"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(kinds, ["reservation_created", "resource_status_changed"], "{seen:?}");
    assert_eq!(seen[0]["data"]["reservation_id"], alices.as_str());
    assert_eq!(seen[0]["event"], "reservation.created");
    assert!(seen[0]["position"].as_u64().expect("position") < seen[1]["position"].as_u64().expect("position"));
    let admin_seen = until(&mut admin_socket, "resource_status_changed").await;
    let booked: Vec<_> = admin_seen
        .iter()
        .filter(|f| f["type"] == "reservation_created")
        .map(|f| f["data"]["reservation_id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(booked, [bobs.clone(), alices.clone()]);

    // Heartbeats: the server pings on its interval.
    let ping = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match admin_socket.next().await {
                Some(Ok(Message::Ping(_))) => return true,
                Some(Ok(_)) => {}
                _ => return false,
            }
        }
    })
    .await;
    assert_eq!(ping, Ok(true), "a ping within 5 s");

    // Resume: disconnect, miss some events, reconnect from the last position seen.
    let last = seen[1]["position"].as_u64().expect("position");
    alice_socket.close(None).await.expect("close");
    drop(alice_socket);
    let mut missed = Vec::new();
    for hour in [20, 22, 24] {
        missed.push(book(&s, &alice, &desk, hour).await);
    }
    let cancelled =
        s.post(&alice, &format!("/api/v1/reservations/{}/cancel", missed[0]), json!({})).send().await.expect("cancel");
    assert_eq!(cancelled.status(), 200);
    book(&s, &bob, &desk, 30).await;
    let mut resumed = connect(&s, &format!("token={alice}&from_position={last}")).await;
    assert_eq!(next_json(&mut resumed).await["from_position"], last);
    let replay = until(&mut resumed, "reservation_cancelled").await;
    let ids: Vec<_> = replay.iter().map(|f| f["data"]["reservation_id"].as_str().unwrap_or_default()).collect();
    assert_eq!(ids, [missed[0].as_str(), &missed[1], &missed[2], &missed[0]], "{replay:?}");
    let positions: Vec<_> = replay.iter().filter_map(|f| f["position"].as_u64()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]) && positions[0] > last, "{positions:?}");
    // ... and then it is live.
    let after = book(&s, &alice, &desk, 34).await;
    let next = next_json(&mut resumed).await;
    assert_eq!(
        (next["type"].as_str(), next["data"]["reservation_id"].as_str()),
        (Some("reservation_created"), Some(after.as_str()))
    );

    // A type filter and a resource filter.
    let other = create_resource(&s, &admin, "Other").await;
    let mut filtered = connect(&s, &format!("token={admin}&types=reservation.cancelled&resource_id={other}")).await;
    next_json(&mut filtered).await;
    book(&s, &alice, &desk, 40).await;
    let doomed = book(&s, &alice, &other, 40).await;
    let r = s.post(&alice, &format!("/api/v1/reservations/{doomed}/cancel"), json!({})).send().await.expect("cancel");
    assert_eq!(r.status(), 200);
    let only = next_json(&mut filtered).await;
    assert_eq!(
        (only["type"].as_str(), only["data"]["reservation_id"].as_str()),
        (Some("reservation_cancelled"), Some(doomed.as_str()))
    );
    let _ = filtered.send(Message::Close(None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_live_events() {
    live(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_live_events() {
    live(Backend::Postgres).await;
}

/// A subscriber that stops reading is closed with 4008 and told where to resume, instead of
/// the server buffering for it.
async fn slow_consumer(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start_with(db.url(), &[("WS_BUFFER_EVENTS", "8"), ("WS_SEND_TIMEOUT_MS", "300")]).await;
    let admin = s.setup_admin().await;
    let room = create_resource(&s, &admin, "Busy").await;
    // A tiny receive window, so the socket backs up after a few frames.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(2048).expect("rcvbuf");
    let stream = socket.connect(s.base_url.trim_start_matches("http://").parse().expect("addr")).await.expect("tcp");
    let url = format!("{}/ws?token={admin}", s.base_url.replace("http://", "ws://"));
    let (mut slow, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)).await.expect("handshake");
    let mut bookings = Vec::new();
    for i in 0..400 {
        bookings.push(
            s.post(
                &admin,
                "/api/v1/reservations",
                json!({ "resource_id": room, "start_time": at(100 + 2 * i), "end_time": at(101 + 2 * i) }),
            )
            .send(),
        );
    }
    for r in futures::future::join_all(bookings).await {
        assert_eq!(r.expect("book").status(), 201);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Now read: some events, then a close frame naming the code and the resume position.
    let close = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(frame) = slow.next().await {
            match frame {
                Ok(Message::Close(close)) => return close,
                Ok(_) => {}
                Err(e) => panic!("socket error before the close frame: {e}"),
            }
        }
        None
    })
    .await
    .expect("closed within 20 s")
    .expect("a close frame");
    assert_eq!(close.code, CloseCode::from(4008));
    assert!(close.reason.contains("from_position="), "{}", close.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_slow_consumer_is_closed() {
    slow_consumer(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_slow_consumer_is_closed() {
    slow_consumer(Backend::Postgres).await;
}
