//! Text at the command boundary: every string a resource command carries is checked before
//! it can reach an event (a NUL byte once made the PostgreSQL catalog unable to apply one),
//! refused with the field named, and recorded trimmed.

mod common;

use chrono::Duration;
use common::*;
use reserver_domain::resource::{ResourceDetails, ResourceKind};
use reserver_domain::{BookingPolicy, Rejection, ResourceCommand, ResourceEvent};

fn field(result: Result<Vec<ResourceEvent>, Rejection>) -> String {
    match result {
        Err(Rejection::InvalidField { field, .. }) => field,
        other => panic!("expected a field rejection, got {other:?}"),
    }
}

fn create(details: ResourceDetails) -> ResourceCommand {
    ResourceCommand::CreateResource {
        resource_id: RESOURCE,
        details,
        capacity: 1,
        time_zone: chrono_tz::Tz::UTC,
        policy: BookingPolicy::default(),
        business_hours: None,
    }
}

fn update(details: ResourceDetails) -> ResourceCommand {
    ResourceCommand::UpdateResource {
        details,
        capacity: 1,
        time_zone: chrono_tz::Tz::UTC,
        policy: BookingPolicy::default(),
    }
}

#[test]
fn a_nul_byte_in_any_descriptive_field_is_refused_naming_it() {
    let fresh = Fixture { state: Default::default(), events: Vec::new() };
    let now = base_now();
    let cases: Vec<(&str, ResourceDetails)> = vec![
        ("name", ResourceDetails { name: "a\u{0}b".into(), ..details() }),
        ("tags", ResourceDetails { tags: vec!["ok".into(), "a\u{0}b".into()], ..details() }),
        ("description", ResourceDetails { description: "a\u{0}b".into(), ..details() }),
        ("location", ResourceDetails { location: "a\u{0}b".into(), ..details() }),
    ];
    for (name, bad) in cases {
        assert_eq!(field(reserver_domain::decide(&fresh.state, &create(bad.clone()), &admin(now))), name);
        let mut f = Fixture::simple();
        assert_eq!(field(f.run(update(bad), &admin(now))), name);
        assert_eq!(f.state, Fixture::simple().state, "nothing changed");
    }
}

#[test]
fn names_tags_and_locations_are_single_lines_and_descriptions_may_span_lines() {
    let mut f = Fixture::simple();
    let now = base_now();
    for (name, bad) in [
        ("name", ResourceDetails { name: "Room\n2".into(), ..details() }),
        ("name", ResourceDetails { name: "   ".into(), ..details() }),
        ("name", ResourceDetails { name: "x".repeat(201), ..details() }),
        ("location", ResourceDetails { location: "Floor\t2".into(), ..details() }),
        ("tags", ResourceDetails { tags: vec![" ".into()], ..details() }),
        ("tags", ResourceDetails { tags: vec!["meeting,projector".into()], ..details() }),
        ("tags", ResourceDetails { tags: vec!["a;b".into()], ..details() }),
        ("tags", ResourceDetails { tags: vec!["t".into(); 51], ..details() }),
        ("tags", ResourceDetails { tags: vec!["x".repeat(65)], ..details() }),
        ("description", ResourceDetails { description: "x".repeat(4001), ..details() }),
        ("description", ResourceDetails { description: "bell\u{7}".into(), ..details() }),
    ] {
        assert_eq!(field(f.run(update(bad.clone()), &admin(now))), name, "{bad:?}");
    }
    let good = ResourceDetails {
        name: "  Room 2 ".into(),
        kind: ResourceKind::Room,
        tags: vec![" projector ".into(), "Überraum".into()],
        description: "Two screens.\r\n\tAsk reception for the key.\n".into(),
        location: " Floor 2 ".into(),
        group_id: None,
    };
    let events = f.run(update(good), &admin(now)).unwrap();
    let ResourceEvent::ResourceUpdated { details, .. } = &events[0] else { panic!() };
    assert_eq!(details.name, "Room 2");
    assert_eq!(details.tags, vec!["projector", "Überraum"]);
    assert_eq!(details.description, "Two screens.\n\tAsk reception for the key.");
    assert_eq!(details.location, "Floor 2");
}

#[test]
fn reasons_and_comments_are_checked_free_text() {
    let now = base_now();
    let mut f = Fixture::simple();
    let retire = ResourceCommand::RetireResource { reason: "gone\u{0}".into() };
    assert_eq!(field(f.run(retire, &admin(now))), "reason");
    let blackout =
        ResourceCommand::AddBlackout { blackout_id: id(9), range: hours(10, 0, 11, 0), reason: "audit\u{0}".into() };
    assert_eq!(field(f.run(blackout, &admin(now))), "reason");
    f.book(id(1), ALICE, hours(12, 0, 13, 0)).unwrap();
    let cancel =
        |reason: &str| ResourceCommand::CancelReservation { reservation_id: id(1), reason: Some(reason.into()) };
    assert_eq!(field(f.run(cancel("late\u{0}"), &user(ALICE, now))), "reason");
    assert_eq!(field(f.run(cancel(&"x".repeat(2001)), &user(ALICE, now))), "reason");
    let events = f.run(cancel("  running late\r\nsorry "), &user(ALICE, now)).unwrap();
    let ResourceEvent::ReservationCancelled { reason, .. } = &events[0] else { panic!() };
    assert_eq!(reason.as_deref(), Some("running late\nsorry"));

    let mut f = Fixture::with_policy(BookingPolicy { requires_approval: true, ..BookingPolicy::default() });
    f.book(id(2), ALICE, hours(12, 0, 13, 0)).unwrap();
    for command in [
        ResourceCommand::Approve { reservation_id: id(2), comment: "ok\u{0}".into(), group_approvers: Vec::new() },
        ResourceCommand::Reject { reservation_id: id(2), comment: "no\u{1b}[2J".into(), group_approvers: Vec::new() },
    ] {
        assert_eq!(field(f.run(command, &admin(now + Duration::minutes(1)))), "comment");
    }
}

#[test]
fn a_blank_cancellation_reason_is_recorded_as_none() {
    let mut f = Fixture::simple();
    f.book(id(1), ALICE, hours(12, 0, 13, 0)).unwrap();
    let cancel = ResourceCommand::CancelReservation { reservation_id: id(1), reason: Some("  ".into()) };
    let events = f.run(cancel, &user(ALICE, base_now())).unwrap();
    assert!(matches!(&events[0], ResourceEvent::ReservationCancelled { reason: None, .. }));
}

#[test]
fn the_field_rejection_has_a_stable_code_and_names_the_field_in_json() {
    let mut f = Fixture::simple();
    let err = f.run(update(ResourceDetails { name: "a\u{0}b".into(), ..details() }), &admin(base_now())).unwrap_err();
    assert_eq!(err.code(), "invalid_field");
    let json = serde_json::to_value(&err).unwrap();
    assert_eq!((json["code"].as_str(), json["field"].as_str()), (Some("invalid_field"), Some("name")));
    assert!(!json.to_string().contains('\u{0}'), "the offending value is not echoed");
}
