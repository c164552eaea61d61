//! A webhook's deliveries (admins): the history with every attempt, a test ping, and
//! redelivery. Pings and redeliveries go through the same queue and worker as planned
//! deliveries: same signing, retries and records.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use reserver_domain::Role;
use reserver_webhooks::deliveries::{enqueue, redeliver, NewDelivery, DELIVERED, FAILED, PENDING};
use reserver_webhooks::{envelope, history, WebhookService};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::CurrentUser;
use crate::routes::webhooks::{load, webhook_error};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/{id}/deliveries", web::get().to(list))
        .route("/webhooks/{id}/test", web::post().to(ping))
        .route("/webhooks/{id}/deliveries/{delivery_id}/redeliver", web::post().to(redeliver_one));
}

#[derive(Debug, Deserialize)]
struct HistoryParams {
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Deliveries newest first, each with its attempts; `status` filters, `limit` and `cursor` page.
async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    params: web::Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let id = id.into_inner();
    load(&state, id).await?;
    if let Some(status) = params.status.as_deref() {
        if ![PENDING, DELIVERED, FAILED].contains(&status) {
            return Err(ApiError::validation("status", "one of pending, delivered, failed"));
        }
    }
    if let Some(limit) = params.limit {
        if limit == 0 || limit > history::MAX_LIMIT {
            return Err(ApiError::validation("limit", format!("must be between 1 and {}", history::MAX_LIMIT)));
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

/// Queues a `webhook.test` message to the endpoint.
async fn ping(
    state: web::Data<AppState>,
    service: web::Data<WebhookService>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let id = id.into_inner();
    let (subscription, _) = load(&state, id).await?;
    if !subscription.active {
        return Err(ApiError::Conflict {
            slug: "webhook-disabled",
            detail: "the endpoint is disabled; enable it with PATCH {\"active\": true} first".into(),
        });
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
        .json(json!({ "delivery_id": delivery.delivery_id, "status": PENDING })))
}

/// Sends a delivery again, with the same `webhook-id` and body, a fresh maximum age and a
/// back-off that starts over.
async fn redeliver_one(
    state: web::Data<AppState>,
    service: web::Data<WebhookService>,
    user: CurrentUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let (id, delivery_id) = path.into_inner();
    load(&state, id).await?;
    let now = Utc::now();
    if !redeliver(&state.db(), id, delivery_id, now, expires_at(&service, now)).await.map_err(webhook_error)? {
        return Err(ApiError::NotFound("delivery".into()));
    }
    service.wake();
    Ok(HttpResponse::build(StatusCode::ACCEPTED).json(json!({ "delivery_id": delivery_id, "status": PENDING })))
}
