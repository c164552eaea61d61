//! The audit trail and the raw event log, for auditors: filtered pages, exports, the log as
//! NDJSON and a check of its hash chain.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use futures::stream::{self, StreamExt};
use reserver_domain::Role;
use reserver_projections::audit;
use reserver_store::verify_chain;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::problems::{Forbidden, Invalid, Lagging, RateLimited, Unauthenticated};
use crate::api_doc::read_models;
use crate::error::ApiError;
use crate::extract::{CurrentUser, MinPosition};
use crate::routes::support::{csv, instant, page_json, PageParams};
use reserver_app::AppError;
use reserver_app::Services;

#[derive(OpenApi)]
#[openapi(paths(audit_logs, audit_csv, audit_json, events, verify))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit/logs", web::get().to(audit_logs))
        .route("/audit/export/csv", web::get().to(audit_csv))
        .route("/audit/export/json", web::get().to(audit_json))
        .route("/events", web::get().to(events))
        .route("/events/verify", web::get().to(verify));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditParams {
    /// The acting user's id.
    actor: Option<String>,
    resource_id: Option<Uuid>,
    /// An event type.
    action: Option<String>,
    /// Recorded at or after (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    from: Option<String>,
    /// Recorded before (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    to: Option<String>,
    /// Page size, 1 to 500 (default 50); not for exports.
    limit: Option<u32>,
    /// `next_cursor` of the previous page; not for exports.
    cursor: Option<String>,
}

impl AuditParams {
    fn filter(&self) -> Result<audit::AuditFilter, AppError> {
        Ok(audit::AuditFilter {
            actor: self.actor.clone(),
            resource_id: self.resource_id,
            action: self.action.clone(),
            from: self.from.as_deref().map(|t| instant("from", t)).transpose()?,
            to: self.to.as_deref().map(|t| instant("to", t)).transpose()?,
        })
    }
}

fn auditors(user: &CurrentUser) -> Result<(), AppError> {
    user.require(&[Role::Admin, Role::Auditor])
}

#[utoipa::path(
    get,
    path = "/api/v1/audit/logs",
    tag = "audit",
    operation_id = "audit_logs",
    summary = "Audit trail, filterable (auditor)",
    params(AuditParams, MinPosition),
    responses(
        (status = 200, description = "One page of audit entries", body = read_models::AuditPage),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn audit_logs(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    p: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    auditors(&user)?;
    state.caught_up(min.0).await?;
    let page = PageParams { limit: p.limit, cursor: p.cursor.clone() }.request()?;
    let result = audit::audit_log(&state.db(), &p.filter()?, &page).await?;
    Ok(HttpResponse::Ok().json(page_json(result, |e| serde_json::to_value(e).unwrap_or_default())))
}

/// Every matching audit entry, page by page.
async fn all_audit(state: &Services, filter: &audit::AuditFilter) -> Result<Vec<audit::AuditEntry>, AppError> {
    let mut entries = Vec::new();
    let mut page = reserver_projections::PageRequest::first(500);
    loop {
        let result = audit::audit_log(&state.db(), filter, &page).await?;
        entries.extend(result.data);
        match result.next_cursor {
            Some(c) if result.has_more && entries.len() < 1_000_000 => {
                page = reserver_projections::PageRequest::after(500, c)
            }
            _ => return Ok(entries),
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/audit/export/csv",
    tag = "audit",
    operation_id = "export_audit_csv",
    summary = "Audit trail as CSV (auditor)",
    params(AuditParams, MinPosition),
    responses(
        (status = 200, description = "Every matching entry", body = String, content_type = "text/csv"),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn audit_csv(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    p: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    auditors(&user)?;
    state.caught_up(min.0).await?;
    let entries = all_audit(&state, &p.filter()?).await?;
    let header = [
        "position",
        "event_id",
        "actor",
        "action",
        "target",
        "resource_id",
        "recorded_at",
        "client_ip",
        "correlation_id",
        "causation_id",
        "command_id",
    ];
    let rows = entries.iter().map(|e| {
        [
            e.position.to_string(),
            e.event_id.to_string(),
            e.actor.clone().unwrap_or_default(),
            e.action.clone(),
            e.target.clone(),
            e.resource_id.map(|r| r.to_string()).unwrap_or_default(),
            e.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            e.client_ip.clone().unwrap_or_default(),
            e.correlation_id.clone().unwrap_or_default(),
            e.causation_id.clone().unwrap_or_default(),
            e.command_id.clone().unwrap_or_default(),
        ]
    });
    Ok(csv("audit.csv", reserver_app::csv_table::write(&header, rows)))
}

#[utoipa::path(
    get,
    path = "/api/v1/audit/export/json",
    tag = "audit",
    operation_id = "export_audit_json",
    summary = "Audit trail as JSON (auditor)",
    params(AuditParams, MinPosition),
    responses(
        (status = 200, description = "Every matching entry, as a download", body = Vec<read_models::AuditEntry>),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn audit_json(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    p: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    auditors(&user)?;
    state.caught_up(min.0).await?;
    let entries = all_audit(&state, &p.filter()?).await?;
    let body = audit::audit_json(&entries)?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .insert_header(("Content-Disposition", "attachment; filename=\"audit.json\""))
        .body(body))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsParams {
    /// Events after this log position (default 0: from the start).
    from_position: Option<u64>,
    /// Most events, 1 to 100000 (default 1000).
    limit: Option<usize>,
}

/// The log itself as NDJSON.
///
/// One event per line with its hashes, streamed in batches.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "audit",
    operation_id = "event_log",
    summary = "The event log as NDJSON from a position (auditor)",
    params(EventsParams),
    responses(
        (status = 200, description = "One stored event per line: position, stream, type, payload, metadata and hashes",
         body = String, content_type = "application/x-ndjson"),
        Unauthenticated, Forbidden, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn events(
    state: web::Data<Services>,
    user: CurrentUser,
    p: web::Query<EventsParams>,
) -> Result<HttpResponse, ApiError> {
    auditors(&user)?;
    let limit = p.limit.unwrap_or(1000);
    if !(1..=100_000).contains(&limit) {
        return Err(AppError::validation("limit", "must be between 1 and 100000").into());
    }
    let store = state.store.clone();
    let start = p.from_position.unwrap_or(0);
    let body = stream::unfold((start, limit), move |(after, left)| {
        let store = store.clone();
        async move {
            if left == 0 {
                return None;
            }
            match store.read_all(after, left.min(1000)).await {
                Ok(batch) if !batch.is_empty() => {
                    let last = batch.last().map(|e| e.position).unwrap_or(after);
                    let mut chunk = String::new();
                    for e in &batch {
                        chunk.push_str(
                            &serde_json::to_string(&reserver_projections::redact_event(e)).unwrap_or_default(),
                        );
                        chunk.push('\n');
                    }
                    Some((Ok::<_, actix_web::Error>(web::Bytes::from(chunk)), (last, left - batch.len())))
                }
                _ => None,
            }
        }
    });
    Ok(HttpResponse::Ok().content_type("application/x-ndjson").streaming(body.boxed_local()))
}

/// The outcome of re-hashing the log: `events` and `head_hash` when intact, else where and why
/// it breaks.
#[derive(Serialize, ToSchema)]
struct ChainCheck {
    intact: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    head_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_bad_position: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/events/verify",
    tag = "audit",
    operation_id = "verify_event_log",
    summary = "Verify the hash chain (auditor)",
    responses(
        (status = 200, description = "Whether every event's hash chains to the head", body = ChainCheck),
        Unauthenticated, Forbidden, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn verify(state: web::Data<Services>, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    auditors(&user)?;
    let check = match verify_chain(state.store.as_ref()).await? {
        Ok(report) => ChainCheck {
            intact: true,
            events: Some(report.events),
            head_hash: Some(report.head_hash),
            first_bad_position: None,
            reason: None,
        },
        Err(broken) => ChainCheck {
            intact: false,
            events: None,
            head_hash: None,
            first_bad_position: Some(broken.position),
            reason: Some(broken.reason),
        },
    };
    Ok(HttpResponse::Ok().json(check))
}
