//! `reserver-client` used directly, as black-box tests and integrations use it: typed answers,
//! a refused booking as a typed problem, a refused access token refreshed once and handed to
//! the session hook, and the live socket from a position.

use std::sync::{Arc, Mutex};

use chrono::{Duration, DurationRound, Utc};
use reserver_client::live::{Frame, LiveOptions};
use reserver_client::{Client, Error, Session};
use serde_json::json;

use crate::common::*;

pub async fn typed_client_round_trip(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start(db.url()).await;
    reserver_client::install_crypto_provider();
    let anonymous = Client::new(&format!("{}/api/v1/", s.base_url)).expect("client");
    assert!(!anonymous.setup_complete().await.expect("status"));
    anonymous.setup("admin", PASSWORD).await.expect("setup");
    let session = anonymous.login("admin", PASSWORD).await.expect("login").into_session().expect("no MFA");

    // A refused access token is refreshed once, the call sent again, the new pair handed over.
    let stored: Arc<Mutex<Vec<Option<Session>>>> = Arc::default();
    let seen = stored.clone();
    let stale = Session { access_token: "not-a-jwt".into(), ..session.clone() };
    let client = anonymous.clone().with_session(stale).on_session(move |s| seen.lock().unwrap().push(s.cloned()));
    assert_eq!(client.me().await.expect("me after refresh").username, "admin");
    let hooks = stored.lock().unwrap().clone();
    assert_eq!(hooks.len(), 1);
    let fresh = hooks[0].clone().expect("a new session");
    assert_ne!(fresh.refresh_token, session.refresh_token);

    let fields = json!({ "name": "Lab 3", "time_zone": "UTC" }).as_object().cloned().expect("object");
    let lab = client.create_resource(&fields).await.expect("create");
    let start = (Utc::now() + Duration::days(1)).duration_trunc(Duration::hours(1)).expect("hour");
    let booked = client.book(lab.id, start, start + Duration::hours(1)).await.expect("book");
    assert_eq!(booked.status, "confirmed");

    // Taken: a typed problem with the conflict and the alternatives.
    let Err(Error::Problem(p)) = client.book(lab.id, start, start + Duration::hours(1)).await else {
        panic!("a conflict expected")
    };
    assert_eq!((p.status, p.slug(), p.is_refusal()), (409, "conflict", true));
    assert_eq!(p.conflicts[0].reservation_id, booked.id);
    assert!(!p.next_free_slots.is_empty());
    // Not found is a problem too, with the server's words.
    let Err(Error::Problem(missing)) = client.reservation(uuid::Uuid::new_v4()).await else { panic!("404 expected") };
    assert_eq!(missing.status, 404);

    // The reservation is read back at once: reads wait for this client's last write.
    assert!(client.log_position() > 0);
    assert_eq!(client.reservation(booked.id).await.expect("read back").id, booked.id);

    // The live socket replays from a position: the greeting, then the booking's event.
    let mut socket = client
        .subscribe(&LiveOptions {
            from_position: Some(0),
            types: vec!["reservation_created".into()],
            resource_id: None,
        })
        .await
        .expect("subscribe");
    let Some(Ok(Frame::Connected { head, .. })) = socket.next().await else { panic!("greeting expected") };
    assert!(head >= 1);
    let Some(Ok(Frame::Event(event))) = socket.next().await else { panic!("an event expected") };
    assert_eq!(event.kind, "reservation_created");
    assert_eq!(event.data["reservation_id"], json!(booked.id));
    socket.close().await;
}
