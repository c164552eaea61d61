//! `/api/v1/reservations`: booking, cancelling, checking in, and the caller's reservations
//! (recurring series are in `series`). Booking answers from the command's own events, so the hot path never
//! waits for a read model; `X-Log-Position` lets the client read its write right after.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use reserver_domain::{Role, TimeRange};
use reserver_projections::reservations::{self as rm, ReservationView, TimeScope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::params::IdempotencyKey;
use crate::api_doc::problems::{
    BookingConflict, Forbidden, Invalid, Lagging, NotFound, RateLimited, StateConflict, Unauthenticated,
};
use crate::api_doc::read_models;
use crate::error::ApiError;
use crate::extract::{request_info, CurrentUser, MinPosition};
use crate::routes::support::{instant, json_body, page_json, written, PageParams};
use crate::views::{self, ReservationBody};
use reserver_app::reservations;
use reserver_app::AppError;
use reserver_app::Services;

#[derive(OpenApi)]
#[openapi(paths(by_resource, book, mine, get, cancel, check_in, history))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/reservations", web::post().to(book))
        .route("/reservations/my", web::get().to(mine))
        .route("/reservations/{id}", web::get().to(get))
        .route("/reservations/{id}/cancel", web::post().to(cancel))
        .route("/reservations/{id}/check-in", web::post().to(check_in))
        .route("/reservations/{id}/history", web::get().to(history))
        .route("/resources/{id}/reservations", web::get().to(by_resource));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ByResourceParams {
    /// Window start (RFC 3339; give both start and end, or neither).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    start: Option<String>,
    /// Window end.
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    end: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A resource's reservations (admins, approvers, auditors), optionally within a window.
#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}/reservations",
    tag = "reservations",
    operation_id = "resource_reservations",
    summary = "A resource's reservations (admin, approver, auditor)",
    params(("id" = Uuid, Path, description = "The resource"), ByResourceParams, MinPosition),
    responses(
        (status = 200, description = "One page, by start", body = read_models::ReservationPage),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn by_resource(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
    params: web::Query<ByResourceParams>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Approver, Role::Auditor])?;
    state.caught_up(min.0).await?;
    let window = match (&params.start, &params.end) {
        (Some(s), Some(e)) => Some(
            TimeRange::new(instant("start", s)?, instant("end", e)?)
                .map_err(|_| AppError::validation("end", "must be after start"))?,
        ),
        (None, None) => None,
        _ => return Err(AppError::validation("end", "give both start and end, or neither").into()),
    };
    let page = PageParams { limit: params.limit, cursor: params.cursor.clone() }.request()?;
    let result = rm::reservations_for_resource(&state.db(), id.into_inner(), window, &page).await?;
    Ok(HttpResponse::Ok().json(page_json(result, views::reservation)))
}

/// A slot to book.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BookInput {
    resource_id: Uuid,
    /// RFC 3339 with an offset.
    #[schema(value_type = chrono::DateTime<chrono::Utc>, example = "2030-03-04T09:00:00Z")]
    start_time: String,
    /// After `start_time`.
    #[schema(value_type = chrono::DateTime<chrono::Utc>, example = "2030-03-04T10:00:00Z")]
    end_time: String,
}

/// Books a slot if every rule allows it.
///
/// The reservation is `confirmed`, or `pending_approval` where the resource requires approval.
/// A taken slot answers 409 with the conflicts and the next free slots of the same length;
/// other rules answer 422 (or 409 for the resource's state) with their code.
#[utoipa::path(
    post,
    path = "/api/v1/reservations",
    tag = "reservations",
    operation_id = "book",
    summary = "Book a slot: 201, or 409 with conflicts and next free slots",
    params(IdempotencyKey),
    request_body = BookInput,
    responses(
        (status = 201, description = "The reservation", body = ReservationBody,
         headers(("X-Log-Position" = u64, description = "Send as X-Min-Position to read this write"))),
        Unauthenticated, Forbidden, NotFound, BookingConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn book(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: BookInput = json_body(&body)?;
    let range = TimeRange::new(instant("start_time", &input.start_time)?, instant("end_time", &input.end_time)?)
        .map_err(|_| AppError::validation("end_time", "must be after start_time"))?;
    let booked = reservations::book(&state, &request_info(&req), &user, input.resource_id, range, &body)
        .await
        .inspect_err(|e| {
            if let AppError::Rejected(r) = e {
                crate::metrics::booking(r.code());
            }
        })?;
    crate::metrics::booking("accepted");
    let view = views::reservation_from_events(input.resource_id, &booked.events)
        .ok_or_else(|| AppError::Internal("booking produced no reservation".into()))?;
    Ok(written(StatusCode::CREATED, booked.position, view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MineParams {
    /// `upcoming`, `past` or `all` (default).
    #[param(value_type = Option<String>)]
    scope: Option<TimeScope>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/reservations/my",
    tag = "reservations",
    operation_id = "my_reservations",
    summary = "The caller's reservations",
    params(MineParams, MinPosition),
    responses(
        (status = 200, description = "One page of the caller's reservations", body = read_models::ReservationPage),
        Unauthenticated, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn mine(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    params: web::Query<MineParams>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let page = PageParams { limit: params.limit, cursor: params.cursor.clone() }.request()?;
    let scope = params.scope.unwrap_or(TimeScope::All);
    let result = rm::reservations_for_user(&state.db(), user.user_id, scope, Utc::now(), &page).await?;
    Ok(HttpResponse::Ok().json(page_json(result, views::reservation)))
}

async fn visible(state: &Services, user: &CurrentUser, id: Uuid) -> Result<ReservationView, AppError> {
    reservations::visible(state, user, id).await
}

#[utoipa::path(
    get,
    path = "/api/v1/reservations/{id}",
    tag = "reservations",
    operation_id = "get_reservation",
    summary = "One reservation",
    params(("id" = Uuid, Path, description = "The reservation"), MinPosition),
    responses(
        (status = 200, description = "The reservation", body = ReservationBody),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn get(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    Ok(HttpResponse::Ok().json(views::reservation(&visible(&state, &user, id.into_inner()).await?)))
}

#[utoipa::path(
    get,
    path = "/api/v1/reservations/{id}/history",
    tag = "reservations",
    operation_id = "reservation_history",
    summary = "Every event of a reservation",
    params(("id" = Uuid, Path, description = "The reservation"), MinPosition),
    responses(
        (status = 200, description = "Its events in log order", body = Vec<read_models::HistoryEntry>),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn history(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    Ok(HttpResponse::Ok().json(reservations::history(&state, &user, id.into_inner()).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CancelReservationInput {
    reason: Option<String>,
}

/// What a command on a reservation did.
#[derive(Serialize, ToSchema)]
struct ReservationChanged {
    id: Uuid,
    /// The event it caused (`reservation_cancelled`, `checked_in`, …) or `unchanged`.
    result: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/reservations/{id}/cancel",
    tag = "reservations",
    operation_id = "cancel_reservation",
    summary = "Cancel a reservation",
    params(("id" = Uuid, Path, description = "The reservation"), IdempotencyKey),
    request_body(content = CancelReservationInput, description = "May also be empty: cancels without a reason"),
    responses(
        (status = 200, description = "Cancelled", body = ReservationChanged),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn cancel(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: CancelReservationInput =
        if body.is_empty() { CancelReservationInput::default() } else { json_body(&body)? };
    let id = id.into_inner();
    let changed = reservations::cancel(&state, &request_info(&req), &user, id, input.reason, &body).await?;
    Ok(written(StatusCode::OK, changed.position, ReservationChanged { id, result: changed.result }))
}

#[utoipa::path(
    post,
    path = "/api/v1/reservations/{id}/check-in",
    tag = "reservations",
    operation_id = "check_in",
    summary = "Check in",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "Checked in", body = ReservationChanged),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn check_in(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let done = reserver_app::check_in::check_in(&state, &request_info(&req), &user, id).await?;
    Ok(written(StatusCode::OK, done.position, ReservationChanged { id, result: done.result }))
}
