//! The caller's notifications: a page at a time with the unread count, and read marks.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::problems::{Invalid, Lagging, RateLimited, Unauthenticated};
use crate::api_doc::read_models;
use crate::error::ApiError;
use crate::extract::{CurrentUser, MinPosition};
use crate::routes::support::{page_json, PageParams};
use reserver_app::{notifications, Services};

#[derive(OpenApi)]
#[openapi(paths(list_notifications, read_one, read_all))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/notifications", web::get().to(list_notifications))
        .route("/notifications/read-all", web::post().to(read_all))
        .route("/notifications/{id}/read", web::post().to(read_one));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct NotificationParams {
    /// Only those not marked read.
    #[serde(default)]
    unread_only: bool,
    /// Page size, 1 to 500 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    tag = "notifications",
    operation_id = "list_notifications",
    summary = "The caller's notifications",
    params(NotificationParams, MinPosition),
    responses(
        (status = 200, description = "One page, newest first, with the unread count", body = read_models::NotificationPage),
        Unauthenticated, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn list_notifications(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    p: web::Query<NotificationParams>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let page = PageParams { limit: p.limit, cursor: p.cursor.clone() }.request()?;
    let (result, unread) = notifications::list(&state, user.user_id, p.unread_only, &page).await?;
    let mut body = page_json(result, |n| serde_json::to_value(n).unwrap_or_default());
    body["unread_count"] = json!(unread);
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Serialize, ToSchema)]
struct MarkedRead {
    /// How many notifications changed to read.
    marked_read: u64,
}

#[utoipa::path(
    post,
    path = "/api/v1/notifications/{id}/read",
    tag = "notifications",
    operation_id = "mark_notification_read",
    summary = "Mark one read",
    params(("id" = Uuid, Path, description = "The notification")),
    responses(
        (status = 200, description = "0 if it was read already or is not the caller's", body = MarkedRead),
        Unauthenticated, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn read_one(
    state: web::Data<Services>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let changed = notifications::mark_read(&state, user.user_id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(MarkedRead { marked_read: changed }))
}

#[utoipa::path(
    post,
    path = "/api/v1/notifications/read-all",
    tag = "notifications",
    operation_id = "mark_all_notifications_read",
    summary = "Mark all read",
    responses(
        (status = 200, description = "How many were unread", body = MarkedRead),
        Unauthenticated, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn read_all(state: web::Data<Services>, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    let changed = notifications::mark_all_read(&state, user.user_id).await?;
    Ok(HttpResponse::Ok().json(MarkedRead { marked_read: changed }))
}
