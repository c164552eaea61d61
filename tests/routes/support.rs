//! Request and answer helpers for the route scenarios.

use chrono::{DateTime, Duration, DurationRound, NaiveTime, Utc};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

use crate::common::Server;

/// A whole hour `hours` from the current hour, RFC 3339.
pub fn at(hours: i64) -> String {
    let base = Utc::now().duration_trunc(Duration::hours(1)).unwrap_or_else(|_| Utc::now());
    (base + Duration::hours(hours)).to_rfc3339()
}

/// `hour`:00 UTC, `days` days from today, RFC 3339.
pub fn day_at(days: i64, hour: u32) -> String {
    let date = Utc::now().date_naive() + Duration::days(days);
    date.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default()).and_utc().to_rfc3339()
}

/// An instant in a JSON answer (the server writes `Z`, tests write `+00:00`).
pub fn ts(v: &Value) -> DateTime<Utc> {
    let text = v.as_str().unwrap_or_else(|| panic!("not an instant: {v}"));
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}")).with_timezone(&Utc)
}

pub fn instant(text: &str) -> DateTime<Utc> {
    ts(&json!(text))
}

/// For instants in query strings.
pub fn enc(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

/// Status, `X-Log-Position` (0 when absent), `ETag` and JSON body (Null when not JSON).
pub struct Answer {
    pub status: u16,
    pub position: u64,
    pub etag: Option<String>,
    pub body: Value,
}

impl Answer {
    /// The problem `type`'s last segment, e.g. `outside-business-hours`.
    pub fn problem_type(&self) -> &str {
        self.body["type"].as_str().and_then(|t| t.rsplit('/').next()).unwrap_or_default()
    }

    /// The first field a validation problem names.
    pub fn field(&self) -> &str {
        self.body["errors"][0]["field"].as_str().unwrap_or_default()
    }

    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap_or_else(|| panic!("no id in {}", self.body)).to_string()
    }
}

pub async fn send(request: RequestBuilder) -> Answer {
    let r = request.send().await.expect("request");
    let status = r.status().as_u16();
    let header = |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let position = header("X-Log-Position").and_then(|p| p.parse().ok()).unwrap_or(0);
    let etag = header("ETag");
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, position, etag, body }
}

pub fn request(s: &Server, method: Method, token: &str, path: &str) -> RequestBuilder {
    s.client.request(method, s.url(path)).bearer_auth(token)
}

pub async fn get(s: &Server, token: &str, path: &str) -> Answer {
    send(s.get(token, path)).await
}

/// GET that waits for the read models to include `position`.
pub async fn get_at(s: &Server, token: &str, path: &str, position: u64) -> Answer {
    send(s.get(token, path).header("X-Min-Position", position.to_string())).await
}

pub async fn post(s: &Server, token: &str, path: &str, body: Value) -> Answer {
    send(s.post(token, path, body)).await
}

pub async fn put(s: &Server, token: &str, path: &str, body: Value) -> Answer {
    send(request(s, Method::PUT, token, path).json(&body)).await
}

pub async fn patch(s: &Server, token: &str, path: &str, body: Value) -> Answer {
    send(request(s, Method::PATCH, token, path).json(&body)).await
}

pub async fn delete(s: &Server, token: &str, path: &str) -> Answer {
    send(request(s, Method::DELETE, token, path)).await
}

/// Creates a resource from `body` (admin) and returns its id.
pub async fn resource(s: &Server, admin: &str, body: Value) -> String {
    let a = post(s, admin, "/api/v1/resources", body).await;
    assert_eq!(a.status, 201, "{}", a.body);
    a.id()
}

pub async fn book(s: &Server, token: &str, resource_id: &str, start: &str, end: &str) -> Answer {
    post(s, token, "/api/v1/reservations", json!({ "resource_id": resource_id, "start_time": start, "end_time": end }))
        .await
}

/// The log head, to check that a refused request appended nothing.
pub async fn log_head(s: &Server) -> u64 {
    let r = s.client.get(s.url("/ready")).send().await.expect("ready");
    r.json::<Value>().await.expect("json")["log_position"].as_u64().expect("position")
}

pub async fn user_id(s: &Server, token: &str) -> String {
    get(s, token, "/api/v1/users/me").await.id()
}
