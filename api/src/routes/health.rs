//! Liveness and readiness. `/live` says the process runs; `/ready` that it can reach its
//! database and so can take traffic; `/health` is a summary for people.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::problem::Problem;
use crate::state::AppState;

const VERSION: &str = env!("CARGO_PKG_VERSION");

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "alive" }))
}

pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let database = match state.store.ping().await {
        Ok(()) => "ok",
        Err(_) => "unreachable",
    };
    HttpResponse::Ok().json(json!({
        "status": if database == "ok" { "ok" } else { "degraded" },
        "version": VERSION,
        "backend": format!("{:?}", state.store.backend()).to_lowercase(),
        "database": database,
    }))
}

pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    match state.store.head().await {
        Ok(head) => HttpResponse::Ok().json(json!({ "status": "ready", "log_position": head.position })),
        Err(e) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "database-unavailable", "Database unavailable")
            .detail(e.to_string())
            .response(),
    }
}
