//! The route table: `/api/v1/…` plus health and metrics at the root.

use actix_web::web;

mod auth;
mod calendar;
mod groups;
mod health;
mod reports;
mod reservations;
mod resource_upload;
pub(crate) mod resources;
mod schedule;
mod support;
mod views;
mod webhook_deliveries;
mod webhooks;
mod workflow;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::health))
        .route("/live", web::get().to(health::live))
        .route("/ready", web::get().to(health::ready))
        .route("/metrics", web::get().to(crate::metrics::render))
        .route("/openapi.json", web::get().to(crate::openapi::document))
        .route("/docs", web::get().to(crate::openapi::swagger_ui))
        .route("/ws", web::get().to(crate::live::socket::connect))
        .service(
            web::scope("/api/v1")
                .configure(auth::configure)
                .configure(resources::configure)
                .configure(schedule::configure)
                .configure(reservations::configure)
                .configure(workflow::configure)
                .configure(groups::configure)
                .configure(reports::configure)
                .configure(webhooks::configure)
                .configure(calendar::configure),
        );
}
