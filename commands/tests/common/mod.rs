//! Fixtures for the write-side tests: pipelines on fresh databases and a few commands.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use reserver_commands::{Clock, CommandMeta, CommandPipeline, Decided, ManualClock, PipelineConfig, ResourceAggregate};
use reserver_domain::resource::{ResourceDetails, ResourceKind, ResourceStatus};
use reserver_domain::{Actor, BookingPolicy, ResourceCommand, ResourceEvent, Role, TimeRange};
pub use reserver_store::scratch::ScratchDatabase;
pub use reserver_store::Backend;
use reserver_store::EventStore;
use uuid::Uuid;

pub const ADMIN: Actor = Actor { user_id: Uuid::from_u128(1), role: Role::Admin };

pub fn user(n: u128) -> Actor {
    Actor { user_id: Uuid::from_u128(1000 + n), role: Role::User }
}

/// 2030-03-04 08:00 UTC, a Monday: "now" for the tests.
pub fn base_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 8, 0, 0).single().expect("valid date")
}

/// `[now + from_minutes, now + to_minutes)`.
pub fn slot(from_minutes: i64, to_minutes: i64) -> TimeRange {
    TimeRange::new(base_now() + Duration::minutes(from_minutes), base_now() + Duration::minutes(to_minutes))
        .expect("valid range")
}

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(base_now()))
}

pub fn pipeline(store: Arc<dyn EventStore>, clock: Arc<ManualClock>) -> CommandPipeline<ResourceAggregate> {
    CommandPipeline::new(store, clock as Arc<dyn Clock>, PipelineConfig::default())
}

pub fn create(capacity: u32, policy: BookingPolicy) -> ResourceCommand {
    ResourceCommand::CreateResource {
        resource_id: Uuid::nil(),
        details: ResourceDetails {
            name: "Lab".into(),
            kind: ResourceKind::Lab,
            tags: vec![],
            description: String::new(),
            location: String::new(),
            group_id: None,
        },
        capacity,
        time_zone: chrono_tz::Europe::Berlin,
        policy,
        business_hours: None,
    }
}

/// Creates a resource and returns its id.
pub async fn new_resource(p: &CommandPipeline<ResourceAggregate>, capacity: u32, policy: BookingPolicy) -> Uuid {
    let id = Uuid::new_v4();
    let mut command = create(capacity, policy);
    if let ResourceCommand::CreateResource { resource_id, .. } = &mut command {
        *resource_id = id;
    }
    p.execute(id, ADMIN, command, CommandMeta::new()).await.expect("create resource");
    id
}

pub fn book(range: TimeRange) -> (Uuid, ResourceCommand) {
    let reservation_id = Uuid::new_v4();
    (reservation_id, ResourceCommand::Book { reservation_id, range })
}

pub fn maintenance() -> ResourceCommand {
    ResourceCommand::SetStatus { status: ResourceStatus::Maintenance }
}

pub fn confirmed_id(d: &Decided<ResourceAggregate>) -> Option<Uuid> {
    d.events.iter().find_map(|e| match e {
        ResourceEvent::ReservationConfirmed { reservation_id, .. } => Some(*reservation_id),
        _ => None,
    })
}
