//! Webhook subscriptions (admins): create, list, read, update, delete, re-enable and rotate
//! the secret (the event catalog is in `webhook_catalog`). A subscription is a `webhook-{uuid}` stream of the log,
//! appended here with expected versions (ETag / If-Match); its secret lives beside the log
//! and is shown only when created or rotated.

use actix_web::http::header::{HeaderValue, ETAG, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use reserver_domain::Role;
use reserver_store::{AppendError, AppendRequest, EventMetadata, ExpectedVersion, NewEvent};
use reserver_webhooks::guard::{check_target, TargetError};
use reserver_webhooks::signing::Secret;
use reserver_webhooks::subscription::{stream_id as subscription_stream, Subscription, WebhookEvent};
use reserver_webhooks::{history, secrets, stream, WebhookError, WebhookService};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::params::{IdempotencyKey, IfMatch};
use crate::api_doc::problems::{
    Forbidden, Invalid, Lagging, NotFound, PreconditionFailed, RateLimited, Unauthenticated,
};
use crate::error::{etag, ApiError};
use crate::extract::{command_meta, CurrentUser, MinPosition};
use crate::routes::support::{if_match, json_body, written};
use crate::routes::webhook_catalog::checked_event_types;
use reserver_app::AppError;
use reserver_app::Services;

#[derive(OpenApi)]
#[openapi(paths(list, create, get, update, replace, delete, rotate_secret))]
pub(super) struct Api;

/// Longest description of a subscription.
const MAX_DESCRIPTION: usize = 500;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The catalog first: `/webhooks/{id}` would take `/webhooks/events`.
    cfg.configure(super::webhook_catalog::configure)
        .service(web::resource("/webhooks").route(web::get().to(list)).route(web::post().to(create)))
        .service(
            web::resource("/webhooks/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::put().to(replace))
                .route(web::delete().to(delete)),
        )
        .route("/webhooks/{id}/rotate-secret", web::post().to(rotate_secret))
        .configure(super::webhook_deliveries::configure);
}

pub(crate) fn webhook_error(e: WebhookError) -> AppError {
    match e {
        WebhookError::Projection(p) => p.into(),
        WebhookError::Store(s) => s.into(),
        WebhookError::Database(d) => AppError::Storage(d.to_string()),
        other => AppError::Internal(other.to_string()),
    }
}

fn append_error(e: AppendError) -> AppError {
    match e {
        AppendError::WrongExpectedVersion { current, .. } => AppError::PreconditionFailed { current },
        other => AppError::Storage(other.to_string()),
    }
}

/// A webhook endpoint (never its secret).
#[derive(Serialize, ToSchema)]
#[schema(as = Webhook)]
pub(crate) struct WebhookBody {
    id: Uuid,
    url: String,
    /// Event types, `prefix.*` patterns or `*`.
    event_types: Vec<String>,
    description: String,
    /// False while disabled (by an admin, or after failing for too long).
    active: bool,
    disabled_reason: Option<String>,
    /// The admin who created it.
    owner: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    secret_rotated_at: Option<DateTime<Utc>>,
    /// Only when created: the signing secret, shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

/// The outward form of a subscription (never its secret).
pub(crate) fn view(s: &Subscription) -> WebhookBody {
    WebhookBody {
        id: s.id,
        url: s.url.clone(),
        event_types: s.event_types.clone(),
        description: s.description.clone(),
        active: s.active,
        disabled_reason: s.disabled_reason.clone(),
        owner: s.owner,
        created_at: s.created_at,
        updated_at: s.updated_at,
        secret_rotated_at: s.secret_rotated_at,
        secret: None,
    }
}

fn with_etag(mut response: HttpResponse, version: u64) -> HttpResponse {
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(ETAG, v);
    }
    response
}

/// The subscription `id` as of the log, or 404.
/// Read-your-writes for webhook reads: waits (bounded) until the delivery planner, which
/// writes subscriptions and deliveries, has reached `min`.
pub(crate) async fn planner_caught_up(
    state: &Services,
    service: &WebhookService,
    min: MinPosition,
) -> Result<(), AppError> {
    if let Some(position) = min.0.filter(|p| *p > 0) {
        if !service.wait_for_planner(position, state.read_wait).await {
            return Err(AppError::NotCaughtUp { position });
        }
    }
    Ok(())
}

pub(crate) async fn load(state: &Services, id: Uuid) -> Result<(Subscription, u64), AppError> {
    match stream::load(&state.store, id).await.map_err(webhook_error)? {
        (Some(subscription), version) => Ok((subscription, version)),
        (None, _) => Err(AppError::NotFound("webhook".into())),
    }
}

/// The metadata of an event appended for an admin's request.
fn metadata(req: &HttpRequest, user: &CurrentUser) -> Result<EventMetadata, AppError> {
    let meta = command_meta(req, Some(user), &[])?;
    Ok(EventMetadata {
        actor: Some(user.user_id.to_string()),
        command_id: Some(meta.command_id),
        correlation_id: meta.correlation_id,
        causation_id: None,
        client_ip: meta.client_ip,
    })
}

async fn checked_url(service: &WebhookService, url: &str) -> Result<String, AppError> {
    match check_target(url, service.settings().allow_private).await {
        Ok(url) => Ok(url.to_string()),
        Err(refused @ TargetError::Private { .. }) => Err(AppError::Refused {
            slug: "webhook-target-forbidden",
            field: "url".into(),
            message: format!("{refused}; webhooks may only target public addresses"),
        }),
        Err(invalid) => Err(AppError::validation("url", invalid.to_string())),
    }
}

fn checked_description(description: Option<String>) -> Result<String, AppError> {
    let description = description.unwrap_or_default().trim().to_string();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(AppError::validation("description", format!("at most {MAX_DESCRIPTION} characters")));
    }
    Ok(description)
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct WebhookInput {
    /// A public `https://` (or `http://`) URL.
    #[schema(example = "https://example.org/hooks/reserver")]
    url: String,
    /// At least one event type, `prefix.*` pattern or `*` (see GET /webhooks/events).
    #[schema(example = json!(["reservation.*"]))]
    event_types: Vec<String>,
    /// At most 500 characters.
    description: Option<String>,
}

/// Creates an endpoint.
///
/// The answer carries its signing secret (`whsec_…`), shown only this once (or again to a retry
/// with the same `Idempotency-Key` and body, which creates nothing); the URL must be public (a
/// private address is 422 `webhook-target-forbidden`).
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    operation_id = "create_webhook",
    summary = "Create a webhook endpoint; the secret is shown once (admin)",
    params(IdempotencyKey),
    request_body = WebhookInput,
    responses(
        (status = 201, description = "The endpoint with its `secret`", body = WebhookBody,
         headers(("ETag" = String, description = "Its version"), ("Location" = String, description = "Its URL"))),
        Unauthenticated, Forbidden, PreconditionFailed, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn create(
    state: web::Data<Services>,
    service: web::Data<WebhookService>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let input: WebhookInput = json_body(&body)?;
    let event_types = checked_event_types(input.event_types)?;
    let description = checked_description(input.description)?;
    // Last: it may look the host up.
    let url = checked_url(&service, &input.url).await?;
    let key = command_meta(&req, Some(&user), &body)?.idempotency;
    if let Some(key) = &key {
        if let Some((id, position)) = key.created_before(state.store.as_ref()).await.map_err(AppError::from)? {
            return created_before(&state, id, position).await;
        }
    }
    let id = Uuid::new_v4();
    let now = Utc::now();
    let secret = Secret::generate().map_err(|e| AppError::Internal(e.to_string()))?;
    // The secret first: a subscription in the log always has one. If the append fails the
    // row is removed again (and an orphan row would be harmless).
    secrets::create(&state.db(), id, &secret, now).await.map_err(webhook_error)?;
    let event = WebhookEvent::WebhookCreated { url, event_types, description, owner: user.user_id, at: now };
    let appended = match &key {
        None => stream::append(&state.store, id, ExpectedVersion::NoStream, &event, metadata(&req, &user)?).await,
        // With a key, its record goes in the same append: one key creates one endpoint.
        Some(key) => {
            let payload = serde_json::to_string(&event).map_err(|e| AppError::Internal(e.to_string()))?;
            let new = NewEvent::new(Uuid::new_v4(), event.event_type(), payload).with_metadata(metadata(&req, &user)?);
            let request = AppendRequest::single(subscription_stream(id), ExpectedVersion::NoStream, vec![new])
                .with_stream(
                    key.record_stream(),
                    ExpectedVersion::NoStream,
                    vec![key.created_record(id).map_err(AppError::from)?],
                );
            state.store.append(request).await
        }
    };
    let outcome = match appended {
        Ok(outcome) => outcome,
        Err(e) => {
            let _ = secrets::delete(&state.db(), id).await;
            // A concurrent first attempt with the same key won: answer as it did.
            if let Some(key) = &key {
                if let Some((id, position)) = key.created_before(state.store.as_ref()).await.map_err(AppError::from)? {
                    return created_before(&state, id, position).await;
                }
            }
            return Err(append_error(e).into());
        }
    };
    let (subscription, version) = load(&state, id).await?;
    let mut body = view(&subscription);
    body.secret = Some(secret.encoded());
    created_answer(outcome.last_position(), body, version)
}

/// The answer to a retry of a keyed create: the endpoint it made, with its current secret.
async fn created_before(state: &Services, id: Uuid, position: u64) -> Result<HttpResponse, ApiError> {
    let (subscription, version) = load(state, id).await?;
    let mut body = view(&subscription);
    let secrets = secrets::signing_secrets(&state.db(), id, Utc::now()).await.map_err(webhook_error)?;
    body.secret = secrets.first().map(Secret::encoded);
    created_answer(position, body, version)
}

fn created_answer(position: u64, body: WebhookBody, version: u64) -> Result<HttpResponse, ApiError> {
    let id = body.id;
    let mut response = with_etag(written(StatusCode::CREATED, position, body), version);
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/webhooks/{id}")) {
        response.headers_mut().insert(LOCATION, v);
    }
    Ok(response)
}

#[derive(Serialize, ToSchema)]
struct WebhookList {
    data: Vec<WebhookBody>,
}

/// Every subscription, oldest first.
///
/// As of the delivery planner; `X-Min-Position` waits for it.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    operation_id = "list_webhooks",
    summary = "All webhook endpoints (admin)",
    params(MinPosition),
    responses(
        (status = 200, description = "Every endpoint, oldest first", body = WebhookList),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn list(
    state: web::Data<Services>,
    service: web::Data<WebhookService>,
    user: CurrentUser,
    min: MinPosition,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    planner_caught_up(&state, &service, min).await?;
    let subscriptions = history::subscriptions(&state.db()).await.map_err(webhook_error)?;
    Ok(HttpResponse::Ok().json(WebhookList { data: subscriptions.iter().map(view).collect() }))
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    operation_id = "get_webhook",
    summary = "One webhook endpoint, with its ETag (admin)",
    params(("id" = Uuid, Path, description = "The endpoint")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookBody,
         headers(("ETag" = String, description = "Its version, for If-Match"))),
        Unauthenticated, Forbidden, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn get(state: web::Data<Services>, user: CurrentUser, id: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let (subscription, version) = load(&state, id.into_inner()).await?;
    Ok(with_etag(HttpResponse::Ok().json(view(&subscription)), version))
}

/// Fields to change; those left out stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct WebhookPatch {
    url: Option<String>,
    event_types: Option<Vec<String>>,
    description: Option<String>,
    /// `true` re-enables a disabled endpoint; `false` disables it.
    active: Option<bool>,
}

/// Changes a subscription, and disables or re-enables it.
///
/// Fields left out stay; `active: true` re-enables a disabled endpoint and its waiting
/// deliveries become due again.
#[utoipa::path(
    patch,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    operation_id = "update_webhook",
    summary = "Update, disable or re-enable an endpoint (admin; If-Match)",
    params(("id" = Uuid, Path, description = "The endpoint"), IfMatch),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "The endpoint as changed", body = WebhookBody,
         headers(("ETag" = String, description = "The new version"))),
        Unauthenticated, Forbidden, NotFound, PreconditionFailed, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn update(
    state: web::Data<Services>,
    service: web::Data<WebhookService>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let input: WebhookPatch = json_body(&body)?;
    let id = id.into_inner();
    let (current, version) = load(&state, id).await?;
    let expected = if_match(&req)?.unwrap_or(version);
    if expected != version {
        return Err(AppError::PreconditionFailed { current: version }.into());
    }
    let event_types = match input.event_types {
        Some(types) => checked_event_types(types)?,
        None => current.event_types.clone(),
    };
    let description = match input.description {
        Some(d) => checked_description(Some(d))?,
        None => current.description.clone(),
    };
    let url = match input.url {
        Some(url) => checked_url(&service, &url).await?,
        None => current.url.clone(),
    };
    let now = Utc::now();
    let mut events = Vec::new();
    if url != current.url || event_types != current.event_types || description != current.description {
        events.push(WebhookEvent::WebhookUpdated { url: url.clone(), event_types, description, at: now });
    }
    match input.active {
        Some(true) if !current.active => events.push(WebhookEvent::WebhookEnabled { at: now }),
        Some(false) if current.active => events.push(WebhookEvent::WebhookDisabled {
            reason: "disabled by an administrator".into(),
            owner: current.owner,
            url,
            at: now,
        }),
        _ => {}
    }
    if events.is_empty() {
        return Ok(with_etag(HttpResponse::Ok().json(view(&current)), version));
    }
    let outcome =
        stream::append_all(&state.store, id, ExpectedVersion::Exact(version), &events, metadata(&req, &user)?)
            .await
            .map_err(append_error)?;
    let (subscription, version) = load(&state, id).await?;
    if subscription.active {
        // Deliveries that waited while it was disabled are due again.
        service.wake();
    }
    Ok(with_etag(written(StatusCode::OK, outcome.last_position(), view(&subscription)), version))
}

/// PUT takes the same partial body as PATCH.
#[utoipa::path(
    put,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    operation_id = "replace_webhook",
    summary = "Update, disable or re-enable an endpoint (admin; If-Match)",
    params(("id" = Uuid, Path, description = "The endpoint"), IfMatch),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "The endpoint as changed", body = WebhookBody,
         headers(("ETag" = String, description = "The new version"))),
        Unauthenticated, Forbidden, NotFound, PreconditionFailed, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn replace(
    state: web::Data<Services>,
    service: web::Data<WebhookService>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    update(state, service, req, user, id, body).await
}

#[derive(Serialize, ToSchema)]
struct WebhookDeleted {
    id: Uuid,
    deleted: bool,
}

#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    operation_id = "delete_webhook",
    summary = "Delete an endpoint (admin)",
    params(("id" = Uuid, Path, description = "The endpoint"), IfMatch),
    responses(
        (status = 200, description = "Deleted; pending deliveries are dropped", body = WebhookDeleted),
        Unauthenticated, Forbidden, NotFound, PreconditionFailed, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn delete(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let id = id.into_inner();
    let (_, version) = load(&state, id).await?;
    let expected = if_match(&req)?.unwrap_or(version);
    let event = WebhookEvent::WebhookDeleted { at: Utc::now() };
    let outcome = stream::append(&state.store, id, ExpectedVersion::Exact(expected), &event, metadata(&req, &user)?)
        .await
        .map_err(append_error)?;
    secrets::delete(&state.db(), id).await.map_err(webhook_error)?;
    Ok(written(StatusCode::OK, outcome.last_position(), WebhookDeleted { id, deleted: true }))
}

#[derive(Serialize, ToSchema)]
struct SecretRotated {
    id: Uuid,
    /// The new signing secret, shown this once.
    secret: String,
    /// Until then messages carry a second signature with the previous secret.
    previous_valid_until: DateTime<Utc>,
}

/// A new secret, returned once.
///
/// The previous one keeps signing (as a second signature) for the configured overlap, so
/// receivers can switch without losing messages.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    operation_id = "rotate_webhook_secret",
    summary = "New secret; the previous one signs a while longer (admin)",
    params(("id" = Uuid, Path, description = "The endpoint"), IfMatch),
    responses(
        (status = 200, description = "The new secret", body = SecretRotated,
         headers(("ETag" = String, description = "The new version"))),
        Unauthenticated, Forbidden, NotFound, PreconditionFailed, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn rotate_secret(
    state: web::Data<Services>,
    service: web::Data<WebhookService>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let id = id.into_inner();
    let (_, version) = load(&state, id).await?;
    let expected = if_match(&req)?.unwrap_or(version);
    let now = Utc::now();
    let overlap = chrono::Duration::from_std(service.settings().secret_overlap).unwrap_or(chrono::Duration::days(1));
    let previous_valid_until = now + overlap;
    let secret = Secret::generate().map_err(|e| AppError::Internal(e.to_string()))?;
    // The log first: if the append loses a race nothing changed; the secret row follows.
    let event = WebhookEvent::WebhookSecretRotated { previous_valid_until, at: now };
    let outcome = stream::append(&state.store, id, ExpectedVersion::Exact(expected), &event, metadata(&req, &user)?)
        .await
        .map_err(append_error)?;
    if !secrets::rotate(&state.db(), id, &secret, previous_valid_until, now).await.map_err(webhook_error)? {
        secrets::create(&state.db(), id, &secret, now).await.map_err(webhook_error)?;
    }
    let version = outcome.stream_versions.first().map(|(_, v)| *v).unwrap_or(version + 1);
    let body = SecretRotated { id, secret: secret.encoded(), previous_valid_until };
    Ok(with_etag(written(StatusCode::OK, outcome.last_position(), body), version))
}
