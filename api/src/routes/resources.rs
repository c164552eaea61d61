//! `/api/v1/resources`: the catalog (queries) and resource administration (commands).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono_tz::Tz;
use reserver_domain::resource::{ResourceDetails, ResourceKind, ResourceStatus};
use reserver_domain::{BookingPolicy, ResourceCommand, Role};
use reserver_projections::catalog::{self, ResourceQuery, ResourceSort};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{etag, ApiError};
use crate::extract::{command_meta, CurrentUser, MinPosition};
use crate::routes::support::{if_match, json_body, nullable, page_json, written, PageParams};
use crate::routes::views;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/resources").route(web::get().to(list)).route(web::post().to(create)))
        .route("/resources/search", web::get().to(list))
        .route("/resources/upload", web::post().to(super::resource_upload::upload))
        .service(
            web::resource("/resources/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::put().to(update))
                .route(web::delete().to(retire)),
        )
        .route("/resources/{id}/status", web::put().to(set_status))
        .route("/resources/{id}/status", web::post().to(set_status));
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
pub struct ResourceInput {
    pub name: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "yes")]
    pub available: bool,
    pub kind: Option<ResourceKind>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub location: String,
    pub group_id: Option<Uuid>,
    #[serde(default = "one")]
    pub capacity: u32,
    pub time_zone: Option<String>,
    pub policy: Option<BookingPolicy>,
    pub business_hours: Option<reserver_domain::schedule_rules::BusinessHours>,
}

pub fn parse_zone(name: Option<&str>) -> Result<Tz, ApiError> {
    name.unwrap_or("UTC")
        .parse::<Tz>()
        .map_err(|_| ApiError::validation("time_zone", "must be an IANA time zone such as Europe/Berlin"))
}

pub fn validate_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::validation("name", "must be 1 to 200 characters"));
    }
    Ok(name.to_string())
}

pub fn validate_tags(tags: &[String]) -> Result<Vec<String>, ApiError> {
    if tags.len() > 50 || tags.iter().any(|t| t.trim().is_empty() || t.len() > 64) {
        return Err(ApiError::validation("tags", "at most 50 tags of 1 to 64 characters"));
    }
    Ok(tags.iter().map(|t| t.trim().to_string()).collect())
}

fn validate_capacity(capacity: u32) -> Result<u32, ApiError> {
    if !(1..=10_000).contains(&capacity) {
        return Err(ApiError::validation("capacity", "must be between 1 and 10000"));
    }
    Ok(capacity)
}

fn validate_policy(policy: Option<BookingPolicy>) -> Result<BookingPolicy, ApiError> {
    let policy = policy.unwrap_or_default();
    policy.validate().map_err(|m| ApiError::validation("policy", m))?;
    Ok(policy)
}

/// The create command for a validated input.
pub fn create_command(resource_id: Uuid, input: ResourceInput) -> Result<ResourceCommand, ApiError> {
    Ok(ResourceCommand::CreateResource {
        resource_id,
        details: ResourceDetails {
            name: validate_name(&input.name)?,
            kind: input.kind.unwrap_or(ResourceKind::Other),
            tags: validate_tags(&input.tags)?,
            description: input.description,
            location: input.location,
            group_id: input.group_id,
        },
        capacity: validate_capacity(input.capacity)?,
        time_zone: parse_zone(input.time_zone.as_deref())?,
        policy: validate_policy(input.policy)?,
        business_hours: input.business_hours,
    })
}

/// Creates a resource (and puts it in maintenance if `available` is false); returns its view.
pub async fn create_resource(
    state: &AppState,
    req: &HttpRequest,
    user: &CurrentUser,
    input: ResourceInput,
    body: &[u8],
) -> Result<(u64, serde_json::Value), ApiError> {
    user.require(&[Role::Admin])?;
    let id = Uuid::new_v4();
    let available = input.available;
    let command = create_command(id, input)?;
    let mut decided = state.resources.execute(id, user.actor(), command, command_meta(req, Some(user), body)?).await?;
    if !available && !decided.replayed {
        let status = ResourceCommand::SetStatus { status: ResourceStatus::Maintenance };
        decided = state.resources.execute(id, user.actor(), status, command_meta(req, Some(user), &[])?).await?;
    }
    state.caught_up(Some(decided.position)).await?;
    let created_id = decided
        .events
        .iter()
        .find_map(|e| match e {
            reserver_domain::ResourceEvent::ResourceCreated { resource_id, .. } => Some(*resource_id),
            _ => None,
        })
        .unwrap_or(id);
    let view =
        catalog::get_resource(&state.db(), created_id).await?.ok_or_else(|| ApiError::NotFound("resource".into()))?;
    Ok((decided.position, views::resource(&view)))
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: ResourceInput = json_body(&body)?;
    let (position, view) = create_resource(&state, &req, &user, input, &body).await?;
    Ok(written(StatusCode::CREATED, position, view))
}

#[derive(Debug, Deserialize)]
struct ListParams {
    limit: Option<u32>,
    cursor: Option<String>,
    status: Option<String>,
    /// Comma-separated; every tag must be present.
    tags: Option<String>,
    /// Text search on name and description.
    q: Option<String>,
    query: Option<String>,
    kind: Option<ResourceKind>,
    #[serde(rename = "type")]
    kind_alias: Option<ResourceKind>,
    group_id: Option<Uuid>,
    #[serde(default)]
    include_subgroups: bool,
    sort: Option<ResourceSort>,
    order: Option<String>,
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    _user: CurrentUser,
    min: MinPosition,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let key = format!("resources?{}", req.query_string());
    let p = params.into_inner();
    let db = state.db();
    state.cached(key, min.0, || async move { list_page(&db, p).await }).await
}

async fn list_page(db: &reserver_store::Database, p: ListParams) -> Result<serde_json::Value, ApiError> {
    if let Some(status) = &p.status {
        if !["available", "maintenance", "retired"].contains(&status.as_str()) {
            return Err(ApiError::validation("status", "must be available, maintenance or retired"));
        }
    }
    let descending = match p.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::validation("order", "must be asc or desc")),
    };
    let query = ResourceQuery {
        tags: p
            .tags
            .map(|t| t.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default(),
        kind: p.kind.or(p.kind_alias),
        status: p.status,
        group_id: p.group_id,
        include_subgroups: p.include_subgroups,
        text: p.q.or(p.query).filter(|q| !q.trim().is_empty()),
        sort: p.sort.unwrap_or_default(),
        descending,
    };
    let page = PageParams { limit: p.limit, cursor: p.cursor }.request()?;
    let result = catalog::list_resources(db, &query, &page).await?;
    Ok(page_json(result, views::resource))
}

async fn get(
    state: web::Data<AppState>,
    _user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let id = id.into_inner();
    let view = catalog::get_resource(&state.db(), id).await?.ok_or_else(|| ApiError::NotFound("resource".into()))?;
    let version = state.store.stream_version(&reserver_domain::resource::stream_id(id)).await?;
    Ok(HttpResponse::Ok().insert_header((actix_web::http::header::ETAG, etag(version))).json(views::resource(&view)))
}

#[derive(Debug, Deserialize)]
struct ResourcePatch {
    name: Option<String>,
    tags: Option<Vec<String>>,
    kind: Option<ResourceKind>,
    description: Option<String>,
    location: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    group_id: Option<Option<Uuid>>,
    capacity: Option<u32>,
    time_zone: Option<String>,
    policy: Option<BookingPolicy>,
}

/// Partial update, optimistic: with `If-Match` the update applies only to that version.
async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let patch: ResourcePatch = json_body(&body)?;
    let id = id.into_inner();
    let (version, current) = state.resources.load(id).await?;
    let resource = current.resource.ok_or_else(|| ApiError::NotFound("resource".into()))?;
    let mut details = resource.details.clone();
    if let Some(name) = patch.name {
        details.name = validate_name(&name)?;
    }
    if let Some(tags) = patch.tags {
        details.tags = validate_tags(&tags)?;
    }
    if let Some(kind) = patch.kind {
        details.kind = kind;
    }
    if let Some(d) = patch.description {
        details.description = d;
    }
    if let Some(l) = patch.location {
        details.location = l;
    }
    if let Some(g) = patch.group_id {
        details.group_id = g;
    }
    let command = ResourceCommand::UpdateResource {
        details,
        capacity: validate_capacity(patch.capacity.unwrap_or(resource.capacity))?,
        time_zone: match patch.time_zone {
            Some(z) => parse_zone(Some(&z))?,
            None => resource.time_zone,
        },
        policy: match patch.policy {
            Some(p) => validate_policy(Some(p))?,
            None => resource.policy.clone(),
        },
    };
    let mut meta = command_meta(&req, Some(&user), &body)?;
    meta.expected_version = Some(if_match(&req)?.unwrap_or(version));
    let decided = state.resources.execute(id, user.actor(), command, meta).await?;
    state.caught_up(Some(decided.position)).await?;
    let view = catalog::get_resource(&state.db(), id).await?.ok_or_else(|| ApiError::NotFound("resource".into()))?;
    let mut response = written(StatusCode::OK, decided.position, views::resource(&view));
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&etag(decided.stream_version)) {
        response.headers_mut().insert(actix_web::http::header::ETAG, v);
    }
    Ok(response)
}

async fn retire(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let mut meta = command_meta(&req, Some(&user), &[])?;
    meta.expected_version = if_match(&req)?;
    let command = ResourceCommand::RetireResource { reason: "retired by an administrator".into() };
    let decided = state.resources.execute(id.into_inner(), user.actor(), command, meta).await?;
    Ok(written(StatusCode::OK, decided.position, serde_json::json!({ "retired": true })))
}

#[derive(Debug, Deserialize)]
struct StatusInput {
    status: Option<ResourceStatus>,
    available: Option<bool>,
}

/// Maintenance on/off: `{"status": "maintenance"|"available"}` or `{"available": bool}`.
async fn set_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let input: StatusInput = json_body(&body)?;
    let status = match (input.status, input.available) {
        (Some(s), _) => s,
        (None, Some(true)) => ResourceStatus::Available,
        (None, Some(false)) => ResourceStatus::Maintenance,
        (None, None) => return Err(ApiError::validation("status", "give status (available|maintenance) or available")),
    };
    let id = id.into_inner();
    let decided = state
        .resources
        .execute(id, user.actor(), ResourceCommand::SetStatus { status }, command_meta(&req, Some(&user), &body)?)
        .await?;
    Ok(written(StatusCode::OK, decided.position, serde_json::json!({ "id": id, "status": status })))
}
