//! The event types a webhook can subscribe to: the catalog endpoint, and the check of a
//! subscription's `event_types` against it.

use actix_web::{web, HttpResponse};
use reserver_domain::Role;
use reserver_projections::public_events::CATALOG;
use reserver_webhooks::envelope::TEST_EVENT;
use reserver_webhooks::subscription::ALL_EVENTS;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::api_doc::problems::{Forbidden, RateLimited, Unauthenticated};
use crate::error::ApiError;
use crate::extract::CurrentUser;
use reserver_app::AppError;

#[derive(OpenApi)]
#[openapi(paths(catalog))]
pub(super) struct Api;

/// Most event types one subscription may list.
const MAX_EVENT_TYPES: usize = 64;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/events", web::get().to(catalog));
}

/// An event type a webhook can subscribe to.
#[derive(Serialize, ToSchema)]
struct EventType {
    #[serde(rename = "type")]
    #[schema(example = "reservation.created")]
    name: &'static str,
    description: &'static str,
}

#[derive(Serialize, ToSchema)]
struct EventCatalog {
    data: Vec<EventType>,
    /// Pattern forms `event_types` may use besides exact names.
    patterns: Vec<&'static str>,
    /// The type of the ping `POST /webhooks/{id}/test` sends.
    test_event: &'static str,
}

/// The public event types a subscription can ask for.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/events",
    tag = "webhooks",
    operation_id = "webhook_event_types",
    summary = "Event types a webhook can subscribe to (admin)",
    responses(
        (status = 200, description = "The catalog", body = EventCatalog),
        Unauthenticated, Forbidden, RateLimited
    ),
    security(("bearer" = []))
)]
async fn catalog(user: CurrentUser) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let data = CATALOG.iter().map(|(name, description)| EventType { name, description }).collect();
    Ok(HttpResponse::Ok().json(EventCatalog { data, patterns: vec!["*", "reservation.*"], test_event: TEST_EVENT }))
}

/// Whether a pattern names something in the catalog: `*`, an event type, or `prefix.*`
/// covering at least one.
fn known_event_type(pattern: &str) -> bool {
    pattern == ALL_EVENTS
        || CATALOG.iter().any(|(name, _)| reserver_webhooks::subscription::type_matches(pattern, name))
}

pub(super) fn checked_event_types(types: Vec<String>) -> Result<Vec<String>, AppError> {
    if types.is_empty() {
        return Err(AppError::validation("event_types", "list at least one event type, or \"*\" for all"));
    }
    if types.len() > MAX_EVENT_TYPES {
        return Err(AppError::validation("event_types", format!("at most {MAX_EVENT_TYPES} entries")));
    }
    let mut checked: Vec<String> = Vec::with_capacity(types.len());
    for t in types {
        let t = t.trim().to_string();
        if !known_event_type(&t) {
            return Err(AppError::validation(
                "event_types",
                format!("unknown event type {t:?}; see GET /api/v1/webhooks/events"),
            ));
        }
        if !checked.contains(&t) {
            checked.push(t);
        }
    }
    Ok(checked)
}
