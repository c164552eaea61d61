//! The route table: `/api/v1/…` plus health and metrics at the root. Each module also lists
//! its annotated handlers (`Api`) for the OpenAPI document, next to its `configure`.

use actix_web::web;
use utoipa::OpenApi;

mod accounts;
mod analytics;
mod approvals;
mod audit;
mod auth;
mod availability;
mod calendar;
mod groups;
mod health;
mod mfa;
mod notifications;
mod oauth;
mod quotas;
mod reservations;
mod resource_input;
mod resource_upload;
pub(crate) mod resources;
mod schedule;
mod series;
mod support;

mod waitlist;
mod webhook_catalog;
mod webhook_deliveries;
mod webhooks;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::health))
        .route("/live", web::get().to(health::live))
        .route("/ready", web::get().to(health::ready))
        .route("/metrics", web::get().to(crate::metrics::render))
        .route("/openapi.json", web::get().to(crate::openapi::document))
        .route("/docs", web::get().to(crate::openapi::swagger_ui))
        .route("/docs/assets/{version}/{name}", web::get().to(crate::openapi::asset))
        .route("/redoc", web::get().to(crate::openapi::redoc))
        .route("/ws", web::get().to(crate::live::socket::connect))
        .service(
            // actix tries routes in order, matching each pattern with a regex: the most asked
            // (availability, then the catalogue) go first, so that they cost one or two matches.
            web::scope("/api/v1")
                .configure(availability::configure)
                .configure(resources::configure)
                .configure(schedule::configure)
                .configure(auth::configure)
                .configure(accounts::configure)
                .configure(mfa::configure)
                .configure(series::configure)
                .configure(reservations::configure)
                .configure(waitlist::configure)
                .configure(approvals::configure)
                .configure(groups::configure)
                .configure(notifications::configure)
                .configure(analytics::configure)
                .configure(audit::configure)
                .configure(webhooks::configure)
                .configure(calendar::configure)
                .configure(oauth::configure)
                .configure(quotas::configure),
        );
}

/// The operations served at the root.
#[derive(OpenApi)]
#[openapi(paths(health::health, health::live, health::ready, crate::metrics::render, crate::live::socket::connect))]
struct RootApi;

/// Every documented operation, gathered from the route modules.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    let parts = [
        auth::Api::openapi(),
        accounts::Api::openapi(),
        mfa::Api::openapi(),
        resources::Api::openapi(),
        schedule::Api::openapi(),
        availability::Api::openapi(),
        series::Api::openapi(),
        reservations::Api::openapi(),
        waitlist::Api::openapi(),
        approvals::Api::openapi(),
        groups::Api::openapi(),
        notifications::Api::openapi(),
        analytics::Api::openapi(),
        audit::Api::openapi(),
        webhook_catalog::Api::openapi(),
        webhooks::Api::openapi(),
        webhook_deliveries::Api::openapi(),
        calendar::Api::openapi(),
        oauth::Api::openapi(),
        quotas::Api::openapi(),
    ];
    parts.into_iter().fold(RootApi::openapi(), |doc, part| doc.merge_from(part))
}
