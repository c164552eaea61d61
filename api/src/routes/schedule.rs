//! A resource's schedule rules and availability: business hours, blackouts, free slots, next
//! available, per-day summary, and the schedule as of a past instant.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use reserver_domain::schedule_rules::BusinessHours;
use reserver_domain::{ResourceCommand, Role, TimeRange};
use reserver_projections::{availability, catalog};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{command_meta, CurrentUser, MinPosition};
use crate::routes::support::{instant, json_body, written};
use crate::routes::views;
use crate::state::AppState;

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
    .route("/resources/{id}/availability", web::get().to(availability_summary))
    .route("/resources/{id}/available-slots", web::get().to(available_slots))
    .route("/resources/{id}/next-available", web::get().to(next_available))
    .route("/resources/{id}/schedule", web::get().to(schedule));
}

async fn resource_view(state: &AppState, id: Uuid) -> Result<catalog::ResourceView, ApiError> {
    catalog::get_resource(&state.db(), id).await?.ok_or_else(|| ApiError::NotFound("resource".into()))
}

async fn get_hours(
    state: web::Data<AppState>,
    _u: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let view = resource_view(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(json!({ "time_zone": view.time_zone.name(), "business_hours": view.business_hours })))
}

#[derive(Debug, Deserialize)]
struct HoursInput {
    business_hours: Option<BusinessHours>,
}

async fn set_hours(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let input: HoursInput =
        serde_json::from_slice(&body).map_err(|e| ApiError::validation("business_hours", e.to_string()))?;
    let command = ResourceCommand::SetBusinessHours { hours: input.business_hours.clone() };
    let decided = state
        .resources
        .execute(id.into_inner(), user.actor(), command, command_meta(&req, Some(&user), &body)?)
        .await?;
    Ok(written(StatusCode::OK, decided.position, json!({ "business_hours": input.business_hours })))
}

async fn list_blackouts(
    state: web::Data<AppState>,
    _u: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let id = id.into_inner();
    let s =
        availability::resource_state(&state.db(), id).await?.ok_or_else(|| ApiError::NotFound("resource".into()))?;
    let blackouts = s.resource.map(|r| r.blackouts).unwrap_or_default();
    Ok(HttpResponse::Ok().json(blackouts))
}

#[derive(Debug, Deserialize)]
struct BlackoutInput {
    start_time: String,
    end_time: String,
    #[serde(default)]
    reason: String,
}

async fn add_blackout(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let input: BlackoutInput = json_body(&body)?;
    let range = TimeRange::new(instant("start_time", &input.start_time)?, instant("end_time", &input.end_time)?)
        .map_err(|_| ApiError::validation("end_time", "must be after start_time"))?;
    let blackout_id = Uuid::new_v4();
    let command = ResourceCommand::AddBlackout { blackout_id, range, reason: input.reason.clone() };
    let decided = state
        .resources
        .execute(id.into_inner(), user.actor(), command, command_meta(&req, Some(&user), &body)?)
        .await?;
    Ok(written(
        StatusCode::CREATED,
        decided.position,
        json!({ "id": blackout_id, "start_time": range.start(), "end_time": range.end(), "reason": input.reason }),
    ))
}

async fn remove_blackout(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let (id, blackout_id) = path.into_inner();
    let command = ResourceCommand::RemoveBlackout { blackout_id };
    let decided = state.resources.execute(id, user.actor(), command, command_meta(&req, Some(&user), &[])?).await?;
    Ok(written(StatusCode::OK, decided.position, json!({ "deleted": blackout_id })))
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
    fn duration(&self) -> Result<Duration, ApiError> {
        match self.duration_minutes.unwrap_or(60) {
            m @ 1..=10_080 => Ok(Duration::minutes(i64::from(m))),
            _ => Err(ApiError::validation("duration_minutes", "must be between 1 and 10080")),
        }
    }

    fn days(&self) -> Result<u32, ApiError> {
        match self.days_ahead.unwrap_or(7) {
            d @ 1..=366 => Ok(d),
            _ => Err(ApiError::validation("days_ahead", "must be between 1 and 366")),
        }
    }

    /// The searched window: `start`/`end`, or a local `date`'s 24 hours, or now + `days_ahead`.
    fn window(&self, tz: chrono_tz::Tz) -> Result<TimeRange, ApiError> {
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
            return Err(ApiError::validation("end", "the window may span at most 366 days"));
        }
        TimeRange::new(start, end).map_err(|_| ApiError::validation("end", "must be after start"))
    }
}

async fn availability_summary(
    state: web::Data<AppState>,
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
        Ok(json!({
            "resource_id": id,
            "time_zone": view.time_zone.name(),
            "resource": views::resource(&view),
            "days": days,
        }))
    };
    state.cached(key, min.0, compute).await
}

async fn available_slots(
    state: web::Data<AppState>,
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
    let slots: Vec<_> = slots.iter().map(|s| json!({ "start_time": s.start(), "end_time": s.end() })).collect();
    Ok(HttpResponse::Ok().json(json!({ "resource_id": id, "slots": slots })))
}

async fn next_available(
    state: web::Data<AppState>,
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
    Ok(HttpResponse::Ok().json(json!({
        "resource_id": id,
        "available": slot.is_some(),
        "next_available": slot.map(|s| json!({ "start_time": s.start(), "end_time": s.end() })),
    })))
}

#[derive(Debug, Deserialize)]
struct AsOf {
    as_of: Option<String>,
}

/// Time travel: the resource's reservations as they stood at `as_of`, computed from the log.
async fn schedule(
    state: web::Data<AppState>,
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
        .json(json!({ "as_of": at, "reservations": reservations.iter().map(views::reservation).collect::<Vec<_>>() })))
}
