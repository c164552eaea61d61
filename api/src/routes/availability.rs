//! When a resource is free: the per-day summary, free slots in a window, and the next free slot.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use reserver_domain::TimeRange;
use reserver_projections::availability;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::problems::{Invalid, Lagging, NotFound, RateLimited, Unauthenticated};
use crate::api_doc::read_models;
use crate::error::ApiError;
use crate::extract::{CurrentUser, MinPosition};
use crate::routes::schedule::resource_view;
use crate::routes::support::instant;
use crate::views::{self, ResourceBody};
use reserver_app::AppError;
use reserver_app::Services;

#[derive(OpenApi)]
#[openapi(paths(availability_summary, available_slots, next_available))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/resources/{id}/availability", web::get().to(availability_summary))
        .route("/resources/{id}/available-slots", web::get().to(available_slots))
        .route("/resources/{id}/next-available", web::get().to(next_available));
}

#[derive(Debug, Deserialize)]
struct WindowParams {
    days_ahead: Option<u32>,
    date: Option<chrono::NaiveDate>,
    start: Option<String>,
    end: Option<String>,
    duration_minutes: Option<u32>,
    limit: Option<usize>,
}

impl WindowParams {
    fn duration(&self) -> Result<Duration, AppError> {
        match self.duration_minutes.unwrap_or(60) {
            m @ 1..=10_080 => Ok(Duration::minutes(i64::from(m))),
            _ => Err(AppError::validation("duration_minutes", "must be between 1 and 10080")),
        }
    }

    fn days(&self) -> Result<u32, AppError> {
        match self.days_ahead.unwrap_or(7) {
            d @ 1..=366 => Ok(d),
            _ => Err(AppError::validation("days_ahead", "must be between 1 and 366")),
        }
    }

    /// The searched window: `start`/`end`, or a local `date`'s 24 hours, or now + `days_ahead`.
    fn window(&self, tz: chrono_tz::Tz) -> Result<TimeRange, AppError> {
        let now = Utc::now();
        let (start, end) = match (&self.start, &self.end, self.date) {
            (Some(s), Some(e), _) => (instant("start", s)?, instant("end", e)?),
            (_, _, Some(date)) => {
                let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
                let start = reserver_domain::schedule_rules::resolve_local(tz, midnight);
                (start, start + Duration::days(1))
            }
            _ => (now, now + Duration::days(i64::from(self.days()?))),
        };
        if end - start > Duration::days(366) {
            return Err(AppError::validation("end", "the window may span at most 366 days"));
        }
        TimeRange::new(start, end).map_err(|_| AppError::validation("end", "must be after start"))
    }
}

/// Per-day availability of a resource.
#[derive(Serialize, ToSchema)]
struct AvailabilitySummary {
    resource_id: Uuid,
    time_zone: String,
    resource: ResourceBody,
    #[schema(value_type = Vec<read_models::DaySummary>)]
    days: Vec<availability::DaySummary>,
}

#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}/availability",
    tag = "availability",
    operation_id = "availability",
    summary = "Per-day availability for days_ahead days",
    params(
        ("id" = Uuid, Path, description = "The resource"),
        ("days_ahead" = Option<u32>, Query, description = "Days from today in the resource's zone, 1 to 366 (default 7)"),
        ("duration_minutes" = Option<u32>, Query, description = "Slot length counted, 1 to 10080 (default 60)"),
        MinPosition
    ),
    responses(
        (status = 200, description = "One entry per local day", body = AvailabilitySummary),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn availability_summary(
    state: web::Data<Services>,
    api: web::Data<crate::ApiState>,
    req: HttpRequest,
    _u: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
    params: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let key = format!("availability/{id}?{}", req.query_string());
    let (days, duration) = (params.days()?, params.duration()?);
    let inner = state.clone();
    let compute = || async move {
        let view = resource_view(&inner, id).await?;
        let today = Utc::now().with_timezone(&view.time_zone).date_naive();
        let days = availability::day_summary(&inner.db(), id, today, days, duration, Utc::now()).await?;
        let summary = AvailabilitySummary {
            resource_id: id,
            time_zone: view.time_zone.name().to_string(),
            resource: views::resource(&view),
            days,
        };
        serde_json::to_value(summary).map_err(|e| AppError::Internal(e.to_string()))
    };
    Ok(api.cached(&state, key, min.0, compute).await?)
}

/// A free slot.
#[derive(Serialize, ToSchema)]
struct Slot {
    start_time: chrono::DateTime<Utc>,
    end_time: chrono::DateTime<Utc>,
}

impl From<&TimeRange> for Slot {
    fn from(range: &TimeRange) -> Self {
        Slot { start_time: range.start(), end_time: range.end() }
    }
}

#[derive(Serialize, ToSchema)]
struct Slots {
    resource_id: Uuid,
    slots: Vec<Slot>,
}

/// Free slots of `duration_minutes` in a window.
///
/// The window is `start`/`end`, or a local `date`, or the next `days_ahead` days. The caller's
/// own bookings count as taken.
#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}/available-slots",
    tag = "availability",
    operation_id = "available_slots",
    summary = "Free slots of a length in a window",
    params(
        ("id" = Uuid, Path, description = "The resource"),
        ("start" = Option<chrono::DateTime<Utc>>, Query, description = "Window start (RFC 3339, with `end`)"),
        ("end" = Option<chrono::DateTime<Utc>>, Query, description = "Window end; at most 366 days after start"),
        ("date" = Option<chrono::NaiveDate>, Query, description = "A local day instead of start/end"),
        ("days_ahead" = Option<u32>, Query, description = "Without start/end or date: days from now, 1 to 366 (default 7)"),
        ("duration_minutes" = Option<u32>, Query, description = "Slot length, 1 to 10080 (default 60)"),
        ("limit" = Option<u32>, Query, description = "Most slots returned, 1 to 500 (default 50)"),
        MinPosition
    ),
    responses(
        (status = 200, description = "Free slots, earliest first", body = Slots),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn available_slots(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
    params: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let id = id.into_inner();
    let view = resource_view(&state, id).await?;
    let window = params.window(view.time_zone)?;
    let limit = params.limit.unwrap_or(50).clamp(1, 500);
    let slots =
        availability::free_slots(&state.db(), id, window, params.duration()?, Utc::now(), limit, Some(user.user_id))
            .await?;
    Ok(HttpResponse::Ok().json(Slots { resource_id: id, slots: slots.iter().map(Slot::from).collect() }))
}

#[derive(Serialize, ToSchema)]
struct NextAvailable {
    resource_id: Uuid,
    available: bool,
    /// `null` when nothing is free within the booking horizon.
    next_available: Option<Slot>,
}

#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}/next-available",
    tag = "availability",
    operation_id = "next_available",
    summary = "The next free slot",
    params(
        ("id" = Uuid, Path, description = "The resource"),
        ("start" = Option<chrono::DateTime<Utc>>, Query, description = "Search from here (default now)"),
        ("duration_minutes" = Option<u32>, Query, description = "Slot length, 1 to 10080 (default 60)"),
        MinPosition
    ),
    responses(
        (status = 200, description = "The first free slot, if any", body = NextAvailable),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn next_available(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
    params: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let id = id.into_inner();
    resource_view(&state, id).await?;
    let from = match &params.start {
        Some(s) => instant("start", s)?,
        None => Utc::now(),
    };
    let slot =
        availability::next_available(&state.db(), id, from, params.duration()?, Utc::now(), Some(user.user_id)).await?;
    Ok(HttpResponse::Ok().json(NextAvailable {
        resource_id: id,
        available: slot.is_some(),
        next_available: slot.as_ref().map(Slot::from),
    }))
}
