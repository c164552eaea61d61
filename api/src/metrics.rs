//! Prometheus metrics at `/metrics`, through the `metrics` facade: request counts and latency by
//! route, bookings by outcome, append batch sizes (recorded by the store), projection lag.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use reserver_app::Services;

/// Installs the process-wide recorder once; later calls reuse it (tests build many apps).
pub fn recorder() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5])
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            spawn_upkeep(handle.clone());
            handle
        })
        .clone()
}

/// How often histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds the recorded histogram samples into their buckets every [`UPKEEP_EVERY`]. The recorder
/// keeps every sample until then; without it they pile up (8 bytes per request, ~10 GiB a day at
/// 15,000 requests/s) until someone scrapes `/metrics`. A thread, not a task: the recorder is
/// process-wide and outlives any one runtime (tests build many).
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || loop {
        std::thread::sleep(UPKEEP_EVERY);
        handle.run_upkeep();
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "metrics upkeep thread not started; histograms drain only when scraped");
    }
}

/// Counts and times every request by method, matched route pattern and status.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let response = next.call(req).await?;
    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    Ok(response)
}

/// Records a booking's outcome: `accepted` or the rejecting rule's code.
pub fn booking(outcome: &str) {
    metrics::counter!("bookings_total", "outcome" => outcome.to_string()).increment(1);
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    summary = "Prometheus metrics",
    responses((status = 200, description = "The Prometheus text format", body = String, content_type = "text/plain"))
)]
pub async fn render(state: web::Data<Services>, api: web::Data<crate::ApiState>) -> HttpResponse {
    if let Ok(lag) = reserver_projections::projection_lag(state.store.as_ref()).await {
        metrics::gauge!("projection_lag_events").set(lag as f64);
    }
    if let Ok(head) = state.store.head().await {
        metrics::gauge!("event_log_head_position").set(head.position as f64);
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(api.metrics.render())
}
