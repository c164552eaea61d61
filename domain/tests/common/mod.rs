//! Shared fixtures for the integration tests.
#![allow(dead_code)]

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use reserver_domain::resource::{ResourceDetails, ResourceKind};
use reserver_domain::schedule_rules::{BusinessHours, LocalTimeRange};
use reserver_domain::{
    decide, Actor, BookingPolicy, DecisionContext, Rejection, ResourceCommand, ResourceEvent, ResourceState, Role,
    TimeRange,
};
use uuid::Uuid;

pub const RESOURCE: Uuid = Uuid::from_u128(0x100);
pub const ADMIN: Uuid = Uuid::from_u128(1);
pub const ALICE: Uuid = Uuid::from_u128(2);
pub const BOB: Uuid = Uuid::from_u128(3);
pub const CAROL: Uuid = Uuid::from_u128(4);
pub const APPROVER: Uuid = Uuid::from_u128(5);

pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// Monday 2030-03-04 08:00 UTC: the default "now" of the tests.
pub fn base_now() -> DateTime<Utc> {
    utc(2030, 3, 4, 8, 0)
}

pub fn range(start: DateTime<Utc>, end: DateTime<Utc>) -> TimeRange {
    TimeRange::new(start, end).unwrap()
}

/// `[base day h1:m1, base day h2:m2)` on 2030-03-04.
pub fn hours(h1: u32, m1: u32, h2: u32, m2: u32) -> TimeRange {
    range(utc(2030, 3, 4, h1, m1), utc(2030, 3, 4, h2, m2))
}

pub fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

pub fn daily(ranges: &[(NaiveTime, NaiveTime)]) -> BusinessHours {
    BusinessHours::every_day(ranges.iter().map(|(s, e)| LocalTimeRange::new(*s, *e)).collect())
}

pub fn ctx(now: DateTime<Utc>, user_id: Uuid, role: Role) -> DecisionContext {
    DecisionContext { now, actor: Actor { user_id, role } }
}

pub fn user(user_id: Uuid, now: DateTime<Utc>) -> DecisionContext {
    ctx(now, user_id, Role::User)
}

pub fn admin(now: DateTime<Utc>) -> DecisionContext {
    ctx(now, ADMIN, Role::Admin)
}

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(0xABC0_0000 + n)
}

pub fn details() -> ResourceDetails {
    ResourceDetails {
        name: "Room 1".into(),
        kind: ResourceKind::Room,
        tags: vec!["projector".into()],
        description: String::new(),
        location: "Floor 2".into(),
        group_id: None,
    }
}

/// A state plus every event that produced it, so tests can replay.
pub struct Fixture {
    pub state: ResourceState,
    pub events: Vec<ResourceEvent>,
}

impl Fixture {
    pub fn new(capacity: u32, policy: BookingPolicy, tz: Tz, hours: Option<BusinessHours>) -> Self {
        let mut fixture = Fixture { state: ResourceState::default(), events: Vec::new() };
        fixture
            .run(
                ResourceCommand::CreateResource {
                    resource_id: RESOURCE,
                    details: details(),
                    capacity,
                    time_zone: tz,
                    policy,
                    business_hours: hours,
                },
                &admin(base_now() - Duration::days(1)),
            )
            .unwrap();
        fixture
    }

    /// Capacity 1, default policy, UTC, open 24h.
    pub fn simple() -> Self {
        Self::new(1, BookingPolicy::default(), Tz::UTC, None)
    }

    pub fn with_capacity(capacity: u32) -> Self {
        Self::new(capacity, BookingPolicy::default(), Tz::UTC, None)
    }

    pub fn with_policy(policy: BookingPolicy) -> Self {
        Self::new(1, policy, Tz::UTC, None)
    }

    /// Decides and, on success, applies the events.
    pub fn run(&mut self, command: ResourceCommand, ctx: &DecisionContext) -> Result<Vec<ResourceEvent>, Rejection> {
        let events = decide(&self.state, &command, ctx)?;
        for event in &events {
            self.state.apply(event);
        }
        self.events.extend(events.clone());
        Ok(events)
    }

    pub fn book(&mut self, reservation: Uuid, who: Uuid, slot: TimeRange) -> Result<Vec<ResourceEvent>, Rejection> {
        self.run(ResourceCommand::Book { reservation_id: reservation, range: slot }, &user(who, base_now()))
    }

    pub fn replayed(&self) -> ResourceState {
        ResourceState::from_events(&self.events)
    }
}

pub fn types(events: &[ResourceEvent]) -> Vec<&'static str> {
    events.iter().map(ResourceEvent::event_type).collect()
}
