//! Read-model views → an iCalendar document. Pure: the views, the resources' details, each
//! entry's SEQUENCE and the current time go in, RFC 5545 text comes out.
//!
//! A single reservation is one VEVENT in UTC. A series is one VEVENT with DTSTART;TZID in the
//! resource's zone, RRULE and EXDATE (see [`crate::series`]), overrides for occurrences whose
//! status differs, and the zone's VTIMEZONE.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use reserver_projections::catalog::ResourceView;
use reserver_projections::reservations::{ReservationView, SeriesView};
use uuid::Uuid;

use crate::ics::{local_stamp, IcsWriter};
use crate::series::{ics_status, plan, RecurringPlan};
use crate::timezone::write_vtimezone;

/// `PRODID` of every document (RFC 5545 §3.7.3).
pub const PRODID: &str = concat!("-//Resource Reserver//Resource Reserver ", env!("CARGO_PKG_VERSION"), "//EN");
/// The SUMMARY other people's bookings get in a resource feed.
pub const NEUTRAL_SUMMARY: &str = "Booked";

/// The stable UID of a reservation's or a series' VEVENT.
pub fn uid(id: Uuid) -> String {
    format!("{id}@resource-reserver")
}

/// What a calendar shows of the resource a reservation is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    pub name: String,
    pub location: String,
    pub description: String,
    pub time_zone: Tz,
}

impl ResourceInfo {
    pub fn from_view(view: &ResourceView) -> Self {
        Self {
            name: view.name.clone(),
            location: view.location.clone(),
            description: view.description.clone(),
            time_zone: view.time_zone,
        }
    }

    /// For a reservation whose resource the catalog does not know (never expected).
    pub fn unknown() -> Self {
        Self { name: "Reservation".into(), location: String::new(), description: String::new(), time_zone: Tz::UTC }
    }
}

/// How much of a reservation the reader may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privacy {
    /// The owner (or an admin): resource name and the reservation's comment.
    Owner,
    /// Someone else's booking in a resource feed: when and where, summarised as "Booked".
    Neutral,
}

/// One thing to put in a calendar.
#[derive(Debug, Clone)]
pub enum CalendarEntry {
    Single {
        reservation: ReservationView,
        resource: ResourceInfo,
        sequence: u64,
        privacy: Privacy,
    },
    Series {
        series: SeriesView,
        /// Every reservation of the series.
        reservations: Vec<ReservationView>,
        resource: ResourceInfo,
        /// Changes to any of its reservations since booking.
        sequence: u64,
        privacy: Privacy,
    },
}

/// Calendar-level properties.
#[derive(Debug, Clone, Default)]
pub struct CalendarMeta {
    /// Display name for subscribed calendars (`NAME`, `X-WR-CALNAME`).
    pub name: Option<String>,
    /// Suggested polling interval for subscribed calendars.
    pub refresh_minutes: Option<u32>,
}

/// A VEVENT's text properties.
struct Texts<'a> {
    summary: &'a str,
    location: &'a str,
    description: Option<String>,
}

fn texts<'a>(resource: &'a ResourceInfo, comment: Option<&str>, privacy: Privacy) -> Texts<'a> {
    let summary = match privacy {
        Privacy::Owner if !resource.name.trim().is_empty() => resource.name.as_str(),
        Privacy::Owner => "Reservation",
        Privacy::Neutral => NEUTRAL_SUMMARY,
    };
    let mut parts = Vec::new();
    if !resource.description.trim().is_empty() {
        parts.push(resource.description.clone());
    }
    if let (Privacy::Owner, Some(comment)) = (privacy, comment.filter(|c| !c.trim().is_empty())) {
        parts.push(format!("Note: {comment}"));
    }
    let description = (!parts.is_empty()).then(|| parts.join("\n"));
    Texts { summary, location: resource.location.as_str(), description }
}

fn write_texts(w: &mut IcsWriter, texts: &Texts<'_>) {
    w.text("SUMMARY", texts.summary);
    if !texts.location.trim().is_empty() {
        w.text("LOCATION", texts.location);
    }
    if let Some(description) = &texts.description {
        w.text("DESCRIPTION", description);
    }
}

fn write_single(
    w: &mut IcsWriter,
    r: &ReservationView,
    resource: &ResourceInfo,
    sequence: u64,
    privacy: Privacy,
    now: DateTime<Utc>,
) {
    w.begin("VEVENT");
    w.raw("UID", &[], &uid(r.reservation_id));
    w.utc("DTSTAMP", now);
    w.utc("DTSTART", r.range.start());
    w.utc("DTEND", r.range.end());
    write_texts(w, &texts(resource, r.comment.as_deref(), privacy));
    w.raw("STATUS", &[], ics_status(r.status));
    w.raw("SEQUENCE", &[], &sequence.to_string());
    w.utc("CREATED", r.created_at);
    w.utc("LAST-MODIFIED", r.updated_at);
    w.end("VEVENT");
}

struct Recurring<'a> {
    series: &'a SeriesView,
    reservations: &'a [ReservationView],
    plan: RecurringPlan,
    resource: &'a ResourceInfo,
    sequence: u64,
    privacy: Privacy,
}

fn write_recurring(w: &mut IcsWriter, r: &Recurring<'_>, now: DateTime<Utc>) {
    let tzid = r.resource.time_zone.name();
    let uid = uid(r.series.series_id);
    let texts = texts(r.resource, None, r.privacy);
    let last_modified = r.reservations.iter().map(|v| v.updated_at).chain([r.series.booked_at]).max();
    let last_modified = last_modified.unwrap_or(r.series.booked_at);
    w.begin("VEVENT");
    w.raw("UID", &[], &uid);
    w.utc("DTSTAMP", now);
    w.local("DTSTART", tzid, r.plan.dtstart);
    w.local("DTEND", tzid, r.plan.dtend);
    w.raw("RRULE", &[], &r.plan.rrule);
    for exdate in &r.plan.exdates {
        w.local("EXDATE", tzid, *exdate);
    }
    write_texts(w, &texts);
    w.raw("STATUS", &[], r.plan.status);
    w.raw("SEQUENCE", &[], &r.sequence.to_string());
    w.utc("CREATED", r.series.booked_at);
    w.utc("LAST-MODIFIED", last_modified);
    w.end("VEVENT");
    for exception in &r.plan.overrides {
        w.begin("VEVENT");
        w.raw("UID", &[], &uid);
        w.utc("DTSTAMP", now);
        w.raw("RECURRENCE-ID", &[("TZID", tzid)], &local_stamp(exception.local_start));
        w.local("DTSTART", tzid, exception.local_start);
        w.local("DTEND", tzid, exception.local_end);
        write_texts(w, &texts);
        w.raw("STATUS", &[], exception.status);
        w.raw("SEQUENCE", &[], &r.sequence.to_string());
        w.utc("LAST-MODIFIED", last_modified);
        w.end("VEVENT");
    }
}

/// Renders `entries` as one VCALENDAR.
pub fn render(meta: &CalendarMeta, entries: &[CalendarEntry], now: DateTime<Utc>) -> String {
    let mut singles = Vec::new();
    let mut recurring = Vec::new();
    for entry in entries {
        match entry {
            CalendarEntry::Single { reservation, resource, sequence, privacy } => {
                singles.push((reservation, resource, *sequence, *privacy));
            }
            CalendarEntry::Series { series, reservations, resource, sequence, privacy } => {
                match plan(series, reservations, resource.time_zone) {
                    Some(plan) => recurring.push(Recurring {
                        series,
                        reservations,
                        plan,
                        resource,
                        sequence: *sequence,
                        privacy: *privacy,
                    }),
                    // Not expressible as one rule: each occurrence on its own.
                    None => singles.extend(reservations.iter().map(|r| (r, resource, *sequence, *privacy))),
                }
            }
        }
    }
    // Each zone a recurring event uses, over the span its occurrences cover.
    let mut zones: BTreeMap<&str, (Tz, DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    for r in &recurring {
        let tz = r.resource.time_zone;
        for reservation in r.reservations {
            let (start, end) = (reservation.range.start(), reservation.range.end());
            let span = zones.entry(tz.name()).or_insert((tz, start, end));
            span.1 = span.1.min(start);
            span.2 = span.2.max(end);
        }
    }

    let mut w = IcsWriter::new();
    w.begin("VCALENDAR");
    w.raw("VERSION", &[], "2.0");
    w.raw("PRODID", &[], PRODID);
    w.raw("CALSCALE", &[], "GREGORIAN");
    w.raw("METHOD", &[], "PUBLISH");
    if let Some(name) = &meta.name {
        w.text("NAME", name);
        w.text("X-WR-CALNAME", name);
    }
    if let Some(minutes) = meta.refresh_minutes {
        w.raw("REFRESH-INTERVAL", &[("VALUE", "DURATION")], &format!("PT{minutes}M"));
        w.raw("X-PUBLISHED-TTL", &[], &format!("PT{minutes}M"));
    }
    for (tz, from, to) in zones.values() {
        write_vtimezone(&mut w, *tz, *from, *to);
    }
    for r in &recurring {
        write_recurring(&mut w, r, now);
    }
    for (reservation, resource, sequence, privacy) in singles {
        write_single(&mut w, reservation, resource, sequence, privacy, now);
    }
    w.end("VCALENDAR");
    w.finish()
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
