//! Schedule grids in a resource's zone (DST days of 23 and 25 hours, business hours and
//! blackouts) and the search's filters and order, on an index fed in memory.

mod common;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use common::recorded;
use reserver_availability_index::{IndexError, IndexLimits, MemoryIndex, SearchQuery};
use reserver_domain::resource::{ResourceDetails, ResourceKind, ResourceStatus};
use reserver_domain::schedule_rules::{Blackout, BusinessHours, LocalTimeRange};
use reserver_domain::{BookingPolicy, ResourceEvent, TimeRange};
use uuid::Uuid;

fn created(id: Uuid, name: &str, capacity: u32, tags: &[&str], hours: Option<BusinessHours>) -> ResourceEvent {
    ResourceEvent::ResourceCreated {
        resource_id: id,
        details: ResourceDetails {
            name: name.into(),
            kind: ResourceKind::Room,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            description: String::new(),
            location: String::new(),
            group_id: None,
        },
        capacity,
        time_zone: chrono_tz::Europe::Berlin,
        policy: BookingPolicy::default(),
        business_hours: hours,
        by: Uuid::nil(),
        at: Utc.with_ymd_and_hms(2030, 3, 1, 0, 0, 0).unwrap(),
    }
}

fn nine_to_five() -> BusinessHours {
    BusinessHours::every_day(vec![LocalTimeRange::new(
        NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
    )])
}

fn utc(mo: u32, d: u32, h: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, mo, d, h, 0, 0).unwrap()
}

#[test]
fn schedule_days_follow_the_zone_across_dst() {
    let id = Uuid::from_u128(1);
    let index = MemoryIndex::new(IndexLimits::default());
    let blackout = Blackout {
        id: Uuid::from_u128(9),
        range: TimeRange::new(utc(3, 31, 10), utc(3, 31, 12)).unwrap(),
        reason: "paint".into(),
    };
    let events = [
        created(id, "Berlin room", 1, &[], Some(nine_to_five())),
        ResourceEvent::BlackoutAdded { blackout, by: Uuid::nil(), at: utc(3, 1, 1) },
    ];
    index.apply(&recorded(id, &events, 1));
    // 2030-03-31: clocks go forward (23 h); 2030-10-27: back (25 h).
    let spring = index.schedule(id, NaiveDate::from_ymd_opt(2030, 3, 30).unwrap(), 2).unwrap();
    assert_eq!(spring.days.iter().map(|d| d.minutes).collect::<Vec<_>>(), vec![1440, 1380]);
    let sunday = &spring.days[1];
    // Midnight CET is 23:00 UTC the day before; 09:00–17:00 CEST is 07:00–15:00 UTC.
    assert_eq!(sunday.range, TimeRange::new(utc(3, 30, 23), utc(3, 31, 22)).unwrap());
    assert_eq!(sunday.open, vec![TimeRange::new(utc(3, 31, 7), utc(3, 31, 15)).unwrap()]);
    assert_eq!(sunday.blackouts.len(), 1);
    assert_eq!(
        sunday.free,
        vec![
            TimeRange::new(utc(3, 31, 7), utc(3, 31, 10)).unwrap(),
            TimeRange::new(utc(3, 31, 12), utc(3, 31, 15)).unwrap()
        ]
    );
    let autumn = index.schedule(id, NaiveDate::from_ymd_opt(2030, 10, 27).unwrap(), 1).unwrap();
    assert_eq!(autumn.days[0].minutes, 1500);
    assert_eq!(autumn.days[0].open, vec![TimeRange::new(utc(10, 27, 8), utc(10, 27, 16)).unwrap()]);
    let summary = index
        .day_summary(id, NaiveDate::from_ymd_opt(2030, 3, 31).unwrap(), 1, Duration::hours(1), utc(3, 1, 0))
        .unwrap();
    assert_eq!((summary[0].open_minutes, summary[0].free_slots), (480, 6));
}

#[test]
fn search_filters_and_orders_by_first_free_slot() {
    let index = MemoryIndex::new(IndexLimits::default());
    let (a, b, c, d) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3), Uuid::from_u128(4));
    let day = TimeRange::new(utc(3, 5, 8), utc(3, 5, 12)).unwrap();
    let mut position = 1;
    let mut feed = |id: Uuid, events: Vec<ResourceEvent>| {
        let recorded = recorded(id, &events, position);
        position += recorded.len() as u64;
        index.apply(&recorded);
    };
    feed(
        a,
        vec![
            created(a, "Alpha", 4, &["Video"], None),
            // Booked 08–10 (all its capacity would be needed to block; one unit is enough here).
            ResourceEvent::ReservationConfirmed {
                reservation_id: Uuid::from_u128(10),
                user_id: Uuid::nil(),
                range: TimeRange::new(utc(3, 5, 8), utc(3, 5, 10)).unwrap(),
                series_id: None,
                at: utc(3, 1, 1),
            },
        ],
    );
    feed(
        b,
        vec![
            created(b, "Bravo", 1, &["video", "quiet"], None),
            ResourceEvent::ReservationConfirmed {
                reservation_id: Uuid::from_u128(11),
                user_id: Uuid::nil(),
                range: TimeRange::new(utc(3, 5, 8), utc(3, 5, 9)).unwrap(),
                series_id: None,
                at: utc(3, 1, 1),
            },
        ],
    );
    feed(
        c,
        vec![
            created(c, "Charlie", 8, &["video"], None),
            ResourceEvent::ResourceStatusChanged {
                status: ResourceStatus::Maintenance,
                by: Uuid::nil(),
                at: utc(3, 1, 2),
            },
        ],
    );
    feed(d, vec![created(d, "Delta", 2, &[], None)]);
    let query = SearchQuery {
        tags: vec!["VIDEO".into()],
        group_id: None,
        include_subgroups: false,
        min_capacity: None,
        kind: None,
        window: day,
        duration: Duration::hours(1),
        slots_per_resource: 2,
        max_resources: 10,
    };
    let now = utc(3, 1, 0);
    let hits = index.search(&query, now, None);
    // Charlie is in maintenance; Delta has no tag. Alpha (capacity 4) is free at 08:00, Bravo at 09:00.
    let names: Vec<&str> = hits.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, vec!["Alpha", "Bravo"]);
    assert_eq!(
        hits[1].slots,
        vec![
            TimeRange::new(utc(3, 5, 9), utc(3, 5, 10)).unwrap(),
            TimeRange::new(utc(3, 5, 10), utc(3, 5, 11)).unwrap()
        ]
    );
    let big = index.search(&SearchQuery { min_capacity: Some(2), ..query.clone() }, now, None);
    assert_eq!(big.iter().map(|h| h.resource_id).collect::<Vec<_>>(), vec![a]);
    let one = index.search(&SearchQuery { tags: vec![], max_resources: 1, ..query }, now, None);
    assert_eq!(one.len(), 1);
    assert!(matches!(
        index.free_slots(Uuid::from_u128(77), day, Duration::hours(1), now, 1, None),
        Err(IndexError::UnknownResource(_))
    ));
}
