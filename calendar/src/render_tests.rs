use chrono::{Duration, NaiveDateTime, TimeZone};
use icalendar::parser::{read_calendar, unfold, Component};
use reserver_domain::recurrence::{
    expand_series, occurrence_reservation_id, OccurrenceOutcome, OccurrenceReport, SeriesPolicy,
};
use reserver_domain::resource::ReservationStatus;
use reserver_domain::TimeRange;

use super::*;

const RESERVATION: Uuid = Uuid::from_u128(0xabc);
const SERIES: Uuid = Uuid::from_u128(0x5e);

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("instant")
}

fn now() -> DateTime<Utc> {
    utc("2030-03-01T12:00:00Z")
}

fn lab() -> ResourceInfo {
    ResourceInfo {
        name: "Lab 3, east wing".into(),
        location: "Building A; floor 2".into(),
        description: "GPU lab\nBring your badge".into(),
        time_zone: Tz::Europe__Berlin,
    }
}

fn reservation(id: Uuid, start: &str, end: &str) -> ReservationView {
    let range = TimeRange::new(utc(start), utc(end)).expect("range");
    ReservationView {
        reservation_id: id,
        resource_id: Uuid::from_u128(1),
        user_id: Uuid::from_u128(2),
        series_id: None,
        range,
        status: ReservationStatus::Confirmed,
        created_at: utc("2030-02-01T10:00:00Z"),
        updated_at: utc("2030-02-02T10:00:00Z"),
        approval_deadline: None,
        offer_expires_at: None,
        waitlist_entry_id: None,
        checked_in_at: None,
        decided_by: None,
        comment: Some("projector, please".into()),
    }
}

/// Every physical line ends in CRLF and is at most 75 octets.
fn assert_wire_form(text: &str) {
    assert!(text.ends_with("\r\n"));
    for line in text.strip_suffix("\r\n").unwrap_or(text).split("\r\n") {
        assert!(!line.contains('\n') && !line.contains('\r'), "bare line break in {line:?}");
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
}

/// Unfolds and parses with the `icalendar` crate's parser. The parsed calendar borrows the
/// unfolded text, which is leaked so the helper can return it (tests only).
fn parse(text: &str) -> icalendar::parser::Calendar<'static> {
    let unfolded: &'static str = Box::leak(unfold(text).into_boxed_str());
    read_calendar(unfolded).expect("parses as iCalendar")
}

fn prop(component: &Component<'_>, name: &str) -> String {
    component.find_prop(name).map(|p| p.val.as_str().to_string()).unwrap_or_default()
}

fn events<'a>(calendar: &'a icalendar::parser::Calendar<'static>) -> Vec<&'a Component<'static>> {
    calendar.components.iter().filter(|c| c.name.as_str() == "VEVENT").collect()
}

#[test]
fn single_reservation_is_one_utc_event() {
    let r = reservation(RESERVATION, "2030-03-04T08:00:00Z", "2030-03-04T09:30:00Z");
    let entry = CalendarEntry::Single { reservation: r, resource: lab(), sequence: 2, privacy: Privacy::Owner };
    let text = render(&CalendarMeta::default(), &[entry], now());
    assert_wire_form(&text);
    assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Resource Reserver//"));
    assert!(text.contains("\r\nCALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n"));
    assert!(!text.contains("VTIMEZONE"), "UTC times need no zone");

    let calendar = parse(&text);
    let events = events(&calendar);
    assert_eq!(events.len(), 1);
    let event = events[0];
    assert_eq!(prop(event, "UID"), format!("{RESERVATION}@resource-reserver"));
    assert_eq!(prop(event, "DTSTAMP"), "20300301T120000Z");
    assert_eq!(prop(event, "DTSTART"), "20300304T080000Z");
    assert_eq!(prop(event, "DTEND"), "20300304T093000Z");
    assert_eq!(prop(event, "SUMMARY"), "Lab 3, east wing");
    assert_eq!(prop(event, "LOCATION"), "Building A; floor 2");
    assert_eq!(prop(event, "DESCRIPTION"), "GPU lab\nBring your badge\nNote: projector, please");
    assert_eq!(prop(event, "STATUS"), "CONFIRMED");
    assert_eq!(prop(event, "SEQUENCE"), "2");
    assert_eq!(prop(event, "LAST-MODIFIED"), "20300202T100000Z");
}

#[test]
fn neutral_entries_hide_the_owner_and_comment() {
    let mut r = reservation(RESERVATION, "2030-03-04T08:00:00Z", "2030-03-04T09:00:00Z");
    r.status = ReservationStatus::Cancelled;
    let entry = CalendarEntry::Single { reservation: r, resource: lab(), sequence: 1, privacy: Privacy::Neutral };
    let meta = CalendarMeta { name: Some("Lab 3".into()), refresh_minutes: Some(15) };
    let text = render(&meta, &[entry], now());
    assert_wire_form(&text);
    assert!(!text.contains("projector"));
    let calendar = parse(&text);
    assert_eq!(
        calendar.properties.iter().find(|p| p.name.as_str() == "X-WR-CALNAME").map(|p| p.val.as_str()),
        Some("Lab 3")
    );
    let event = events(&calendar)[0];
    assert_eq!(prop(event, "SUMMARY"), NEUTRAL_SUMMARY);
    assert_eq!(prop(event, "STATUS"), "CANCELLED");
    assert_eq!(prop(event, "DESCRIPTION"), "GPU lab\nBring your badge");
}

#[test]
fn long_unicode_text_folds_and_parses_back() {
    let mut resource = lab();
    resource.description = "Raum für Besprechungen — 会議室, größer; mit \\ Rückwand. ".repeat(8);
    let r = reservation(RESERVATION, "2030-03-04T08:00:00Z", "2030-03-04T09:00:00Z");
    let entry =
        CalendarEntry::Single { reservation: r, resource: resource.clone(), sequence: 0, privacy: Privacy::Neutral };
    let text = render(&CalendarMeta::default(), &[entry], now());
    assert_wire_form(&text);
    let calendar = parse(&text);
    assert_eq!(prop(events(&calendar)[0], "DESCRIPTION"), resource.description);
}

fn local(text: &str) -> NaiveDateTime {
    text.parse().expect("local time")
}

/// A weekly 09:00 Europe/Berlin series from 18 March to 15 April 2030 (DST starts 31 March),
/// the second occurrence cancelled.
fn dst_series() -> CalendarEntry {
    let tz = Tz::Europe__Berlin;
    let far = Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0).single().expect("instant");
    let occurrences =
        expand_series("FREQ=WEEKLY;COUNT=5", local("2030-03-18T09:00:00"), Duration::hours(1), &[], tz, far)
            .expect("expand");
    let mut reports = Vec::new();
    let mut reservations = Vec::new();
    for (index, o) in occurrences.iter().enumerate() {
        let id = occurrence_reservation_id(SERIES, o.range.start());
        let mut r = reservation(id, &o.range.start().to_rfc3339(), &o.range.end().to_rfc3339());
        r.series_id = Some(SERIES);
        if index == 1 {
            r.status = ReservationStatus::Cancelled;
        }
        reservations.push(r);
        reports.push(OccurrenceReport {
            local_start: o.local_start,
            range: o.range,
            outcome: OccurrenceOutcome::Booked { reservation_id: id },
        });
    }
    let series = SeriesView {
        series_id: SERIES,
        resource_id: Uuid::from_u128(1),
        user_id: Uuid::from_u128(2),
        rrule: "FREQ=WEEKLY;COUNT=5".into(),
        policy: SeriesPolicy::SkipConflicts,
        occurrences: reports,
        booked_at: utc("2030-02-01T10:00:00Z"),
    };
    CalendarEntry::Series { series, reservations, resource: lab(), sequence: 1, privacy: Privacy::Owner }
}

#[test]
fn series_is_one_recurring_event_in_the_resource_zone() {
    let text = render(&CalendarMeta::default(), &[dst_series()], now());
    assert_wire_form(&text);
    let calendar = parse(&text);
    let zone = calendar.components.iter().find(|c| c.name.as_str() == "VTIMEZONE").expect("VTIMEZONE");
    assert_eq!(prop(zone, "TZID"), "Europe/Berlin");
    let kinds: Vec<&str> = zone.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(kinds, vec!["STANDARD", "DAYLIGHT"]);

    let events = events(&calendar);
    assert_eq!(events.len(), 1, "one VEVENT for the whole series");
    let event = events[0];
    assert_eq!(prop(event, "UID"), format!("{SERIES}@resource-reserver"));
    let dtstart = event.find_prop("DTSTART").expect("DTSTART");
    assert_eq!(dtstart.val.as_str(), "20300318T090000");
    assert_eq!(
        dtstart.params.iter().find(|p| p.key.as_str() == "TZID").and_then(|p| p.val.as_ref()).map(|v| v.as_str()),
        Some("Europe/Berlin")
    );
    assert_eq!(prop(event, "DTEND"), "20300318T100000");
    assert_eq!(prop(event, "RRULE"), "FREQ=WEEKLY;UNTIL=20300415T070000Z");
    assert_eq!(prop(event, "EXDATE"), "20300325T090000");
    assert_eq!(prop(event, "STATUS"), "CONFIRMED");
    assert_eq!(prop(event, "SEQUENCE"), "1");
}

#[test]
fn entries_of_several_kinds_share_one_calendar() {
    let single = CalendarEntry::Single {
        reservation: reservation(RESERVATION, "2030-03-04T08:00:00Z", "2030-03-04T09:00:00Z"),
        resource: lab(),
        sequence: 0,
        privacy: Privacy::Owner,
    };
    let text = render(&CalendarMeta::default(), &[single, dst_series()], now());
    assert_wire_form(&text);
    let calendar = parse(&text);
    assert_eq!(events(&calendar).len(), 2);
    assert_eq!(text.matches("BEGIN:VTIMEZONE").count(), 1);
}
