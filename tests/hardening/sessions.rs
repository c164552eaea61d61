//! Permissions and sessions take effect at once: a role change refuses the old role's tokens
//! and closes open sockets; logout closes sockets; live connections per user are bounded.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::*;
use crate::support::*;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn open_socket(s: &Server, token: &str) -> Result<Socket, u16> {
    let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
        "{}/ws",
        s.base_url.replace("http://", "ws://")
    ))
    .expect("request");
    request.headers_mut().insert("Authorization", format!("Bearer {token}").parse().expect("header"));
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("websocket: {e}"),
    }
}

/// Reads frames until the server closes the socket; returns the close code.
async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        match tokio::time::timeout(Duration::from_secs(3), socket.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => return u16::from(frame.code),
            Ok(Some(Ok(Message::Close(None)))) | Ok(None) | Ok(Some(Err(_))) => return 1006,
            Ok(Some(Ok(_))) => continue,
            Err(_) => panic!("the socket stayed open for 3 s"),
        }
    }
}

pub async fn a_role_change_applies_at_once_to_tokens_and_sockets(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    let admin = s.setup_admin().await;
    let bob = s.user("bob").await;
    let bob_id = user_id(&s, &bob).await;
    let promoted = put(&s, &admin, &format!("/api/v1/users/{bob_id}/role"), json!({ "role": "admin" })).await;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    // The token naming the old role is refused at once; a fresh login carries the new role.
    assert_eq!(get(&s, &bob, "/api/v1/users").await.status, 401);
    let bob_admin = s.login("bob", PASSWORD).await;
    assert_eq!(get(&s, &bob_admin, "/api/v1/users").await.status, 200);

    let mut socket = open_socket(&s, &bob_admin).await.expect("bob's socket");
    let demoted = put(&s, &admin, &format!("/api/v1/users/{bob_id}/role"), json!({ "role": "user" })).await;
    assert_eq!(demoted.status, 200, "{}", demoted.body);
    let refused = get(&s, &bob_admin, "/api/v1/users").await;
    assert_eq!(refused.status, 401, "a demoted admin's token still worked: {}", refused.body);
    assert_eq!(close_code(&mut socket).await, 4003, "the demoted admin's socket was not closed");
}

pub async fn logout_closes_open_sockets(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    s.setup_admin().await;
    let alice = s.user("alice").await;
    let mut socket = open_socket(&s, &alice).await.expect("socket");
    let out = send(request(&s, reqwest::Method::POST, &alice, "/api/v1/logout")).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert_eq!(close_code(&mut socket).await, 4003);
    assert_eq!(open_socket(&s, &alice).await.err(), Some(401), "a logged-out token opens no socket");
}

pub async fn live_connections_per_user_are_capped(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start_with(db.url(), &[("WS_MAX_CONNECTIONS_PER_USER", "2")]).await;
    s.setup_admin().await;
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    let first = open_socket(&s, &alice).await.expect("first");
    let _second = open_socket(&s, &alice).await.expect("second");
    assert_eq!(open_socket(&s, &alice).await.err(), Some(429), "a third socket is refused");
    assert!(open_socket(&s, &bob).await.is_ok(), "the cap is per user");
    drop(first);
    // Closing one frees its place (the server notices the close promptly).
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(socket) = open_socket(&s, &alice).await {
            reopened = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "a closed socket's place was never freed");
}

/// Without SECRET_KEY, replicas of one database sign with the key it generated and keeps: a
/// token from one works on the other, and after a restart.
pub async fn replicas_without_a_secret_key_share_one(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let first = Server::start_with(db.url(), &[("SECRET_KEY", "")]).await;
    let admin = first.setup_admin().await;
    let second = Server::start_with(db.url(), &[("SECRET_KEY", "")]).await;
    assert_eq!(get(&second, &admin, "/api/v1/users/me").await.status, 200, "the other replica accepts the token");
    drop(first);
    let restarted = Server::start_with(db.url(), &[("SECRET_KEY", "")]).await;
    assert_eq!(get(&restarted, &admin, "/api/v1/users/me").await.status, 200, "a restart logs nobody out");
}
