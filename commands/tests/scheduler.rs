//! Deadlines come from the log: an unanswered approval request expires when its deadline passes,
//! exactly once, even across a restart.

mod common;

use chrono::Duration;
use common::*;
use reserver_commands::scheduler::{fire_due, project_batch};
use reserver_commands::CommandMeta;
use reserver_domain::BookingPolicy;

async fn approval_expires_once(db: &ScratchDatabase) {
    let clock = clock();
    let store = db.open().await;
    let p = pipeline(store.clone(), clock.clone());
    let policy = BookingPolicy { requires_approval: true, approval_timeout_minutes: 60, ..BookingPolicy::default() };
    let resource = new_resource(&p, 1, policy).await;
    let (_, cmd) = book(slot(24 * 60, 24 * 60 + 60));
    let requested = p.execute(resource, user(1), cmd, CommandMeta::new()).await.expect("request");
    assert_eq!(requested.events[0].event_type(), "reservation_requested");

    project_batch(&p).await.expect("project");
    assert_eq!(fire_due(&p).await.expect("fire"), 0, "nothing is due yet");

    // Restart before the deadline: a new process finds the deadline in the database.
    clock.advance(Duration::minutes(61));
    let restarted = pipeline(db.open().await, clock.clone());
    project_batch(&restarted).await.expect("project");
    assert_eq!(fire_due(&restarted).await.expect("fire"), 1);
    let types =
        |events: Vec<reserver_store::RecordedEvent>| events.into_iter().map(|e| e.event_type).collect::<Vec<_>>();
    let stream = format!("resource-{resource}");
    assert_eq!(
        types(store.read_stream(&stream, 1, 10).await.expect("read")),
        ["resource_created", "reservation_requested", "approval_expired"]
    );

    // The expiry event removes the deadline; firing again (either process) changes nothing.
    project_batch(&restarted).await.expect("project");
    assert_eq!(fire_due(&restarted).await.expect("fire"), 0);
    assert_eq!(fire_due(&p).await.expect("fire"), 0);
    assert_eq!(store.stream_version(&stream).await.expect("version"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_approval_expires_once() {
    approval_expires_once(&ScratchDatabase::new(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_approval_expires_once() {
    approval_expires_once(&ScratchDatabase::new(Backend::Postgres).await).await;
}
