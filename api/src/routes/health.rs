//! Liveness and readiness. `/live` says the process runs; `/ready` that it can reach its
//! database and so can take traffic; `/health` is a summary for people.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api_doc::problems::Lagging;
use crate::problem::Problem;
use reserver_app::Services;

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Serialize, ToSchema)]
struct Liveness {
    /// `alive`.
    status: &'static str,
}

#[utoipa::path(
    get,
    path = "/live",
    tag = "operations",
    operation_id = "live",
    summary = "Liveness: the process runs",
    responses((status = 200, description = "Always, while the process serves", body = Liveness))
)]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Liveness { status: "alive" })
}

#[derive(Serialize, ToSchema)]
struct Health {
    /// `ok`, or `degraded` when the database does not answer.
    status: &'static str,
    version: &'static str,
    /// `sqlite` or `postgres`.
    backend: String,
    /// `ok` or `unreachable`.
    database: &'static str,
}

#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    operation_id = "health",
    summary = "Summary of version, backend and database state",
    responses((status = 200, description = "The summary (200 even when degraded)", body = Health))
)]
pub async fn health(state: web::Data<Services>) -> HttpResponse {
    let database = match state.store.ping().await {
        Ok(()) => "ok",
        Err(_) => "unreachable",
    };
    HttpResponse::Ok().json(Health {
        status: if database == "ok" { "ok" } else { "degraded" },
        version: VERSION,
        backend: format!("{:?}", state.store.backend()).to_lowercase(),
        database,
    })
}

#[derive(Serialize, ToSchema)]
struct Readiness {
    /// `ready`, or `degraded` when a read model is stuck (see `stuck_projectors`).
    status: &'static str,
    /// The head of the event log.
    log_position: u64,
    /// Read models that cannot apply an event: which, where and why. They stay at that position
    /// (answering reads as of it) while the rest of the service goes on; every replica meets the
    /// same event, so this is reported, not a reason to take replicas out of rotation.
    #[schema(value_type = Vec<Object>)]
    stuck_projectors: Vec<reserver_projections::StuckProjector>,
}

#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    operation_id = "ready",
    summary = "Readiness: the database answers",
    responses((status = 200, description = "Ready for traffic", body = Readiness), Lagging)
)]
pub async fn ready(state: web::Data<Services>) -> HttpResponse {
    match state.store.head().await {
        Ok(head) => {
            let stuck = state.projections.stuck();
            let status = if stuck.is_empty() { "ready" } else { "degraded" };
            HttpResponse::Ok().json(Readiness { status, log_position: head.position, stuck_projectors: stuck })
        }
        Err(e) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "database-unavailable", "Database unavailable")
            .detail(e.to_string())
            .response(),
    }
}
