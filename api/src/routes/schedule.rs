//! A resource's schedule rules: weekly business hours and blackouts, and its schedule as of
//! a past instant.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use reserver_domain::schedule_rules::BusinessHours;
use reserver_domain::{ResourceCommand, ResourceEvent, Role, TimeRange};
use reserver_projections::{availability, catalog};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::params::IdempotencyKey;
use crate::api_doc::problems::{Forbidden, Invalid, Lagging, NotFound, RateLimited, StateConflict, Unauthenticated};
use crate::api_doc::schemas;
use crate::error::ApiError;
use crate::extract::{command_meta, CurrentUser, MinPosition};
use crate::routes::support::{instant, json_body, written};
use crate::views::{self, ReservationBody};
use reserver_app::AppError;
use reserver_app::Services;

#[derive(OpenApi)]
#[openapi(paths(get_hours, set_hours, list_blackouts, add_blackout, remove_blackout, schedule))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/resources/{id}/business-hours").route(web::get().to(get_hours)).route(web::put().to(set_hours)),
    )
    .service(
        web::resource("/resources/{id}/blackout-dates")
            .route(web::get().to(list_blackouts))
            .route(web::post().to(add_blackout)),
    )
    .route("/resources/{id}/blackout-dates/{blackout_id}", web::delete().to(remove_blackout))
    .route("/resources/{id}/schedule", web::get().to(schedule));
}

pub(super) async fn resource_view(state: &Services, id: Uuid) -> Result<catalog::ResourceView, AppError> {
    reserver_app::catalog::get_resource(state, id, None).await?.ok_or_else(|| AppError::NotFound("resource".into()))
}

/// A resource's weekly hours and the zone they are in.
#[derive(Serialize, ToSchema)]
struct BusinessHoursBody {
    /// Only with GET.
    #[serde(skip_serializing_if = "Option::is_none")]
    time_zone: Option<String>,
    /// `null`: open around the clock.
    #[schema(value_type = Option<schemas::BusinessHours>)]
    business_hours: Option<BusinessHours>,
}

#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}/business-hours",
    tag = "availability",
    operation_id = "get_business_hours",
    summary = "Weekly business hours",
    params(("id" = Uuid, Path, description = "The resource"), MinPosition),
    responses(
        (status = 200, description = "The hours and their time zone", body = BusinessHoursBody),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn get_hours(
    state: web::Data<Services>,
    _u: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let view = resource_view(&state, id.into_inner()).await?;
    let hours =
        BusinessHoursBody { time_zone: Some(view.time_zone.name().to_string()), business_hours: view.business_hours };
    Ok(HttpResponse::Ok().json(hours))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BusinessHoursInput {
    /// `null` removes the hours: open around the clock.
    #[schema(value_type = Option<schemas::BusinessHours>)]
    business_hours: Option<BusinessHours>,
}

#[utoipa::path(
    put,
    path = "/api/v1/resources/{id}/business-hours",
    tag = "availability",
    operation_id = "set_business_hours",
    summary = "Replace business hours (admin)",
    params(("id" = Uuid, Path, description = "The resource"), IdempotencyKey),
    request_body = BusinessHoursInput,
    responses(
        (status = 200, description = "The hours now in force", body = BusinessHoursBody),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn set_hours(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    // PUT replaces, so the field must be there: a body that forgot it (`{}`) must not silently
    // open the resource around the clock. An explicit `null` does that.
    let raw: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| AppError::validation("body", e.to_string()))?;
    if raw.get("business_hours").is_none() {
        return Err(AppError::validation("business_hours", "required: the weekly hours, or null to remove them").into());
    }
    let input: BusinessHoursInput =
        serde_json::from_value(raw).map_err(|e| AppError::validation("business_hours", e.to_string()))?;
    let command = ResourceCommand::SetBusinessHours { hours: input.business_hours.clone() };
    let decided = state
        .resources
        .execute(id.into_inner(), user.actor(), command, command_meta(&req, Some(&user), &body)?)
        .await?;
    Ok(written(
        StatusCode::OK,
        decided.position,
        BusinessHoursBody { time_zone: None, business_hours: input.business_hours },
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}/blackout-dates",
    tag = "availability",
    operation_id = "list_blackouts",
    summary = "Blackout periods",
    params(("id" = Uuid, Path, description = "The resource"), MinPosition),
    responses(
        (status = 200, description = "Every blackout", body = Vec<schemas::Blackout>),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn list_blackouts(
    state: web::Data<Services>,
    _u: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let id = id.into_inner();
    let s =
        availability::resource_state(&state.db(), id).await?.ok_or_else(|| AppError::NotFound("resource".into()))?;
    let blackouts = s.resource.map(|r| r.blackouts).unwrap_or_default();
    Ok(HttpResponse::Ok().json(blackouts))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BlackoutInput {
    /// RFC 3339 with an offset.
    #[schema(value_type = chrono::DateTime<chrono::Utc>)]
    start_time: String,
    #[schema(value_type = chrono::DateTime<chrono::Utc>)]
    end_time: String,
    /// Shown to people whose booking it blocks.
    #[serde(default)]
    reason: String,
}

/// A blackout as added.
#[derive(Serialize, ToSchema)]
struct BlackoutAdded {
    id: Uuid,
    start_time: chrono::DateTime<Utc>,
    end_time: chrono::DateTime<Utc>,
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/resources/{id}/blackout-dates",
    tag = "availability",
    operation_id = "add_blackout",
    summary = "Add a blackout (admin)",
    params(("id" = Uuid, Path, description = "The resource"), IdempotencyKey),
    request_body = BlackoutInput,
    responses(
        (status = 201, description = "The blackout; existing reservations stay", body = BlackoutAdded),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn add_blackout(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let input: BlackoutInput = json_body(&body)?;
    let range = TimeRange::new(instant("start_time", &input.start_time)?, instant("end_time", &input.end_time)?)
        .map_err(|_| AppError::validation("end_time", "must be after start_time"))?;
    let blackout_id = Uuid::new_v4();
    let command = ResourceCommand::AddBlackout { blackout_id, range, reason: input.reason.clone() };
    let decided = state
        .resources
        .execute(id.into_inner(), user.actor(), command, command_meta(&req, Some(&user), &body)?)
        .await?;
    // A retry with the same Idempotency-Key is answered with the blackout the first attempt added.
    let blackout_id = decided
        .events
        .iter()
        .find_map(|e| match e {
            ResourceEvent::BlackoutAdded { blackout, .. } => Some(blackout.id),
            _ => None,
        })
        .unwrap_or(blackout_id);
    Ok(written(
        StatusCode::CREATED,
        decided.position,
        BlackoutAdded { id: blackout_id, start_time: range.start(), end_time: range.end(), reason: input.reason },
    ))
}

#[derive(Serialize, ToSchema)]
struct BlackoutRemoved {
    /// The removed blackout's id.
    deleted: Uuid,
}

#[utoipa::path(
    delete,
    path = "/api/v1/resources/{id}/blackout-dates/{blackout_id}",
    tag = "availability",
    operation_id = "remove_blackout",
    summary = "Remove a blackout (admin)",
    params(
        ("id" = Uuid, Path, description = "The resource"),
        ("blackout_id" = Uuid, Path, description = "The blackout")
    ),
    responses(
        (status = 200, description = "Removed", body = BlackoutRemoved),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn remove_blackout(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let (id, blackout_id) = path.into_inner();
    let command = ResourceCommand::RemoveBlackout { blackout_id };
    let decided = state.resources.execute(id, user.actor(), command, command_meta(&req, Some(&user), &[])?).await?;
    Ok(written(StatusCode::OK, decided.position, BlackoutRemoved { deleted: blackout_id }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AsOf {
    /// RFC 3339 instant (default now).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    as_of: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct ScheduleAsOf {
    as_of: chrono::DateTime<Utc>,
    reservations: Vec<ReservationBody>,
}

/// Time travel: the resource's reservations as they stood at `as_of`, computed from the log.
#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}/schedule",
    tag = "availability",
    operation_id = "schedule_as_of",
    summary = "The schedule as of an instant (time travel)",
    description = "The resource's reservations as they stood at `as_of`, computed from the event log \
                   (admins, approvers, auditors).",
    params(("id" = Uuid, Path, description = "The resource"), AsOf),
    responses(
        (status = 200, description = "The reservations at that instant", body = ScheduleAsOf),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn schedule(
    state: web::Data<Services>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    params: web::Query<AsOf>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Auditor, Role::Approver])?;
    let at = match &params.as_of {
        Some(t) => instant("as_of", t)?,
        None => Utc::now(),
    };
    let reservations = reserver_projections::schedule_as_of(state.store.as_ref(), id.into_inner(), at).await?;
    Ok(HttpResponse::Ok()
        .json(ScheduleAsOf { as_of: at, reservations: reservations.iter().map(views::reservation).collect() }))
}
