//! Notifications, analytics, audit and the raw event log for auditors.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use chrono::{Duration, Utc};
use futures::stream::{self, StreamExt};
use reserver_domain::{Role, TimeRange};
use reserver_projections::{analytics, audit, notifications};
use reserver_store::verify_chain;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{CurrentUser, MinPosition};
use crate::routes::support::{instant, page_json, PageParams};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/notifications", web::get().to(list_notifications))
        .route("/notifications/read-all", web::post().to(read_all))
        .route("/notifications/{id}/read", web::post().to(read_one))
        .route("/analytics/dashboard", web::get().to(dashboard))
        .route("/analytics/utilization", web::get().to(utilization))
        .route("/analytics/export/utilization.csv", web::get().to(utilization_csv))
        .route("/analytics/export/reservations.csv", web::get().to(reservations_csv))
        .route("/audit/logs", web::get().to(audit_logs))
        .route("/audit/export/csv", web::get().to(audit_csv))
        .route("/audit/export/json", web::get().to(audit_json))
        .route("/events", web::get().to(events))
        .route("/events/verify", web::get().to(verify));
}

#[derive(Debug, Deserialize)]
struct NotificationParams {
    #[serde(default)]
    unread_only: bool,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list_notifications(
    state: web::Data<AppState>,
    user: CurrentUser,
    min: MinPosition,
    p: web::Query<NotificationParams>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let page = PageParams { limit: p.limit, cursor: p.cursor.clone() }.request()?;
    let result = notifications::notifications_for_user(&state.db(), user.user_id, p.unread_only, &page).await?;
    let unread = notifications::unread_count(&state.db(), user.user_id).await?;
    let mut body = page_json(result, |n| serde_json::to_value(n).unwrap_or_default());
    body["unread_count"] = json!(unread);
    Ok(HttpResponse::Ok().json(body))
}

async fn read_one(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let changed = notifications::mark_read(&state.db(), user.user_id, &[id.into_inner()], Utc::now()).await?;
    Ok(HttpResponse::Ok().json(json!({ "marked_read": changed })))
}

async fn read_all(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    let changed = notifications::mark_all_read(&state.db(), user.user_id, Utc::now()).await?;
    Ok(HttpResponse::Ok().json(json!({ "marked_read": changed })))
}

#[derive(Debug, Deserialize)]
struct WindowParams {
    start: Option<String>,
    end: Option<String>,
    days: Option<i64>,
    resource_id: Option<Uuid>,
}

impl WindowParams {
    fn window(&self) -> Result<TimeRange, ApiError> {
        let end = match &self.end {
            Some(e) => instant("end", e)?,
            None => Utc::now(),
        };
        let start = match &self.start {
            Some(s) => instant("start", s)?,
            None => end - Duration::days(self.days.unwrap_or(30).clamp(1, 366)),
        };
        if end - start > Duration::days(366) {
            return Err(ApiError::validation("start", "the window may span at most 366 days"));
        }
        TimeRange::new(start, end).map_err(|_| ApiError::validation("end", "must be after start"))
    }
}

fn analysts(user: &CurrentUser) -> Result<(), ApiError> {
    user.require(&[Role::Admin, Role::Approver, Role::Auditor])
}

async fn dashboard(
    state: web::Data<AppState>,
    user: CurrentUser,
    min: MinPosition,
    p: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    analysts(&user)?;
    state.caught_up(min.0).await?;
    let window = p.window()?;
    let db = state.db();
    Ok(HttpResponse::Ok().json(json!({
        "window": { "start": window.start(), "end": window.end() },
        "popular_resources": analytics::popular_resources(&db, window, 10).await?,
        "peak_times": analytics::peak_times(&db, window, 10).await?,
        "no_shows": analytics::no_show_rate(&db, p.resource_id, window).await?,
    })))
}

async fn utilization(
    state: web::Data<AppState>,
    user: CurrentUser,
    min: MinPosition,
    p: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    analysts(&user)?;
    state.caught_up(min.0).await?;
    let window = p.window()?;
    let db = state.db();
    Ok(HttpResponse::Ok().json(json!({
        "by_day": analytics::utilization_by_day(&db, p.resource_id, window).await?,
        "by_hour_of_week": analytics::utilization_by_hour_of_week(&db, p.resource_id, window).await?,
    })))
}

fn csv(filename: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{filename}\"")))
        .body(body)
}

async fn utilization_csv(
    state: web::Data<AppState>,
    user: CurrentUser,
    p: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    analysts(&user)?;
    let rows = analytics::utilization_by_day(&state.db(), p.resource_id, p.window()?).await?;
    Ok(csv("utilization.csv", analytics::daily_utilization_csv(&rows)))
}

async fn reservations_csv(
    state: web::Data<AppState>,
    user: CurrentUser,
    p: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    analysts(&user)?;
    let mut out = String::from("id,resource_id,user_id,start_time,end_time,status,created_at\n");
    let mut page = reserver_projections::PageRequest::first(500);
    loop {
        let result = reserver_projections::reservations::reservations_in_range(&state.db(), p.window()?, &page).await?;
        for r in &result.data {
            out.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                r.reservation_id,
                r.resource_id,
                r.user_id,
                r.range.start().to_rfc3339(),
                r.range.end().to_rfc3339(),
                reserver_projections::reservations::status_label(r.status),
                r.created_at.to_rfc3339()
            ));
        }
        match result.next_cursor {
            Some(c) if result.has_more => page = reserver_projections::PageRequest::after(500, c),
            _ => break,
        }
    }
    Ok(csv("reservations.csv", out))
}

#[derive(Debug, Deserialize)]
struct AuditParams {
    actor: Option<String>,
    resource_id: Option<Uuid>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

impl AuditParams {
    fn filter(&self) -> Result<audit::AuditFilter, ApiError> {
        Ok(audit::AuditFilter {
            actor: self.actor.clone(),
            resource_id: self.resource_id,
            action: self.action.clone(),
            from: self.from.as_deref().map(|t| instant("from", t)).transpose()?,
            to: self.to.as_deref().map(|t| instant("to", t)).transpose()?,
        })
    }
}

fn auditors(user: &CurrentUser) -> Result<(), ApiError> {
    user.require(&[Role::Admin, Role::Auditor])
}

async fn audit_logs(
    state: web::Data<AppState>,
    user: CurrentUser,
    min: MinPosition,
    p: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    auditors(&user)?;
    state.caught_up(min.0).await?;
    let page = PageParams { limit: p.limit, cursor: p.cursor.clone() }.request()?;
    let result = audit::audit_log(&state.db(), &p.filter()?, &page).await?;
    Ok(HttpResponse::Ok().json(page_json(result, |e| serde_json::to_value(e).unwrap_or_default())))
}

/// Every matching audit entry, page by page.
async fn all_audit(state: &AppState, filter: &audit::AuditFilter) -> Result<Vec<audit::AuditEntry>, ApiError> {
    let mut entries = Vec::new();
    let mut page = reserver_projections::PageRequest::first(500);
    loop {
        let result = audit::audit_log(&state.db(), filter, &page).await?;
        entries.extend(result.data);
        match result.next_cursor {
            Some(c) if result.has_more && entries.len() < 1_000_000 => {
                page = reserver_projections::PageRequest::after(500, c)
            }
            _ => return Ok(entries),
        }
    }
}

async fn audit_csv(
    state: web::Data<AppState>,
    user: CurrentUser,
    p: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    auditors(&user)?;
    let entries = all_audit(&state, &p.filter()?).await?;
    Ok(csv("audit.csv", audit::audit_csv(&entries)))
}

async fn audit_json(
    state: web::Data<AppState>,
    user: CurrentUser,
    p: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    auditors(&user)?;
    let entries = all_audit(&state, &p.filter()?).await?;
    let body = audit::audit_json(&entries)?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .insert_header(("Content-Disposition", "attachment; filename=\"audit.json\""))
        .body(body))
}

#[derive(Debug, Deserialize)]
struct EventsParams {
    from_position: Option<u64>,
    limit: Option<usize>,
}

/// The log itself as NDJSON (one event per line, with its hashes), streamed in batches.
async fn events(
    state: web::Data<AppState>,
    user: CurrentUser,
    p: web::Query<EventsParams>,
) -> Result<HttpResponse, ApiError> {
    auditors(&user)?;
    let limit = p.limit.unwrap_or(1000);
    if !(1..=100_000).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 100000"));
    }
    let store = state.store.clone();
    let start = p.from_position.unwrap_or(0);
    let body = stream::unfold((start, limit), move |(after, left)| {
        let store = store.clone();
        async move {
            if left == 0 {
                return None;
            }
            match store.read_all(after, left.min(1000)).await {
                Ok(batch) if !batch.is_empty() => {
                    let last = batch.last().map(|e| e.position).unwrap_or(after);
                    let mut chunk = String::new();
                    for e in &batch {
                        chunk.push_str(&serde_json::to_string(e).unwrap_or_default());
                        chunk.push('\n');
                    }
                    Some((Ok::<_, actix_web::Error>(web::Bytes::from(chunk)), (last, left - batch.len())))
                }
                _ => None,
            }
        }
    });
    Ok(HttpResponse::Ok().content_type("application/x-ndjson").streaming(body.boxed_local()))
}

async fn verify(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    auditors(&user)?;
    Ok(match verify_chain(state.store.as_ref()).await? {
        Ok(report) => {
            HttpResponse::Ok().json(json!({ "intact": true, "events": report.events, "head_hash": report.head_hash }))
        }
        Err(broken) => HttpResponse::Ok()
            .json(json!({ "intact": false, "first_bad_position": broken.position, "reason": broken.reason })),
    })
}
