//! Recurring bookings: an RRULE series booked at once (all or nothing, or skipping conflicts),
//! previewed without booking (a dry run decided on the resource's current state), and
//! cancelled as a whole or from one occurrence on.

use chrono::NaiveDateTime;
use reserver_commands::addressing::Address;
use reserver_domain::recurrence::{OccurrenceOutcome, OccurrenceReport, SeriesPolicy};
use reserver_domain::resource::SeriesCancelScope;
use reserver_domain::{Rejection, ResourceCommand, ResourceEvent};
use uuid::Uuid;

use crate::addressing;
use crate::caller::{command_meta, Caller, RequestInfo};
use crate::error::{AppError, AppResult};
use crate::services::Services;

/// A series to book (or preview).
#[derive(Debug, Clone)]
pub struct SeriesRequest {
    pub resource_id: Uuid,
    /// RFC 5545 RRULE, e.g. `FREQ=WEEKLY;BYDAY=MO;COUNT=10`.
    pub rrule: String,
    /// First occurrence's wall-clock start in the resource's zone.
    pub start_local: NaiveDateTime,
    /// 1 to 1440.
    pub duration_minutes: u32,
    /// Wall-clock starts to leave out.
    pub exdates: Vec<NaiveDateTime>,
    /// Book what can be booked; otherwise all or nothing.
    pub skip_conflicts: bool,
}

impl SeriesRequest {
    fn command(&self, series_id: Uuid) -> AppResult<ResourceCommand> {
        if !(1..=24 * 60).contains(&self.duration_minutes) {
            return Err(AppError::validation("duration_minutes", "must be between 1 and 1440"));
        }
        Ok(ResourceCommand::BookSeries {
            series_id,
            rrule: self.rrule.clone(),
            dtstart: self.start_local,
            duration_minutes: self.duration_minutes,
            exdates: self.exdates.clone(),
            policy: if self.skip_conflicts { SeriesPolicy::SkipConflicts } else { SeriesPolicy::AllOrNothing },
        })
    }
}

/// A booked series with every occurrence's outcome.
#[derive(Debug, Clone)]
pub struct SeriesBooked {
    pub series_id: Uuid,
    pub occurrences: Option<Vec<OccurrenceReport>>,
    /// Log position of the write (read-your-writes).
    pub position: u64,
}

/// Books a series. Errors: `Validation` for the duration, `Rejected(SeriesNotBookable)` with
/// every occurrence's outcome when all or nothing fails (or nothing at all can be booked),
/// other rejections as they come.
pub async fn book(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    request: &SeriesRequest,
    body: &[u8],
) -> AppResult<SeriesBooked> {
    let series_id = Uuid::new_v4();
    let command = request.command(series_id)?;
    let meta = command_meta(info, Some(caller), body)?;
    let decided = services.resources.execute(request.resource_id, caller.actor(), command, meta).await?;
    let booked = decided.events.iter().find_map(|e| match e {
        ResourceEvent::SeriesBooked { series_id, occurrences, .. } => Some((*series_id, occurrences.clone())),
        _ => None,
    });
    Ok(match booked {
        Some((series_id, occurrences)) => {
            SeriesBooked { series_id, occurrences: Some(occurrences), position: decided.position }
        }
        None => SeriesBooked { series_id, occurrences: None, position: decided.position },
    })
}

/// What booking a series would do now, with nothing booked.
#[derive(Debug, Clone)]
pub struct SeriesPreview {
    /// True when booking it as asked (with its policy) would be accepted.
    pub bookable: bool,
    /// Every occurrence; one that would be booked has the outcome `bookable`.
    pub occurrences: Vec<OccurrenceReport>,
}

/// Decides the series on the resource's current state and appends nothing. Errors as for
/// [`book`], except that an all-or-nothing failure is a preview (`bookable: false`), not an error.
pub async fn preview(services: &Services, caller: &Caller, request: &SeriesRequest) -> AppResult<SeriesPreview> {
    let command = request.command(Uuid::new_v4())?;
    match services.resources.preview(request.resource_id, caller.actor(), &command).await {
        Ok(events) => {
            let occurrences = events
                .into_iter()
                .find_map(|e| match e {
                    ResourceEvent::SeriesBooked { occurrences, .. } => Some(occurrences),
                    _ => None,
                })
                .unwrap_or_default();
            Ok(SeriesPreview { bookable: true, occurrences: occurrences.into_iter().map(as_bookable).collect() })
        }
        Err(reserver_commands::CommandError::Rejected(Rejection::SeriesNotBookable { occurrences })) => {
            Ok(SeriesPreview { bookable: false, occurrences: occurrences.into_iter().map(as_bookable).collect() })
        }
        Err(other) => Err(other.into()),
    }
}

/// An occurrence that would be booked (or requested) is "bookable" in a preview.
fn as_bookable(mut report: OccurrenceReport) -> OccurrenceReport {
    if let OccurrenceOutcome::Booked { reservation_id } | OccurrenceOutcome::Requested { reservation_id } =
        report.outcome
    {
        report.outcome = OccurrenceOutcome::Bookable { reservation_id };
    }
    report
}

/// What cancelling a series did.
#[derive(Debug, Clone)]
pub struct SeriesCancelled {
    pub series_id: Uuid,
    /// How many reservations were cancelled.
    pub cancelled: usize,
    pub position: u64,
}

/// Cancels the whole series, or with `from_reservation_id` that occurrence and every later one.
/// Someone else's series is "not found" to people who may not act on it.
pub async fn cancel(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    series_id: Uuid,
    from_reservation_id: Option<Uuid>,
    body: &[u8],
) -> AppResult<SeriesCancelled> {
    let resource = addressing::resource_of(services, Address::Series(series_id), "series").await?;
    let scope = match from_reservation_id {
        Some(reservation_id) => SeriesCancelScope::ThisAndFollowing { reservation_id },
        None => SeriesCancelScope::Whole,
    };
    let command = ResourceCommand::CancelSeries { series_id, scope };
    let meta = command_meta(info, Some(caller), body)?;
    let decided = addressing::hiding_others(
        caller,
        "series",
        services.resources.execute(resource, caller.actor(), command, meta).await.map_err(AppError::from),
    )?;
    let cancelled = decided.events.iter().filter(|e| e.event_type() == "reservation_cancelled").count();
    Ok(SeriesCancelled { series_id, cancelled, position: decided.position })
}
