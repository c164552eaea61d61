//! Analytics for admins, approvers and auditors: the dashboard, utilization, and CSV exports.

use actix_web::{web, HttpResponse};
use chrono::{Duration, Utc};
use reserver_domain::{Role, TimeRange};
use reserver_projections::analytics;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::problems::{Forbidden, Invalid, Lagging, RateLimited, Unauthenticated};
use crate::api_doc::read_models;
use crate::error::ApiError;
use crate::extract::{CurrentUser, MinPosition};
use crate::routes::support::{csv, instant};
use reserver_app::AppError;
use reserver_app::Services;

#[derive(OpenApi)]
#[openapi(paths(dashboard, utilization, utilization_csv, reservations_csv))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/analytics/dashboard", web::get().to(dashboard))
        .route("/analytics/utilization", web::get().to(utilization))
        .route("/analytics/export/utilization.csv", web::get().to(utilization_csv))
        .route("/analytics/export/reservations.csv", web::get().to(reservations_csv));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct WindowParams {
    /// Window start (RFC 3339; default `end` minus `days`).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    start: Option<String>,
    /// Window end (default now); the window spans at most 366 days.
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    end: Option<String>,
    /// Without `start`: days before `end`, 1 to 366 (default 30).
    days: Option<i64>,
    /// Only this resource (not for popularity and peak times).
    resource_id: Option<Uuid>,
}

impl WindowParams {
    fn window(&self) -> Result<TimeRange, AppError> {
        let end = match &self.end {
            Some(e) => instant("end", e)?,
            None => Utc::now(),
        };
        let start = match &self.start {
            Some(s) => instant("start", s)?,
            None => end - Duration::days(self.days.unwrap_or(30).clamp(1, 366)),
        };
        if end - start > Duration::days(366) {
            return Err(AppError::validation("start", "the window may span at most 366 days"));
        }
        TimeRange::new(start, end).map_err(|_| AppError::validation("end", "must be after start"))
    }
}

fn analysts(user: &CurrentUser) -> Result<(), AppError> {
    user.require(&[Role::Admin, Role::Approver, Role::Auditor])
}

/// A window of time.
#[derive(Serialize, ToSchema)]
struct AnalyticsWindow {
    start: chrono::DateTime<Utc>,
    end: chrono::DateTime<Utc>,
}

/// The analytics overview of a window.
#[derive(Serialize, ToSchema)]
struct Dashboard {
    window: AnalyticsWindow,
    /// The ten most booked resources.
    #[schema(value_type = Vec<read_models::PopularResource>)]
    popular_resources: Vec<analytics::PopularResource>,
    /// The ten busiest hours of the week across all resources.
    #[schema(value_type = Vec<read_models::HourlyUtilization>)]
    peak_times: Vec<analytics::HourlyUtilization>,
    #[schema(value_type = read_models::NoShowStats)]
    no_shows: analytics::NoShowStats,
}

#[utoipa::path(
    get,
    path = "/api/v1/analytics/dashboard",
    tag = "analytics",
    operation_id = "analytics_dashboard",
    summary = "Popular resources, peak times, no-shows",
    params(WindowParams, MinPosition),
    responses(
        (status = 200, description = "The overview", body = Dashboard),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn dashboard(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    p: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    analysts(&user)?;
    state.caught_up(min.0).await?;
    let window = p.window()?;
    let db = state.db();
    Ok(HttpResponse::Ok().json(Dashboard {
        window: AnalyticsWindow { start: window.start(), end: window.end() },
        popular_resources: analytics::popular_resources(&db, window, 10).await?,
        peak_times: analytics::peak_times(&db, window, 10).await?,
        no_shows: analytics::no_show_rate(&db, p.resource_id, window).await?,
    }))
}

#[derive(Serialize, ToSchema)]
struct Utilization {
    #[schema(value_type = Vec<read_models::DailyUtilization>)]
    by_day: Vec<analytics::DailyUtilization>,
    #[schema(value_type = Vec<read_models::HourlyUtilization>)]
    by_hour_of_week: Vec<analytics::HourlyUtilization>,
}

#[utoipa::path(
    get,
    path = "/api/v1/analytics/utilization",
    tag = "analytics",
    operation_id = "analytics_utilization",
    summary = "Utilization by day and by hour of week",
    params(WindowParams, MinPosition),
    responses(
        (status = 200, description = "Booked against open minutes", body = Utilization),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn utilization(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    p: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    analysts(&user)?;
    state.caught_up(min.0).await?;
    let window = p.window()?;
    let db = state.db();
    Ok(HttpResponse::Ok().json(Utilization {
        by_day: analytics::utilization_by_day(&db, p.resource_id, window).await?,
        by_hour_of_week: analytics::utilization_by_hour_of_week(&db, p.resource_id, window).await?,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/analytics/export/utilization.csv",
    tag = "analytics",
    operation_id = "export_utilization_csv",
    summary = "Utilization as CSV",
    params(WindowParams, MinPosition),
    responses(
        (status = 200, description = "One row per resource and day", body = String, content_type = "text/csv"),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn utilization_csv(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    p: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    analysts(&user)?;
    state.caught_up(min.0).await?;
    let rows = analytics::utilization_by_day(&state.db(), p.resource_id, p.window()?).await?;
    let rows = rows.iter().map(|r| {
        [
            r.resource_id.to_string(),
            r.date.to_string(),
            r.booked_minutes.to_string(),
            r.open_minutes.to_string(),
            format!("{:.4}", r.utilization),
        ]
    });
    let header = ["resource_id", "date", "booked_minutes", "open_minutes", "utilization"];
    Ok(csv("utilization.csv", reserver_app::csv_table::write(&header, rows)))
}

#[utoipa::path(
    get,
    path = "/api/v1/analytics/export/reservations.csv",
    tag = "analytics",
    operation_id = "export_reservations_csv",
    summary = "Reservations as CSV",
    params(WindowParams, MinPosition),
    responses(
        (status = 200, description = "id,resource_id,user_id,start_time,end_time,status,created_at",
         body = String, content_type = "text/csv"),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn reservations_csv(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    p: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    analysts(&user)?;
    state.caught_up(min.0).await?;
    let mut rows = Vec::new();
    let mut page = reserver_projections::PageRequest::first(500);
    loop {
        let result = reserver_projections::reservations::reservations_in_range(&state.db(), p.window()?, &page).await?;
        for r in &result.data {
            rows.push([
                r.reservation_id.to_string(),
                r.resource_id.to_string(),
                r.user_id.to_string(),
                r.range.start().to_rfc3339(),
                r.range.end().to_rfc3339(),
                reserver_projections::reservations::status_label(r.status).to_string(),
                r.created_at.to_rfc3339(),
            ]);
        }
        match result.next_cursor {
            Some(c) if result.has_more => page = reserver_projections::PageRequest::after(500, c),
            _ => break,
        }
    }
    let header = ["id", "resource_id", "user_id", "start_time", "end_time", "status", "created_at"];
    Ok(csv("reservations.csv", reserver_app::csv_table::write(&header, rows)))
}
