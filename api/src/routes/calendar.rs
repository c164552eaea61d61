//! `/api/v1/calendar`: reservations as RFC 5545 iCalendar. An export of one reservation (or
//! of the series it belongs to) for the caller; a subscription feed of the caller's
//! reservations and per-resource feeds, both read with a secret token in the URL because
//! calendar clients cannot send bearer tokens.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use reserver_domain::user::UserCommand;
use reserver_projections::catalog::get_resource;
use reserver_projections::users::get_user;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::problems::{Invalid, Lagging, NotFound, RateLimited, Unauthenticated};
use crate::error::ApiError;
use crate::extract::{command_meta, CurrentUser, MinPosition};
use crate::routes::support::written;
use reserver_app::AppError;
use reserver_app::Services;
use reserver_app::{calendar_data as load, feed_tokens, reservations};
use reserver_calendar::render::{render, CalendarMeta, Privacy};

/// Suggested polling interval for subscribed calendars, in minutes.
const FEED_REFRESH_MINUTES: u32 = 15;

#[derive(OpenApi)]
#[openapi(paths(export, subscription_url, regenerate_token, user_feed, resource_feed))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/calendar/export/{id}.ics", web::get().to(export))
        .route("/calendar/subscription-url", web::get().to(subscription_url))
        .route("/calendar/regenerate-token", web::post().to(regenerate_token))
        .route("/calendar/feed/{token}.ics", web::get().to(user_feed))
        .route("/calendar/feed/{token}/resources/{id}.ics", web::get().to(resource_feed));
}

fn calendar_response(body: String, attachment: Option<String>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.content_type("text/calendar; charset=utf-8");
    // The feed URL is a secret: no shared cache may keep what it returns.
    response.insert_header((CACHE_CONTROL, "private, no-cache"));
    if let Some(filename) = attachment {
        response.insert_header((CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")));
    }
    response.body(body)
}

/// The caller's own reservation, or anyone's for admins; anything else is "not found".
#[utoipa::path(
    get,
    path = "/api/v1/calendar/export/{id}.ics",
    tag = "calendar",
    operation_id = "export_reservation_ics",
    summary = "A reservation (or its series) as iCalendar",
    params(("id" = Uuid, Path, description = "The reservation"), MinPosition),
    responses(
        (status = 200, description = "An RFC 5545 calendar, as a download", body = String, content_type = "text/calendar"),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn export(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let id = id.into_inner();
    let body = reservations::export_ics(&state, &user, id).await?;
    Ok(calendar_response(body, Some(format!("reservation-{id}.ics"))))
}

/// Where links point (see `Services::link_base`): never a host header a client chose.
fn base_url(state: &Services, req: &HttpRequest) -> String {
    crate::extract::link_base(state, req)
}

/// Where calendar clients subscribe to the caller's reservations. The URL is a secret.
#[derive(Debug, Serialize, ToSchema)]
struct CalendarSubscription {
    url: String,
    /// The same with the `webcal://` scheme, which opens calendar apps.
    webcal_url: String,
    token: String,
    /// A resource's feed: replace `{resource_id}`.
    resource_feed_template: String,
}

fn subscription(links: reservations::Subscription) -> CalendarSubscription {
    CalendarSubscription {
        url: links.url,
        webcal_url: links.webcal_url,
        token: links.token,
        resource_feed_template: links.resource_feed_template,
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/calendar/subscription-url",
    tag = "calendar",
    operation_id = "calendar_subscription_url",
    summary = "The caller's feed URL (token made on first use)",
    responses(
        (status = 200, description = "The feed URLs", body = CalendarSubscription),
        Unauthenticated, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn subscription_url(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let links = reservations::subscription_url(&state, &user, &base_url(&state, &req)).await?;
    Ok(HttpResponse::Ok().json(subscription(links)))
}

/// Replaces the caller's token: the old feed URL answers 404 from now on.
///
/// The user's stream records that it happened (not the token).
#[utoipa::path(
    post,
    path = "/api/v1/calendar/regenerate-token",
    tag = "calendar",
    operation_id = "regenerate_calendar_token",
    summary = "Replace the feed token; the old URL stops working",
    responses(
        (status = 200, description = "The new feed URLs", body = CalendarSubscription),
        Unauthenticated, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn regenerate_token(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let mut meta = command_meta(&req, Some(&user), &[])?;
    // A replayed answer would carry a token that a later retry already replaced.
    meta.idempotency = None;
    let decided = state.users.execute(user.user_id, user.actor(), UserCommand::RegenerateCalendarToken, meta).await?;
    let token = feed_tokens::replace(&state.db(), user.user_id, state.clock.now()).await?;
    Ok(written(
        StatusCode::OK,
        decided.position,
        subscription(reservations::subscription(&base_url(&state, &req), &token)),
    ))
}

async fn feed_owner(state: &Services, token: &str) -> Result<Uuid, AppError> {
    feed_tokens::user_of(&state.db(), token).await?.ok_or_else(|| AppError::NotFound("calendar feed".into()))
}

/// The token owner's reservations, recent and upcoming.
///
/// Cancelled ones are included so that subscribed clients remove them. The token in the URL
/// authenticates: calendar clients cannot send bearer tokens.
#[utoipa::path(
    get,
    path = "/api/v1/calendar/feed/{token}.ics",
    tag = "calendar",
    operation_id = "user_calendar_feed",
    summary = "The token owner's reservations as iCalendar",
    params(("token" = String, Path, description = "The feed token from subscription-url"), MinPosition),
    responses(
        (status = 200, description = "An RFC 5545 calendar", body = String, content_type = "text/calendar"),
        NotFound, RateLimited, Lagging
    )
)]
async fn user_feed(
    state: web::Data<Services>,
    min: MinPosition,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let user_id = feed_owner(&state, &token).await?;
    let db = state.db();
    let now = state.clock.now();
    let reservations = load::user_feed(&db, user_id, now).await?;
    let entries = load::entries(&db, reservations, |_| Privacy::Owner).await?;
    let name = match get_user(&db, user_id).await? {
        Some(user) => format!("Reservations of {}", user.username),
        None => "Reservations".to_string(),
    };
    let meta = CalendarMeta { name: Some(name), refresh_minutes: Some(FEED_REFRESH_MINUTES) };
    Ok(calendar_response(render(&meta, &entries, now), None))
}

/// Everyone's bookings of one resource: the token owner's in full, other people's as "Booked".
#[utoipa::path(
    get,
    path = "/api/v1/calendar/feed/{token}/resources/{id}.ics",
    tag = "calendar",
    operation_id = "resource_calendar_feed",
    summary = "A resource's bookings as iCalendar (others' as \"Booked\")",
    params(
        ("token" = String, Path, description = "The feed token from subscription-url"),
        ("id" = Uuid, Path, description = "The resource"),
        MinPosition
    ),
    responses(
        (status = 200, description = "An RFC 5545 calendar", body = String, content_type = "text/calendar"),
        NotFound, Invalid, RateLimited, Lagging
    )
)]
async fn resource_feed(
    state: web::Data<Services>,
    min: MinPosition,
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let (token, resource_id) = path.into_inner();
    let user_id = feed_owner(&state, &token).await?;
    let db = state.db();
    let resource = get_resource(&db, resource_id).await?.ok_or_else(|| AppError::NotFound("resource".into()))?;
    let now = state.clock.now();
    let reservations = load::resource_feed(&db, resource_id, now).await?;
    let privacy = |owner: Uuid| if owner == user_id { Privacy::Owner } else { Privacy::Neutral };
    let entries = load::entries(&db, reservations, privacy).await?;
    let meta = CalendarMeta { name: Some(resource.name), refresh_minutes: Some(FEED_REFRESH_MINUTES) };
    Ok(calendar_response(render(&meta, &entries, now), None))
}
