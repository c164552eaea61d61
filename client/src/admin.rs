//! Administration and oversight: accounts, roles, quotas, OAuth2 clients, webhooks, the audit
//! trail, the event log, analytics and health.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::accounts::ListOf;
use crate::error::Error;
use crate::http::{Call, Client};
use crate::wire::{Page, PageRequest};

/// An account (`GET /users`, admins).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    #[serde(alias = "id")]
    pub user_id: Uuid,
    pub username: String,
    pub role: String,
    #[serde(default)]
    pub registered_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub locked_until: Option<DateTime<Utc>>,
}

/// A webhook endpoint (admins). `secret` only in the answer that creates or rotates it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub disabled_reason: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

/// One delivery of an event to a webhook, with its attempts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    pub id: Uuid,
    pub event_type: String,
    pub status: String,
    #[serde(default)]
    pub attempt_count: u32,
    #[serde(default)]
    pub position: u64,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub attempts: Vec<Value>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    pub position: u64,
    pub recorded_at: DateTime<Utc>,
    pub action: String,
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub resource_id: Option<Uuid>,
    #[serde(default)]
    pub client_ip: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Filters of the audit trail.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub page: PageRequest,
}

impl AuditFilter {
    fn apply(&self, mut call: Call) -> Call {
        call = call
            .query_opt("actor", self.actor.as_ref())
            .query_opt("action", self.action.as_ref())
            .query_opt("resource_id", self.resource_id)
            .query_opt("from", self.from.map(|t| t.to_rfc3339()))
            .query_opt("to", self.to.map(|t| t.to_rfc3339()));
        call.query.extend(self.page.query());
        call
    }
}

/// The analytics window: the last `days` days, or `start`..`end`.
#[derive(Debug, Clone, Default)]
pub struct AnalyticsWindow {
    pub days: Option<u32>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub resource_id: Option<Uuid>,
}

impl AnalyticsWindow {
    fn apply(&self, call: Call) -> Call {
        call.query_opt("days", self.days)
            .query_opt("start", self.start.map(|t| t.to_rfc3339()))
            .query_opt("end", self.end.map(|t| t.to_rfc3339()))
            .query_opt("resource_id", self.resource_id)
    }
}

impl Client {
    /// `GET /users` (admins).
    pub async fn users(&self) -> Result<Vec<User>, Error> {
        Ok(self.fetch::<ListOf<User>>(Call::get("/api/v1/users")).await?.into_vec())
    }

    /// `PUT /users/{id}/role` (admins).
    pub async fn set_role(&self, user: Uuid, role: &str) -> Result<Value, Error> {
        self.fetch(Call::new(Method::PUT, format!("/api/v1/users/{user}/role")).json(json!({ "role": role }))).await
    }

    /// `POST /users/{id}/unlock` (admins).
    pub async fn unlock_user(&self, user: Uuid) -> Result<Value, Error> {
        self.fetch(Call::post(format!("/api/v1/users/{user}/unlock"))).await
    }

    /// `GET /roles`: each role with what it may do.
    pub async fn roles(&self) -> Result<Vec<Value>, Error> {
        Ok(self.fetch::<ListOf<Value>>(Call::get("/api/v1/roles")).await?.into_vec())
    }

    /// `GET /quotas/my-usage`, or for one account (admins) `GET /quotas/users/{id}`.
    pub async fn quota(&self, user: Option<Uuid>) -> Result<Value, Error> {
        let path = match user {
            Some(id) => format!("/api/v1/quotas/users/{id}"),
            None => "/api/v1/quotas/my-usage".to_string(),
        };
        self.fetch(Call::get(path)).await
    }

    /// `PATCH /quotas/users/{id}` (admins): the account's own daily limit (`Some`, 0 for
    /// unlimited), or back to its tier's default (`None`). Answers its usage.
    pub async fn set_quota(&self, user: Uuid, daily_limit: Option<u64>) -> Result<Value, Error> {
        let call = Call::new(Method::PATCH, format!("/api/v1/quotas/users/{user}"));
        self.fetch(call.json(json!({ "daily_limit": daily_limit }))).await
    }

    /// `GET /oauth/clients` (admins).
    pub async fn oauth_clients(&self) -> Result<Vec<Value>, Error> {
        Ok(self.fetch::<ListOf<Value>>(Call::get("/api/v1/oauth/clients")).await?.into_vec())
    }

    /// `POST /oauth/clients`: the answer carries the secret, once.
    pub async fn create_oauth_client(&self, name: &str, scopes: &[String]) -> Result<Value, Error> {
        let body = json!({ "name": name, "scopes": scopes });
        self.fetch(Call::post("/api/v1/oauth/clients").idempotent().json(body)).await
    }

    /// `POST /oauth/clients/{id}/rotate-secret`.
    pub async fn rotate_oauth_client(&self, id: &str) -> Result<Value, Error> {
        self.fetch(Call::post(format!("/api/v1/oauth/clients/{id}/rotate-secret"))).await
    }

    /// `DELETE /oauth/clients/{id}`: disables the client.
    pub async fn disable_oauth_client(&self, id: &str) -> Result<(), Error> {
        self.send(&Call::new(Method::DELETE, format!("/api/v1/oauth/clients/{id}"))).await?;
        Ok(())
    }

    /// `GET /webhooks` (admins).
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, Error> {
        Ok(self.fetch::<ListOf<Webhook>>(Call::get("/api/v1/webhooks")).await?.into_vec())
    }

    /// `POST /webhooks`: the answer carries the signing secret, once.
    pub async fn create_webhook(
        &self,
        url: &str,
        event_types: &[String],
        description: Option<&str>,
    ) -> Result<Webhook, Error> {
        let body = json!({ "url": url, "event_types": event_types, "description": description });
        self.fetch(Call::post("/api/v1/webhooks").json(body)).await
    }

    /// `POST /webhooks/{id}/test`: queues a `webhook.test` ping.
    pub async fn test_webhook(&self, id: Uuid) -> Result<Value, Error> {
        self.fetch(Call::post(format!("/api/v1/webhooks/{id}/test"))).await
    }

    /// `GET /webhooks/{id}/deliveries`, newest first.
    pub async fn deliveries(
        &self,
        id: Uuid,
        status: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<Delivery>, Error> {
        let mut call = Call::get(format!("/api/v1/webhooks/{id}/deliveries")).query_opt("status", status);
        call.query.extend(page.query());
        self.fetch(call).await
    }

    /// `POST /webhooks/{id}/deliveries/{delivery}/redeliver`.
    pub async fn redeliver(&self, id: Uuid, delivery: Uuid) -> Result<Value, Error> {
        self.fetch(Call::post(format!("/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver"))).await
    }

    /// `POST /webhooks/{id}/rotate-secret` at the endpoint's current version.
    pub async fn rotate_webhook_secret(&self, id: Uuid) -> Result<Value, Error> {
        let response = self.fetch_response(Call::get(format!("/api/v1/webhooks/{id}"))).await?;
        let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut call = Call::post(format!("/api/v1/webhooks/{id}/rotate-secret"));
        if let Some(etag) = etag {
            call = call.header("If-Match", etag);
        }
        self.fetch(call).await
    }

    /// `GET /audit/logs` (auditors).
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Page<AuditEntry>, Error> {
        self.fetch(filter.apply(Call::get("/api/v1/audit/logs"))).await
    }

    /// `GET /audit/export/csv` or `/json`, as a response to stream.
    pub async fn audit_export(&self, filter: &AuditFilter, json: bool) -> Result<reqwest::Response, Error> {
        let path = if json { "/api/v1/audit/export/json" } else { "/api/v1/audit/export/csv" };
        self.fetch_response(filter.apply(Call::get(path))).await
    }

    /// `GET /events?from_position=N&limit=L`: NDJSON, one event per line (auditors).
    pub async fn events_page(&self, from_position: u64, limit: u32) -> Result<Vec<Value>, Error> {
        let call = Call::get("/api/v1/events").query("from_position", from_position).query("limit", limit);
        let text = self.fetch_text(call).await?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .map_err(|e| Error::Decode { url: "/api/v1/events".into(), message: e.to_string() })
            })
            .collect()
    }

    /// `GET /analytics/utilization`: `{by_day, by_hour_of_week}`.
    pub async fn utilization(&self, window: &AnalyticsWindow) -> Result<Value, Error> {
        self.fetch(window.apply(Call::get("/api/v1/analytics/utilization"))).await
    }

    /// `GET /analytics/dashboard`: popular resources, peak times, no-shows.
    pub async fn dashboard(&self, window: &AnalyticsWindow) -> Result<Value, Error> {
        self.fetch(window.apply(Call::get("/api/v1/analytics/dashboard"))).await
    }

    /// `GET /analytics/export/utilization.csv`.
    pub async fn utilization_csv(&self, window: &AnalyticsWindow) -> Result<reqwest::Response, Error> {
        self.fetch_response(window.apply(Call::get("/api/v1/analytics/export/utilization.csv"))).await
    }

    /// `GET /health` and `GET /ready`, merged.
    pub async fn status(&self) -> Result<Map<String, Value>, Error> {
        let mut health: Map<String, Value> = self.fetch(Call::get("/health").anonymous()).await?;
        match self.fetch::<Map<String, Value>>(Call::get("/ready").anonymous()).await {
            Ok(ready) => {
                health.insert("ready".into(), Value::Bool(true));
                if let Some(p) = ready.get("log_position") {
                    health.insert("log_position".into(), p.clone());
                }
            }
            Err(_) => {
                health.insert("ready".into(), Value::Bool(false));
            }
        }
        Ok(health)
    }

    /// Whether the server's OpenAPI document names `needle` under `pointer` (a JSON pointer
    /// into the document), e.g. a `dry_run` parameter; `false` if the document is unreachable.
    pub async fn documents(&self, pointer: &str, needle: &str) -> bool {
        let Ok(doc) = self.fetch::<Value>(Call::get("/openapi.json").anonymous()).await else { return false };
        doc.pointer(pointer).is_some_and(|v| v.to_string().contains(needle))
    }
}
