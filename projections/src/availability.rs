//! Availability: answered by the domain's own slot search (`reserver_domain::availability`)
//! run on the resource aggregate's state as the reservations projector folded it with the
//! domain's `evolve`. There is no second implementation of business hours, blackouts,
//! capacity, buffers, notice, horizon or holds that could drift from what a booking accepts.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use reserver_domain::availability::{self, local_day, open_minutes};
use reserver_domain::{ResourceState, TimeRange};
use reserver_store::Database;
use serde::Serialize;
use uuid::Uuid;

use crate::error::ProjectionError;
use crate::reservations::ReservationView;
use crate::sql::fetch_all;

/// Most slots one query returns.
pub const MAX_SLOTS: usize = 1000;

/// The aggregate state of a resource as projected (`None` if it does not exist): the stored
/// base state plus its reservations from `rm_reservations`, read in one statement so both come
/// from the same committed batch.
pub async fn resource_state(db: &Database, resource_id: Uuid) -> Result<Option<ResourceState>, ProjectionError> {
    let rows = fetch_all(
        db,
        "SELECT s.state AS doc, CAST(0 AS BIGINT) AS part FROM rm_resource_states s WHERE s.resource_id = $1 \
         UNION ALL \
         SELECT r.doc, CAST(1 AS BIGINT) FROM rm_reservations r JOIN rm_resource_states s ON s.resource_id = r.resource_id \
         WHERE r.resource_id = $1 AND r.end_at >= s.retain_from",
        &[resource_id.to_string().into()],
    )
    .await?;
    let mut state: Option<ResourceState> = None;
    let mut reservations = Vec::new();
    for row in &rows {
        let doc = row.text(0)?;
        if row.int(1)? == 0 {
            state = Some(serde_json::from_str(&doc)?);
        } else {
            reservations.push(serde_json::from_str::<ReservationView>(&doc)?);
        }
    }
    let Some(mut state) = state.filter(|s| s.resource.is_some()) else { return Ok(None) };
    state.reservations.clear();
    let cutoff = state.retention_cutoff();
    for view in reservations {
        if cutoff.is_none_or(|c| view.range.end() >= c) {
            state.reservations.insert(view.reservation_id, view.as_aggregate_entry());
        }
    }
    Ok(Some(state))
}

/// Bookable slots of `duration` inside `window` at `now`, earliest first (at most `limit`,
/// capped at [`MAX_SLOTS`]); `for_user` also applies that user's quota.
pub async fn free_slots(
    db: &Database,
    resource_id: Uuid,
    window: TimeRange,
    duration: Duration,
    now: DateTime<Utc>,
    limit: usize,
    for_user: Option<Uuid>,
) -> Result<Vec<TimeRange>, ProjectionError> {
    let Some(state) = resource_state(db, resource_id).await? else { return Ok(Vec::new()) };
    Ok(availability::free_slots(&state, window, duration, now, limit.min(MAX_SLOTS), for_user))
}

/// The earliest bookable slot of `duration` at or after `from`, up to the booking horizon.
pub async fn next_available(
    db: &Database,
    resource_id: Uuid,
    from: DateTime<Utc>,
    duration: Duration,
    now: DateTime<Utc>,
    for_user: Option<Uuid>,
) -> Result<Option<TimeRange>, ProjectionError> {
    let Some(state) = resource_state(db, resource_id).await? else { return Ok(None) };
    Ok(availability::next_available(&state, from, duration, now, for_user))
}

/// One local day of a resource's calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaySummary {
    /// The day in the resource's time zone.
    pub date: NaiveDate,
    /// Minutes the resource is open that day (business hours; 24 h when it has none).
    pub open_minutes: i64,
    /// How many non-overlapping slots of the asked length can still be booked.
    pub free_slots: usize,
    /// The first of them.
    pub first_free: Option<TimeRange>,
}

/// A per-day summary for `days` local days from `from`, for slots of `duration` at `now`.
pub async fn day_summary(
    db: &Database,
    resource_id: Uuid,
    from: NaiveDate,
    days: u32,
    duration: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<DaySummary>, ProjectionError> {
    let Some(state) = resource_state(db, resource_id).await? else { return Ok(Vec::new()) };
    let Some(tz) = state.resource.as_ref().map(|r| r.time_zone) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    let mut date = from;
    for _ in 0..days.min(366) {
        let Some(day) = local_day(tz, date) else { break };
        let slots = availability::free_slots(&state, day, duration, now, MAX_SLOTS, None);
        out.push(DaySummary {
            date,
            open_minutes: open_minutes(&state, &day),
            free_slots: slots.len(),
            first_free: slots.first().copied(),
        });
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    Ok(out)
}
