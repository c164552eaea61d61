//! When resources are free: the per-day summary, free slots in a window, the next free slot,
//! and the free-slot search across resources. All answered from the in-memory availability
//! index (`reserver_app::availability`), with no database round trip and no answer cache:
//! `X-Min-Position` waits for the index.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use reserver_app::availability::{self, SearchParams, WindowParams};
use reserver_domain::TimeRange;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::problems::{Invalid, Lagging, NotFound, RateLimited, Unauthenticated};
use crate::api_doc::read_models;
use crate::error::ApiError;
use crate::extract::{CurrentUser, MinPosition};
use crate::routes::support::instant;
use crate::views::{self, ResourceBody};
use reserver_app::Services;

#[derive(OpenApi)]
#[openapi(paths(availability_summary, available_slots, next_available, search))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/resources/{id}/availability", web::get().to(availability_summary))
        .route("/resources/{id}/available-slots", web::get().to(available_slots))
        .route("/resources/{id}/next-available", web::get().to(next_available))
        .route("/availability/search", web::get().to(search));
}

/// Per-day availability of a resource.
#[derive(Serialize, ToSchema)]
struct AvailabilitySummary {
    resource_id: Uuid,
    time_zone: String,
    resource: ResourceBody,
    #[schema(value_type = Vec<read_models::DaySummary>)]
    days: Vec<availability::DaySummary>,
}

#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}/availability",
    tag = "availability",
    operation_id = "availability",
    summary = "Per-day availability for days_ahead days",
    params(
        ("id" = Uuid, Path, description = "The resource"),
        ("days_ahead" = Option<u32>, Query, description = "Days from today in the resource's zone, 1 to 366 (default 7)"),
        ("duration_minutes" = Option<u32>, Query, description = "Slot length counted, 1 to 10080 (default 60)"),
        MinPosition
    ),
    responses(
        (status = 200, description = "One entry per local day", body = AvailabilitySummary),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn availability_summary(
    state: web::Data<Services>,
    _u: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
    params: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (days, duration) = (params.days()?, params.duration()?);
    let (view, days) = availability::day_summary(&state, id, days, duration, min.0).await?;
    Ok(HttpResponse::Ok().json(AvailabilitySummary {
        resource_id: id,
        time_zone: view.time_zone.name().to_string(),
        resource: views::resource(&view),
        days,
    }))
}

/// A free slot.
#[derive(Serialize, ToSchema)]
struct Slot {
    #[serde(serialize_with = "rfc3339")]
    start_time: chrono::DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    end_time: chrono::DateTime<Utc>,
}

/// The same RFC 3339 text as chrono's own `Serialize` (`2026-12-01T09:00:00Z`, fractional
/// seconds only when present), written in one piece: chrono's impl hands serde_json a dozen
/// fragments to escape one by one, a measurable cost when a slot list holds 100 instants.
fn rfc3339<S: serde::Serializer>(at: &chrono::DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

impl From<&TimeRange> for Slot {
    fn from(range: &TimeRange) -> Self {
        Slot { start_time: range.start(), end_time: range.end() }
    }
}

#[derive(Serialize, ToSchema)]
struct Slots {
    resource_id: Uuid,
    slots: Vec<Slot>,
}

/// Free slots of `duration_minutes` in a window.
///
/// The window is `start`/`end`, or a local `date`, or the next `days_ahead` days. The caller's
/// own bookings count as taken.
#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}/available-slots",
    tag = "availability",
    operation_id = "available_slots",
    summary = "Free slots of a length in a window",
    params(
        ("id" = Uuid, Path, description = "The resource"),
        ("start" = Option<chrono::DateTime<Utc>>, Query, description = "Window start (RFC 3339, with `end`)"),
        ("end" = Option<chrono::DateTime<Utc>>, Query, description = "Window end; at most 366 days after start"),
        ("date" = Option<chrono::NaiveDate>, Query, description = "A local day instead of start/end"),
        ("days_ahead" = Option<u32>, Query, description = "Without start/end or date: days from now, 1 to 366 (default 7)"),
        ("duration_minutes" = Option<u32>, Query, description = "Slot length, 1 to 10080 (default 60)"),
        ("limit" = Option<u32>, Query, description = "Most slots returned, 1 to 500 (default 50)"),
        MinPosition
    ),
    responses(
        (status = 200, description = "Free slots, earliest first", body = Slots),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn available_slots(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
    params: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let slots = availability::free_slots(&state, id, &params, Some(user.user_id), min.0).await?;
    Ok(HttpResponse::Ok().json(Slots { resource_id: id, slots: slots.iter().map(Slot::from).collect() }))
}

#[derive(Serialize, ToSchema)]
struct NextAvailable {
    resource_id: Uuid,
    available: bool,
    /// `null` when nothing is free within the booking horizon.
    next_available: Option<Slot>,
}

#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}/next-available",
    tag = "availability",
    operation_id = "next_available",
    summary = "The next free slot",
    params(
        ("id" = Uuid, Path, description = "The resource"),
        ("start" = Option<chrono::DateTime<Utc>>, Query, description = "Search from here (default now)"),
        ("duration_minutes" = Option<u32>, Query, description = "Slot length, 1 to 10080 (default 60)"),
        MinPosition
    ),
    responses(
        (status = 200, description = "The first free slot, if any", body = NextAvailable),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn next_available(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
    params: web::Query<WindowParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let from = params.start.as_deref().map(|s| instant("start", s)).transpose()?;
    let slot = availability::next_available(&state, id, from, params.duration()?, Some(user.user_id), min.0).await?;
    Ok(HttpResponse::Ok().json(NextAvailable {
        resource_id: id,
        available: slot.is_some(),
        next_available: slot.as_ref().map(Slot::from),
    }))
}

/// A resource with free slots in the searched window.
#[derive(Serialize, ToSchema)]
struct SearchResource {
    resource_id: Uuid,
    name: String,
    capacity: u32,
    /// IANA zone of the resource.
    time_zone: String,
    /// Free slots, earliest first (at most `slots_per_resource`).
    slots: Vec<Slot>,
}

/// The answer of a free-slot search.
#[derive(Serialize, ToSchema)]
struct SearchResults {
    /// The searched window.
    window: Slot,
    duration_minutes: i64,
    /// Resources with at least one free slot, by their first free slot, then name.
    resources: Vec<SearchResource>,
}

/// Free slots across resources.
///
/// Resources matching every given filter (available, not retired) that have a free slot of
/// `duration_minutes` in the window, each with its first free slots; the caller's own quota
/// counts, as with `available-slots`. Answered from memory; `X-Min-Position` waits for it.
#[utoipa::path(
    get,
    path = "/api/v1/availability/search",
    tag = "availability",
    operation_id = "search_availability",
    summary = "Find resources with free slots",
    params(
        ("tags" = Option<String>, Query, description = "Comma-separated; every tag must be present (case-insensitive)"),
        ("group_id" = Option<Uuid>, Query, description = "Only resources of this group (422 if it does not exist)"),
        ("include_subgroups" = Option<bool>, Query, description = "With `group_id`: its subgroups too"),
        ("min_capacity" = Option<u32>, Query, description = "At least this many units (1 or more)"),
        ("kind" = Option<String>, Query, description = "Only this kind: room, desk, equipment, lab or other"),
        ("start" = Option<chrono::DateTime<Utc>>, Query, description = "Window start (RFC 3339; default now)"),
        ("end" = Option<chrono::DateTime<Utc>>, Query, description = "Window end (default start + 1 day); at most 31 days after start"),
        ("duration_minutes" = Option<i64>, Query, description = "Slot length, 1 to 10080 (default 60)"),
        ("limit" = Option<u32>, Query, description = "Most resources returned, 1 to 100 (default 20)"),
        ("slots_per_resource" = Option<u32>, Query, description = "Most slots per resource, 1 to 100 (default 5)"),
        MinPosition
    ),
    responses(
        (status = 200, description = "Resources with free slots", body = SearchResults),
        Unauthenticated, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn search(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    params: web::Query<SearchParams>,
) -> Result<HttpResponse, ApiError> {
    let (query, hits) = availability::search(&state, &params, Some(user.user_id), min.0).await?;
    Ok(HttpResponse::Ok().json(SearchResults {
        window: Slot::from(&query.window),
        duration_minutes: query.duration.num_minutes(),
        resources: hits
            .iter()
            .map(|h| SearchResource {
                resource_id: h.resource_id,
                name: h.name.clone(),
                capacity: h.capacity,
                time_zone: h.time_zone.name().to_string(),
                slots: h.slots.iter().map(Slot::from).collect(),
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn slot_instants_are_written_as_chrono_writes_them() {
        let instants = [
            Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap() + chrono::Duration::milliseconds(250),
            Utc.with_ymd_and_hms(2030, 12, 31, 23, 59, 59).unwrap() + chrono::Duration::nanoseconds(1),
            Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap() + chrono::Duration::microseconds(7),
        ];
        for at in instants {
            let ours = serde_json::to_value(Slot { start_time: at, end_time: at }).unwrap();
            let chrono_own = serde_json::to_value(at).unwrap();
            assert_eq!(ours["start_time"], chrono_own, "{at:?}");
            assert_eq!(ours["end_time"], chrono_own, "{at:?}");
        }
    }
}
