//! Recurring bookings: an RRULE series booked at once and reported per occurrence, read back,
//! and cancelled as a whole or from one occurrence on.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use reserver_domain::recurrence::SeriesPolicy;
use reserver_domain::resource::SeriesCancelScope;
use reserver_domain::{ResourceCommand, ResourceEvent, Role};
use reserver_projections::reservations as rm;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::params::IdempotencyKey;
use crate::api_doc::problems::{
    BookingConflict, Forbidden, Invalid, Lagging, NotFound, RateLimited, StateConflict, Unauthenticated,
};
use crate::api_doc::{read_models, schemas};
use crate::error::ApiError;
use crate::extract::{command_meta, CurrentUser, MinPosition};
use crate::routes::support::{json_body, written};
use reserver_app::addressing;
use reserver_app::AppError;
use reserver_app::Services;
use reserver_commands::addressing::Address;

#[derive(OpenApi)]
#[openapi(paths(book_series, series, cancel_series))]
pub(super) struct Api;

/// Registered before `reservations`, whose `/reservations/{id}` would otherwise take
/// `/reservations/recurring`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/reservations/recurring", web::post().to(book_series))
        .route("/reservations/series/{id}", web::get().to(series))
        .route("/reservations/series/{id}/cancel", web::post().to(cancel_series));
}

/// A recurring booking.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SeriesInput {
    resource_id: Uuid,
    /// RFC 5545 RRULE, e.g. `FREQ=WEEKLY;BYDAY=MO;COUNT=10`.
    #[schema(example = "FREQ=WEEKLY;BYDAY=MO;COUNT=10")]
    rrule: String,
    /// First occurrence's local start in the resource's zone (`2030-03-04T09:00:00`).
    #[schema(example = "2030-03-04T09:00:00")]
    start_local: NaiveDateTime,
    /// 1 to 1440.
    duration_minutes: u32,
    /// Local starts to leave out.
    #[serde(default)]
    exdates: Vec<NaiveDateTime>,
    /// Book what can be booked and report the rest; by default all or nothing (409).
    #[serde(default)]
    skip_conflicts: bool,
}

/// A booked series with every occurrence's outcome.
#[derive(Serialize, ToSchema)]
struct SeriesBooked {
    series_id: Uuid,
    #[schema(value_type = Vec<schemas::OccurrenceReport>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    occurrences: Option<Vec<reserver_domain::recurrence::OccurrenceReport>>,
}

#[utoipa::path(
    post,
    path = "/api/v1/reservations/recurring",
    tag = "reservations",
    operation_id = "book_series",
    summary = "Book an RRULE series, reported per occurrence",
    params(IdempotencyKey),
    request_body = SeriesInput,
    responses(
        (status = 201, description = "The series and each occurrence's outcome", body = SeriesBooked),
        Unauthenticated, Forbidden, NotFound, BookingConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn book_series(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: SeriesInput = json_body(&body)?;
    if !(1..=24 * 60).contains(&input.duration_minutes) {
        return Err(AppError::validation("duration_minutes", "must be between 1 and 1440").into());
    }
    let series_id = Uuid::new_v4();
    let command = ResourceCommand::BookSeries {
        series_id,
        rrule: input.rrule,
        dtstart: input.start_local,
        duration_minutes: input.duration_minutes,
        exdates: input.exdates,
        policy: if input.skip_conflicts { SeriesPolicy::SkipConflicts } else { SeriesPolicy::AllOrNothing },
    };
    let meta = command_meta(&req, Some(&user), &body)?;
    let decided = state.resources.execute(input.resource_id, user.actor(), command, meta).await?;
    let booked = decided.events.iter().find_map(|e| match e {
        ResourceEvent::SeriesBooked { series_id, occurrences, .. } => {
            Some(SeriesBooked { series_id: *series_id, occurrences: Some(occurrences.clone()) })
        }
        _ => None,
    });
    Ok(written(StatusCode::CREATED, decided.position, booked.unwrap_or(SeriesBooked { series_id, occurrences: None })))
}

#[utoipa::path(
    get,
    path = "/api/v1/reservations/series/{id}",
    tag = "reservations",
    operation_id = "get_series",
    summary = "A series with its occurrences",
    params(("id" = Uuid, Path, description = "The series"), MinPosition),
    responses(
        (status = 200, description = "The series", body = read_models::SeriesDetail),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn series(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let detail =
        rm::get_series(&state.db(), id.into_inner()).await?.ok_or_else(|| AppError::NotFound("series".into()))?;
    if detail.series.user_id != user.user_id && !matches!(user.role, Role::Admin | Role::Approver | Role::Auditor) {
        return Err(AppError::NotFound("series".into()).into());
    }
    Ok(HttpResponse::Ok().json(detail))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CancelSeriesInput {
    /// Cancel this occurrence and all later ones; without it, the whole series.
    from_reservation_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
struct SeriesCancelled {
    series_id: Uuid,
    /// How many reservations were cancelled.
    cancelled: usize,
}

#[utoipa::path(
    post,
    path = "/api/v1/reservations/series/{id}/cancel",
    tag = "reservations",
    operation_id = "cancel_series",
    summary = "Cancel a whole series or this-and-following",
    params(("id" = Uuid, Path, description = "The series"), IdempotencyKey),
    request_body(content = CancelSeriesInput, description = "May also be empty: cancels the whole series"),
    responses(
        (status = 200, description = "Cancelled", body = SeriesCancelled),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn cancel_series(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: CancelSeriesInput =
        if body.is_empty() { CancelSeriesInput { from_reservation_id: None } } else { json_body(&body)? };
    let series_id = id.into_inner();
    let resource = addressing::resource_of(&state, Address::Series(series_id), "series").await?;
    let scope = match input.from_reservation_id {
        Some(reservation_id) => SeriesCancelScope::ThisAndFollowing { reservation_id },
        None => SeriesCancelScope::Whole,
    };
    let command = ResourceCommand::CancelSeries { series_id, scope };
    let decided = addressing::hiding_others(
        &user,
        "series",
        state
            .resources
            .execute(resource, user.actor(), command, command_meta(&req, Some(&user), &body)?)
            .await
            .map_err(AppError::from),
    )?;
    let cancelled = decided.events.iter().filter(|e| e.event_type() == "reservation_cancelled").count();
    Ok(written(StatusCode::OK, decided.position, SeriesCancelled { series_id, cancelled }))
}
