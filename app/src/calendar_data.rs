//! Gathers what a calendar shows from the read models: the reservations, the series they
//! belong to, their resources, and how often each reservation changed (for SEQUENCE).

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use reserver_domain::TimeRange;
use reserver_projections::catalog::get_resource;
use reserver_projections::reservations::{
    get_series, history_lengths, reservations_for_resource, reservations_for_user, ReservationView, TimeScope,
};
use reserver_projections::{Page, PageRequest};
use reserver_store::Database;
use uuid::Uuid;

use crate::error::AppError;
use reserver_calendar::render::{CalendarEntry, Privacy, ResourceInfo};

/// How far back feeds reach: recent history stays visible, cancellations still reach clients.
pub const FEED_PAST: Duration = Duration::days(90);
/// How far ahead a resource feed reaches (beyond any booking horizon in practice).
const RESOURCE_FEED_AHEAD: Duration = Duration::days(3 * 366);
/// Most reservations one feed lists; a bound on the work a token holder can cause.
const MAX_FEED_RESERVATIONS: usize = 5_000;
const PAGE: u32 = 500;

/// Reads every page of a list query, up to [`MAX_FEED_RESERVATIONS`] rows.
async fn all_pages<F, Fut>(mut next: F) -> Result<Vec<ReservationView>, AppError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<ReservationView>, reserver_projections::ProjectionError>>,
{
    let mut all = Vec::new();
    let mut request = PageRequest::first(PAGE);
    loop {
        let page = next(request).await?;
        all.extend(page.data);
        match page.next_cursor {
            Some(cursor) if page.has_more && all.len() < MAX_FEED_RESERVATIONS => {
                request = PageRequest::after(PAGE, cursor);
            }
            _ => break,
        }
    }
    all.truncate(MAX_FEED_RESERVATIONS);
    Ok(all)
}

/// A user's reservations that end after `now - FEED_PAST`, every status.
pub async fn user_feed(db: &Database, user_id: Uuid, now: DateTime<Utc>) -> Result<Vec<ReservationView>, AppError> {
    // "Upcoming" means "ending after the given instant"; moving the instant back includes
    // the recent past.
    let since = now - FEED_PAST;
    all_pages(|page| async move { reservations_for_user(db, user_id, TimeScope::Upcoming, since, &page).await }).await
}

/// Everyone's reservations of a resource from `now - FEED_PAST` on, every status.
pub async fn resource_feed(
    db: &Database,
    resource_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<ReservationView>, AppError> {
    let window = TimeRange::new(now - FEED_PAST, now + RESOURCE_FEED_AHEAD)
        .map_err(|_| AppError::Internal("empty feed window".into()))?;
    all_pages(|page| async move { reservations_for_resource(db, resource_id, Some(window), &page).await }).await
}

/// Turns reservations into calendar entries: one per reservation, except that occurrences of
/// a series become one entry for the whole series. `privacy` says what the reader may see
/// of an owner's bookings.
pub async fn entries(
    db: &Database,
    reservations: Vec<ReservationView>,
    privacy: impl Fn(Uuid) -> Privacy,
) -> Result<Vec<CalendarEntry>, AppError> {
    let mut singles = Vec::new();
    let mut series_ids = BTreeSet::new();
    for r in reservations {
        match r.series_id {
            Some(series_id) => {
                series_ids.insert(series_id);
            }
            None => singles.push(r),
        }
    }
    let mut series = Vec::with_capacity(series_ids.len());
    for series_id in series_ids {
        match get_series(db, series_id).await? {
            Some(detail) => series.push(detail),
            None => return Err(AppError::Internal(format!("series {series_id} missing from the read model"))),
        }
    }

    let ids: Vec<Uuid> =
        singles.iter().chain(series.iter().flat_map(|s| s.reservations.iter())).map(|r| r.reservation_id).collect();
    let lengths = history_lengths(db, &ids).await?;
    let changes = |id: &Uuid| lengths.get(id).copied().unwrap_or(1).saturating_sub(1);

    let mut resources: HashMap<Uuid, ResourceInfo> = HashMap::new();
    for resource_id in singles.iter().map(|r| r.resource_id).chain(series.iter().map(|s| s.series.resource_id)) {
        if let Entry::Vacant(slot) = resources.entry(resource_id) {
            let info = get_resource(db, resource_id).await?.map(|v| ResourceInfo::from_view(&v));
            slot.insert(info.unwrap_or_else(ResourceInfo::unknown));
        }
    }
    let resource = |id: &Uuid| resources.get(id).cloned().unwrap_or_else(ResourceInfo::unknown);

    let mut entries = Vec::with_capacity(series.len() + singles.len());
    for detail in series {
        let sequence = detail.reservations.iter().map(|r| changes(&r.reservation_id)).sum();
        entries.push(CalendarEntry::Series {
            resource: resource(&detail.series.resource_id),
            privacy: privacy(detail.series.user_id),
            sequence,
            reservations: detail.reservations,
            series: detail.series,
        });
    }
    for reservation in singles {
        entries.push(CalendarEntry::Single {
            resource: resource(&reservation.resource_id),
            privacy: privacy(reservation.user_id),
            sequence: changes(&reservation.reservation_id),
            reservation,
        });
    }
    Ok(entries)
}
