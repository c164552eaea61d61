//! A webhook's deliveries (admins): the history with every attempt, a test ping, and
//! redelivery. Pings and redeliveries go through the same queue and worker as planned
//! deliveries: same signing, retries and records.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use reserver_domain::Role;
use reserver_webhooks::deliveries::{enqueue, redeliver, NewDelivery, DELIVERED, FAILED, PENDING};
use reserver_webhooks::{envelope, history, WebhookService};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::problems::{Forbidden, Invalid, Lagging, NotFound, RateLimited, StateConflict, Unauthenticated};
use crate::api_doc::read_models;
use crate::error::ApiError;
use crate::extract::{CurrentUser, MinPosition};
use crate::routes::webhooks::{load, webhook_error};
use reserver_app::AppError;
use reserver_app::Services;

#[derive(OpenApi)]
#[openapi(paths(list, ping, redeliver_one))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/{id}/deliveries", web::get().to(list))
        .route("/webhooks/{id}/test", web::post().to(ping))
        .route("/webhooks/{id}/deliveries/{delivery_id}/redeliver", web::post().to(redeliver_one));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryParams {
    /// `pending`, `delivered` or `failed`.
    status: Option<String>,
    /// Page size, 1 to 200.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Deliveries newest first, each with its attempts; `status` filters, `limit` and `cursor` page.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    operation_id = "webhook_deliveries",
    summary = "Delivery history with every attempt, newest first (admin)",
    params(("id" = Uuid, Path, description = "The endpoint"), HistoryParams, MinPosition),
    responses(
        (status = 200, description = "One page of deliveries", body = read_models::DeliveryPage),
        Unauthenticated, Forbidden, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn list(
    state: web::Data<Services>,
    service: web::Data<WebhookService>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
    params: web::Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    super::webhooks::planner_caught_up(&state, &service, min).await?;
    let id = id.into_inner();
    load(&state, id).await?;
    if let Some(status) = params.status.as_deref() {
        if ![PENDING, DELIVERED, FAILED].contains(&status) {
            return Err(AppError::validation("status", "one of pending, delivered, failed").into());
        }
    }
    if let Some(limit) = params.limit {
        if limit == 0 || limit > history::MAX_LIMIT {
            return Err(AppError::validation("limit", format!("must be between 1 and {}", history::MAX_LIMIT)).into());
        }
    }
    let page = history::deliveries(&state.db(), id, params.status.as_deref(), params.limit, params.cursor.as_deref())
        .await
        .map_err(webhook_error)?;
    Ok(HttpResponse::Ok().json(page))
}

fn expires_at(service: &WebhookService, now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    now + chrono::Duration::from_std(service.settings().retry.max_age).unwrap_or(chrono::Duration::days(1))
}

/// A delivery queued for the worker.
#[derive(Serialize, ToSchema)]
struct DeliveryQueued {
    delivery_id: Uuid,
    /// `pending`.
    status: &'static str,
}

/// Queues a ping.
///
/// A `webhook.test` message goes through the same queue, signing and retries as events.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/test",
    tag = "webhooks",
    operation_id = "test_webhook",
    summary = "Send a webhook.test ping (admin)",
    params(("id" = Uuid, Path, description = "The endpoint")),
    responses(
        (status = 202, description = "Queued; see the delivery history for the outcome", body = DeliveryQueued),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn ping(
    state: web::Data<Services>,
    service: web::Data<WebhookService>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let id = id.into_inner();
    let (subscription, _) = load(&state, id).await?;
    if !subscription.active {
        return Err(AppError::Conflict {
            slug: "webhook-disabled",
            detail: "the endpoint is disabled; enable it with PATCH {\"active\": true} first".into(),
        }
        .into());
    }
    let now = Utc::now();
    let head = state.store.head().await?.position;
    let delivery = NewDelivery {
        delivery_id: Uuid::new_v4(),
        subscription_id: id,
        event_id: Uuid::new_v4(),
        event_type: envelope::TEST_EVENT.into(),
        position: head,
        body: envelope::for_test(id, now, head),
    };
    enqueue(&state.db(), &delivery, now, expires_at(&service, now)).await.map_err(webhook_error)?;
    service.wake();
    Ok(HttpResponse::build(StatusCode::ACCEPTED)
        .json(DeliveryQueued { delivery_id: delivery.delivery_id, status: PENDING }))
}

/// Sends a delivery again.
///
/// Same `webhook-id` and body, a fresh maximum age and a back-off that starts over.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    tag = "webhooks",
    operation_id = "redeliver_webhook",
    summary = "Send a delivery again, same webhook-id (admin)",
    params(
        ("id" = Uuid, Path, description = "The endpoint"),
        ("delivery_id" = Uuid, Path, description = "The delivery")
    ),
    responses(
        (status = 202, description = "Queued again", body = DeliveryQueued),
        Unauthenticated, Forbidden, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn redeliver_one(
    state: web::Data<Services>,
    service: web::Data<WebhookService>,
    user: CurrentUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let (id, delivery_id) = path.into_inner();
    load(&state, id).await?;
    let now = Utc::now();
    if !redeliver(&state.db(), id, delivery_id, now, expires_at(&service, now)).await.map_err(webhook_error)? {
        return Err(AppError::NotFound("delivery".into()).into());
    }
    service.wake();
    Ok(HttpResponse::build(StatusCode::ACCEPTED).json(DeliveryQueued { delivery_id, status: PENDING }))
}
