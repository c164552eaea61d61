//! A booked series as one recurring VEVENT: DTSTART at the first booked occurrence's local
//! time, the booking's RRULE bounded by UNTIL at the last booked occurrence, and EXDATE for
//! every instance of that rule which holds no booking now (skipped when booked, excluded by
//! the request, cancelled, rejected, …).
//!
//! The series' own request (its DTSTART and EXDATEs) is not in the read model, only the
//! RRULE and the per-occurrence report, so the rule is re-anchored. Whether the re-anchored
//! rule still generates every booked occurrence is checked by expanding it with the domain's
//! own expansion; when it does not (rules whose instances depend on the original DTSTART in
//! ways re-anchoring changes), the caller lists the occurrences as separate events instead.

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;
use reserver_domain::recurrence::{expand_series, OccurrenceOutcome};
use reserver_domain::resource::ReservationStatus;
use reserver_projections::reservations::{ReservationView, SeriesView};
use uuid::Uuid;

use crate::ics::utc_stamp;

/// RFC 5545 STATUS of a VEVENT for a reservation in `status`.
pub fn ics_status(status: ReservationStatus) -> &'static str {
    use ReservationStatus::*;
    match status {
        Confirmed | Completed => "CONFIRMED",
        PendingApproval | Offered => "TENTATIVE",
        Cancelled | Rejected | ApprovalExpired | OfferDeclined | OfferExpired | NoShowReleased => "CANCELLED",
    }
}

/// One occurrence that still stands but whose status differs from the series' (e.g. one
/// occurrence still waits for approval): written as an override with a RECURRENCE-ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub local_start: NaiveDateTime,
    pub local_end: NaiveDateTime,
    pub status: &'static str,
}

/// What the recurring VEVENT of a series says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurringPlan {
    pub dtstart: NaiveDateTime,
    pub dtend: NaiveDateTime,
    /// The RRULE value, `UNTIL` in UTC.
    pub rrule: String,
    pub exdates: Vec<NaiveDateTime>,
    pub status: &'static str,
    pub overrides: Vec<Override>,
}

/// The rule parts without COUNT and UNTIL (the series gets its own UNTIL), upper-cased.
fn unbounded_rule(rrule: &str) -> String {
    let text = rrule.trim();
    let text = text.strip_prefix("RRULE:").or_else(|| text.strip_prefix("rrule:")).unwrap_or(text);
    text.split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .filter(|part| {
            let key = part.split('=').next().unwrap_or_default().to_ascii_uppercase();
            key != "COUNT" && key != "UNTIL"
        })
        .map(str::to_ascii_uppercase)
        .collect::<Vec<_>>()
        .join(";")
}

fn holds_booking(status: ReservationStatus) -> bool {
    ics_status(status) != "CANCELLED"
}

/// Plans the recurring VEVENT of `series`, or `None` when it cannot be expressed as one
/// (then each occurrence is its own event).
pub fn plan(series: &SeriesView, reservations: &[ReservationView], tz: Tz) -> Option<RecurringPlan> {
    let by_id: HashMap<Uuid, &ReservationView> = reservations.iter().map(|r| (r.reservation_id, r)).collect();
    // Occurrences that got a reservation when the series was booked, with that reservation.
    let booked: Vec<_> = series
        .occurrences
        .iter()
        .filter_map(|report| match report.outcome {
            OccurrenceOutcome::Booked { reservation_id } | OccurrenceOutcome::Requested { reservation_id } => {
                Some((report, by_id.get(&reservation_id).copied()))
            }
            _ => None,
        })
        .collect();
    let (first, _) = booked.first()?;
    let (last, _) = booked.last()?;
    let duration = first.range.duration();
    if duration <= Duration::zero() {
        return None;
    }
    let base = unbounded_rule(&series.rrule);
    // UNTIL in UTC bounds real start instants, for the domain as for clients (RFC 5545 wants
    // UTC with a TZID'd DTSTART); bounded by it, the horizon argument plays no part.
    let rrule = format!("{base};UNTIL={}", utc_stamp(last.range.start()));
    let expanded = expand_series(&rrule, first.local_start, duration, &[], tz, last.range.end()).ok()?;
    let instances: BTreeSet<NaiveDateTime> = expanded.iter().map(|o| o.local_start).collect();
    if !booked.iter().all(|(report, _)| instances.contains(&report.local_start)) {
        return None;
    }

    let standing: Vec<(NaiveDateTime, &ReservationView)> = booked
        .iter()
        .filter_map(|(report, view)| view.filter(|v| holds_booking(v.status)).map(|v| (report.local_start, v)))
        .collect();
    let standing_starts: BTreeSet<NaiveDateTime> = standing.iter().map(|(start, _)| *start).collect();
    let status = if standing.iter().any(|(_, v)| ics_status(v.status) == "CONFIRMED") {
        "CONFIRMED"
    } else if standing.is_empty() {
        "CANCELLED"
    } else {
        "TENTATIVE"
    };
    let overrides = standing
        .iter()
        .filter(|(_, v)| ics_status(v.status) != status)
        .map(|(start, v)| Override {
            local_start: *start,
            local_end: v.range.end().with_timezone(&tz).naive_local(),
            status: ics_status(v.status),
        })
        .collect();
    // A cancelled series keeps its instances, so clients match and drop every one of them.
    let exdates =
        if status == "CANCELLED" { Vec::new() } else { instances.difference(&standing_starts).copied().collect() };
    Some(RecurringPlan {
        dtstart: first.local_start,
        dtend: first.range.end().with_timezone(&tz).naive_local(),
        rrule,
        exdates,
        status,
        overrides,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};
    use reserver_domain::recurrence::{occurrence_reservation_id, OccurrenceReport, SeriesPolicy};
    use reserver_domain::schedule_rules::resolve_local;
    use reserver_domain::TimeRange;

    const SERIES: Uuid = Uuid::from_u128(0x5e);

    fn local(text: &str) -> NaiveDateTime {
        text.parse().expect("local time")
    }

    /// A series as the domain books it: `rrule` from `dtstart` (minus `exdates`), one hour
    /// each, `refused` occurrences reported as conflicts.
    fn booked(rrule: &str, dtstart: &str, exdates: &[&str], refused: &[&str]) -> (SeriesView, Vec<ReservationView>) {
        booked_in(Tz::Europe__Berlin, rrule, dtstart, exdates, refused)
    }

    fn booked_in(
        tz: Tz,
        rrule: &str,
        dtstart: &str,
        exdates: &[&str],
        refused: &[&str],
    ) -> (SeriesView, Vec<ReservationView>) {
        let exdates: Vec<NaiveDateTime> = exdates.iter().map(|e| local(e)).collect();
        let far = Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0).single().expect("instant");
        let occurrences = expand_series(rrule, local(dtstart), Duration::hours(1), &exdates, tz, far).expect("expand");
        let mut reports = Vec::new();
        let mut views = Vec::new();
        for o in occurrences {
            let outcome = if refused.iter().any(|r| local(r) == o.local_start) {
                OccurrenceOutcome::Conflict { with: Vec::new() }
            } else {
                let id = occurrence_reservation_id(SERIES, o.range.start());
                views.push(view(id, o.range));
                OccurrenceOutcome::Booked { reservation_id: id }
            };
            reports.push(OccurrenceReport { local_start: o.local_start, range: o.range, outcome });
        }
        let series = SeriesView {
            series_id: SERIES,
            resource_id: Uuid::from_u128(1),
            user_id: Uuid::from_u128(2),
            rrule: rrule.into(),
            policy: SeriesPolicy::SkipConflicts,
            occurrences: reports,
            booked_at: far,
        };
        (series, views)
    }

    fn view(id: Uuid, range: TimeRange) -> ReservationView {
        ReservationView {
            reservation_id: id,
            resource_id: Uuid::from_u128(1),
            user_id: Uuid::from_u128(2),
            series_id: Some(SERIES),
            range,
            status: ReservationStatus::Confirmed,
            created_at: range.start(),
            updated_at: range.start(),
            approval_deadline: None,
            offer_expires_at: None,
            waitlist_entry_id: None,
            checked_in_at: None,
            decided_by: None,
            comment: None,
        }
    }

    fn at_local(text: &str) -> DateTime<Utc> {
        resolve_local(Tz::Europe__Berlin, local(text))
    }

    #[test]
    fn weekly_series_across_dst_keeps_local_time_and_bounds_in_utc() {
        let (series, views) = booked("FREQ=WEEKLY;COUNT=5", "2030-03-18T09:00:00", &[], &[]);
        let plan = plan(&series, &views, Tz::Europe__Berlin).expect("recurring");
        assert_eq!(plan.dtstart, local("2030-03-18T09:00:00"));
        assert_eq!(plan.dtend, local("2030-03-18T10:00:00"));
        // The fifth Monday, 15 April, 09:00 CEST = 07:00 UTC.
        assert_eq!(plan.rrule, "FREQ=WEEKLY;UNTIL=20300415T070000Z");
        assert_eq!((plan.status, plan.exdates.len(), plan.overrides.len()), ("CONFIRMED", 0, 0));
    }

    #[test]
    fn west_of_utc_the_until_is_the_last_occurrence_instant() {
        // 21:00 EDT is 01:00Z the next day: a local-time UNTIL read as UTC would drop it.
        let tz = Tz::America__New_York;
        let (series, views) = booked_in(tz, "FREQ=WEEKLY;UNTIL=20300820T000000Z", "2030-08-05T21:00:00", &[], &[]);
        assert_eq!(series.occurrences.len(), 2);
        let plan = plan(&series, &views, tz).expect("recurring");
        assert_eq!(plan.rrule, "FREQ=WEEKLY;UNTIL=20300813T010000Z");
        assert_eq!(plan.dtstart, local("2030-08-05T21:00:00"));
        assert!(plan.exdates.is_empty());
    }

    #[test]
    fn requested_exdates_conflicts_and_cancellations_become_exdates() {
        let (series, mut views) = booked(
            "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6",
            "2030-03-18T09:00:00",
            &["2030-03-25T09:00:00"],
            &["2030-04-01T09:00:00"],
        );
        let cancelled = occurrence_reservation_id(SERIES, at_local("2030-04-08T09:00:00"));
        let pending = occurrence_reservation_id(SERIES, at_local("2030-04-15T09:00:00"));
        for v in &mut views {
            if v.reservation_id == cancelled {
                v.status = ReservationStatus::Cancelled;
            }
            if v.reservation_id == pending {
                v.status = ReservationStatus::PendingApproval;
            }
        }
        let plan = plan(&series, &views, Tz::Europe__Berlin).expect("recurring");
        assert_eq!(plan.rrule, "FREQ=WEEKLY;BYDAY=MO;UNTIL=20300422T070000Z");
        assert_eq!(
            plan.exdates,
            vec![local("2030-03-25T09:00:00"), local("2030-04-01T09:00:00"), local("2030-04-08T09:00:00")]
        );
        assert_eq!(
            plan.overrides,
            vec![Override {
                local_start: local("2030-04-15T09:00:00"),
                local_end: local("2030-04-15T10:00:00"),
                status: "TENTATIVE"
            }]
        );
    }

    #[test]
    fn a_first_occurrence_that_was_skipped_moves_dtstart() {
        let (series, views) =
            booked("FREQ=DAILY;INTERVAL=2;COUNT=4", "2030-03-18T09:00:00", &[], &["2030-03-18T09:00:00"]);
        let plan = plan(&series, &views, Tz::Europe__Berlin).expect("recurring");
        assert_eq!(plan.dtstart, local("2030-03-20T09:00:00"));
        assert_eq!(plan.rrule, "FREQ=DAILY;INTERVAL=2;UNTIL=20300324T080000Z");
        assert!(plan.exdates.is_empty());
    }

    #[test]
    fn a_wholly_cancelled_series_is_cancelled_without_exdates() {
        let (series, mut views) = booked("FREQ=WEEKLY;COUNT=3", "2030-03-18T09:00:00", &[], &[]);
        for v in &mut views {
            v.status = ReservationStatus::Cancelled;
        }
        let plan = plan(&series, &views, Tz::Europe__Berlin).expect("recurring");
        assert_eq!((plan.status, plan.exdates.len()), ("CANCELLED", 0));
    }

    #[test]
    fn a_rule_that_cannot_be_reanchored_is_refused() {
        // An occurrence the re-anchored rule does not generate (as when a rule's instances
        // depend on the original DTSTART) makes the series fall back to separate events.
        let (mut series, views) = booked("FREQ=WEEKLY;COUNT=3", "2030-03-18T09:00:00", &[], &[]);
        series.occurrences[1].local_start = local("2030-03-26T09:00:00");
        assert_eq!(plan(&series, &views, Tz::Europe__Berlin), None);
        let (mut nothing, views) = booked("FREQ=WEEKLY;COUNT=2", "2030-03-18T09:00:00", &[], &[]);
        nothing.occurrences.clear();
        assert_eq!(plan(&nothing, &views, Tz::Europe__Berlin), None);
    }

    #[test]
    fn statuses_map_to_rfc5545() {
        assert_eq!(ics_status(ReservationStatus::Confirmed), "CONFIRMED");
        assert_eq!(ics_status(ReservationStatus::Completed), "CONFIRMED");
        assert_eq!(ics_status(ReservationStatus::PendingApproval), "TENTATIVE");
        assert_eq!(ics_status(ReservationStatus::Offered), "TENTATIVE");
        assert_eq!(ics_status(ReservationStatus::Cancelled), "CANCELLED");
        assert_eq!(ics_status(ReservationStatus::NoShowReleased), "CANCELLED");
    }
}
