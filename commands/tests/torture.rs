//! The torture test: three independent pipelines (as three replicas would be) on one database,
//! 64 concurrent tasks booking heavily overlapping slots on a few resources of capacity 1 and 3.
//! Afterwards the log must hold no capacity violation, every request must have been answered,
//! and a sequential oracle replaying the same requests in log order must agree.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::*;
use futures::future::join_all;
use reserver_commands::{CommandError, CommandMeta, CommandPipeline, ResourceAggregate};
use reserver_domain::{
    decide, evolve, BookingPolicy, Rejection, ResourceCommand, ResourceEvent, ResourceState, TimeRange,
};
use uuid::Uuid;

const TASKS: u64 = 64;
const REQUESTS_PER_TASK: u64 = 12;

/// A small deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

struct Request {
    resource: Uuid,
    reservation_id: Uuid,
    actor: reserver_domain::Actor,
    range: TimeRange,
    answer: Result<(), Rejection>,
}

/// Peak number of simultaneously held units among confirmed reservations.
fn peak(ranges: &[(DateTime<Utc>, DateTime<Utc>)]) -> usize {
    let mut edges: Vec<(DateTime<Utc>, i32)> = ranges.iter().flat_map(|(s, e)| [(*s, 1), (*e, -1)]).collect();
    // Ends sort before starts at the same instant: intervals are half-open.
    edges.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, delta) in edges {
        now += delta;
        max = max.max(now);
    }
    max as usize
}

async fn torture(db: &ScratchDatabase) {
    let clock = clock();
    let mut replicas: Vec<CommandPipeline<ResourceAggregate>> = Vec::new();
    for _ in 0..3 {
        replicas.push(pipeline(db.open().await, clock.clone()));
    }
    let mut resources = Vec::new();
    for capacity in [1, 1, 3, 3] {
        resources.push((new_resource(&replicas[0], capacity, BookingPolicy::default()).await, capacity as usize));
    }
    let resources = Arc::new(resources);

    let tasks = (0..TASKS).map(|t| {
        let p = replicas[(t % 3) as usize].clone();
        let resources = resources.clone();
        tokio::spawn(async move {
            let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ (t + 1));
            let mut done = Vec::new();
            for _ in 0..REQUESTS_PER_TASK {
                let (resource, _) = resources[rng.next(resources.len() as u64) as usize];
                let start = 60 + 30 * rng.next(12) as i64;
                let range = slot(start, start + 30 * (1 + rng.next(3) as i64));
                let (reservation_id, command) = book(range);
                let actor = user(u128::from(t % 10));
                let answer = match p.execute(resource, actor, command, CommandMeta::new()).await {
                    Ok(d) => {
                        assert_eq!(confirmed_id(&d), Some(reservation_id));
                        Ok(())
                    }
                    Err(CommandError::Rejected(r)) => Err(r),
                    Err(other) => panic!("request {reservation_id} got no decision: {other}"),
                };
                done.push(Request { resource, reservation_id, actor, range, answer });
            }
            done
        })
    });
    let requests: Vec<Request> = join_all(tasks).await.into_iter().flat_map(|t| t.expect("task")).collect();
    assert_eq!(requests.len() as u64, TASKS * REQUESTS_PER_TASK, "every request was answered");
    let accepted = requests.iter().filter(|r| r.answer.is_ok()).count();
    assert!(accepted > 10 && accepted < requests.len(), "the workload must both accept and conflict ({accepted})");

    let store = db.open().await;
    let by_id: HashMap<Uuid, &Request> = requests.iter().map(|r| (r.reservation_id, r)).collect();
    let mut confirmed_in_log = 0;
    for (resource, capacity) in resources.iter() {
        let events: Vec<ResourceEvent> = store
            .read_stream(&format!("resource-{resource}"), 1, 100_000)
            .await
            .expect("read")
            .iter()
            .map(|e| serde_json::from_str(&e.payload).expect("decode"))
            .collect();
        // 1. No violation: confirmed reservations never exceed capacity at any instant.
        let confirmed: Vec<(Uuid, TimeRange)> = events
            .iter()
            .filter_map(|e| match e {
                ResourceEvent::ReservationConfirmed { reservation_id, range, .. } => Some((*reservation_id, *range)),
                _ => None,
            })
            .collect();
        let spans: Vec<_> = confirmed.iter().map(|(_, r)| (r.start(), r.end())).collect();
        assert!(peak(&spans) <= *capacity, "capacity {capacity} exceeded on {resource}");
        confirmed_in_log += confirmed.len();

        // 2. The oracle: replaying the accepted requests in log order, one by one, accepts each.
        let mut state = evolve(ResourceState::default(), &events[0]);
        for (reservation_id, range) in &confirmed {
            let request = by_id.get(reservation_id).expect("every confirmed booking was requested");
            assert!(request.answer.is_ok(), "the log holds a booking its requester was told was rejected");
            let ctx = reserver_domain::DecisionContext { now: base_now(), actor: request.actor };
            let command = ResourceCommand::Book { reservation_id: *reservation_id, range: *range };
            let decided = decide(&state, &command, &ctx).expect("the sequential oracle accepts it too");
            for e in &decided {
                state = evolve(state, e);
            }
        }
        // 3. ...and rejects every request that was rejected, as a conflict.
        for r in requests.iter().filter(|r| r.resource == *resource && r.answer.is_err()) {
            assert!(matches!(r.answer, Err(Rejection::Conflict { .. })), "{:?}", r.answer);
            let ctx = reserver_domain::DecisionContext { now: base_now(), actor: r.actor };
            let command = ResourceCommand::Book { reservation_id: Uuid::new_v4(), range: r.range };
            assert!(
                matches!(decide(&state, &command, &ctx), Err(Rejection::Conflict { .. })),
                "a rejected request fits the final schedule"
            );
        }
    }
    assert_eq!(confirmed_in_log, accepted, "confirmed bookings in the log == 201-style answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_three_replicas_never_double_book() {
    torture(&ScratchDatabase::new(Backend::Postgres).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_three_pipelines_never_double_book() {
    torture(&ScratchDatabase::new(Backend::Sqlite).await).await;
}
