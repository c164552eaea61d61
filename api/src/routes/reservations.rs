//! `/api/v1/reservations`: booking (single and recurring), cancelling, checking in, and the
//! caller's reservations. Booking answers from the command's own events, so the hot path never
//! waits for a read model; `X-Log-Position` lets the client read its write right after.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDateTime, Utc};
use reserver_domain::recurrence::SeriesPolicy;
use reserver_domain::resource::SeriesCancelScope;
use reserver_domain::{ResourceCommand, ResourceEvent, Role, TimeRange};
use reserver_projections::reservations::{self as rm, ReservationView, TimeScope};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{command_meta, CurrentUser, MinPosition};
use crate::routes::support::{instant, json_body, page_json, written, PageParams};
use crate::routes::views;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/reservations", web::post().to(book))
        .route("/reservations/recurring", web::post().to(book_series))
        .route("/reservations/my", web::get().to(mine))
        .route("/reservations/series/{id}", web::get().to(series))
        .route("/reservations/series/{id}/cancel", web::post().to(cancel_series))
        .route("/reservations/{id}", web::get().to(get))
        .route("/reservations/{id}/cancel", web::post().to(cancel))
        .route("/reservations/{id}/check-in", web::post().to(check_in))
        .route("/reservations/{id}/history", web::get().to(history))
        .route("/resources/{id}/reservations", web::get().to(by_resource));
}

#[derive(Debug, Deserialize)]
struct ByResourceParams {
    start: Option<String>,
    end: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// A resource's reservations (admins, approvers, auditors), optionally within a window.
async fn by_resource(
    state: web::Data<AppState>,
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
                .map_err(|_| ApiError::validation("end", "must be after start"))?,
        ),
        (None, None) => None,
        _ => return Err(ApiError::validation("end", "give both start and end, or neither")),
    };
    let page = PageParams { limit: params.limit, cursor: params.cursor.clone() }.request()?;
    let result = rm::reservations_for_resource(&state.db(), id.into_inner(), window, &page).await?;
    Ok(HttpResponse::Ok().json(page_json(result, views::reservation)))
}

#[derive(Debug, Deserialize)]
struct BookInput {
    resource_id: Uuid,
    start_time: String,
    end_time: String,
}

async fn book(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: BookInput = json_body(&body)?;
    let range = TimeRange::new(instant("start_time", &input.start_time)?, instant("end_time", &input.end_time)?)
        .map_err(|_| ApiError::validation("end_time", "must be after start_time"))?;
    let reservation_id = Uuid::new_v4();
    let meta = command_meta(&req, Some(&user), &body)?;
    let decided = state
        .resources
        .execute(input.resource_id, user.actor(), ResourceCommand::Book { reservation_id, range }, meta)
        .await
        .inspect_err(|e| {
            if let reserver_commands::CommandError::Rejected(r) = e {
                crate::metrics::booking(r.code());
            }
        })?;
    crate::metrics::booking("accepted");
    let view = views::reservation_from_events(input.resource_id, &decided.events)
        .ok_or_else(|| ApiError::Internal("booking produced no reservation".into()))?;
    Ok(written(StatusCode::CREATED, decided.position, view))
}

#[derive(Debug, Deserialize)]
struct SeriesInput {
    resource_id: Uuid,
    /// RFC 5545 RRULE, e.g. `FREQ=WEEKLY;BYDAY=MO;COUNT=10`.
    rrule: String,
    /// First occurrence's local start in the resource's zone (`2030-03-04T09:00:00`).
    start_local: NaiveDateTime,
    duration_minutes: u32,
    #[serde(default)]
    exdates: Vec<NaiveDateTime>,
    #[serde(default)]
    skip_conflicts: bool,
}

async fn book_series(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: SeriesInput = json_body(&body)?;
    if !(1..=24 * 60).contains(&input.duration_minutes) {
        return Err(ApiError::validation("duration_minutes", "must be between 1 and 1440"));
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
    let occurrences = decided.events.iter().find_map(|e| match e {
        ResourceEvent::SeriesBooked { series_id, occurrences, .. } => {
            Some(json!({ "series_id": series_id, "occurrences": occurrences }))
        }
        _ => None,
    });
    Ok(written(StatusCode::CREATED, decided.position, occurrences.unwrap_or_else(|| json!({ "series_id": series_id }))))
}

#[derive(Debug, Deserialize)]
struct MineParams {
    scope: Option<TimeScope>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn mine(
    state: web::Data<AppState>,
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

/// A reservation the caller may see: their own, or any for admins, approvers and auditors.
/// Someone else's is "not found", so ids cannot be probed.
async fn visible(state: &AppState, user: &CurrentUser, id: Uuid) -> Result<ReservationView, ApiError> {
    let view = rm::get_reservation(&state.db(), id).await?.ok_or_else(|| ApiError::NotFound("reservation".into()))?;
    if view.user_id == user.user_id || matches!(user.role, Role::Admin | Role::Approver | Role::Auditor) {
        Ok(view)
    } else {
        Err(ApiError::NotFound("reservation".into()))
    }
}

async fn get(
    state: web::Data<AppState>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    Ok(HttpResponse::Ok().json(views::reservation(&visible(&state, &user, id.into_inner()).await?)))
}

async fn history(
    state: web::Data<AppState>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let id = id.into_inner();
    visible(&state, &user, id).await?;
    Ok(HttpResponse::Ok().json(rm::reservation_history(&state.db(), id).await?))
}

#[derive(Debug, Default, Deserialize)]
struct CancelInput {
    reason: Option<String>,
}

/// Runs a command on the resource a visible reservation belongs to. The reservation read model
/// only routes the command; the aggregate decides on its own, current state.
async fn on_reservation(
    state: &AppState,
    req: &HttpRequest,
    user: &CurrentUser,
    id: Uuid,
    body: &[u8],
    command: ResourceCommand,
) -> Result<HttpResponse, ApiError> {
    let view = match visible(state, user, id).await {
        // A write just made may not be projected yet: wait for the caller's position and retry once.
        Err(ApiError::NotFound(_)) => {
            state.caught_up(Some(state.store.head().await?.position)).await?;
            visible(state, user, id).await?
        }
        other => other?,
    };
    let decided =
        state.resources.execute(view.resource_id, user.actor(), command, command_meta(req, Some(user), body)?).await?;
    let status = decided.events.first().map(|e| e.event_type()).unwrap_or("unchanged");
    Ok(written(StatusCode::OK, decided.position, json!({ "id": id, "result": status })))
}

async fn cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: CancelInput = if body.is_empty() { CancelInput::default() } else { json_body(&body)? };
    let id = id.into_inner();
    let command = ResourceCommand::CancelReservation { reservation_id: id, reason: input.reason };
    on_reservation(&state, &req, &user, id, &body, command).await
}

async fn check_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    on_reservation(&state, &req, &user, id, &[], ResourceCommand::CheckIn { reservation_id: id }).await
}

async fn series(
    state: web::Data<AppState>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let detail =
        rm::get_series(&state.db(), id.into_inner()).await?.ok_or_else(|| ApiError::NotFound("series".into()))?;
    if detail.series.user_id != user.user_id && !matches!(user.role, Role::Admin | Role::Approver | Role::Auditor) {
        return Err(ApiError::NotFound("series".into()));
    }
    Ok(HttpResponse::Ok().json(detail))
}

#[derive(Debug, Deserialize)]
struct CancelSeriesInput {
    /// Cancel this occurrence and all later ones; without it, the whole series.
    from_reservation_id: Option<Uuid>,
}

async fn cancel_series(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: CancelSeriesInput =
        if body.is_empty() { CancelSeriesInput { from_reservation_id: None } } else { json_body(&body)? };
    let series_id = id.into_inner();
    let detail = rm::get_series(&state.db(), series_id).await?.ok_or_else(|| ApiError::NotFound("series".into()))?;
    if detail.series.user_id != user.user_id && user.role != Role::Admin {
        return Err(ApiError::NotFound("series".into()));
    }
    let scope = match input.from_reservation_id {
        Some(reservation_id) => SeriesCancelScope::ThisAndFollowing { reservation_id },
        None => SeriesCancelScope::Whole,
    };
    let command = ResourceCommand::CancelSeries { series_id, scope };
    let decided = state
        .resources
        .execute(detail.series.resource_id, user.actor(), command, command_meta(&req, Some(&user), &body)?)
        .await?;
    let cancelled = decided.events.iter().filter(|e| e.event_type() == "reservation_cancelled").count();
    Ok(written(StatusCode::OK, decided.position, json!({ "series_id": series_id, "cancelled": cancelled })))
}
