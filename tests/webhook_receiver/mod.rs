//! A real HTTP endpoint for webhook tests: it verifies each message's Standard Webhooks
//! signature against the secrets it was told to trust, records what it got, and answers 200
//! — or 500 while told to fail, or 401 when no signature verifies.
#![allow(dead_code)]

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use reserver_webhooks::signing::{verify, Secret, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use serde_json::Value;

/// One request the endpoint received.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signatures: String,
    pub raw: Vec<u8>,
    pub body: Value,
    /// Some trusted secret verified it.
    pub verified: bool,
    /// What the endpoint answered.
    pub status: u16,
    pub at: Instant,
}

impl Received {
    pub fn event_type(&self) -> &str {
        self.body["type"].as_str().unwrap_or_default()
    }
}

#[derive(Default)]
struct State {
    secrets: Vec<Secret>,
    fail_next: u32,
    always_fail: bool,
    delay: Duration,
    received: Vec<Received>,
}

pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<State>>,
    handle: actix_web::dev::ServerHandle,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn header(req: &HttpRequest, name: &str) -> String {
    req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

async fn hook(req: HttpRequest, body: web::Bytes, state: web::Data<Arc<Mutex<State>>>) -> HttpResponse {
    let delay = lock(&state).delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (id, timestamp, signatures) =
        (header(&req, HEADER_ID), header(&req, HEADER_TIMESTAMP), header(&req, HEADER_SIGNATURE));
    let now = chrono::Utc::now().timestamp();
    let mut state = lock(&state);
    let verified = state.secrets.iter().any(|s| verify(s, &id, &timestamp, &signatures, &body, now, 300).is_ok());
    let status = if state.always_fail || state.fail_next > 0 {
        state.fail_next = state.fail_next.saturating_sub(1);
        500
    } else if verified {
        200
    } else {
        401
    };
    state.received.push(Received {
        id,
        timestamp,
        signatures,
        raw: body.to_vec(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        verified,
        status,
        at: Instant::now(),
    });
    match status {
        200 => HttpResponse::Ok().body("thanks"),
        401 => HttpResponse::Unauthorized().body("bad signature"),
        _ => HttpResponse::InternalServerError().body("not now"),
    }
}

impl Receiver {
    /// Listens on 127.0.0.1 on a free port; the URL is `http://127.0.0.1:PORT/hook`.
    pub async fn start() -> Receiver {
        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(hook)))
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .expect("bind receiver");
        let port = server.addrs().first().expect("receiver address").port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver { url: format!("http://127.0.0.1:{port}/hook"), state, handle }
    }

    /// Accept messages signed with this secret (`whsec_…`).
    pub fn trust(&self, secret: &str) {
        lock(&self.state).secrets.push(Secret::parse(secret).expect("secret"));
    }

    /// Answer 500 to the next `n` requests.
    pub fn fail_next(&self, n: u32) {
        lock(&self.state).fail_next = n;
    }

    /// Answer 500 to everything.
    pub fn always_fail(&self) {
        lock(&self.state).always_fail = true;
    }

    /// Take this long to answer.
    pub fn slow(&self, delay: Duration) {
        lock(&self.state).delay = delay;
    }

    pub fn received(&self) -> Vec<Received> {
        lock(&self.state).received.clone()
    }

    /// Waits until `done` holds for what was received; panics after `timeout`.
    pub async fn wait_until(&self, timeout: Duration, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; received: {:#?}",
                received.iter().map(|r| (r.event_type().to_string(), r.id.clone(), r.status)).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        tokio::spawn(async move { handle.stop(false).await });
    }
}
