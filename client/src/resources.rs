//! Resources, their business hours and blackouts, groups, and CSV import.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::error::Error;
use crate::http::{Body, Call, Client};
use crate::wire::{Page, PageRequest, TimeRange};

/// A bookable resource (`GET /resources/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    pub id: Uuid,
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub group_id: Option<Uuid>,
    pub capacity: u32,
    /// IANA zone of its business hours and local times.
    pub time_zone: String,
    /// `available`, `maintenance` or `retired`.
    pub status: String,
    #[serde(default)]
    pub policy: Map<String, Value>,
    #[serde(default)]
    pub business_hours: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Filters of `GET /resources`.
#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    /// Every tag must be present.
    pub tags: Vec<String>,
    pub status: Option<String>,
    pub kind: Option<String>,
    /// Text search on name and description.
    pub q: Option<String>,
    pub group_id: Option<Uuid>,
    pub include_subgroups: bool,
    pub page: PageRequest,
}

/// The body of `POST /resources` and `PATCH /resources/{id}`: only the members set are sent.
pub type ResourceFields = Map<String, Value>;

/// A blackout period of a resource.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Blackout {
    pub id: Uuid,
    pub range: TimeRange,
    #[serde(default)]
    pub reason: String,
}

/// A resource group, with its subgroups in a tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupNode {
    #[serde(alias = "id")]
    pub group_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    #[serde(default)]
    pub children: Vec<GroupNode>,
}

/// What a CSV upload did, or (dry run) would do.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ImportReport {
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default, alias = "created_count", alias = "valid_count", alias = "valid_rows")]
    pub count: usize,
    #[serde(default)]
    pub created: Vec<Resource>,
    #[serde(default)]
    pub errors: Vec<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Client {
    /// `GET /resources`: one page.
    pub async fn resources(&self, filter: &ResourceFilter) -> Result<Page<Resource>, Error> {
        let mut call = Call::get("/api/v1/resources")
            .query_opt("status", filter.status.as_ref())
            .query_opt("kind", filter.kind.as_ref())
            .query_opt("q", filter.q.as_ref())
            .query_opt("group_id", filter.group_id);
        if !filter.tags.is_empty() {
            call = call.query("tags", filter.tags.join(","));
        }
        if filter.include_subgroups {
            call = call.query("include_subgroups", true);
        }
        call.query.extend(filter.page.query());
        self.fetch(call).await
    }

    /// `GET /resources/{id}` with its ETag (the version `If-Match` wants).
    pub async fn resource(&self, id: Uuid) -> Result<(Resource, Option<String>), Error> {
        let response = self.fetch_response(Call::get(format!("/api/v1/resources/{id}"))).await?;
        let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok((crate::http::decode(response, "/api/v1/resources/{id}").await?, etag))
    }

    /// `POST /resources` (admin).
    pub async fn create_resource(&self, fields: &ResourceFields) -> Result<Resource, Error> {
        let call = Call::post("/api/v1/resources").json(fields);
        // The server applies a request's Idempotency-Key to each command it issues; creating
        // a resource in maintenance issues two, and the second would be refused as a reused
        // key. Only a single-command creation carries one.
        let in_maintenance = fields.get("available").and_then(Value::as_bool) == Some(false);
        self.fetch(if in_maintenance { call } else { call.idempotent() }).await
    }

    /// `PATCH /resources/{id}` (admin) at the version `etag` names.
    pub async fn update_resource(
        &self,
        id: Uuid,
        etag: Option<&str>,
        fields: &ResourceFields,
    ) -> Result<Resource, Error> {
        let mut call = Call::new(Method::PATCH, format!("/api/v1/resources/{id}")).idempotent().json(fields);
        if let Some(etag) = etag {
            call = call.header("If-Match", etag);
        }
        self.fetch(call).await
    }

    /// `PUT /resources/{id}/status`: `available` or `maintenance`.
    pub async fn set_resource_status(&self, id: Uuid, status: &str) -> Result<Value, Error> {
        let call = Call::new(Method::PUT, format!("/api/v1/resources/{id}/status"));
        self.fetch(call.idempotent().json(json!({ "status": status }))).await
    }

    /// `DELETE /resources/{id}`: retires it.
    pub async fn retire_resource(&self, id: Uuid, etag: Option<&str>) -> Result<Value, Error> {
        let mut call = Call::new(Method::DELETE, format!("/api/v1/resources/{id}"));
        if let Some(etag) = etag {
            call = call.header("If-Match", etag);
        }
        self.fetch(call).await
    }

    /// `POST /resources/upload` (`text/csv`; `dry_run=true` validates only).
    pub async fn import_resources(&self, csv: String, dry_run: bool) -> Result<ImportReport, Error> {
        // No Idempotency-Key: the server applies a request's key to each row's command, so a
        // key would make every row after the first replay the first one's answer.
        let mut call = Call::post("/api/v1/resources/upload");
        if dry_run {
            call = call.query("dry_run", true);
        }
        call.body = Body::Text { content_type: "text/csv", text: csv };
        let mut report: ImportReport = self.fetch(call).await?;
        if report.count == 0 {
            report.count = report.created.len();
        }
        Ok(report)
    }

    /// `GET /resources/{id}/business-hours`: `{time_zone, business_hours}`.
    pub async fn business_hours(&self, id: Uuid) -> Result<Value, Error> {
        self.fetch(Call::get(format!("/api/v1/resources/{id}/business-hours"))).await
    }

    /// `PUT /resources/{id}/business-hours`: `hours` is `{"days": [[{start, end}], …]}` (Monday
    /// first), or `None` to remove them (open around the clock).
    pub async fn set_business_hours(&self, id: Uuid, hours: Option<Value>) -> Result<Value, Error> {
        let call = Call::new(Method::PUT, format!("/api/v1/resources/{id}/business-hours"));
        self.fetch(call.idempotent().json(json!({ "business_hours": hours }))).await
    }

    /// `GET /resources/{id}/blackout-dates`.
    pub async fn blackouts(&self, id: Uuid) -> Result<Vec<Blackout>, Error> {
        self.fetch(Call::get(format!("/api/v1/resources/{id}/blackout-dates"))).await
    }

    /// `POST /resources/{id}/blackout-dates`.
    pub async fn add_blackout(
        &self,
        id: Uuid,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        reason: &str,
    ) -> Result<Blackout, Error> {
        let body = json!({ "start_time": start, "end_time": end, "reason": reason });
        let added: Value =
            self.fetch(Call::post(format!("/api/v1/resources/{id}/blackout-dates")).idempotent().json(body)).await?;
        let id = added["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default();
        Ok(Blackout { id, range: TimeRange { start, end }, reason: reason.to_string() })
    }

    /// `DELETE /resources/{id}/blackout-dates/{blackout}`.
    pub async fn remove_blackout(&self, id: Uuid, blackout: Uuid) -> Result<(), Error> {
        let call = Call::new(Method::DELETE, format!("/api/v1/resources/{id}/blackout-dates/{blackout}"));
        self.send(&call).await?;
        Ok(())
    }

    /// `GET /resource-groups/tree`.
    pub async fn group_tree(&self) -> Result<Vec<GroupNode>, Error> {
        self.fetch(Call::get("/api/v1/resource-groups/tree")).await
    }
}
