//! Analytics over the reservations and catalog read models: utilization per resource per local
//! day and per local hour of the week (booked unit-minutes against open unit-minutes), peak
//! times, popular resources and the no-show rate, with CSV exports.
//!
//! "Booked" means reservations that held a unit and were not given back early: `confirmed`,
//! `completed` and `no_show_released` (a no-show still blocked the slot until released).
//! "Open" is business hours (24 h without them) times capacity, in the resource's zone.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Timelike};
use chrono_tz::Tz;
use reserver_domain::schedule_rules::business_intervals;
use reserver_domain::TimeRange;
use reserver_store::Database;
use serde::Serialize;
use uuid::Uuid;

use crate::catalog::ResourceView;
use crate::error::ProjectionError;
use crate::reservations::ReservationView;
use crate::sql::{fetch_all, SqlBuilder};

/// Longest window an analytics query accepts.
pub const MAX_WINDOW_DAYS: i64 = 400;

/// Utilization of one resource on one local day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyUtilization {
    pub resource_id: Uuid,
    pub date: NaiveDate,
    pub booked_minutes: i64,
    pub open_minutes: i64,
    /// booked / open, 0 when closed.
    pub utilization: f64,
}

/// Utilization of one resource (or all, in peak times) in one local hour of the week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourlyUtilization {
    pub resource_id: Option<Uuid>,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u32,
    pub hour: u32,
    pub booked_minutes: i64,
    pub open_minutes: i64,
    pub utilization: f64,
}

/// Bookings per resource in a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PopularResource {
    pub resource_id: Uuid,
    pub name: String,
    pub bookings: u64,
    pub booked_minutes: i64,
}

/// Check-in outcomes in a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoShowStats {
    pub checked_in: u64,
    pub no_shows: u64,
    /// no_shows / (checked_in + no_shows), 0 when there were none.
    pub rate: f64,
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Calls `f(local date, weekday, hour, seconds)` for each piece of `range` inside one local
/// hour of `tz`, so DST shifts land in the hour they happen in on the wall clock.
fn walk_hours(tz: Tz, range: &TimeRange, mut f: impl FnMut(NaiveDate, u32, u32, i64)) {
    let mut t = range.start();
    while t < range.end() {
        let local = t.with_timezone(&tz);
        let into_hour = i64::from(local.minute() * 60 + local.second());
        let next = (t + Duration::seconds(3600 - into_hour)).min(range.end());
        let next = if next <= t { range.end() } else { next };
        f(local.date_naive(), local.weekday().num_days_from_monday(), local.hour(), (next - t).num_seconds());
        t = next;
    }
}

fn clip(range: &TimeRange, window: &TimeRange) -> Option<TimeRange> {
    TimeRange::new(range.start().max(window.start()), range.end().min(window.end())).ok()
}

fn open_intervals(resource: &ResourceView, window: &TimeRange) -> Vec<TimeRange> {
    let hours = resource.business_hours.as_ref().and_then(|h| business_intervals(h, resource.time_zone, window));
    match hours {
        None => vec![*window],
        Some(intervals) => intervals.iter().filter_map(|i| clip(i, window)).collect(),
    }
}

struct Loaded {
    resources: Vec<ResourceView>,
    reservations: Vec<ReservationView>,
}

async fn load(db: &Database, resource_id: Option<Uuid>, window: &TimeRange) -> Result<Loaded, ProjectionError> {
    if window.duration() > Duration::days(MAX_WINDOW_DAYS) {
        return Err(ProjectionError::InvalidQuery(format!("analytics windows are at most {MAX_WINDOW_DAYS} days")));
    }
    let mut sql = SqlBuilder::new("SELECT doc FROM rm_resources WHERE 1 = 1");
    if let Some(id) = resource_id {
        sql.push(" AND resource_id = ").bind(id.to_string());
    }
    sql.push(" ORDER BY resource_id");
    let rows = fetch_all(db, &sql.sql, &sql.args).await?;
    let resources =
        rows.iter().map(|r| Ok(serde_json::from_str(&r.text(0)?)?)).collect::<Result<_, ProjectionError>>()?;
    let mut sql = SqlBuilder::new(
        "SELECT doc FROM rm_reservations WHERE status IN ('confirmed', 'completed', 'no_show_released') AND start_at < ",
    );
    sql.bind(window.end().timestamp_micros()).push(" AND end_at > ").bind(window.start().timestamp_micros());
    if let Some(id) = resource_id {
        sql.push(" AND resource_id = ").bind(id.to_string());
    }
    sql.push(" ORDER BY start_at, reservation_id");
    let rows = fetch_all(db, &sql.sql, &sql.args).await?;
    let reservations =
        rows.iter().map(|r| Ok(serde_json::from_str(&r.text(0)?)?)).collect::<Result<_, ProjectionError>>()?;
    Ok(Loaded { resources, reservations })
}

/// Seconds booked and open per key, for each resource.
type Tally<K> = BTreeMap<(Uuid, K), (i64, i64)>;

fn tally<K: Ord>(loaded: &Loaded, window: &TimeRange, key: impl Fn(NaiveDate, u32, u32) -> K) -> Tally<K> {
    let mut out: Tally<K> = BTreeMap::new();
    for resource in &loaded.resources {
        let capacity = i64::from(resource.capacity);
        for open in open_intervals(resource, window) {
            walk_hours(resource.time_zone, &open, |d, w, h, secs| {
                out.entry((resource.resource_id, key(d, w, h))).or_default().1 += secs * capacity;
            });
        }
        for r in loaded.reservations.iter().filter(|r| r.resource_id == resource.resource_id) {
            if let Some(piece) = clip(&r.range, window) {
                walk_hours(resource.time_zone, &piece, |d, w, h, secs| {
                    out.entry((resource.resource_id, key(d, w, h))).or_default().0 += secs;
                });
            }
        }
    }
    out
}

/// Utilization per resource per local day in `window` (one resource or all).
pub async fn utilization_by_day(
    db: &Database,
    resource_id: Option<Uuid>,
    window: TimeRange,
) -> Result<Vec<DailyUtilization>, ProjectionError> {
    let loaded = load(db, resource_id, &window).await?;
    Ok(tally(&loaded, &window, |d, _, _| d)
        .into_iter()
        .map(|((resource_id, date), (booked, open))| DailyUtilization {
            resource_id,
            date,
            booked_minutes: booked / 60,
            open_minutes: open / 60,
            utilization: ratio(booked, open),
        })
        .collect())
}

/// Utilization per resource per local hour of the week in `window`.
pub async fn utilization_by_hour_of_week(
    db: &Database,
    resource_id: Option<Uuid>,
    window: TimeRange,
) -> Result<Vec<HourlyUtilization>, ProjectionError> {
    let loaded = load(db, resource_id, &window).await?;
    Ok(tally(&loaded, &window, |_, w, h| (w, h))
        .into_iter()
        .map(|((resource_id, (weekday, hour)), (booked, open))| HourlyUtilization {
            resource_id: Some(resource_id),
            weekday,
            hour,
            booked_minutes: booked / 60,
            open_minutes: open / 60,
            utilization: ratio(booked, open),
        })
        .collect())
}

/// The `top` busiest local hours of the week across all resources, busiest first.
pub async fn peak_times(
    db: &Database,
    window: TimeRange,
    top: usize,
) -> Result<Vec<HourlyUtilization>, ProjectionError> {
    let loaded = load(db, None, &window).await?;
    let mut by_hour: BTreeMap<(u32, u32), (i64, i64)> = BTreeMap::new();
    for ((_, key), (booked, open)) in tally(&loaded, &window, |_, w, h| (w, h)) {
        let entry = by_hour.entry(key).or_default();
        entry.0 += booked;
        entry.1 += open;
    }
    let mut rows: Vec<HourlyUtilization> = by_hour
        .into_iter()
        .filter(|(_, (booked, _))| *booked > 0)
        .map(|((weekday, hour), (booked, open))| HourlyUtilization {
            resource_id: None,
            weekday,
            hour,
            booked_minutes: booked / 60,
            open_minutes: open / 60,
            utilization: ratio(booked, open),
        })
        .collect();
    rows.sort_by(|a, b| b.booked_minutes.cmp(&a.booked_minutes).then((a.weekday, a.hour).cmp(&(b.weekday, b.hour))));
    rows.truncate(top);
    Ok(rows)
}

/// The `top` resources by number of bookings starting in `window`.
pub async fn popular_resources(
    db: &Database,
    window: TimeRange,
    top: usize,
) -> Result<Vec<PopularResource>, ProjectionError> {
    let loaded = load(db, None, &window).await?;
    let mut rows: Vec<PopularResource> = loaded
        .resources
        .iter()
        .map(|resource| {
            let mine = loaded
                .reservations
                .iter()
                .filter(|r| r.resource_id == resource.resource_id && window.contains_instant(r.range.start()));
            let (bookings, minutes) =
                mine.fold((0u64, 0i64), |(n, m), r| (n + 1, m + r.range.duration().num_minutes()));
            PopularResource {
                resource_id: resource.resource_id,
                name: resource.name.clone(),
                bookings,
                booked_minutes: minutes,
            }
        })
        .filter(|p| p.bookings > 0)
        .collect();
    rows.sort_by(|a, b| b.bookings.cmp(&a.bookings).then(a.resource_id.cmp(&b.resource_id)));
    rows.truncate(top);
    Ok(rows)
}

/// Check-ins versus no-shows among reservations starting in `window`.
pub async fn no_show_rate(
    db: &Database,
    resource_id: Option<Uuid>,
    window: TimeRange,
) -> Result<NoShowStats, ProjectionError> {
    let loaded = load(db, resource_id, &window).await?;
    let starting = loaded.reservations.iter().filter(|r| window.contains_instant(r.range.start()));
    let (mut checked_in, mut no_shows) = (0u64, 0u64);
    for r in starting {
        if r.checked_in_at.is_some() {
            checked_in += 1;
        } else if r.status == reserver_domain::resource::ReservationStatus::NoShowReleased {
            no_shows += 1;
        }
    }
    let rate = ratio(no_shows as i64, (checked_in + no_shows) as i64);
    Ok(NoShowStats { checked_in, no_shows, rate })
}
