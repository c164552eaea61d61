//! When resources are free, answered from the in-memory availability index
//! ([`Services::availability`]) with no database round trip: per-day summaries, free slots,
//! the next free slot, schedule grids, and the cross-resource free-slot search. Read-your-writes
//! waits for the index (not the SQL read models). A resource the index dropped to stay within
//! its memory bound is answered from the read model instead, as before the index existed.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use reserver_availability_index::{IndexError, Schedule, SearchHit, SearchQuery};
use reserver_domain::resource::ResourceKind;
use reserver_domain::{ResourceState, TimeRange};
use reserver_projections::availability as read_model;
use reserver_projections::catalog::ResourceView;
use serde::Deserialize;
use uuid::Uuid;

pub use reserver_availability_index::DaySummary;

use crate::error::{AppError, AppResult};
use crate::input::instant;
use crate::services::Services;

/// Longest window a search covers.
pub const MAX_SEARCH_DAYS: i64 = 31;
/// Most resources a search returns.
pub const MAX_SEARCH_LIMIT: usize = 100;
/// Most slots a search returns per resource.
pub const MAX_SEARCH_SLOTS: usize = 100;

/// Read-your-writes for questions the index answers: waits (bounded by
/// [`Services::read_wait`]) until the index has applied `position`.
pub async fn index_caught_up(services: &Services, position: Option<u64>) -> AppResult<()> {
    match position {
        Some(p) if p > 0 => services
            .availability
            .wait_for(p, services.read_wait)
            .await
            .map_err(|_| AppError::NotCaughtUp { position: p }),
        _ => Ok(()),
    }
}

/// The window and slot length of an availability question (query parameters of the API).
#[derive(Debug, Default, Deserialize)]
pub struct WindowParams {
    pub days_ahead: Option<u32>,
    pub date: Option<NaiveDate>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub duration_minutes: Option<u32>,
    pub limit: Option<usize>,
}

impl WindowParams {
    /// `duration_minutes`, 1 to 10080 (default 60).
    pub fn duration(&self) -> AppResult<Duration> {
        match self.duration_minutes.unwrap_or(60) {
            m @ 1..=10_080 => Ok(Duration::minutes(i64::from(m))),
            _ => Err(AppError::validation("duration_minutes", "must be between 1 and 10080")),
        }
    }

    /// `days_ahead`, 1 to 366 (default 7).
    pub fn days(&self) -> AppResult<u32> {
        match self.days_ahead.unwrap_or(7) {
            d @ 1..=366 => Ok(d),
            _ => Err(AppError::validation("days_ahead", "must be between 1 and 366")),
        }
    }

    /// The searched window: `start`/`end`, or a local `date`'s 24 hours, or now + `days_ahead`.
    pub fn window(&self, tz: Tz) -> AppResult<TimeRange> {
        let now = Utc::now();
        let (start, end) = match (&self.start, &self.end, self.date) {
            (Some(s), Some(e), _) => (instant("start", s)?, instant("end", e)?),
            (_, _, Some(date)) => {
                let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
                let start = reserver_domain::schedule_rules::resolve_local(tz, midnight);
                (start, start + Duration::days(1))
            }
            _ => (now, now + Duration::days(i64::from(self.days()?))),
        };
        if end - start > Duration::days(366) {
            return Err(AppError::validation("end", "the window may span at most 366 days"));
        }
        TimeRange::new(start, end).map_err(|_| AppError::validation("end", "must be after start"))
    }
}

/// A resource's description and time zone, as the catalogue read model shows it, from the
/// catalogue the index keeps in memory (evicted resources included).
/// Errors: `NotFound` for a resource that does not exist.
pub async fn resource(services: &Services, id: Uuid, min: Option<u64>) -> AppResult<ResourceView> {
    index_caught_up(services, min).await?;
    services.availability.catalog_resource(id).ok_or_else(|| AppError::not_found("resource"))
}

/// The time zone of resource `id` (without copying its description).
/// Errors: `NotFound` for a resource that does not exist.
async fn zone(services: &Services, id: Uuid, min: Option<u64>) -> AppResult<Tz> {
    index_caught_up(services, min).await?;
    services.availability.with_catalog_resource(id, |v| v.time_zone).ok_or_else(|| AppError::not_found("resource"))
}

/// Per-day availability for `days` local days from today in the resource's zone, counting
/// slots of `duration` (nobody's quota applied).
pub async fn day_summary(
    services: &Services,
    id: Uuid,
    days: u32,
    duration: Duration,
    min: Option<u64>,
) -> AppResult<(ResourceView, Vec<DaySummary>)> {
    let view = resource(services, id, min).await?;
    let now = Utc::now();
    let today = now.with_timezone(&view.time_zone).date_naive();
    match services.availability.day_summary(id, today, days, duration, now) {
        Ok(days) => Ok((view, days)),
        Err(IndexError::Evicted(_)) => {
            services.caught_up(min).await?;
            let days = read_model::day_summary(&services.db(), id, today, days, duration, now).await?;
            let days = days
                .into_iter()
                .map(|d| DaySummary {
                    date: d.date,
                    open_minutes: d.open_minutes,
                    free_slots: d.free_slots,
                    first_free: d.first_free,
                })
                .collect();
            Ok((view, days))
        }
        Err(e) => Err(index_error(e)),
    }
}

/// Bookable slots in the window `params` names (in the resource's zone), earliest first, at
/// most `limit` (1 to 500, default 50); `for_user`'s quota applies.
pub async fn free_slots(
    services: &Services,
    id: Uuid,
    params: &WindowParams,
    for_user: Option<Uuid>,
    min: Option<u64>,
) -> AppResult<Vec<TimeRange>> {
    let window = params.window(zone(services, id, min).await?)?;
    let duration = params.duration()?;
    let limit = params.limit.unwrap_or(50).clamp(1, 500);
    let now = Utc::now();
    match services.availability.free_slots(id, window, duration, now, limit, for_user) {
        Ok(slots) => Ok(slots),
        Err(IndexError::Evicted(_)) => {
            services.caught_up(min).await?;
            Ok(read_model::free_slots(&services.db(), id, window, duration, now, limit, for_user).await?)
        }
        Err(e) => Err(index_error(e)),
    }
}

/// The first bookable slot of `duration` at or after `from` (default now), up to the horizon.
pub async fn next_available(
    services: &Services,
    id: Uuid,
    from: Option<DateTime<Utc>>,
    duration: Duration,
    for_user: Option<Uuid>,
    min: Option<u64>,
) -> AppResult<Option<TimeRange>> {
    zone(services, id, min).await?;
    let now = Utc::now();
    let from = from.unwrap_or(now);
    match services.availability.next_available(id, from, duration, now, for_user) {
        Ok(slot) => Ok(slot),
        Err(IndexError::Evicted(_)) => {
            services.caught_up(min).await?;
            Ok(read_model::next_available(&services.db(), id, from, duration, now, for_user).await?)
        }
        Err(e) => Err(index_error(e)),
    }
}

/// `f` applied to resource `id`'s availability state (what the rules read: settings, hours,
/// blackouts, and the reservations holding a unit), from the index; from the read model if the
/// index dropped it. `None` for a resource that does not exist. For callers that run the
/// domain's own availability functions themselves (the web app's lists and schedule grid).
pub async fn with_state<R>(services: &Services, id: Uuid, f: impl FnOnce(&ResourceState) -> R) -> AppResult<Option<R>> {
    let mut f = Some(f);
    let answer = services.availability.with_state(id, |s| f.take().map(|f| f(s)));
    match answer {
        Ok(answer) => Ok(answer),
        Err(IndexError::UnknownResource(_)) => Ok(None),
        Err(IndexError::Evicted(_)) => {
            // The index refused before calling `f`: ask the read model.
            let state = read_model::resource_state(&services.db(), id).await?;
            Ok(state.as_ref().and_then(|s| f.take().map(|f| f(s))))
        }
        Err(e) => Err(index_error(e)),
    }
}

/// The schedule grid of `days` local days from `from` (at most 31).
pub async fn schedule(
    services: &Services,
    id: Uuid,
    from: NaiveDate,
    days: u32,
    min: Option<u64>,
) -> AppResult<Schedule> {
    index_caught_up(services, min).await?;
    services.availability.schedule(id, from, days).map_err(index_error)
}

/// A cross-resource free-slot search (query parameters of `GET /availability/search`).
#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    /// Comma-separated; every tag must be present.
    pub tags: Option<String>,
    pub group_id: Option<Uuid>,
    #[serde(default)]
    pub include_subgroups: bool,
    pub min_capacity: Option<u32>,
    pub kind: Option<ResourceKind>,
    pub start: Option<String>,
    pub end: Option<String>,
    /// Signed so that a negative length is answered with a sentence naming it.
    pub duration_minutes: Option<i64>,
    pub limit: Option<i64>,
    pub slots_per_resource: Option<i64>,
}

impl SearchParams {
    /// The checked query. Errors: `Validation` naming the field.
    pub fn query(&self, services: &Services, now: DateTime<Utc>) -> AppResult<SearchQuery> {
        let duration = match self.duration_minutes.unwrap_or(60) {
            m @ 1..=10_080 => Duration::minutes(m),
            _ => return Err(AppError::validation("duration_minutes", "must be between 1 and 10080")),
        };
        let start = match &self.start {
            Some(s) => instant("start", s)?,
            None => now,
        };
        let end = match &self.end {
            Some(e) => instant("end", e)?,
            None => start + Duration::days(1),
        };
        if end - start > Duration::days(MAX_SEARCH_DAYS) {
            return Err(AppError::validation("end", format!("the window may span at most {MAX_SEARCH_DAYS} days")));
        }
        let window = TimeRange::new(start, end).map_err(|_| AppError::validation("end", "must be after start"))?;
        let max_resources = match self.limit.unwrap_or(20) {
            l @ 1..=100 => l as usize,
            _ => return Err(AppError::validation("limit", format!("must be between 1 and {MAX_SEARCH_LIMIT}"))),
        };
        let slots_per_resource = match self.slots_per_resource.unwrap_or(5) {
            l @ 1..=100 => l as usize,
            _ => {
                return Err(AppError::validation(
                    "slots_per_resource",
                    format!("must be between 1 and {MAX_SEARCH_SLOTS}"),
                ))
            }
        };
        if self.min_capacity == Some(0) {
            return Err(AppError::validation("min_capacity", "must be at least 1"));
        }
        if let Some(group) = self.group_id {
            if !services.availability.has_group(group) {
                return Err(AppError::validation("group_id", "no such group"));
            }
        }
        if self.include_subgroups && self.group_id.is_none() {
            return Err(AppError::validation("include_subgroups", "needs group_id"));
        }
        let tags = self
            .tags
            .as_deref()
            .map(|t| t.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        Ok(SearchQuery {
            tags,
            group_id: self.group_id,
            include_subgroups: self.include_subgroups,
            min_capacity: self.min_capacity,
            kind: self.kind,
            window,
            duration,
            slots_per_resource,
            max_resources,
        })
    }
}

/// Resources matching `params` with free slots in its window (`for_user`'s quota applied),
/// ordered by their first free slot, then name; with the query as checked.
pub async fn search(
    services: &Services,
    params: &SearchParams,
    for_user: Option<Uuid>,
    min: Option<u64>,
) -> AppResult<(SearchQuery, Vec<SearchHit>)> {
    index_caught_up(services, min).await?;
    let now = Utc::now();
    let query = params.query(services, now)?;
    let hits = services.availability.search(&query, now, for_user);
    Ok((query, hits))
}

fn index_error(e: IndexError) -> AppError {
    match e {
        IndexError::UnknownResource(_) => AppError::not_found("resource"),
        IndexError::Evicted(id) => AppError::Unavailable(format!("resource {id} is not held in memory")),
        IndexError::Store(e) => AppError::Storage(e.to_string()),
    }
}
