//! Route table.

use actix_web::web;

mod health;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::health))
        .route("/live", web::get().to(health::live))
        .route("/ready", web::get().to(health::ready));
}
