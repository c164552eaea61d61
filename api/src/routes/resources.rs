//! `/api/v1/resources`: the catalog (queries) and resource administration (commands).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use reserver_domain::resource::{ResourceKind, ResourceStatus};
use reserver_domain::{BookingPolicy, ResourceCommand, Role};
use reserver_projections::catalog::{ResourceQuery, ResourceSort};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::params::{IdempotencyKey, IfMatch};
use crate::api_doc::problems::{
    Forbidden, Invalid, Lagging, NotFound, PreconditionFailed, RateLimited, StateConflict, Unauthenticated,
};
use crate::api_doc::{read_models, schemas};
use crate::error::{etag, ApiError};
use crate::extract::{command_meta, CurrentUser, MinPosition};
use crate::routes::resource_input::{create_resource, parse_zone, validate_capacity, validate_name, validate_policy};
use crate::routes::resource_input::{validate_tags, ResourceInput};
use crate::routes::support::{if_match, json_body, nullable, page_json, written, PageParams};
use crate::views::{self, ResourceBody};
use reserver_app::AppError;
use reserver_app::Services;

#[derive(OpenApi)]
#[openapi(paths(list, create, search, super::resource_upload::upload, get, update, retire, set_status))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/resources").route(web::get().to(list)).route(web::post().to(create)))
        .route("/resources/search", web::get().to(search))
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

#[utoipa::path(
    post,
    path = "/api/v1/resources",
    tag = "resources",
    operation_id = "create_resource",
    summary = "Create a resource (admin)",
    params(IdempotencyKey),
    request_body = ResourceInput,
    responses(
        (status = 201, description = "The resource", body = ResourceBody),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn create(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: ResourceInput = json_body(&body)?;
    let (position, view) = create_resource(&state, &req, &user, input, &body, "").await?;
    Ok(written(StatusCode::CREATED, position, view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Page size, 1 to 500 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// `available`, `maintenance` or `retired`.
    status: Option<String>,
    /// Comma-separated; every tag must be present.
    tags: Option<String>,
    /// Text search on name and description.
    q: Option<String>,
    /// The same as `q`.
    query: Option<String>,
    #[param(value_type = Option<schemas::ResourceKind>)]
    kind: Option<ResourceKind>,
    /// The same as `kind`.
    #[serde(rename = "type")]
    #[param(value_type = Option<schemas::ResourceKind>)]
    kind_alias: Option<ResourceKind>,
    group_id: Option<Uuid>,
    /// With `group_id`: include the group's subgroups.
    #[serde(default)]
    include_subgroups: bool,
    /// `name` (default), `status` or `created`.
    #[param(value_type = Option<String>)]
    sort: Option<ResourceSort>,
    /// `asc` (default) or `desc`.
    order: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/resources",
    tag = "resources",
    operation_id = "list_resources",
    summary = "List resources: filters, text search, cursor pagination",
    params(ListParams, MinPosition),
    responses(
        (status = 200, description = "One page of resources", body = read_models::ResourcePage),
        Unauthenticated, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn list(
    state: web::Data<Services>,
    _user: CurrentUser,
    min: MinPosition,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let body = list_page(&state, params.into_inner(), min.0).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The same list under its older name.
#[utoipa::path(
    get,
    path = "/api/v1/resources/search",
    tag = "resources",
    operation_id = "search_resources",
    summary = "Search resources",
    params(ListParams, MinPosition),
    responses(
        (status = 200, description = "One page of resources", body = read_models::ResourcePage),
        Unauthenticated, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn search(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    list(state, user, min, params).await
}

/// One page of the list, from the catalogue held in memory (always current; `min` waits for it).
async fn list_page(state: &Services, p: ListParams, min: Option<u64>) -> Result<serde_json::Value, AppError> {
    if let Some(status) = &p.status {
        if !["available", "maintenance", "retired"].contains(&status.as_str()) {
            return Err(AppError::validation("status", "must be available, maintenance or retired"));
        }
    }
    let descending = match p.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(AppError::validation("order", "must be asc or desc")),
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
    let result = reserver_app::catalog::list_resources(state, &query, &page, min).await?;
    Ok(page_json(result, views::resource))
}

#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}",
    tag = "resources",
    operation_id = "get_resource",
    summary = "One resource, with its ETag",
    params(("id" = Uuid, Path, description = "The resource"), MinPosition),
    responses(
        (status = 200, description = "The resource", body = ResourceBody,
         headers(("ETag" = String, description = "Its version, for If-Match"))),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn get(
    state: web::Data<Services>,
    _user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let view = reserver_app::catalog::get_resource(&state, id, min.0)
        .await?
        .ok_or_else(|| AppError::NotFound("resource".into()))?;
    let version = state.store.stream_version(&reserver_domain::resource::stream_id(id)).await?;
    Ok(HttpResponse::Ok().insert_header((actix_web::http::header::ETAG, etag(version))).json(views::resource(&view)))
}

/// Fields to change; those left out stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResourcePatch {
    name: Option<String>,
    tags: Option<Vec<String>>,
    #[schema(value_type = Option<schemas::ResourceKind>)]
    kind: Option<ResourceKind>,
    description: Option<String>,
    location: Option<String>,
    /// `null` takes it out of its group.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    group_id: Option<Option<Uuid>>,
    capacity: Option<u32>,
    time_zone: Option<String>,
    /// Replaces the whole policy.
    #[schema(value_type = Option<schemas::BookingPolicy>)]
    policy: Option<BookingPolicy>,
}

/// Partial update, optimistic.
///
/// With `If-Match` the update applies only to that version; a stale one answers 412.
#[utoipa::path(
    patch,
    path = "/api/v1/resources/{id}",
    tag = "resources",
    operation_id = "update_resource",
    summary = "Update a resource (admin; If-Match)",
    params(("id" = Uuid, Path, description = "The resource"), IfMatch, IdempotencyKey),
    request_body = ResourcePatch,
    responses(
        (status = 200, description = "The resource as changed", body = ResourceBody,
         headers(("ETag" = String, description = "The new version"))),
        Unauthenticated, Forbidden, NotFound, StateConflict, PreconditionFailed, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn update(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let patch: ResourcePatch = json_body(&body)?;
    let id = id.into_inner();
    let (version, current) = state.resources.load(id).await?;
    let resource = current.resource.ok_or_else(|| AppError::NotFound("resource".into()))?;
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
    let view = reserver_app::catalog::resource_after_write(&state, id, decided.position).await?;
    let mut response = written(StatusCode::OK, decided.position, views::resource(&view));
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&etag(decided.stream_version)) {
        response.headers_mut().insert(actix_web::http::header::ETAG, v);
    }
    Ok(response)
}

#[derive(Serialize, ToSchema)]
struct ResourceRetired {
    retired: bool,
}

/// Retires a resource.
///
/// It takes no bookings any more; existing reservations stay.
#[utoipa::path(
    delete,
    path = "/api/v1/resources/{id}",
    tag = "resources",
    operation_id = "retire_resource",
    summary = "Retire a resource (admin)",
    params(("id" = Uuid, Path, description = "The resource"), IfMatch),
    responses(
        (status = 200, description = "Retired", body = ResourceRetired),
        Unauthenticated, Forbidden, NotFound, StateConflict, PreconditionFailed, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn retire(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let mut meta = command_meta(&req, Some(&user), &[])?;
    meta.expected_version = if_match(&req)?;
    let command = ResourceCommand::RetireResource { reason: "retired by an administrator".into() };
    let decided = state.resources.execute(id.into_inner(), user.actor(), command, meta).await?;
    Ok(written(StatusCode::OK, decided.position, ResourceRetired { retired: true }))
}

/// `{"status": "maintenance"|"available"}` or `{"available": bool}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResourceStatusInput {
    #[schema(value_type = Option<schemas::ResourceStatus>)]
    status: Option<ResourceStatus>,
    available: Option<bool>,
}

#[derive(Serialize, ToSchema)]
struct ResourceStatusSet {
    id: Uuid,
    #[schema(value_type = schemas::ResourceStatus)]
    status: ResourceStatus,
}

/// Maintenance on/off.
///
/// `{"status": "maintenance"|"available"}` or `{"available": bool}`; existing reservations stay.
#[utoipa::path(
    put,
    path = "/api/v1/resources/{id}/status",
    tag = "resources",
    operation_id = "set_resource_status",
    summary = "Maintenance on/off (admin)",
    params(("id" = Uuid, Path, description = "The resource"), IdempotencyKey),
    request_body = ResourceStatusInput,
    responses(
        (status = 200, description = "The new status", body = ResourceStatusSet),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn set_status(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let input: ResourceStatusInput = json_body(&body)?;
    let status = match (input.status, input.available) {
        (Some(s), _) => s,
        (None, Some(true)) => ResourceStatus::Available,
        (None, Some(false)) => ResourceStatus::Maintenance,
        (None, None) => {
            return Err(AppError::validation("status", "give status (available|maintenance) or available").into())
        }
    };
    let id = id.into_inner();
    let decided = state
        .resources
        .execute(id, user.actor(), ResourceCommand::SetStatus { status }, command_meta(&req, Some(&user), &body)?)
        .await?;
    Ok(written(StatusCode::OK, decided.position, ResourceStatusSet { id, status }))
}
