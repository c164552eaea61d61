//! Recurring bookings: an RRULE series booked at once and reported per occurrence, read back,
//! and cancelled as a whole or from one occurrence on.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use reserver_domain::Role;
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
use crate::extract::{request_info, CurrentUser, MinPosition};
use crate::routes::support::{json_body, written};
use reserver_app::series;
use reserver_app::AppError;
use reserver_app::Services;

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
    /// Preview only: decide the series on the resource's current state and book nothing;
    /// answers 200 with every occurrence (`bookable` where it would be booked).
    #[serde(default)]
    dry_run: bool,
}

/// A booked series with every occurrence's outcome.
#[derive(Serialize, ToSchema)]
struct SeriesBooked {
    series_id: Uuid,
    #[schema(value_type = Vec<schemas::OccurrenceReport>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    occurrences: Option<Vec<reserver_domain::recurrence::OccurrenceReport>>,
}

/// A series previewed with `dry_run`: nothing was booked.
#[derive(Serialize, ToSchema)]
struct SeriesPreview {
    /// Always true: nothing was booked.
    dry_run: bool,
    /// Whether booking it as asked (with `skip_conflicts` as sent) would be accepted.
    bookable: bool,
    #[schema(value_type = Vec<schemas::OccurrenceReport>)]
    occurrences: Vec<reserver_domain::recurrence::OccurrenceReport>,
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
        (status = 200, description = "With `dry_run`: what booking it would do, nothing booked", body = SeriesPreview),
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
    let request = series::SeriesRequest {
        resource_id: input.resource_id,
        rrule: input.rrule,
        start_local: input.start_local,
        duration_minutes: input.duration_minutes,
        exdates: input.exdates,
        skip_conflicts: input.skip_conflicts,
    };
    if input.dry_run {
        let preview = series::preview(&state, &user, &request).await?;
        let body = SeriesPreview { dry_run: true, bookable: preview.bookable, occurrences: preview.occurrences };
        return Ok(HttpResponse::Ok().json(body));
    }
    let booked = series::book(&state, &request_info(&req), &user, &request, &body).await?;
    let answer = SeriesBooked { series_id: booked.series_id, occurrences: booked.occurrences };
    Ok(written(StatusCode::CREATED, booked.position, answer))
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
    let info = request_info(&req);
    let done = series::cancel(&state, &info, &user, id.into_inner(), input.from_reservation_id, &body).await?;
    Ok(written(StatusCode::OK, done.position, SeriesCancelled { series_id: done.series_id, cancelled: done.cancelled }))
}
